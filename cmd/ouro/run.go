package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/agent"
	"github.com/ouro-run/ouro/config"
	"github.com/ouro-run/ouro/fleet"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/render"
)

// runFlags are the flags run and resume share.
type runFlags struct {
	repo, agent, model, sandbox string
	json, unsafe, quiet         bool
	trustedCache                bool // the demo: scripted runs share one Go build cache
	maxAgents                   int
	budget                      ouro.Budget
}

func (rf *runFlags) register(fs *flag.FlagSet, withTask bool) {
	fs.StringVar(&rf.repo, "repo", ".", "the git repository to work on")
	if withTask {
		fs.StringVar(&rf.agent, "agent", "", "agent definition name (default: config, then coder)")
		fs.StringVar(&rf.model, "model", "", `model spec: "anthropic:NAME", "openai:NAME" or "script:FILE" (default: agent, then config)`)
	}
	fs.StringVar(&rf.sandbox, "sandbox", "", "sandbox mode: auto, bwrap, landlock or none (none needs --unsafe-no-sandbox)")
	fs.BoolVar(&rf.json, "json", false, "stream the journal events as JSON lines")
	fs.BoolVar(&rf.quiet, "q", false, "print only the outcome")
	fs.BoolVar(&rf.unsafe, "unsafe-no-sandbox", false, "run commands unconfined if no sandbox can start (journaled and shown on every listing)")
	fs.IntVar(&rf.maxAgents, "max-agents", 0, "runs at once, children included (default: config, then 4)")
	fs.Int64Var(&rf.budget.InputTokens, "max-input-tokens", 0, "stop the run after this many input tokens")
	fs.Int64Var(&rf.budget.OutputTokens, "max-output-tokens", 0, "stop the run after this many output tokens")
	fs.Float64Var(&rf.budget.CostUSD, "max-cost", 0, "stop the run after this many US dollars")
	fs.DurationVar(&rf.budget.WallTime, "max-time", 0, "stop the run after this much wall time (e.g. 30m)")
	fs.Int64Var(&rf.budget.ToolCalls, "max-tool-calls", 0, "stop the run after this many tool calls")
}

// setup is what run, resume and demo share: configuration, journal, fleet.
type setup struct {
	cfg   config.Config
	home  string
	jr    *journal.Journal
	fleet *fleet.Fleet
	obs   agent.Observer
}

func (s *setup) close() {
	if s.fleet != nil {
		s.fleet.Close(context.Background())
	}
	if s.jr != nil {
		s.jr.Close()
	}
}

func newSetup(ctx context.Context, e *env, rf *runFlags) (*setup, int) {
	repo, err := filepath.Abs(rf.repo)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro: --repo %s: %v\n", rf.repo, err)
		return nil, exitUsage
	}
	cfg, _, err := config.Load(ctx, repo, e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro: %v\n", err)
		return nil, exitUsage
	}
	if rf.agent != "" {
		cfg.Agent = rf.agent
	}
	if rf.sandbox != "" {
		cfg.Sandbox.Mode = rf.sandbox
	}
	if rf.maxAgents > 0 {
		cfg.MaxAgents = rf.maxAgents
	}
	cfg.Budget = rf.budget.Or(cfg.Budget)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(e.stderr, "ouro: %v\n", err)
		return nil, exitUsage
	}
	if cfg.Sandbox.Mode == "none" && !rf.unsafe {
		fmt.Fprintln(e.stderr, "ouro: sandbox mode none runs agent commands unconfined; pass --unsafe-no-sandbox to confirm")
		return nil, exitUsage
	}
	s := &setup{cfg: cfg}
	if s.home, s.jr, err = openJournal(ctx, e); err != nil {
		fmt.Fprintf(e.stderr, "ouro: %v\n", err)
		return nil, exitUsage
	}
	s.obs = observer(e, rf)
	lvl := slog.LevelWarn
	var sharedCache string
	if rf.trustedCache {
		sharedCache = filepath.Join(s.home, "cache", "go-build")
	}
	f, err := fleet.New(ctx, fleet.Options{Home: s.home, Journal: s.jr, Config: cfg, RepoDir: repo, Getenv: e.getenv,
		Observer: s.obs, Unsafe: rf.unsafe, SharedGoCache: sharedCache, Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))})
	if err != nil {
		s.close()
		fmt.Fprintf(e.stderr, "ouro: %v\n", err)
		return nil, exitUsage
	}
	s.fleet = f
	return s, exitOK
}

