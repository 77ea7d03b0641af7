// Package workspace provides the git worktrees that agent runs work in:
// one branch and worktree per run, commits with run trailers, diffs, merges
// of child runs back into their parent, and the list of paths the sandbox
// must keep out of the agent's reach.
//
// It drives the real git binary. The agent controls a worktree's contents,
// so every command is hardened (no hooks, no fsmonitor, no transports, no
// nested-repository recursion, no pager or prompt; see hardening) and names
// the worktree's git directory explicitly rather than discovering it from
// the .git file the agent could rewrite.
//
// Concurrency: a Repo may be shared by goroutines. Operations that change
// the shared worktree list (Create, Remove) are serialised by a mutex in the
// Repo; operations on one worktree (Commit, Merge, Diff) are serialised by a
// mutex per worktree directory, shared by every Worktree value for that
// directory. Different worktrees commit and merge in parallel without
// locking: each has its own index and HEAD and updates its own branch ref,
// so git's lock files never collide by design. A lock held by someone else
// (the user running git at the same moment) is retried briefly.
//
// Speed: creating a worktree means git writing every file of the tree, which
// dominates Create on a large repository. Repo.Prepare checks out spare
// worktrees ahead of time; Create then takes one with a rename and a branch
// switch that writes only the files that differ from the run's base.
//
// Git 2.31 or later is required.
package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Sentinel errors, for errors.Is. The errors returned wrap them with a
// message naming the directory and what to do.
var (
	// ErrNotRepo: the directory is not inside a git repository.
	ErrNotRepo = errors.New("not a git repository")
	// ErrBare: the repository has no working tree.
	ErrBare = errors.New("bare repository")
	// ErrDirty: tracked files have uncommitted changes.
	ErrDirty = errors.New("uncommitted changes")
	// ErrNoCommits: HEAD does not name a commit yet.
	ErrNoCommits = errors.New("no commits")
	// ErrNoWorktree: Attach found no worktree for the run.
	ErrNoWorktree = errors.New("worktree missing")
	// ErrBranchExists: Create found the run's branch already there.
	ErrBranchExists = errors.New("branch exists")
)

// wsError carries a full message and a sentinel kind.
type wsError struct {
	msg  string
	kind error
}

func (e *wsError) Error() string { return e.msg }
func (e *wsError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &wsError{msg: fmt.Sprintf(format, args...), kind: kind}
}

// BranchPrefix is the prefix of every run's branch: ouro/RUN-ID.
const BranchPrefix = "ouro/"

// baseFile is the file in a worktree's git directory that records the
// commit the run started from, so Attach can restore Worktree.Base.
const baseFile = "ouro-base"

// Repo is a git repository with a working tree that runs branch from.
// Get one from Open; the zero value is not usable.
type Repo struct {
	// Dir is the top level of the working tree.
	Dir string
	// GitDir is the repository's git directory (for a linked worktree of
	// the user's, that worktree's own git directory).
	GitDir string
	// CommonDir is the directory shared by all worktrees: objects, refs,
	// config, hooks.
	CommonDir string

	gitPath string
	env     []string

	mu      sync.Mutex             // serialises worktree add/remove; guards wtLocks
	wtLocks map[string]*sync.Mutex // per worktree directory

	spares []spare // ready worktrees, guarded by mu

	idMu     sync.Mutex
	identity *identity // cached user.name/user.email, nil until read
}

// OpenOptions adjusts Open's checks.
type OpenOptions struct {
	// AllowDirty skips the uncommitted-changes check, for resuming runs or
	// for callers that only need the repository, not a clean starting point.
	AllowDirty bool
}

