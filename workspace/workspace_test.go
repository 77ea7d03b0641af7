package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenErrors(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		setup   func(t *testing.T) string // returns the dir to open
		want    error
		mention []string // substrings the message must contain
	}{
		{
			name:    "not a repo",
			setup:   func(t *testing.T) string { return t.TempDir() },
			want:    ErrNotRepo,
			mention: []string{"is not inside a git repository; run git init or pass --repo"},
		},
		{
			name: "bare",
			setup: func(t *testing.T) string {
				d := filepath.Join(t.TempDir(), "b.git")
				tgit(t, "", "init", "-q", "--bare", d)
				return d
			},
			want:    ErrBare,
			mention: []string{"bare repository"},
		},
		{
			name: "no commits",
			setup: func(t *testing.T) string {
				d := filepath.Join(t.TempDir(), "empty")
				tgit(t, "", "init", "-q", d)
				return d
			},
			want:    ErrNoCommits,
			mention: []string{"has no commits yet"},
		},
		{
			name: "dirty: modified and staged",
			setup: func(t *testing.T) string {
				d := newRepo(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
				writeFile(t, filepath.Join(d, "a.txt"), "changed\n")
				writeFile(t, filepath.Join(d, "new.txt"), "new\n")
				tgit(t, d, "add", "new.txt")
				return d
			},
			want:    ErrDirty,
			mention: []string{"a.txt", "new.txt", "commit or stash"},
		},
		{
			name: "dirty: more than ten paths",
			setup: func(t *testing.T) string {
				files := map[string]string{}
				for i := range 13 {
					files[fmt.Sprintf("f%02d", i)] = "x\n"
				}
				d := newRepo(t, files)
				for name := range files {
					writeFile(t, filepath.Join(d, name), "y\n")
				}
				return d
			},
			want:    ErrDirty,
			mention: []string{"f00", "f09", "and 3 more"},
		},
		{
			name: "inside .git",
			setup: func(t *testing.T) string {
				return filepath.Join(newRepo(t, map[string]string{"a": "a\n"}), ".git")
			},
			want:    ErrNotRepo,
			mention: []string{"inside a git directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			_, err := Open(ctx, dir)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open(%s) = %v, want %v", dir, err, tt.want)
			}
			msg := err.Error()
			for _, m := range append(tt.mention, resolve(dir)) {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
		})
	}
}

func TestOpenOK(t *testing.T) {
	testEnv(t)
	dir := newRepo(t, map[string]string{"a.txt": "a\n", "sub/b.txt": "b\n"})
	writeFile(t, filepath.Join(dir, "untracked.txt"), "not a blocker\n")
	// An inherited GIT_DIR or GIT_INDEX_FILE must not redirect ouro's git.
	t.Setenv("GIT_DIR", filepath.Join(t.TempDir(), "elsewhere"))
	t.Setenv("GIT_INDEX_FILE", filepath.Join(t.TempDir(), "index"))
	r, err := Open(context.Background(), filepath.Join(dir, "sub"))
	if err != nil {
		t.Fatal(err)
	}
	real := resolve(dir)
	if r.Dir != real || r.GitDir != filepath.Join(real, ".git") || r.CommonDir != filepath.Join(real, ".git") {
		t.Errorf("Open = {Dir %s GitDir %s CommonDir %s}, want top level %s", r.Dir, r.GitDir, r.CommonDir, real)
	}
	head, err := r.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := tgit(t, dir, "--git-dir="+filepath.Join(dir, ".git"), "rev-parse", "HEAD"); head != want {
		t.Errorf("Head = %s, want %s", head, want)
	}
	writeFile(t, filepath.Join(dir, "a.txt"), "dirty\n")
	if _, err := OpenWith(context.Background(), dir, OpenOptions{AllowDirty: true}); err != nil {
		t.Errorf("OpenWith AllowDirty on a dirty repo: %v", err)
	}
}

// userState captures what must not change in the user's checkout.
func userState(t *testing.T, dir string) [3]string {
	t.Helper()
	return [3]string{
		tgit(t, dir, "status", "--porcelain=v1", "--untracked-files=all"),
		fileHash(t, filepath.Join(dir, ".git", "index")),
		tgit(t, dir, "rev-parse", "HEAD"),
	}
}

