package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ouro-run/ouro/accel"
	"github.com/ouro-run/ouro/config"
	"github.com/ouro-run/ouro/journal"
	"go.yaml.in/yaml/v3"
)

const accelUsage = `Usage: ouro accel [flags]

Measures code shipped per period from git history, split by who wrote it
(automation, autonomous, agent, assisted, human), with the multiplier against
a baseline window, the AI share, reverts and (with --survival) survival.

Examples:
  ouro accel
  ouro accel --repo DIR --by quarter --since 2021-01-01 --baseline 2021Q1..2024Q4
  ouro accel --format html --out accel.html
  ouro accel --explain HEAD~3

Dates are YYYY-MM-DD, YYYY-MM, YYYYQn, YYYY-Wnn or YYYY; --since takes the start
of the span it names, --until its end. --baseline is FROM..TO in the same forms.

Configuration: REPO/.ouro/config.yaml may hold an "accel:" section with
identities (extra known identities, in the shape of the built-in table),
identities_file, outlier_lines, by and baseline; flags win over it.

Flags:
`

const accelExitCodes = `
Exit codes:
  0  the report was written
  1  nothing to measure or a failure: the repository has no commits, no commit
     falls in --since/--until, git failed, the output could not be written
  2  bad usage: unknown flag or value, a date in the wrong form, not a git
     repository, an unknown branch or commit, a baseline window with no
     commits, a bad config file
A shallow clone is measured with a warning on standard error (exit 0).
`

// accelConfig is the accel section of .ouro/config.yaml.
type accelConfig struct {
	Identities     *accel.Identities `yaml:"identities"`
	IdentitiesFile string            `yaml:"identities_file"`
	OutlierLines   int               `yaml:"outlier_lines"`
	By             string            `yaml:"by"`
	Baseline       string            `yaml:"baseline"`
}