// Open finds the repository containing dir and checks that runs can start
// from it: it must have a working tree, at least one commit, and no
// uncommitted changes to tracked files. Untracked files do not count: they
// are not in HEAD, so the run's worktree will not have them, but they do
// not make HEAD a misleading starting point either.
func Open(ctx context.Context, dir string) (*Repo, error) {
	return OpenWith(ctx, dir, OpenOptions{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dir string, opts OpenOptions) (*Repo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open repository %s: not a directory", abs)
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("open repository %s: git is not installed or not on PATH: %w", abs, err)
	}
	r := &Repo{gitPath: gitPath, env: baseEnv(), wtLocks: map[string]*sync.Mutex{}}

	out, err := r.run(ctx, gitCmd{dir: abs, args: []string{"rev-parse",
		"--is-bare-repository", "--is-inside-work-tree",
		"--path-format=absolute", "--git-dir", "--git-common-dir"}})
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("open repository %s: %w", abs, ctx.Err())
		}
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "not a git repository") {
			return nil, errorf(ErrNotRepo, "%s is not inside a git repository; run git init or pass --repo", abs)
		}
		return nil, fmt.Errorf("open repository %s: %w", abs, err)
	}
	lines := strings.Split(trimOut(out), "\n")
	if len(lines) != 4 || !filepath.IsAbs(lines[2]) {
		// Git before 2.31 does not know --path-format and echoes it.
		v, _ := r.run(ctx, gitCmd{dir: abs, args: []string{"version"}})
		return nil, fmt.Errorf("open repository %s: unexpected git rev-parse output %q; ouro needs git 2.31 or later (found %s)", abs, out, trimOut(v))
	}
	if lines[0] == "true" {
		return nil, errorf(ErrBare, "%s is a bare repository with no working tree; pass --repo with a checkout (git clone %s)", abs, abs)
	}
	if lines[1] != "true" {
		return nil, errorf(ErrNotRepo, "%s is inside a git directory, not a working tree; pass --repo with the checkout's top level", abs)
	}
	r.GitDir = resolve(lines[2])
	r.CommonDir = resolve(lines[3])

	out, err = r.run(ctx, gitCmd{dir: abs, args: []string{"rev-parse", "--show-toplevel"}})
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", abs, err)
	}
	r.Dir = resolve(trimOut(out))

	if _, err := r.Head(ctx); err != nil {
		return nil, err
	}
	if !opts.AllowDirty {
		if err := r.checkClean(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Head returns the commit the repository's HEAD points at.
func (r *Repo) Head(ctx context.Context) (string, error) {
	out, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"rev-parse", "--verify", "--quiet", "HEAD^{commit}"}})
	if err != nil {
		if exitCode(err) == 1 {
			return "", errorf(ErrNoCommits, "%s has no commits yet; commit something first (git commit --allow-empty -m init)", r.Dir)
		}
		return "", fmt.Errorf("read HEAD of %s: %w", r.Dir, err)
	}
	return trimOut(out), nil
}

// checkClean fails with ErrDirty when tracked files in the user's working
// tree or index differ from HEAD.
func (r *Repo) checkClean(ctx context.Context) error {
	out, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"status", "--porcelain=v1", "-z",
		"--untracked-files=no", "--ignore-submodules=dirty"}})
	if err != nil {
		return fmt.Errorf("check %s for uncommitted changes: %w", r.Dir, err)
	}
	paths := statusPaths(out)
	if len(paths) == 0 {
		return nil
	}
	return errorf(ErrDirty, "%s has uncommitted changes to %s; commit or stash them first (the run starts from HEAD and would not see them)",
		r.Dir, listPaths(paths, 10))
}

// statusPaths extracts the paths from `git status --porcelain=v1 -z`.
func statusPaths(out []byte) []string {
	var paths []string
	fields := splitZ(out)
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) < 4 {
			continue
		}
		paths = append(paths, f[3:])
		if f[0] == 'R' || f[0] == 'C' { // the next field is the source path
			i++
		}
	}
	return paths
}