func TestCreate(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "one\n", "b.txt": "b\n"})
	first := tgit(t, dir, "rev-parse", "HEAD")
	writeFile(t, filepath.Join(dir, "a.txt"), "two\n")
	tgit(t, dir, "commit", "-q", "-am", "second")
	second := tgit(t, dir, "rev-parse", "HEAD")
	// Make the user's checkout busy: staged, modified and untracked.
	writeFile(t, filepath.Join(dir, "b.txt"), "staged\n")
	tgit(t, dir, "add", "b.txt")
	writeFile(t, filepath.Join(dir, "a.txt"), "unstaged\n")
	writeFile(t, filepath.Join(dir, "u.txt"), "untracked\n")

	r, err := OpenWith(ctx, dir, OpenOptions{AllowDirty: true})
	if err != nil {
		t.Fatal(err)
	}
	before := userState(t, dir)
	tests := []struct {
		run, base string
		wantBase  string
		wantA     string
	}{
		{"r1", "", second, "two\n"},
		{"r2", first, first, "one\n"},
		{"r3", "main", second, "two\n"},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			wdir := filepath.Join(t.TempDir(), "parents", "made", "wt")
			w, err := r.Create(ctx, tt.run, tt.base, wdir)
			if err != nil {
				t.Fatal(err)
			}
			if w.Branch != "ouro/"+tt.run || w.Base != tt.wantBase || w.Dir != resolve(wdir) {
				t.Errorf("Create = {Dir %s Branch %s Base %s}, want {%s ouro/%s %s}", w.Dir, w.Branch, w.Base, resolve(wdir), tt.run, tt.wantBase)
			}
			if got := tgit(t, dir, "rev-parse", "refs/heads/ouro/"+tt.run); got != tt.wantBase {
				t.Errorf("branch ouro/%s at %s, want %s", tt.run, got, tt.wantBase)
			}
			if got := tgit(t, wdir, "symbolic-ref", "HEAD"); got != "refs/heads/ouro/"+tt.run {
				t.Errorf("worktree HEAD %s", got)
			}
			if got := readFile(t, filepath.Join(wdir, "a.txt")); got != tt.wantA {
				t.Errorf("worktree a.txt = %q, want %q", got, tt.wantA)
			}
			if exists(filepath.Join(wdir, "u.txt")) {
				t.Error("the user's untracked file leaked into the worktree")
			}
			if st := tgit(t, wdir, "status", "--porcelain"); st != "" {
				t.Errorf("new worktree not clean: %q", st)
			}
			if after := userState(t, dir); after != before {
				t.Errorf("user's checkout changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		nonEmpty := t.TempDir()
		writeFile(t, filepath.Join(nonEmpty, "x"), "x")
		cases := []struct {
			name, run, base, dir string
			is                   error
			mention              string
		}{
			{"branch exists", "r1", "", filepath.Join(t.TempDir(), "wt"), ErrBranchExists, "ouro/r1 already exists"},
			{"bad run id", "../x", "", filepath.Join(t.TempDir(), "wt"), nil, "not usable in a branch name"},
			{"run id ending .lock", "a.lock", "", filepath.Join(t.TempDir(), "wt"), nil, "not usable in a branch name"},
			{"unknown base", "r9", "no-such-branch", filepath.Join(t.TempDir(), "wt"), nil, `"no-such-branch" does not name a commit`},
			{"option as base", "r9", "--orphan", filepath.Join(t.TempDir(), "wt"), nil, "is not a commit"},
			{"dir not empty", "r9", "", nonEmpty, nil, "not empty"},
		}
		for _, c := range cases {
			_, err := r.Create(ctx, c.run, c.base, c.dir)
			if err == nil || !strings.Contains(err.Error(), c.mention) || (c.is != nil && !errors.Is(err, c.is)) {
				t.Errorf("%s: Create = %v, want error mentioning %q", c.name, err, c.mention)
			}
		}
		if _, err := tgitErr(dir, "rev-parse", "--verify", "refs/heads/ouro/r9"); err == nil {
			t.Error("a failed Create left branch ouro/r9 behind")
		}
	})
}

func TestAttach(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "a\n"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	wdir := filepath.Join(t.TempDir(), "wt")
	w, err := r.Create(ctx, "run1", "", wdir)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(wdir, "b.txt"), "b\n")
	if _, err := w.Commit(ctx, CommitInfo{Subject: "work"}); err != nil {
		t.Fatal(err)
	}
	// A fresh Repo, as after a restart.
	r2, err := OpenWith(ctx, dir, OpenOptions{AllowDirty: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := r2.Attach(ctx, "run1", wdir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Dir != w.Dir || a.Branch != w.Branch || a.Base != w.Base || a.gitDir != w.gitDir {
		t.Errorf("Attach = %+v, want %+v", a, w)
	}
	ds, err := a.Diffstat(ctx, "")
	if err != nil || ds.Files != 1 || ds.Insertions != 1 {
		t.Errorf("Diffstat after Attach = %+v, %v; want 1 file, 1 insertion", ds, err)
	}

	other := filepath.Join(t.TempDir(), "other")
	if _, err := r2.Create(ctx, "run2", "", other); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, run, dir, mention string
	}{
		{"missing dir", "run3", filepath.Join(t.TempDir(), "gone"), "is missing"},
		{"another run's worktree", "run1", other, "has ouro/run2 checked out, not ouro/run1"},
		{"not a worktree", "run1", dir, "main checkout, not a linked worktree"},
	}
	for _, c := range cases {
		_, err := r2.Attach(ctx, c.run, c.dir)
		if !errors.Is(err, ErrNoWorktree) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: Attach = %v, want ErrNoWorktree mentioning %q", c.name, err, c.mention)
		}
	}
}

