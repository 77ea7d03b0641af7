package workspace

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// benchRepo makes a repository of n files of about 1 KiB in 50 directories.
func benchRepo(b *testing.B, n int) *Repo {
	b.Helper()
	testEnv(b)
	files := make(map[string]string, n)
	line := strings.Repeat("x", 63) + "\n"
	for i := range n {
		files[fmt.Sprintf("d%02d/f%04d.txt", i%50, i)] = fmt.Sprintf("file %d\n", i) + strings.Repeat(line, 16)
	}
	r, err := Open(context.Background(), newRepo(b, files))
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkCreate: one worktree and branch of a 1,000-file repository.
func BenchmarkCreate(b *testing.B) {
	r := benchRepo(b, 1000)
	ctx := context.Background()
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := r.Create(ctx, fmt.Sprintf("bench-%d", i), "", filepath.Join(root, fmt.Sprint(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommit: change one file in a 1,000-file worktree and commit.
func BenchmarkCommit(b *testing.B) {
	r := benchRepo(b, 1000)
	ctx := context.Background()
	w, err := r.Create(ctx, "bench", "", filepath.Join(b.TempDir(), "wt"))
	if err != nil {
		b.Fatal(err)
	}
	ci := CommitInfo{Subject: "bench", Trailers: RunTrailers("bench", "", "m")}
	i := 0
	for b.Loop() {
		i++
		writeFile(b, filepath.Join(w.Dir, "d07", "f0007.txt"), fmt.Sprintf("version %d\n", i))
		sha, err := w.Commit(ctx, ci)
		if err != nil || sha == "" {
			b.Fatal(sha, err)
		}
	}
}

// BenchmarkCommitNothing: the check that finds nothing to commit.
func BenchmarkCommitNothing(b *testing.B) {
	r := benchRepo(b, 1000)
	ctx := context.Background()
	w, err := r.Create(ctx, "bench", "", filepath.Join(b.TempDir(), "wt"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if sha, err := w.Commit(ctx, CommitInfo{Subject: "s"}); err != nil || sha != "" {
			b.Fatal(sha, err)
		}
	}
}

// BenchmarkMerge: merge a child's one-file commit into the parent, in a
// 1,000-file repository (each iteration prepares a fresh child, untimed).
func BenchmarkMerge(b *testing.B) {
	r := benchRepo(b, 1000)
	ctx := context.Background()
	root := b.TempDir()
	parent, err := r.Create(ctx, "parent", "", filepath.Join(root, "parent"))
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		run := fmt.Sprintf("c%d", i)
		c, err := r.Create(ctx, run, parent.Branch, filepath.Join(root, run))
		if err != nil {
			b.Fatal(err)
		}
		writeFile(b, filepath.Join(c.Dir, "new", run+".txt"), run+"\n")
		if _, err := c.Commit(ctx, CommitInfo{Subject: run}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := parent.Merge(ctx, c.Branch, "merge "+run, nil)
		if err != nil || res.Commit == "" {
			b.Fatal(res, err)
		}
	}
}

// BenchmarkGitWorktreeAdd is the baseline for BenchmarkCreate: plain
// `git worktree add` of the same repository, without ouro. The difference
// is ouro's overhead; the rest is git writing 1,000 files.
func BenchmarkGitWorktreeAdd(b *testing.B) {
	r := benchRepo(b, 1000)
	root := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		if _, err := tgitErr(r.Dir, "worktree", "add", "-q", "-b", fmt.Sprintf("raw-%d", i), filepath.Join(root, fmt.Sprint(i)), "HEAD"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateFromSpare: Create taking a spare worktree (Prepare) at
// the same commit, in a 1,000-file repository. Between iterations, untimed,
// the worktree is turned back into a spare with plain git, since preparing
// a fresh spare costs a full checkout.
func BenchmarkCreateFromSpare(b *testing.B) {
	r := benchRepo(b, 1000)
	ctx := context.Background()
	root := b.TempDir()
	if err := r.Prepare(ctx, filepath.Join(root, "pool"), 1, ""); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		dir := filepath.Join(root, fmt.Sprint(i))
		w, err := r.Create(ctx, fmt.Sprintf("bench-%d", i), "", dir)
		if err != nil {
			b.Fatal(err)
		}
		if r.Spares() != 0 {
			b.Fatal("Create did not take the spare")
		}
		b.StopTimer()
		back := filepath.Join(root, "pool", fmt.Sprintf("spare-again-%d", i))
		tgit(b, w.Dir, "switch", "-q", "--detach")
		tgit(b, r.Dir, "update-ref", "-d", "refs/heads/"+w.Branch)
		tgit(b, r.Dir, "worktree", "move", w.Dir, back)
		r.putSpare(spare{dir: resolve(back), commit: w.Base})
		b.StartTimer()
	}
}