// openJournal opens the journal under OURO_HOME.
func openJournal(ctx context.Context, e *env) (string, *journal.Journal, error) {
	home, err := config.StateDir(e.getenv)
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", nil, fmt.Errorf("make the state directory %s: %w", home, err)
	}
	jr, err := journal.Open(ctx, filepath.Join(home, "journal.db"), journal.Options{})
	if err != nil {
		return "", nil, fmt.Errorf("open the journal: %w", err)
	}
	return home, jr, nil
}

// observer picks the output: JSON lines, a live terminal view, or plain.
func observer(e *env, rf *runFlags) agent.Observer {
	if rf.json {
		return &render.JSON{W: e.stdout}
	}
	if rf.quiet {
		return nil
	}
	live := isTerminal(e.stdout)
	return &render.Printer{W: e.stdout, Live: live, Color: live && e.getenv("NO_COLOR") == ""}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// interruptible stops the fleet's runs on the first interrupt and exits
// at once on the second.
func interruptible(ctx context.Context, e *env, f *fleet.Fleet) func() {
	if e.interrupts == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		n := 0
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-e.interrupts:
				n++
				if n == 1 {
					fmt.Fprintln(e.stderr, "\nouro: stopping the run cleanly (Ctrl-C again to exit at once)")
					f.StopAll(ouro.StatusCancelled, "interrupted (Ctrl-C)")
					continue
				}
				fmt.Fprintln(e.stderr, "ouro: exiting now; the run shows as interrupted and can be resumed")
				os.Exit(exitFail)
			}
		}
	}()
	return func() { close(done) }
}

func cmdRun(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "run", "[flags] TASK", `Run an agent on TASK in a new git worktree of the repository, on branch
ouro/RUN-ID. Every step is journaled. Ctrl-C stops the run cleanly; a second
Ctrl-C exits at once. Exit codes: 0 the run finished, 1 it failed or was
stopped, 2 bad usage or configuration.`)
	var rf runFlags
	rf.register(fs, true)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	task := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if task == "" {
		fmt.Fprintln(e.stderr, "ouro run: a task is required, for example: ouro run --repo . \"make the failing test pass\"")
		return exitUsage
	}
	s, code := newSetup(ctx, e, &rf)
	if s == nil {
		return code
	}
	defer s.close()
	stop := interruptible(ctx, e, s.fleet)
	defer stop()
	id, out, err := s.fleet.Start(ctx, fleet.Task{Task: task, Agent: rf.agent, Model: rf.model})
	return outcome(e, id, out, err)
}

// outcome reports how a run ended and maps it to an exit code.
func outcome(e *env, id string, out agent.Outcome, err error) int {
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro: %v\n", err)
		if id == "" || errors.Is(err, agent.ErrEnded) {
			return exitUsage
		}
		return exitFail
	}
	if out.Status != ouro.StatusFinished {
		fmt.Fprintf(e.stderr, "ouro: run %s %s: %s\n", id, out.Status, out.Error)
		return exitFail
	}
	return exitOK
}

func cmdResume(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "resume", "[flags] RUN", `Continue an interrupted run from its journal, in its worktree. Tool calls
whose results were journaled are not repeated; unfinished children of the run
are resumed, finished ones are not rerun. Exit codes as for run.`)
	var rf runFlags
	rf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "ouro resume: give one run id (see ouro runs)")
		return exitUsage
	}
	// The repository is the run's own.
	_, jr, err := openJournal(ctx, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro: %v\n", err)
		return exitUsage
	}
	rec, err := jr.Run(ctx, fs.Arg(0))
	jr.Close()
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro resume: %v\n", err)
		return exitUsage
	}
	if rf.repo == "." {
		rf.repo = rec.Repo
	}
	s, code := newSetup(ctx, e, &rf)
	if s == nil {
		return code
	}
	defer s.close()
	stop := interruptible(ctx, e, s.fleet)
	defer stop()
	out, err := s.fleet.Resume(ctx, rec.ID)
	return outcome(e, rec.ID, out, err)
}

// newFlagSet makes a subcommand's flag set with a --help text.
func newFlagSet(e *env, name, usage, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: ouro %s %s\n\n%s\n\nFlags:\n", name, usage, doc)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses; --help is success, anything else wrong is usage.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// since formats a time for listings.
func since(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