func TestCommit(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		global     string // global config contents
		ci         CommitInfo
		wantAuthor string
		wantMsg    string
		wantTrails []string
	}{
		{
			name:   "trailers and explicit author",
			global: "[user]\n\tname = Test User\n\temail = test@example.com\n",
			ci: CommitInfo{
				Subject:     "Fix the failing test\nin pkg/foo",
				Body:        "The parser dropped the last token.\n\n# not a comment, kept",
				Trailers:    RunTrailers("child-1", "root-1", "claude-x"),
				AuthorName:  "Agent Smith",
				AuthorEmail: "agent@example.org",
			},
			wantAuthor: "Agent Smith <agent@example.org>|Agent Smith <agent@example.org>",
			wantMsg: "Fix the failing test in pkg/foo\n\nThe parser dropped the last token.\n\n# not a comment, kept\n\n" +
				"Ouro-Run: child-1\nOuro-Parent-Run: root-1\nCo-Authored-By: claude-x <noreply@ouro.invalid>\n",
			wantTrails: []string{"Ouro-Run: child-1", "Ouro-Parent-Run: root-1", "Co-Authored-By: claude-x <noreply@ouro.invalid>"},
		},
		{
			name:       "repo identity, no body",
			global:     "[user]\n\tname = Test User\n\temail = test@example.com\n",
			ci:         CommitInfo{Subject: "task", Trailers: RunTrailers("r", "", "m")},
			wantAuthor: "Test User <test@example.com>|Test User <test@example.com>",
			wantMsg:    "task\n\nOuro-Run: r\nCo-Authored-By: m <noreply@ouro.invalid>\n",
			wantTrails: []string{"Ouro-Run: r", "Co-Authored-By: m <noreply@ouro.invalid>"},
		},
		{
			name:       "no identity configured",
			global:     "",
			ci:         CommitInfo{Subject: "task", Body: "body"},
			wantAuthor: "ouro <ouro@ouro.invalid>|ouro <ouro@ouro.invalid>",
			wantMsg:    "task\n\nbody\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			global := testEnv(t)
			dir := newRepo(t, map[string]string{"a.txt": "a\n", "gone.txt": "g\n"})
			writeFile(t, global, tt.global)
			r, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			wdir := filepath.Join(t.TempDir(), "wt")
			w, err := r.Create(ctx, "r", "", wdir)
			if err != nil {
				t.Fatal(err)
			}
			userBefore := userState(t, dir)
			writeFile(t, filepath.Join(wdir, "a.txt"), "a\nmore\n")
			writeFile(t, filepath.Join(wdir, "dir/new.txt"), "new\n")
			if err := os.Remove(filepath.Join(wdir, "gone.txt")); err != nil {
				t.Fatal(err)
			}
			sha, err := w.Commit(ctx, tt.ci)
			if err != nil {
				t.Fatal(err)
			}
			if got := tgit(t, wdir, "rev-parse", "HEAD"); sha == "" || got != sha {
				t.Fatalf("Commit = %q, worktree HEAD %s", sha, got)
			}
			if got := tgit(t, dir, "rev-parse", "ouro/r"); got != sha {
				t.Errorf("branch at %s, want %s", got, sha)
			}
			if got := tgit(t, wdir, "rev-parse", "HEAD~1"); got != w.Base {
				t.Errorf("parent %s, want base %s", got, w.Base)
			}
			// tgit trims the trailing newline; %B ends with the message's own.
			if got := tgit(t, wdir, "log", "-1", "--format=%B") + "\n"; got != tt.wantMsg {
				t.Errorf("message:\n%q\nwant\n%q", got, tt.wantMsg)
			}
			if got := tgit(t, wdir, "log", "-1", "--format=%an <%ae>|%cn <%ce>"); got != tt.wantAuthor {
				t.Errorf("author|committer = %q, want %q", got, tt.wantAuthor)
			}
			cmd := tgit(t, wdir, "log", "-1", "--format=%B")
			parsed := parseTrailersWithGit(t, wdir, cmd)
			if !slices.Equal(parsed, tt.wantTrails) {
				t.Errorf("interpret-trailers --parse = %q, want %q", parsed, tt.wantTrails)
			}
			if got := tgit(t, wdir, "show", "--name-status", "--format=", "HEAD"); got != "M\ta.txt\nA\tdir/new.txt\nD\tgone.txt" {
				t.Errorf("committed changes:\n%s", got)
			}
			if st := tgit(t, wdir, "status", "--porcelain"); st != "" {
				t.Errorf("worktree not clean after commit: %q", st)
			}
			if after := userState(t, dir); after != userBefore {
				t.Errorf("user's checkout changed by Commit")
			}

			// Nothing more to commit.
			again, err := w.Commit(ctx, CommitInfo{Subject: "again"})
			if err != nil || again != "" {
				t.Errorf("second Commit = %q, %v; want \"\", nil", again, err)
			}
			if got := tgit(t, wdir, "rev-parse", "HEAD"); got != sha {
				t.Errorf("empty commit moved HEAD to %s", got)
			}
		})
	}
}

