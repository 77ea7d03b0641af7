package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// spare is a worktree checked out ahead of time, detached at commit, that
// no agent has seen.
type spare struct{ dir, commit string }

// Prepare adds n spare worktrees under dir, detached at base ("" means
// HEAD), for Create to take. Checking out a large tree is most of what
// Create costs (git writes every file); a spare turns that into a rename
// and a branch switch that writes only the files that differ between the
// spare's commit and the run's base. dir must be on the same file system
// as the directories later passed to Create (a spare cannot be renamed
// across file systems; Create then falls back to a fresh checkout). Call
// Prepare in the background after Create to keep the pool filled, and
// Close to delete spares nobody took.
func (r *Repo) Prepare(ctx context.Context, dir string, n int, base string) error {
	sha, err := r.Head(ctx)
	if base != "" {
		sha, err = r.resolveCommit(ctx, r.Dir, base)
	}
	if err != nil {
		return fmt.Errorf("prepare spare worktrees: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("prepare spare worktrees: %w", err)
	}
	for range n {
		d, err := os.MkdirTemp(dir, "spare-")
		if err != nil {
			return fmt.Errorf("prepare spare worktrees: %w", err)
		}
		// Only registering the worktree needs the repository's lock; the
		// checkout, which writes every file, runs outside it so that a
		// Create meanwhile does not wait for it.
		r.mu.Lock()
		_, err = r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "add", "--quiet", "--detach", "--no-checkout", "--", d, sha}})
		r.mu.Unlock()
		if err == nil {
			_, err = r.run(ctx, gitCmd{dir: d, args: []string{"reset", "--hard", "--quiet", sha}})
			if err != nil {
				r.mu.Lock()
				r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "remove", "--force", "--force", "--", d}})
				r.mu.Unlock()
			}
		}
		if err == nil {
			r.mu.Lock()
			r.spares = append(r.spares, spare{dir: resolve(d), commit: sha})
			r.mu.Unlock()
		}
		if err != nil {
			os.Remove(d)
			return fmt.Errorf("prepare spare worktree in %s: %w", d, err)
		}
	}
	return nil
}

// Spares reports how many spare worktrees are ready.
func (r *Repo) Spares() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.spares)
}

// Close deletes the spare worktrees nobody took. Run worktrees are left
// alone.
func (r *Repo) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, s := range r.spares {
		if _, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "remove", "--force", "--force", "--", s.dir}}); err != nil {
			errs = append(errs, fmt.Errorf("remove spare worktree %s: %w", s.dir, err))
		}
	}
	r.spares = nil
	return errors.Join(errs...)
}

// takeSpare removes and returns a spare, preferring one at commit.
func (r *Repo) takeSpare(commit string) (spare, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.spares) == 0 {
		return spare{}, false
	}
	i := len(r.spares) - 1
	for j, s := range r.spares {
		if s.commit == commit {
			i = j
			break
		}
	}
	s := r.spares[i]
	r.spares = append(r.spares[:i], r.spares[i+1:]...)
	return s, true
}

func (r *Repo) putSpare(s spare) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spares = append(r.spares, s)
}

// createFromSpare tries to turn a spare into the run's worktree at dir on
// branch, at commit sha. ok is false when no spare could be used and
// Create should check out afresh.
func (r *Repo) createFromSpare(ctx context.Context, runID, branch, sha, dir string) (w *Worktree, ok bool, err error) {
	s, found := r.takeSpare(sha)
	if !found {
		return nil, false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		r.putSpare(s)
		return nil, false, nil
	}
	os.Remove(dir) // an empty directory: git worktree move wants the name free
	r.mu.Lock()
	_, err = r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "move", "--", s.dir, dir}})
	r.mu.Unlock()
	if err != nil {
		// Most likely another file system; the spare is where it was.
		r.putSpare(s)
		return nil, false, nil
	}
	w, err = r.worktreeAt(dir, runID)
	if err == nil {
		if s.commit == sha {
			// Same commit: no file changes, only a new branch for HEAD.
			// The empty old value makes update-ref fail if the branch exists.
			_, err = r.run(ctx, w.cmd(gitCmd{args: []string{"update-ref", "-m", "branch: Created from " + sha, "refs/heads/" + branch, sha, ""}}))
			if err == nil {
				_, err = w.git(ctx, "symbolic-ref", "HEAD", "refs/heads/"+branch)
			}
		} else {
			_, err = w.git(ctx, "switch", "--quiet", "--no-guess", "--discard-changes", "-c", branch, sha)
		}
	}
	if err != nil {
		// Typically the branch exists already. The spare is untouched
		// (HEAD still detached at its commit): put it back in the pool.
		r.mu.Lock()
		if _, merr := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "move", "--", dir, s.dir}}); merr == nil {
			r.spares = append(r.spares, s)
		} else {
			r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "remove", "--force", "--force", "--", dir}})
		}
		r.mu.Unlock()
		return nil, true, err
	}
	return w, true, nil
}