// listPaths formats up to max paths, saying how many more there are.
func listPaths(paths []string, max int) string {
	shown := paths
	if len(shown) > max {
		shown = shown[:max]
	}
	s := strings.Join(shown, ", ")
	if n := len(paths) - len(shown); n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkRunID makes sure runID gives a valid, unsurprising branch name.
func checkRunID(runID string) error {
	if !runIDPattern.MatchString(runID) || strings.Contains(runID, "..") || strings.HasSuffix(runID, ".lock") || strings.HasSuffix(runID, ".") {
		return fmt.Errorf("run id %q is not usable in a branch name; use letters, digits, '.', '_' and '-', starting with a letter or digit", runID)
	}
	return nil
}

// wtLock returns the mutex for the worktree at dir.
func (r *Repo) wtLock(dir string) *sync.Mutex {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.wtLocks[dir]
	if m == nil {
		m = &sync.Mutex{}
		r.wtLocks[dir] = m
	}
	return m
}

// Create adds a worktree at dir on a new branch ouro/RUN-ID starting at
// base (a commit, branch or tag; "" means the repository's HEAD commit).
// The user's working tree and index are not touched. dir must not exist or
// be an empty directory.
func (r *Repo) Create(ctx context.Context, runID, base, dir string) (*Worktree, error) {
	if err := checkRunID(runID); err != nil {
		return nil, fmt.Errorf("create worktree: %w", err)
	}
	branch := BranchPrefix + runID
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("create worktree for run %s: %w", runID, err)
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("create worktree for run %s: %s already exists and is not empty; choose another directory or use Attach to resume", runID, abs)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("create worktree for run %s: %w", runID, err)
	}

	var sha string
	if base == "" {
		if sha, err = r.Head(ctx); err != nil {
			return nil, fmt.Errorf("create worktree for run %s: %w", runID, err)
		}
	} else {
		if sha, err = r.resolveCommit(ctx, r.Dir, base); err != nil {
			return nil, fmt.Errorf("create worktree for run %s: %w", runID, err)
		}
	}

	w, fromSpare, err := r.createFromSpare(ctx, runID, branch, sha, abs)
	if err != nil {
		if _, berr := r.resolveCommit(ctx, r.Dir, "refs/heads/"+branch); berr == nil {
			return nil, branchExists(runID, branch, r.Dir)
		}
		return nil, fmt.Errorf("create worktree for run %s from a spare: %w", runID, err)
	}
	if !fromSpare {
		if w, err = r.addWorktree(ctx, runID, branch, sha, abs); err != nil {
			return nil, err
		}
	}
	w.Base = sha
	if err := os.WriteFile(filepath.Join(w.gitDir, baseFile), []byte(sha+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("create worktree for run %s: record base: %w", runID, err)
	}
	return w, nil
}

// addWorktree checks out a new worktree at dir with git worktree add.
func (r *Repo) addWorktree(ctx context.Context, runID, branch, sha, abs string) (*Worktree, error) {
	r.mu.Lock()
	_, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "add", "--quiet", "--no-track", "-b", branch, "--", abs, sha}})
	r.mu.Unlock()
	if err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "already exists") && strings.Contains(ge.stderr, "branch") {
			return nil, branchExists(runID, branch, r.Dir)
		}
		return nil, fmt.Errorf("create worktree for run %s: %w", runID, err)
	}

	w, err := r.worktreeAt(abs, runID)
	if err != nil {
		return nil, fmt.Errorf("create worktree for run %s: %w", runID, err)
	}
	return w, nil
}

func branchExists(runID, branch, repo string) error {
	return errorf(ErrBranchExists, "create worktree for run %s: branch %s already exists in %s; resume the run (Attach) or delete the branch", runID, branch, repo)
}

// resolveCommit resolves rev to a commit id.
func (r *Repo) resolveCommit(ctx context.Context, dir, rev string) (string, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("%q is not a commit, branch or tag name", rev)
	}
	out, err := r.run(ctx, gitCmd{dir: dir, args: []string{"rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"}})
	if err != nil {
		if exitCode(err) == 1 {
			return "", fmt.Errorf("%q does not name a commit in %s", rev, r.Dir)
		}
		return "", fmt.Errorf("resolve %q: %w", rev, err)
	}
	return trimOut(out), nil
}

// worktreeAt builds the Worktree for the linked worktree at dir (absolute)
// from its .git file, checking it belongs to this repository.
func (r *Repo) worktreeAt(dir, runID string) (*Worktree, error) {
	dir = resolve(dir)
	dotgit := filepath.Join(dir, ".git")
	if fi, err := os.Lstat(dotgit); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s is a repository's main checkout, not a linked worktree", dir)
	}
	b, err := os.ReadFile(dotgit)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dotgit, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	gd, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	if !ok {
		return nil, fmt.Errorf("%s does not start with \"gitdir:\"; %s is not a linked worktree", dotgit, dir)
	}
	gd = strings.TrimSpace(gd)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(dir, gd)
	}
	gitDir := resolve(gd)
	cd, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return nil, fmt.Errorf("%s is not a linked worktree's git directory: %w", gitDir, err)
	}
	common := strings.TrimSpace(string(cd))
	if !filepath.IsAbs(common) {
		common = filepath.Join(gitDir, common)
	}
	if resolve(common) != r.CommonDir {
		return nil, fmt.Errorf("%s is a worktree of another repository (%s, not %s)", dir, resolve(common), r.CommonDir)
	}
	return &Worktree{
		Repo:   r,
		Dir:    dir,
		Branch: BranchPrefix + runID,
		gitDir: gitDir,
		mu:     r.wtLock(dir),
	}, nil
}