func parseTrailersWithGit(t *testing.T, dir, msg string) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "msg")
	writeFile(t, f, msg+"\n")
	out := tgit(t, dir, "interpret-trailers", "--parse", f)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func TestCommitBadInput(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	r, err := Open(ctx, newRepo(t, map[string]string{"a": "a\n"}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.Create(ctx, "r", "", filepath.Join(t.TempDir(), "wt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.Dir, "b"), "b\n")
	cases := []struct {
		name    string
		ci      CommitInfo
		mention string
	}{
		{"empty subject", CommitInfo{Subject: " \n "}, "subject is empty"},
		{"bad trailer key", CommitInfo{Subject: "s", Trailers: []Trailer{{"Bad Key", "v"}}}, `trailer key "Bad Key"`},
		{"multi-line trailer", CommitInfo{Subject: "s", Trailers: []Trailer{{"Ouro-Run", "a\nb"}}}, "must be one non-empty line"},
		{"bad author", CommitInfo{Subject: "s", AuthorName: "x <y>"}, "author name"},
	}
	for _, c := range cases {
		if _, err := w.Commit(ctx, c.ci); err == nil || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: Commit = %v, want error mentioning %q", c.name, err, c.mention)
		}
	}
	if got := tgit(t, w.Dir, "rev-parse", "HEAD"); got != w.Base {
		t.Errorf("a rejected Commit moved HEAD")
	}
}

// hookScript creates marker when run.
func hookScript(marker string) string {
	return "#!/bin/sh\necho ran >> '" + marker + "'\n"
}

func writeHook(t *testing.T, path, marker string) {
	t.Helper()
	writeFile(t, path, hookScript(marker))
	if err := os.Chmod(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestHooksNeverRun(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "a\n"})
	marks := t.TempDir()
	hooks := []string{"pre-commit", "commit-msg", "post-commit", "post-checkout", "pre-merge-commit", "post-merge", "prepare-commit-msg", "reference-transaction"}
	common := filepath.Join(dir, ".git")
	planted := filepath.Join(t.TempDir(), "planted-hooks")
	for _, h := range hooks {
		writeHook(t, filepath.Join(common, "hooks", h), filepath.Join(marks, "hooks-"+h))
		writeHook(t, filepath.Join(planted, h), filepath.Join(marks, "hookspath-"+h))
	}

	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Create(ctx, "parent", "", filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	// As if planted: a hooks path in the worktree's own config.
	tgit(t, dir, "config", "extensions.worktreeConfig", "true")
	tgit(t, parent.Dir, "config", "--worktree", "core.hooksPath", planted)
	child, err := r.Create(ctx, "child", "", filepath.Join(t.TempDir(), "c"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(child.Dir, "c.txt"), "c\n")
	if _, err := child.Commit(ctx, CommitInfo{Subject: "child"}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(parent.Dir, "p.txt"), "p\n")
	if _, err := parent.Commit(ctx, CommitInfo{Subject: "parent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := parent.Diff(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := parent.Merge(ctx, child.Branch, "merge child", nil)
	if err != nil || res.Commit == "" {
		t.Fatalf("Merge = %+v, %v", res, err)
	}
	if entries, _ := os.ReadDir(marks); len(entries) > 0 {
		t.Fatalf("hooks ran: %v", entries)
	}

	// Control: plain git does run them, so the assertion above could fail.
	writeFile(t, filepath.Join(parent.Dir, "q.txt"), "q\n")
	tgit(t, parent.Dir, "add", "q.txt")
	tgit(t, parent.Dir, "commit", "-q", "-m", "plain")
	if !exists(filepath.Join(marks, "hookspath-pre-commit")) {
		t.Fatal("control: plain git commit did not run the planted pre-commit hook")
	}
	writeFile(t, filepath.Join(child.Dir, "q.txt"), "q\n")
	tgit(t, child.Dir, "add", "q.txt")
	tgit(t, child.Dir, "commit", "-q", "-m", "plain")
	if !exists(filepath.Join(marks, "hooks-pre-commit")) {
		t.Fatal("control: plain git commit did not run .git/hooks/pre-commit")
	}
}

// TestNestedRepoConfigIgnored: the agent can create a repository inside
// its worktree whose config names commands (fsmonitor, a clean filter).
// Plain git status in the worktree runs them; ouro's commands must not.
func TestNestedRepoConfigIgnored(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "a\n"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.Create(ctx, "r", "", filepath.Join(t.TempDir(), "wt"))
	if err != nil {
		t.Fatal(err)
	}
	marks := t.TempDir()
	sub := filepath.Join(w.Dir, "sub")
	tgit(t, "", "init", "-q", sub)
	writeFile(t, filepath.Join(sub, ".gitattributes"), "*.txt filter=evil\n")
	writeFile(t, filepath.Join(sub, "t.txt"), "t\n")
	tgit(t, sub, "add", "-A")
	tgit(t, sub, "commit", "-q", "-m", "nested")
	fsm := filepath.Join(marks, "fsmonitor")
	tgit(t, sub, "config", "core.fsmonitor", "echo ran >> '"+fsm+"'; false")
	flt := filepath.Join(marks, "filter")
	tgit(t, sub, "config", "filter.evil.clean", "echo ran >> '"+flt+"'; cat")
	writeFile(t, filepath.Join(sub, "t.txt"), "changed\n")

	if _, err := w.Commit(ctx, CommitInfo{Subject: "with nested"}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, "t.txt"), "changed again\n")
	if _, err := w.Diff(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.status(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(marks); len(entries) > 0 {
		t.Fatalf("nested repository's commands ran: %v", entries)
	}
	// Control: plain git status runs the nested fsmonitor.
	tgit(t, w.Dir, "status", "--porcelain")
	if !exists(fsm) {
		t.Fatal("control: plain git status did not run the nested fsmonitor")
	}
}

func TestDiffAndDiffstat(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "1\n2\n3\n", "b.txt": "b\n", "bin.dat": "\x00\x01"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.Create(ctx, "r", "", filepath.Join(t.TempDir(), "wt"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(w.Dir, "a.txt"), "1\nTWO\n3\n4\n")
	writeFile(t, filepath.Join(w.Dir, "new.txt"), "x\ny\n")
	writeFile(t, filepath.Join(w.Dir, "bin.dat"), "\x00\x02\x03")
	writeFile(t, filepath.Join(w.Dir, ".gitignore"), "*.log\n")
	writeFile(t, filepath.Join(w.Dir, "ignored.log"), "noise\n")
	if err := os.Remove(filepath.Join(w.Dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	idx := filepath.Join(w.gitDir, "index")
	idxBefore := fileHash(t, idx)

	diff, err := w.Diff(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"diff --git a/a.txt b/a.txt", "-2\n+TWO\n", "+4\n",
		"diff --git a/new.txt b/new.txt\nnew file mode", "+x\n+y\n",
		"diff --git a/b.txt b/b.txt\ndeleted file mode", "-b\n",
		"Binary files a/bin.dat and b/bin.dat differ",
		"diff --git a/.gitignore b/.gitignore",
	} {
		if !strings.Contains(diff, want) {
			t.Errorf("Diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "ignored.log") {
		t.Error("Diff shows an ignored file")
	}
	if fileHash(t, idx) != idxBefore {
		t.Error("Diff changed the worktree's index")
	}
	if st := tgit(t, w.Dir, "status", "--porcelain"); !strings.Contains(st, "?? new.txt") {
		t.Errorf("Diff staged new.txt: status %q", st)
	}

	// Diffstat counts committed changes only.
	ds, err := w.Diffstat(ctx, "")
	if err != nil || ds.Files != 0 {
		t.Errorf("Diffstat before commit = %+v, %v; want zero", ds, err)
	}
	if _, err := w.Commit(ctx, CommitInfo{Subject: "s"}); err != nil {
		t.Fatal(err)
	}
	ds, err = w.Diffstat(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Diffstat{Files: 5, Insertions: 2 + 2 + 1, Deletions: 1 + 1, PerFile: []FileStat{
		{Path: ".gitignore", Insertions: 1},
		{Path: "a.txt", Insertions: 2, Deletions: 1},
		{Path: "b.txt", Deletions: 1},
		{Path: "bin.dat", Binary: true},
		{Path: "new.txt", Insertions: 2},
	}}
	if fmt.Sprint(ds) != fmt.Sprint(want) || !slices.Equal(ds.PerFile, want.PerFile) {
		t.Errorf("Diffstat = %+v\nwant %+v", ds, want)
	}
	if ds.String() != "5 files changed, 5 insertions(+), 2 deletions(-)" {
		t.Errorf("String = %q", ds.String())
	}
	if _, err := w.Diffstat(ctx, "nope"); err == nil || !strings.Contains(err.Error(), `"nope" does not name a commit`) {
		t.Errorf("Diffstat(nope) = %v", err)
	}
}

// childWork creates a child worktree from parent's HEAD, writes files and
// commits with the child trailers.
func childWork(t *testing.T, parent *Worktree, run string, files map[string]string) *Worktree {
	t.Helper()
	ctx := context.Background()
	head := tgit(t, parent.Dir, "rev-parse", "HEAD")
	c, err := parent.Repo.Create(ctx, run, head, filepath.Join(t.TempDir(), run))
	if err != nil {
		t.Error(err)
		return nil
	}
	for name, content := range files {
		writeFile(t, filepath.Join(c.Dir, name), content)
	}
	if _, err := c.Commit(ctx, CommitInfo{Subject: "child " + run, Trailers: RunTrailers(run, "parent", "m")}); err != nil {
		t.Error(err)
	}
	return c
}

func TestMergeThreeChildren(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Create(ctx, "parent", "", filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	// The children are created and commit concurrently, as parallel
	// delegate calls do.
	work := []struct {
		run   string
		files map[string]string
		ins   int
		del   int
	}{
		{"c1", map[string]string{"a.txt": "a\na2\n"}, 1, 0},
		{"c2", map[string]string{"b.txt": "B\n", "new/x.txt": "1\n2\n3\n"}, 4, 1},
		{"c3", map[string]string{"c.txt": ""}, 0, 1},
	}
	children := make([]*Worktree, len(work))
	var wg sync.WaitGroup
	for i, wk := range work {
		wg.Go(func() { children[i] = childWork(t, parent, wk.run, wk.files) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	userBefore := userState(t, dir)
	for i, c := range children {
		before := tgit(t, parent.Dir, "rev-parse", "HEAD")
		res, err := parent.Merge(ctx, c.Branch, "Merge run "+work[i].run+"\n\nfrom delegate", RunTrailers("parent", "", ""))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Conflicts) > 0 || res.Commit == "" {
			t.Fatalf("merge %s: %+v", c.Branch, res)
		}
		if got := tgit(t, parent.Dir, "rev-parse", "HEAD"); got != res.Commit {
			t.Errorf("HEAD %s, Commit %s", got, res.Commit)
		}
		childHead := tgit(t, c.Dir, "rev-parse", "HEAD")
		if got := tgit(t, parent.Dir, "log", "-1", "--format=%P"); got != before+" "+childHead {
			t.Errorf("merge parents %q, want %q", got, before+" "+childHead)
		}
		if got := tgit(t, parent.Dir, "log", "-1", "--format=%B"); got != "Merge run "+work[i].run+"\n\nfrom delegate\n\nOuro-Run: parent" {
			t.Errorf("merge message %q", got)
		}
		wk := work[i]
		if rep := res.Report(c.Branch); !strings.HasPrefix(rep, "Merged "+c.Branch+" as "+res.Commit+": ") {
			t.Errorf("Report = %q", rep)
		}
		if res.Diffstat.Files != len(wk.files) || res.Diffstat.Insertions != wk.ins || res.Diffstat.Deletions != wk.del {
			t.Errorf("merge %s diffstat %+v, want %d files +%d -%d", c.Branch, res.Diffstat, len(wk.files), wk.ins, wk.del)
		}
	}
	for _, wk := range work {
		for name, content := range wk.files {
			if got := readFile(t, filepath.Join(parent.Dir, name)); got != content {
				t.Errorf("parent %s = %q, want %q", name, got, content)
			}
		}
	}
	// The children's commits keep their trailers in the parent's history.
	log := tgit(t, parent.Dir, "log", "--format=%(trailers:key=Ouro-Run,valueonly)|%(trailers:key=Ouro-Parent-Run,valueonly)", "--no-merges", parent.Base+"..HEAD")
	for _, wk := range work {
		if !strings.Contains(log, wk.run+"\n|parent") {
			t.Errorf("history lacks %s's trailers:\n%s", wk.run, log)
		}
	}
	if st := tgit(t, parent.Dir, "status", "--porcelain"); st != "" {
		t.Errorf("parent not clean: %q", st)
	}
	if userState(t, dir) != userBefore {
		t.Error("merging changed the user's checkout")
	}
	// Merging again is a no-op.
	res, err := parent.Merge(ctx, children[0].Branch, "again", nil)
	if err != nil || !res.UpToDate || res.Commit != "" {
		t.Errorf("re-merge = %+v, %v; want UpToDate", res, err)
	}
}

func TestMergeConflict(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{
		"same.txt": "one\ntwo\nthree\n",
		"del.txt":  "keep me\n",
		"ok.txt":   "ok\n",
	})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Create(ctx, "parent", "", filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	first := childWork(t, parent, "first", map[string]string{"same.txt": "one\nTWO from first\nthree\n"})
	second := childWork(t, parent, "second", map[string]string{
		"same.txt":  "one\nTWO from second\nthree\n",
		"ok.txt":    "ok\nmore\n",
		"added.txt": "added by second\n",
	})
	if t.Failed() {
		t.FailNow()
	}
	// second also modifies del.txt, which first deletes.
	writeFile(t, filepath.Join(second.Dir, "del.txt"), "modified by second\n")
	if _, err := second.Commit(ctx, CommitInfo{Subject: "modify del"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(first.Dir, "del.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Commit(ctx, CommitInfo{Subject: "delete del"}); err != nil {
		t.Fatal(err)
	}

	if res, err := parent.Merge(ctx, first.Branch, "merge first", nil); err != nil || res.Commit == "" {
		t.Fatalf("first merge = %+v, %v", res, err)
	}
	head := tgit(t, parent.Dir, "rev-parse", "HEAD")
	res, err := parent.Merge(ctx, second.Branch, "merge second", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != "" || len(res.Conflicts) != 2 {
		t.Fatalf("second merge = %+v, want two conflicts", res)
	}
	del, same := res.Conflicts[0], res.Conflicts[1]
	if del.Path != "del.txt" || del.Kind != "deleted by us" || len(del.Hunks) != 0 {
		t.Errorf("conflict 0 = %+v, want del.txt deleted by us, no hunks", del)
	}
	if same.Path != "same.txt" || same.Kind != "both modified" || len(same.Hunks) != 1 {
		t.Fatalf("conflict 1 = %+v, want same.txt both modified with one hunk", same)
	}
	h := same.Hunks[0]
	for _, want := range []string{"<<<<<<< ", "TWO from first\n", "||||||| ", "two\n", "=======\n", "TWO from second\n", ">>>>>>> "} {
		if !strings.Contains(h, want) {
			t.Errorf("hunk lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "one\n") || strings.Contains(h, "three\n") {
		t.Errorf("hunk includes context outside the markers:\n%s", h)
	}
	rep := res.Report(second.Branch)
	for _, want := range []string{"Merging ouro/second conflicts in 2 file(s)", "\ndel.txt (deleted by us)\n", "\nsame.txt (both modified)\n<<<<<<< ", "TWO from second\n>>>>>>> ", "ouro/second is intact"} {
		if !strings.Contains(rep, want) {
			t.Errorf("Report lacks %q:\n%s", want, rep)
		}
	}
	// Nothing half-merged: HEAD unchanged, clean, no merge in progress.
	if got := tgit(t, parent.Dir, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD moved from %s to %s", head, got)
	}
	if st := tgit(t, parent.Dir, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("parent not clean after conflict: %q", st)
	}
	if exists(filepath.Join(parent.gitDir, "MERGE_HEAD")) {
		t.Error("MERGE_HEAD left behind")
	}
	if exists(filepath.Join(parent.Dir, "added.txt")) {
		t.Error("added.txt from the aborted merge left behind")
	}
	if got := readFile(t, filepath.Join(parent.Dir, "same.txt")); got != "one\nTWO from first\nthree\n" {
		t.Errorf("same.txt = %q", got)
	}
	// The parent can still work and merge after the conflict.
	writeFile(t, filepath.Join(parent.Dir, "same.txt"), "one\nresolved\nthree\n")
	if _, err := parent.Commit(ctx, CommitInfo{Subject: "resolve"}); err != nil {
		t.Fatal(err)
	}
}

func TestMergeRefusesDirty(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	r, err := Open(ctx, newRepo(t, map[string]string{"a.txt": "a\n"}))
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Create(ctx, "parent", "", filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	child := childWork(t, parent, "child", map[string]string{"b.txt": "b\n"})
	head := tgit(t, parent.Dir, "rev-parse", "HEAD")
	for _, c := range []struct{ name, file string }{{"modified", "a.txt"}, {"untracked", "u.txt"}} {
		writeFile(t, filepath.Join(parent.Dir, c.file), "dirty\n")
		_, err := parent.Merge(ctx, child.Branch, "m", nil)
		if !errors.Is(err, ErrDirty) || !strings.Contains(err.Error(), c.file) || !strings.Contains(err.Error(), "commit them first") {
			t.Errorf("%s: Merge = %v, want ErrDirty naming %s", c.name, err, c.file)
		}
		if got := tgit(t, parent.Dir, "rev-parse", "HEAD"); got != head {
			t.Errorf("%s: HEAD moved", c.name)
		}
		tgit(t, parent.Dir, "checkout", "-q", "--", ".")
		os.Remove(filepath.Join(parent.Dir, "u.txt"))
	}
	if _, err := parent.Merge(ctx, "ouro/nope", "m", nil); err == nil || !strings.Contains(err.Error(), `"ouro/nope" does not name a commit`) {
		t.Errorf("Merge of a missing branch = %v", err)
	}
}

func TestProtected(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	// Reach everything through a symlinked directory, so resolution shows.
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(link, "repo")
	tgit(t, "", "init", "-q", repoDir)
	writeFile(t, filepath.Join(repoDir, "a"), "a\n")
	tgit(t, repoDir, "add", "a")
	tgit(t, repoDir, "commit", "-q", "-m", "i")
	r, err := Open(ctx, repoDir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.Create(ctx, "run-7", "", filepath.Join(link, "wt"))
	if err != nil {
		t.Fatal(err)
	}
	// The agent planted .bashrc as a symlink to a file of its choosing.
	target := filepath.Join(real, "wt", "notes.txt")
	writeFile(t, target, "x")
	if err := os.Symlink("notes.txt", filepath.Join(link, "wt", ".bashrc")); err != nil {
		t.Fatal(err)
	}

	wt := filepath.Join(real, "wt")
	common := filepath.Join(real, "repo", ".git")
	// The worktree's git directory, as git itself reports it.
	gitDir := tgit(t, wt, "rev-parse", "--absolute-git-dir")
	gitDir, err = filepath.EvalSymlinks(gitDir)
	if err != nil {
		t.Fatal(err)
	}
	if gitDir != filepath.Join(common, "worktrees", "wt") {
		t.Fatalf("git reports worktree git dir %s", gitDir)
	}
	want := []string{
		filepath.Join(wt, ".git"),
		gitDir,
		common,
		filepath.Join(common, "hooks"),
		filepath.Join(common, "config"),
		filepath.Join(wt, ".ouro"),
		filepath.Join(wt, ".bashrc"),
		target,
	}
	for _, f := range []string{".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile", ".zlogin", ".envrc"} {
		want = append(want, filepath.Join(wt, f))
	}
	slices.Sort(want)
	if got := w.Protected(); !slices.Equal(got, want) {
		t.Errorf("Protected =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRemove(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a": "a\n"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		run        string
		keepBranch bool
		deleteDir  bool // the directory vanished before Remove
	}{
		{"keep", true, false},
		{"drop", false, false},
		{"vanished", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.run, func(t *testing.T) {
			w, err := r.Create(ctx, tt.run, "", filepath.Join(t.TempDir(), "wt"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(w.Dir, "uncommitted.txt"), "x\n")
			if tt.deleteDir {
				if err := os.RemoveAll(w.Dir); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Remove(ctx, tt.keepBranch); err != nil {
				t.Fatal(err)
			}
			if exists(w.Dir) || exists(w.gitDir) {
				t.Errorf("worktree %s or its git dir %s still there", w.Dir, w.gitDir)
			}
			if list := tgit(t, dir, "worktree", "list", "--porcelain"); strings.Contains(list, w.Dir) {
				t.Errorf("git still lists the worktree:\n%s", list)
			}
			_, berr := tgitErr(dir, "rev-parse", "--verify", "refs/heads/"+w.Branch)
			if (berr == nil) != tt.keepBranch {
				t.Errorf("branch exists = %v, want %v", berr == nil, tt.keepBranch)
			}
		})
	}
}

// TestConcurrentRuns creates, commits in, merges and removes worktrees of
// one repository from many goroutines at once (run with -race).
func TestConcurrentRuns(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a": "a\n"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Create(ctx, "parent", "", filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			run := fmt.Sprintf("c%d", i)
			w, err := r.Create(ctx, run, parent.Base, filepath.Join(t.TempDir(), run))
			if err != nil {
				errs <- err
				return
			}
			for j := range 3 {
				writeFile(t, filepath.Join(w.Dir, run, fmt.Sprintf("f%d", j)), "x\n")
				if _, err := w.Commit(ctx, CommitInfo{Subject: run}); err != nil {
					errs <- err
					return
				}
			}
			res, err := parent.Merge(ctx, w.Branch, "merge "+run, nil)
			if err != nil || res.Commit == "" {
				errs <- fmt.Errorf("merge %s: %+v %v", run, res, err)
				return
			}
			errs <- w.Remove(ctx, false)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	files := tgit(t, parent.Dir, "ls-files")
	if got := strings.Count(files, "\n") + 1; got != 1+n*3 {
		t.Errorf("parent has %d files, want %d:\n%s", got, 1+n*3, files)
	}
}

func TestExtractHunks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"none", "a\nb\n", nil},
		{"one", "x\n<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\ny\n", []string{"<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n"}},
		{"two, longer markers", "<<<<<<<<<< A\n1\n>>>>>>> no\n>>>>>>>>>> B\nmid\n<<<<<<< C\n2\n>>>>>>> D",
			[]string{"<<<<<<<<<< A\n1\n>>>>>>> no\n>>>>>>>>>> B\n", "<<<<<<< C\n2\n>>>>>>> D"}},
		{"not a marker", "<<<<<<<x\n<<<<<< six\n", nil},
		{"unterminated", "<<<<<<< A\nrest\n", []string{"<<<<<<< A\nrest\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := extractHunks([]byte(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("extractHunks = %q, want %q", got, tt.want)
			}
		})
	}
	big := "<<<<<<< A\n" + strings.Repeat("x", 2*maxHunkBytes) + "\n>>>>>>> B\n"
	many := strings.Repeat("<<<<<<< A\n>>>>>>> B\n", maxHunksPerFile+5)
	if h := extractHunks([]byte(big)); len(h) != 1 || len(h[0]) > maxHunkBytes+100 || !strings.HasSuffix(h[0], "[... hunk truncated]\n") {
		t.Errorf("big hunk not truncated: %d bytes", len(h[0]))
	}
	if h := extractHunks([]byte(many)); len(h) != maxHunksPerFile {
		t.Errorf("got %d hunks, want cap %d", len(h), maxHunksPerFile)
	}
}

func TestCreateFromSpare(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"a.txt": "old\n", "same.txt": "same\n"})
	old := tgit(t, dir, "rev-parse", "HEAD")
	writeFile(t, filepath.Join(dir, "a.txt"), "new\n")
	writeFile(t, filepath.Join(dir, "added.txt"), "added\n")
	tgit(t, dir, "add", "-A")
	tgit(t, dir, "commit", "-q", "-m", "second")
	head := tgit(t, dir, "rev-parse", "HEAD")
	marks := t.TempDir()
	writeHook(t, filepath.Join(dir, ".git", "hooks", "post-checkout"), filepath.Join(marks, "post-checkout"))

	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	pool := filepath.Join(t.TempDir(), "pool")
	if err := r.Prepare(ctx, pool, 1, old); err != nil {
		t.Fatal(err)
	}
	if err := r.Prepare(ctx, pool, 2, ""); err != nil {
		t.Fatal(err)
	}
	userBefore := userState(t, dir)
	tests := []struct {
		run, base  string
		wantSpares int
		wantA      string
		wantAdded  bool
	}{
		{"same-commit", "", 2, "new\n", true},    // takes a spare at HEAD
		{"other-commit", old, 1, "old\n", false}, // takes the spare at old
		{"switch", "", 0, "new\n", true},         // last spare, at HEAD
		{"fresh", old, 0, "old\n", false},        // fresh checkout
	}
	for _, tt := range tests {
		wdir := filepath.Join(t.TempDir(), "wt")
		w, err := r.Create(ctx, tt.run, tt.base, wdir)
		if err != nil {
			t.Fatalf("%s: %v", tt.run, err)
		}
		if n := r.Spares(); n != tt.wantSpares {
			t.Errorf("%s: %d spares left, want %d", tt.run, n, tt.wantSpares)
		}
		if got := tgit(t, wdir, "symbolic-ref", "HEAD"); got != "refs/heads/ouro/"+tt.run {
			t.Errorf("%s: HEAD is %s", tt.run, got)
		}
		wantBase := head
		if tt.base != "" {
			wantBase = old
		}
		if got := tgit(t, wdir, "rev-parse", "HEAD"); got != wantBase || w.Base != wantBase {
			t.Errorf("%s: at %s (Base %s), want %s", tt.run, got, w.Base, wantBase)
		}
		if got := readFile(t, filepath.Join(wdir, "a.txt")); got != tt.wantA {
			t.Errorf("%s: a.txt = %q, want %q", tt.run, got, tt.wantA)
		}
		if exists(filepath.Join(wdir, "added.txt")) != tt.wantAdded {
			t.Errorf("%s: added.txt exists = %v", tt.run, !tt.wantAdded)
		}
		if st := tgit(t, wdir, "status", "--porcelain", "--untracked-files=all"); st != "" {
			t.Errorf("%s: not clean: %q", tt.run, st)
		}
		a, err := r.Attach(ctx, tt.run, wdir)
		if err != nil || a.gitDir != w.gitDir || a.Base != w.Base {
			t.Errorf("%s: Attach = %+v, %v", tt.run, a, err)
		}
		writeFile(t, filepath.Join(wdir, "c.txt"), tt.run)
		if sha, err := w.Commit(ctx, CommitInfo{Subject: tt.run}); err != nil || sha == "" {
			t.Errorf("%s: Commit = %q, %v", tt.run, sha, err)
		}
	}
	if userState(t, dir) != userBefore {
		t.Error("using spares changed the user's checkout")
	}
	if entries, _ := os.ReadDir(marks); len(entries) > 0 {
		t.Errorf("hooks ran: %v", entries)
	}
	if _, err := r.Create(ctx, "same-commit", "", filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrBranchExists) {
		t.Errorf("Create of an existing run = %v, want ErrBranchExists", err)
	}

	// A Create that fails on an existing branch gives the spare back.
	if err := r.Prepare(ctx, pool, 1, old); err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{old, ""} { // same commit, then a switch
		x := filepath.Join(t.TempDir(), "x")
		if _, err := r.Create(ctx, "same-commit", base, x); !errors.Is(err, ErrBranchExists) {
			t.Errorf("Create of an existing run from a spare = %v, want ErrBranchExists", err)
		}
		if r.Spares() != 1 || exists(x) {
			t.Errorf("spares = %d, %s exists = %v; want the spare back in the pool", r.Spares(), x, exists(x))
		}
	}
	w, err := r.Create(ctx, "after-fail", old, filepath.Join(t.TempDir(), "wt"))
	if err != nil || r.Spares() != 0 {
		t.Fatalf("Create after a failed one = %v, spares %d", err, r.Spares())
	}
	if st := tgit(t, w.Dir, "status", "--porcelain"); st != "" || readFile(t, filepath.Join(w.Dir, "a.txt")) != "old\n" {
		t.Errorf("returned spare not clean at old: %q", st)
	}

	// Close removes spares nobody took, and only them.
	if err := r.Prepare(ctx, pool, 2, ""); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	list := tgit(t, dir, "worktree", "list", "--porcelain")
	if strings.Contains(list, "spare-") || strings.Count(list, "worktree ") != 2+len(tests) {
		t.Errorf("after Close:\n%s", list)
	}
	if entries, _ := os.ReadDir(pool); len(entries) != 0 {
		t.Errorf("pool not empty after Close: %v", entries)
	}
}

// TestAttachRecovers: a crash can leave a merge in progress and stale lock
// files; Attach puts the worktree back to its last commit.
func TestAttachRecovers(t *testing.T) {
	testEnv(t)
	ctx := context.Background()
	dir := newRepo(t, map[string]string{"f.txt": "base\n"})
	r, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := r.Create(ctx, "parent", "", filepath.Join(t.TempDir(), "p"))
	if err != nil {
		t.Fatal(err)
	}
	child := childWork(t, parent, "child", map[string]string{"f.txt": "child\n"})
	writeFile(t, filepath.Join(parent.Dir, "f.txt"), "parent\n")
	if _, err := parent.Commit(ctx, CommitInfo{Subject: "parent"}); err != nil {
		t.Fatal(err)
	}
	head := tgit(t, parent.Dir, "rev-parse", "HEAD")
	// What a kill -9 in the middle of Merge leaves: a conflicted merge.
	if _, err := tgitErr(parent.Dir, "merge", "--no-edit", child.Branch); err == nil {
		t.Fatal("setup: expected a conflict")
	}
	lock := filepath.Join(parent.gitDir, "index.lock")
	writeFile(t, lock, "")
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(lock, old, old); err != nil {
		t.Fatal(err)
	}
	a, err := r.Attach(ctx, "parent", parent.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if exists(lock) || exists(filepath.Join(parent.gitDir, "MERGE_HEAD")) {
		t.Error("stale lock or MERGE_HEAD left")
	}
	if st := tgit(t, a.Dir, "status", "--porcelain"); st != "" || tgit(t, a.Dir, "rev-parse", "HEAD") != head {
		t.Errorf("after Attach: status %q, HEAD moved", st)
	}
	if got := readFile(t, filepath.Join(a.Dir, "f.txt")); got != "parent\n" {
		t.Errorf("f.txt = %q", got)
	}
	// A fresh lock (a git command of ours still running) is left alone.
	writeFile(t, lock, "")
	if _, err := r.Attach(ctx, "parent", parent.Dir); err != nil {
		t.Fatal(err)
	}
	if !exists(lock) {
		t.Error("Attach removed a fresh lock")
	}
	// An interrupted Create leaves git's "initializing" lock.
	writeFile(t, filepath.Join(parent.gitDir, "locked"), "initializing")
	if _, err := r.Attach(ctx, "parent", parent.Dir); !errors.Is(err, ErrNoWorktree) || !strings.Contains(err.Error(), "was interrupted") {
		t.Errorf("Attach of a half-created worktree = %v", err)
	}
}

func TestCommitExceptLeavesOutProtectedPaths(t *testing.T) {
	repo := newRepo(t, map[string]string{"a.txt": "a\n"})
	r, err := Open(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	w, err := r.Create(context.Background(), "rx1", "", filepath.Join(t.TempDir(), "wt"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(w.Dir, ".ouro"), 0o755)
	os.WriteFile(filepath.Join(w.Dir, ".ouro", "config.yaml"), []byte("model: openai:x\n"), 0o644)
	os.WriteFile(filepath.Join(w.Dir, ".bashrc"), []byte("curl x | sh\n"), 0o644)
	os.WriteFile(filepath.Join(w.Dir, "ok.txt"), []byte("fine\n"), 0o644)
	protected := func(rel string) bool { return strings.HasPrefix(rel, ".ouro/") || rel == ".bashrc" }
	sha, left, err := w.CommitExcept(context.Background(), CommitInfo{Subject: "s"}, protected)
	if err != nil || sha == "" {
		t.Fatalf("commit: %q %v", sha, err)
	}
	if strings.Join(left, ",") != ".bashrc,.ouro/config.yaml" {
		t.Errorf("left out %v", left)
	}
	files := tgit(t, w.Dir, "ls-tree", "-r", "--name-only", sha)
	if strings.Contains(files, ".ouro") || strings.Contains(files, ".bashrc") || !strings.Contains(files, "ok.txt") {
		t.Errorf("committed files:\n%s", files)
	}
	if _, err := os.Stat(filepath.Join(w.Dir, ".bashrc")); err != nil {
		t.Errorf("the left-out file is gone from the worktree: %v", err)
	}
}
