package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// hardening returns what is passed as -c options before every git subcommand ouro runs.
// The worktree's contents belong to the agent, so nothing git reads from
// there may make git execute code or reach the network:
//
//   - core.hooksPath=/dev/null: no hook ever runs (post-checkout on
//     worktree add, pre-commit, pre-merge-commit, commit-msg, ...), whatever
//     hooks directory the repository or a planted config names.
//   - core.fsmonitor=false: an fsmonitor is a command git would run.
//   - protocol.allow=never: no transport, so no fetch from a planted
//     .gitmodules URL or alternates trick.
//   - diff.ignoreSubmodules=all, status.submoduleSummary=false,
//     submodule.recurse=false: the agent can create a nested repository
//     (DIR/sub/.git) whose config it controls; git must never run a child
//     git inside it, since that child would honour the nested config.
//   - gc.auto=0, maintenance.auto=false: no background gc racing with the
//     concurrent commits of parallel runs.
//   - commit.gpgSign=false, tag.gpgSign=false, merge.verifySignatures=false:
//     signing may prompt or need an agent that a headless run has not got.
//   - rerere.enabled=false: a recorded resolution must not silently settle
//     a conflict the parent agent is meant to see.
//   - merge.conflictStyle=diff3: conflict hunks show the common ancestor,
//     which is what a model needs to resolve them.
//   - core.pager=cat, color.ui=false: plain, parseable output.
//
// Attributes: the in-tree .gitattributes is agent-controlled, but it can only
// select filter, diff and merge drivers that are defined in configuration,
// and every configuration source git reads here is outside the agent's
// reach: the repository's config (protected, see Worktree.Protected), the
// user's global config (trusted, like the user's own tools) and no system
// config (GIT_CONFIG_NOSYSTEM). Blanking drivers with -c filter.NAME.clean=
// would not disable them but make git run an empty command and commit empty
// files, so drivers the user configured (git-lfs, say) keep working. We do
// not set core.attributesFile=/dev/null: the user's global attributes file
// is trusted configuration too, and dropping it would change line-ending and
// binary handling from what the user's own commits get. Diff commands add
// --no-ext-diff and --no-textconv so no diff helper runs on agent content.
func hardening() []string {
	return []string{
		"-c", "core.hooksPath=/dev/null",
		"-c", "core.fsmonitor=false",
		"-c", "protocol.allow=never",
		"-c", "diff.ignoreSubmodules=all",
		"-c", "status.submoduleSummary=false",
		"-c", "submodule.recurse=false",
		"-c", "gc.auto=0",
		"-c", "maintenance.auto=false",
		"-c", "commit.gpgSign=false",
		"-c", "tag.gpgSign=false",
		"-c", "merge.verifySignatures=false",
		"-c", "rerere.enabled=false",
		"-c", "merge.conflictStyle=diff3",
		"-c", "core.pager=cat",
		"-c", "color.ui=false",
		// Checkouts write files with several workers: on a disk where
		// creating a file is slow, a worktree of 1,000 files takes a
		// third of the time or less.
		"-c", "checkout.workers=8",
		"-c", "checkout.thresholdForParallelism=100",
	}
}

// baseEnv returns the environment for git: the process environment without
// any GIT_* variable (an inherited GIT_DIR, GIT_INDEX_FILE or
// GIT_EXTERNAL_DIFF would redirect or subvert every command), except
// GIT_CONFIG_GLOBAL, which names the user's trusted global config; plus
// settings that keep git non-interactive and its output stable.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "GIT_CONFIG_GLOBAL":
		case strings.HasPrefix(k, "GIT_"), k == "LC_ALL", k == "LANG", k == "LANGUAGE", k == "PAGER":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_PAGER=cat",
		"PAGER=cat",
		"GIT_EDITOR=false", // never wait for an editor; fail instead
		"GIT_ASKPASS=",
		"GIT_OPTIONAL_LOCKS=0", // status must not take index.lock to refresh
		"LC_ALL=C",
		"LANG=C",
	)
}

// gitError is a failed git command: what ran, where, and what git said.
type gitError struct {
	args   []string
	dir    string
	code   int
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	if msg == "" {
		msg = e.err.Error()
	}
	return fmt.Sprintf("git %s (in %s): %s", strings.Join(e.args, " "), e.dir, msg)
}

func (e *gitError) Unwrap() error { return e.err }

// exitCode reports git's exit status, or -1 when err is not a git exit.
func exitCode(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

// gitCmd is one git invocation.
type gitCmd struct {
	dir   string   // working directory
	env   []string // added to the base environment
	stdin io.Reader
	args  []string
}

// lockRetries bounds how often a command that failed on an existing lock
// file is retried. Ouro's own commands never contend by design (see
// Repo.mu and Worktree), so a lock is someone else's: the user running git
// in their checkout at the same moment. Git fails such commands before
// changing anything, so rerunning is safe.
const lockRetries = 4

// lockBackoff is the pause before retry number attempt (0-based): 5, 15,
// 45 and 135 ms, so a contended command gives up after about 0.2 s.
func lockBackoff(attempt int) time.Duration {
	d := 5 * time.Millisecond
	for range attempt {
		d *= 3
	}
	return d
}

// run executes git with the hardening options and returns its stdout.
func (r *Repo) run(ctx context.Context, c gitCmd) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		out, err := r.runOnce(ctx, c)
		if err == nil || attempt >= lockRetries || !isLockContention(err) {
			return out, err
		}
		t := time.NewTimer(lockBackoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
	}
}

func (r *Repo) runOnce(ctx context.Context, c gitCmd) ([]byte, error) {
	args := hardening()
	args = append(args, c.args...)
	cmd := exec.CommandContext(ctx, r.gitPath, args...)
	cmd.Dir = c.dir
	cmd.Env = append(append([]string(nil), r.env...), c.env...)
	cmd.Stdin = c.stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		code := -1
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return stdout.Bytes(), &gitError{args: c.args, dir: c.dir, code: code, stderr: stderr.String(), err: err}
	}
	return stdout.Bytes(), nil
}

func isLockContention(err error) bool {
	var ge *gitError
	if !errors.As(err, &ge) {
		return false
	}
	return strings.Contains(ge.stderr, ".lock': File exists")
}

// trimOut returns git output without its trailing newline.
func trimOut(b []byte) string { return strings.TrimRight(string(b), "\n") }

// splitZ splits NUL-terminated git output.
func splitZ(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
