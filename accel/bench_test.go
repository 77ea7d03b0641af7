package accel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// makeBenchRepo writes a repository of n first-parent commits with git
// fast-import: a pool of files edited a few lines at a time, with a mix of
// humans, AI trailers, coding agents, bots, lock files and vendored code.
func makeBenchRepo(tb testing.TB, dir string, n int) {
	tb.Helper()
	if out, err := exec.Command("git", "init", "-q", "-b", "main", dir).CombinedOutput(); err != nil {
		tb.Fatalf("git init: %v\n%s", err, out)
	}
	cmd := exec.Command("git", "fast-import", "--quiet", "--done")
	cmd.Dir = dir
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(in, 1<<20)
	rng := rand.New(rand.NewPCG(7, 11))
	const nFiles = 3000
	files := make([][]string, nFiles)
	names := make([]string, nFiles)
	for i := range names {
		switch {
		case i%50 == 0:
			names[i] = fmt.Sprintf("vendor/github.com/dep%d/lib%d.go", i%7, i)
		case i%97 == 0:
			names[i] = fmt.Sprintf("pkg%d/go.sum", i%13)
		default:
			names[i] = fmt.Sprintf("pkg%d/sub%d/file%d.go", i%40, i%9, i)
		}
	}
	people := []string{"Ann <ann@example.com>", "Ben <ben@example.com>", "Cleo <cleo@example.com>", "Dan <dan@example.com>", "Eli <eli@example.com>", "Fay <fay@example.com>"}
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	step := int64(7*365*86400) / int64(n)
	for c := 0; c < n; c++ {
		ts := start + int64(c)*step
		author := people[rng.IntN(len(people))]
		msg := fmt.Sprintf("change %d\n\nSome explanation of change %d.\n", c, c)
		r := rng.IntN(100)
		switch {
		case r < 3:
			author = "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"
		case r < 8:
			author = "Copilot <198982749+Copilot@users.noreply.github.com>"
		case r < 10:
			msg += "\nOuro-Run: run-" + strconv.Itoa(c) + "\nOuro-Parent-Run: run-0\n"
		case r < 25 && c > n/2:
			msg += "\nCo-authored-by: Claude <noreply@anthropic.com>\n"
		case r < 30:
			msg += "\nSigned-off-by: " + author + "\n"
		}
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter %s %d +0000\ndata %d\n%s", author, ts, len(msg), msg)
		for k := 1 + rng.IntN(3); k > 0; k-- {
			f := rng.IntN(nFiles)
			lines := files[f]
			if len(lines) == 0 {
				lines = make([]string, 40+rng.IntN(200))
				for i := range lines {
					lines[i] = fmt.Sprintf("\tx%d := compute(%d, %d) // line %d", i, f, c, i)
				}
			} else {
				for e := 1 + rng.IntN(8); e > 0; e-- {
					i := rng.IntN(len(lines))
					lines[i] = fmt.Sprintf("\ty%d := compute(%d, %d) // edited", i, f, c)
				}
				for e := rng.IntN(6); e > 0; e-- {
					lines = append(lines, fmt.Sprintf("\tz := more(%d, %d)", f, c))
				}
			}
			files[f] = lines
			body := strings.Join(lines, "\n") + "\n"
			fmt.Fprintf(w, "M 100644 inline %s\ndata %d\n%s\n", names[f], len(body), body)
		}
		w.WriteString("\n")
	}
	w.WriteString("done\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("git fast-import: %v", err)
	}
	for _, args := range [][]string{{"reset", "-q", "--hard", "main"}} {
		c := exec.Command("git", args...)
		c.Dir = dir
		if out, err := c.CombinedOutput(); err != nil {
			tb.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestMakeBenchRepo builds the speed benchmark's repository in
// $OURO_ACCEL_BENCH_REPO ($OURO_ACCEL_BENCH_COMMITS commits, 50000 by
// default). It is skipped unless the variable is set.
func TestMakeBenchRepo(t *testing.T) {
	dir := os.Getenv("OURO_ACCEL_BENCH_REPO")
	if dir == "" {
		t.Skip("set OURO_ACCEL_BENCH_REPO=DIR to build the benchmark repository")
	}
	n := 50000
	if s := os.Getenv("OURO_ACCEL_BENCH_COMMITS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatalf("OURO_ACCEL_BENCH_COMMITS=%q: %v", s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		t.Logf("%s exists; leaving it as it is", dir)
		return
	}
	begin := time.Now()
	makeBenchRepo(t, dir, n)
	t.Logf("built %d commits in %s", n, time.Since(begin).Round(time.Millisecond))
}

// run runs a command with its output discarded and returns its wall time
// and peak resident set (ru_maxrss of the process and its waited children).
func measure(t *testing.T, dir string, name string, args ...string) (time.Duration, int64) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout = io.Discard
	cmd.Stderr = os.Stderr
	begin := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	wall := time.Since(begin)
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024
	}
	return wall, rss
}

// TestAccelBenchCompare times a bare `git log --first-parent --numstat`
// against `ouro accel` side by side on $OURO_ACCEL_BENCH_REPO, with the
// ouro binary in $OURO_ACCEL_BENCH_BIN, and prints the ratio and peak RSS.
func TestAccelBenchCompare(t *testing.T) {
	dir, bin := os.Getenv("OURO_ACCEL_BENCH_REPO"), os.Getenv("OURO_ACCEL_BENCH_BIN")
	if dir == "" || bin == "" {
		t.Skip("set OURO_ACCEL_BENCH_REPO=DIR and OURO_ACCEL_BENCH_BIN=ouro to compare")
	}
	rounds := 3
	if s := os.Getenv("OURO_ACCEL_BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	extra := strings.Fields(os.Getenv("OURO_ACCEL_BENCH_ARGS"))
	count, _ := exec.Command("git", "-C", dir, "rev-list", "--count", "--first-parent", "HEAD").Output()
	var gitT, ouroT []time.Duration
	var gitRSS, ouroRSS int64
	for i := 0; i < rounds; i++ {
		d, r := measure(t, dir, "git", "log", "--first-parent", "--numstat", "HEAD")
		gitT = append(gitT, d)
		gitRSS = max(gitRSS, r)
		d, r = measure(t, dir, bin, append([]string{"accel", "--repo", dir}, extra...)...)
		ouroT = append(ouroT, d)
		ouroRSS = max(ouroRSS, r)
	}
	med := func(ds []time.Duration) time.Duration {
		s := append([]time.Duration(nil), ds...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	g, o := med(gitT), med(ouroT)
	fmt.Printf("repository: %s (%s first-parent commits)\n", dir, strings.TrimSpace(string(count)))
	fmt.Printf("git log --first-parent --numstat: median %s of %v, peak RSS %.1f MiB\n", g.Round(time.Millisecond), gitT, float64(gitRSS)/(1<<20))
	fmt.Printf("ouro accel %s: median %s of %v, peak RSS %.1f MiB (ouro and its git children, the larger)\n", strings.Join(extra, " "), o.Round(time.Millisecond), ouroT, float64(ouroRSS)/(1<<20))
	fmt.Printf("ratio: %.2fx (goal <= 1.3x)\n", float64(o)/float64(g))
}

// BenchmarkAccel analyzes a generated 3,000-commit repository.
func BenchmarkAccel(b *testing.B) {
	gitEnvB(b)
	dir := b.TempDir()
	makeBenchRepo(b, dir, 3000)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := Analyze(ctx, Options{Repo: dir})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Totals.Commits != 3000 {
			b.Fatalf("counted %d commits, want 3000", rep.Totals.Commits)
		}
	}
	b.ReportMetric(float64(3000*b.N)/b.Elapsed().Seconds(), "commits/s")
}

// BenchmarkParseTrailers parses a typical message with a trailer block.
func BenchmarkParseTrailers(b *testing.B) {
	msg := "Fix the thing\n\nA paragraph explaining why.\nAnd another line.\n\nCo-authored-by: Claude <noreply@anthropic.com>\nSigned-off-by: Ann <ann@example.com>\n"
	for i := 0; i < b.N; i++ {
		if len(ParseTrailers(msg)) != 2 {
			b.Fatal("want 2 trailers")
		}
	}
}

func gitEnvB(b *testing.B) {
	home := b.TempDir()
	b.Setenv("HOME", home)
	b.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	b.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "gitconfig"))
}