func loadAccelConfig(path string) (*accelConfig, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &accelConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var doc struct {
		Accel *accelConfig `yaml:"accel"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	if doc.Accel == nil {
		return &accelConfig{}, nil
	}
	return doc.Accel, nil
}

func cmdAccel(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("ouro accel", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var (
		repoDir     = fs.String("repo", ".", "the repository to read (any directory inside it)")
		branch      = fs.String("branch", "", "the branch or revision whose history is read (default HEAD)")
		by          = fs.String("by", "", "period length: quarter, month or week (default quarter)")
		since       = fs.String("since", "", "count commits from the start of this date or period")
		until       = fs.String("until", "", "count commits up to the end of this date or period")
		baseline    = fs.String("baseline", "", "baseline window FROM..TO, e.g. 2021Q1..2024Q4 (default: the first four periods)")
		all         = fs.Bool("all", false, "count every non-merge commit instead of the first-parent history")
		outlier     = fs.Int("outlier-lines", 0, "commits above this many counted lines are outliers (default 5000; -1 disables)")
		format      = fs.String("format", "", "output: table, json, csv, svg or html (default table, or from --out's extension)")
		out         = fs.String("out", "", "write the report to this file instead of standard output")
		explain     = fs.String("explain", "", "print the kind of one commit and the evidence for it, then exit")
		survival    = fs.Bool("survival", false, "compute the share of added lines still present at the tip (git blame on a sample)")
		survFiles   = fs.Int("survival-files", accel.DefaultSurvivalFiles, "files blamed at most for --survival")
		survBudget  = fs.Duration("survival-budget", accel.DefaultSurvivalBudget, "stop starting new blames for --survival after this long (0: no limit)")
		identities  = fs.String("identities", "", "YAML file of extra known identities (extends the built-in table)")
		configPath  = fs.String("config", "", "config file (default REPO/.ouro/config.yaml)")
		now         = fs.String("now", "", "date that ends the last, partial period (default: today)")
		verbose     = fs.Bool("v", false, "log progress to standard error")
		printIdents = fs.Bool("print-identities", false, "print the identity table in use as YAML and exit")
	)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), accelUsage)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), accelExitCodes)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "ouro accel: unexpected argument %q (flags only; see ouro accel --help)\n", fs.Arg(0))
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "ouro accel: "+format+"\n", a...)
		return exitUsage
	}

	cfgFile := *configPath
	if cfgFile == "" {
		cfgFile = filepath.Join(*repoDir, ".ouro", "config.yaml")
	}
	cfg, err := loadAccelConfig(cfgFile)
	if err != nil {
		return usageErr("%v", err)
	}
	ids := accel.DefaultIdentities()
	if cfg.IdentitiesFile != "" {
		p := cfg.IdentitiesFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(filepath.Dir(cfgFile)), p)
		}
		extra, err := accel.LoadIdentities(p)
		if err != nil {
			return usageErr("config %s: %v", cfgFile, err)
		}
		ids = extra
	}
	ids.Merge(cfg.Identities)
	if *identities != "" {
		extra, err := accel.LoadIdentities(*identities)
		if err != nil {
			return usageErr("--identities: %v", err)
		}
		extra.Merge(ids)
		ids = extra
	}
	if *printIdents {
		enc := yaml.NewEncoder(e.stdout)
		if err := enc.Encode(ids); err != nil {
			fmt.Fprintf(e.stderr, "ouro accel: %v\n", err)
			return exitFail
		}
		return exitOK
	}

	opts := accel.Options{
		Repo: *repoDir, Branch: *branch, All: *all, Identities: ids,
		OutlierLines: cfg.OutlierLines, Survival: *survival, SurvivalFiles: *survFiles,
		SurvivalBudget: *survBudget,
	}
	if *survBudget == 0 {
		opts.SurvivalBudget = -1
	}
	opts.DelegatedRuns = delegatedRuns(ctx, e)
	if *outlier != 0 {
		opts.OutlierLines = *outlier
	}
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	byVal := *by
	if byVal == "" {
		byVal = cfg.By
	}
	if byVal != "" {
		g, err := accel.ParseGranularity(byVal)
		if err != nil {
			return usageErr("--by: %v", err)
		}
		opts.By = g
	}
	if *since != "" {
		s, _, err := accel.ParseTime(*since)
		if err != nil {
			return usageErr("--since: %v", err)
		}
		opts.Since = s
	}
	if *until != "" {
		_, u, err := accel.ParseTime(*until)
		if err != nil {
			return usageErr("--until: %v", err)
		}
		opts.Until = u
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Until.After(opts.Since) {
		return usageErr("--until %s is before --since %s", *until, *since)
	}
	if *now != "" {
		_, n, err := accel.ParseTime(*now)
		if err != nil {
			return usageErr("--now: %v", err)
		}
		opts.Now = n
	}
	bl := *baseline
	if bl == "" {
		bl = cfg.Baseline
	}
	if bl != "" {
		w, err := accel.ParseWindow(bl)
		if err != nil {
			return usageErr("--baseline: %v", err)
		}
		opts.Baseline = &w
	}
	if *survFiles < 1 {
		return usageErr("--survival-files must be at least 1, not %d", *survFiles)
	}
	f := strings.ToLower(*format)
	if f == "" {
		switch strings.ToLower(filepath.Ext(*out)) {
		case ".json":
			f = "json"
		case ".csv":
			f = "csv"
		case ".svg":
			f = "svg"
		case ".html", ".htm":
			f = "html"
		default:
			f = "table"
		}
	}
	switch f {
	case "table", "json", "csv", "svg", "html":
	default:
		return usageErr("--format %q: use table, json, csv, svg or html", *format)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if e.interrupts != nil {
		go func() {
			select {
			case <-e.interrupts:
				cancel()
			case <-ctx.Done():
			}
		}()
	}

	var buf bytes.Buffer
	if *explain != "" {
		ex, err := accel.Explain(ctx, opts, *explain)
		if err != nil {
			return accelError(e.stderr, err)
		}
		if f == "json" {
			err = writeJSON(&buf, ex)
		} else {
			err = ex.WriteText(&buf)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro accel: %v\n", err)
			return exitFail
		}
		return writeOut(e, *out, buf.Bytes())
	}

	start := time.Now()
	rep, err := accel.Analyze(ctx, opts)
	if err != nil {
		return accelError(e.stderr, err)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(e.stderr, "ouro accel: warning: %s\n", w)
	}
	switch f {
	case "json":
		err = rep.WriteJSON(&buf)
	case "csv":
		err = rep.WriteCSV(&buf)
	case "svg":
		err = rep.WriteSVG(&buf)
	case "html":
		err = rep.WriteHTML(&buf)
	default:
		err = rep.WriteTable(&buf)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro accel: %v\n", err)
		return exitFail
	}
	if *verbose {
		var ru syscall.Rusage
		rss := "unknown"
		if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
			rss = fmt.Sprintf("%.1f MiB", float64(ru.Maxrss)/1024) // ru_maxrss is in KiB on Linux
		}
		fmt.Fprintf(e.stderr, "ouro accel: %d commits in %s; peak RSS of the ouro process (git children not included): %s\n",
			rep.Totals.Commits, time.Since(start).Round(time.Millisecond), rss)
	}
	return writeOut(e, *out, buf.Bytes())
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func writeOut(e *env, path string, data []byte) int {
	if path == "" || path == "-" {
		if _, err := e.stdout.Write(data); err != nil {
			fmt.Fprintf(e.stderr, "ouro accel: write output: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		fmt.Fprintf(e.stderr, "ouro accel: write %s: %v\n", path, err)
		return exitFail
	}
	return exitOK
}

// accelError prints err and maps it to an exit code.
func accelError(w io.Writer, err error) int {
	fmt.Fprintf(w, "ouro accel: %v\n", err)
	switch {
	case errors.Is(err, accel.ErrNotRepository), errors.Is(err, accel.ErrUnknownBranch), errors.Is(err, accel.ErrEmptyBaseline):
		return exitUsage
	default:
		return exitFail
	}
}

// delegatedRuns reads, from ouro's journal when there is one, which runs
// were delegated by another run. A missing or unreadable journal means
// none: accel then relies on commit trailers alone.
func delegatedRuns(ctx context.Context, e *env) map[string]string {
	home, err := config.StateDir(e.getenv)
	if err != nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(home, "journal.db")); err != nil {
		return nil
	}
	jr, err := journal.Open(ctx, filepath.Join(home, "journal.db"), journal.Options{})
	if err != nil {
		return nil
	}
	defer jr.Close()
	runs, err := jr.Runs(ctx)
	if err != nil {
		return nil
	}
	m := map[string]string{}
	for _, r := range runs {
		if r.ParentID != "" {
			m[r.ID] = r.ParentID
		}
	}
	return m
}
