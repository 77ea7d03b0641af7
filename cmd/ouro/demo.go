package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ouro-run/ouro/fleet"
)

// demoFS is the demo: a small Go repository with a failing test (its files
// end in .demo so that Go tooling leaves them alone) and the scripts of a
// parent agent and the child it delegates to.
//
//go:embed demo
var demoFS embed.FS

func cmdDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "demo", "[--dir DIR] [--json]", `Run the whole loop offline: a scripted agent fixes a bug in a bundled sample
repository in its own worktree, is refused when it tries to plant a git hook,
delegates a test to a child agent whose branch is merged back, runs the tests in
the sandbox and finishes. Then the journal is verified. No model key is needed.
Exit codes as for run.`)
	dir := fs.String("dir", "", "where to create the sample repository (default: a new temporary directory)")
	var rf runFlags
	rf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	repo, parent, err := writeDemo(ctx, *dir)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro demo: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(e.stdout, "ouro demo: sample repository at %s (its test fails: Add subtracts)\n\n", repo)
	rf.repo = repo
	rf.trustedCache = true
	s, code := newSetup(ctx, e, &rf)
	if s == nil {
		return code
	}
	defer s.close()
	warmBuildCache(ctx, e, s.home, repo)
	stop := interruptible(ctx, e, s.fleet)
	defer stop()
	id, out, err := s.fleet.Start(ctx, fleet.Task{Task: "Make the failing tests in this repository pass, and get a test written for Sub.", Model: "script:" + parent})
	code = outcome(e, id, out, err)
	if code != exitOK {
		return code
	}
	if !rf.json {
		rep, verr := s.jr.Verify(ctx)
		switch {
		case verr != nil:
			fmt.Fprintf(e.stdout, "\njournal: %v\n", verr)
		case rep.Problem != nil:
			fmt.Fprintf(e.stdout, "\njournal TAMPERED: %v\n", rep.Problem)
		default:
			fmt.Fprintf(e.stdout, "\njournal intact: %d events, tree head %s\n", rep.Events, rep.Head)
		}
		branch := "ouro/" + id
		if log, err := exec.CommandContext(ctx, "git", "-C", repo, "log", "--format=%h %s", "main.."+branch).Output(); err == nil {
			fmt.Fprintf(e.stdout, "\ncommits on %s:\n%s", branch, indentLines(string(log)))
		}
		fmt.Fprintf(e.stdout, "\nyour tree in %s is untouched; the work is on branch %s.\nnext: ouro log %s | ouro tree %s | ouro runs | ouro verify\n", repo, branch, id, id)
	}
	return exitOK
}

// warmBuildCache builds the bundled sample's tests once, outside the
// sandbox (the code is ouro's own), into the build cache sandboxed runs
// share, so the demo's first go test does not compile the standard library.
func warmBuildCache(ctx context.Context, e *env, home, repo string) {
	cache := e.getenv("OURO_GOCACHE")
	if cache == "" {
		cache = filepath.Join(home, "cache", "go-build")
	}
	if _, err := os.Stat(filepath.Join(cache, "README")); err == nil {
		return
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "./...")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GOCACHE="+cache, "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	_ = cmd.Run() // the sample's test fails by design
}

func indentLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// writeDemo lays out the sample repository and the scripts and commits the
// repository. It returns the repository and the parent's script.
func writeDemo(ctx context.Context, dir string) (repo, parentScript string, err error) {
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ouro-demo-"); err != nil {
			return "", "", fmt.Errorf("make a directory for the demo: %w", err)
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", err
	}
	repo = filepath.Join(dir, "calc")
	if _, err := os.Stat(repo); err == nil {
		return "", "", fmt.Errorf("%s already exists; pass a fresh --dir", repo)
	}
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return "", "", err
	}
	err = fs.WalkDir(demoFS, "demo/repo", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := demoFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, "demo/repo/"), ".demo")
		return os.WriteFile(filepath.Join(repo, rel), b, 0o644)
	})
	if err != nil {
		return "", "", fmt.Errorf("write the sample repository: %w", err)
	}
	child := filepath.Join(dir, "child.jsonl")
	parentScript = filepath.Join(dir, "parent.jsonl")
	cb, _ := demoFS.ReadFile("demo/child.jsonl")
	pb, _ := demoFS.ReadFile("demo/parent.jsonl")
	pb = []byte(strings.ReplaceAll(string(pb), "CHILD_SCRIPT", child))
	if err := os.WriteFile(child, cb, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(parentScript, pb, 0o644); err != nil {
		return "", "", err
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "-A"},
		{"-c", "user.name=ouro demo", "-c", "user.email=demo@ouro.invalid", "commit", "-q", "-m", "calc: Add and Sub"},
	} {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("git %s in the sample repository: %v: %s", args[0], err, out)
		}
	}
	return repo, parentScript, nil
}