// Attach reopens the worktree of run runID at dir, on resume. It fails with
// ErrNoWorktree when dir is missing or is not that run's worktree.
func (r *Repo) Attach(ctx context.Context, runID, dir string) (*Worktree, error) {
	if err := checkRunID(runID); err != nil {
		return nil, fmt.Errorf("attach worktree: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("attach worktree for run %s: %w", runID, err)
	}
	branch := BranchPrefix + runID
	if _, err := os.Stat(abs); err != nil {
		hint := "the branch is gone too; start a new run"
		if _, berr := r.resolveCommit(ctx, r.Dir, "refs/heads/"+branch); berr == nil {
			hint = "branch " + branch + " still exists; run git worktree prune and start from the branch"
		}
		return nil, errorf(ErrNoWorktree, "attach worktree for run %s: %s is missing (%s)", runID, abs, hint)
	}
	w, err := r.worktreeAt(abs, runID)
	if err != nil {
		return nil, errorf(ErrNoWorktree, "attach worktree for run %s: %v", runID, err)
	}
	out, err := r.run(ctx, w.cmd(gitCmd{args: []string{"symbolic-ref", "--quiet", "HEAD"}}))
	if err != nil {
		return nil, errorf(ErrNoWorktree, "attach worktree for run %s: %s has no branch checked out (%v)", runID, abs, err)
	}
	if got := trimOut(out); got != "refs/heads/"+branch {
		return nil, errorf(ErrNoWorktree, "attach worktree for run %s: %s has %s checked out, not %s", runID, abs, strings.TrimPrefix(got, "refs/heads/"), branch)
	}
	if b, err := os.ReadFile(filepath.Join(w.gitDir, "locked")); err == nil && strings.Contains(string(b), "initializing") {
		return nil, errorf(ErrNoWorktree, "attach worktree for run %s: creating %s was interrupted and its checkout is incomplete; remove it (git worktree remove --force %s) and start the run again", runID, abs, abs)
	}
	if b, err := os.ReadFile(filepath.Join(w.gitDir, baseFile)); err == nil {
		w.Base = string(bytes.TrimSpace(b))
	}
	if err := w.recover(ctx); err != nil {
		return nil, fmt.Errorf("attach worktree for run %s: %w", runID, err)
	}
	return w, nil
}

// staleLockAge is how old a lock file in a worktree's git directory must be
// before Attach deletes it. Only ouro runs git there (the agent cannot
// write the git directory), and its commands hold locks for well under a
// second, so an old lock is left by a git process killed with ouro.
const staleLockAge = 30 * time.Second

// recover undoes what a crash of a previous ouro process can leave in the
// worktree's git directory: stale lock files, and a merge in progress
// (Merge starts only on a clean worktree, so aborting it restores exactly
// the state before the merge).
func (w *Worktree) recover(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range []string{"index.lock", "HEAD.lock"} {
		p := filepath.Join(w.gitDir, name)
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > staleLockAge {
			slog.Warn("removing stale git lock file", "path", p, "age", time.Since(fi.ModTime()).Round(time.Second))
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("remove stale lock: %w", err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(w.gitDir, "MERGE_HEAD")); err == nil {
		slog.Warn("aborting a merge interrupted by a crash", "worktree", w.Dir)
		if _, err := w.git(ctx, "merge", "--abort"); err != nil {
			return fmt.Errorf("abort interrupted merge in %s: %w", w.Dir, err)
		}
	}
	return nil
}

// resolve returns p with symlinks resolved; for a path that does not exist
// (yet) the longest existing parent is resolved and the rest appended.
func resolve(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	parent, base := filepath.Split(p)
	parent = filepath.Clean(parent)
	if parent == p || base == "" {
		return p
	}
	return filepath.Join(resolve(parent), base)
}
