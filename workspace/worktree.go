package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Worktree is a run's linked worktree and branch. Get one from
// Repo.Create or Repo.Attach; a Worktree built by hand is not usable.
type Worktree struct {
	// Repo is the repository the worktree belongs to.
	Repo *Repo
	// Dir is the worktree's top level, symlinks resolved.
	Dir string
	// Branch is the run's branch, "ouro/RUN-ID".
	Branch string
	// Base is the commit the branch started from ("" if Attach found no
	// record of it).
	Base string

	gitDir string      // the worktree's own git directory, recorded when trusted
	mu     *sync.Mutex // shared by every Worktree value for Dir
}

// Trailer is one "Key: Value" line at the end of a commit message.
type Trailer struct{ Key, Value string }

// CommitInfo describes a commit to make.
type CommitInfo struct {
	// Subject is the first line; newlines in it become spaces.
	Subject string
	// Body is the text after the subject, may be empty.
	Body string
	// Trailers end the message, one "Key: Value" line each.
	Trailers []Trailer
	// AuthorName and AuthorEmail set author and committer; when empty the
	// repository's user.name and user.email are used, else
	// "ouro <ouro@ouro.invalid>".
	AuthorName, AuthorEmail string
}

// RunTrailers returns the trailers for a run's commits: Ouro-Run, then
// Ouro-Parent-Run when parentRunID is not empty, then Co-Authored-By naming
// the model when model is not empty.
func RunTrailers(runID, parentRunID, model string) []Trailer {
	t := []Trailer{{Key: "Ouro-Run", Value: runID}}
	if parentRunID != "" {
		t = append(t, Trailer{Key: "Ouro-Parent-Run", Value: parentRunID})
	}
	if model != "" {
		t = append(t, Trailer{Key: "Co-Authored-By", Value: model + " <noreply@ouro.invalid>"})
	}
	return t
}

// FileStat is one file's line counts in a Diffstat.
type FileStat struct {
	Path                  string
	Insertions, Deletions int
	// Binary is set for files git cannot count lines in.
	Binary bool
}

// Diffstat summarises the changes between two commits.
type Diffstat struct {
	Files, Insertions, Deletions int
	PerFile                      []FileStat
}

// String renders the summary line, as git diff --shortstat does.
func (d Diffstat) String() string {
	return fmt.Sprintf("%d files changed, %d insertions(+), %d deletions(-)", d.Files, d.Insertions, d.Deletions)
}

// Conflict is one file a merge could not combine.
type Conflict struct {
	Path string
	// Kind says how the sides disagree: "both modified", "both added",
	// "deleted by us", "deleted by them".
	Kind string
	// Hunks are the conflict regions, from the <<<<<<< line to the >>>>>>>
	// line inclusive (with the ||||||| base section), capped in number and
	// size. Empty when the file has no markers (a delete/modify conflict,
	// a binary file or a symlink).
	Hunks []string
}

// MergeResult is what Merge did.
type MergeResult struct {
	// Commit is the merge commit, "" on conflict or when already up to date.
	Commit string
	// UpToDate is set when the branch was already merged: nothing to do.
	UpToDate bool
	// Conflicts lists the conflicted files; the merge was aborted.
	Conflicts []Conflict
	// Diffstat is what the merge brought in (HEAD before to the merge).
	Diffstat Diffstat
}

// Report renders the result for a parent agent: the merge commit and its
// diffstat, or each conflicted file with its hunks and what to do next.
func (m MergeResult) Report(branch string) string {
	var b strings.Builder
	switch {
	case m.UpToDate:
		fmt.Fprintf(&b, "%s was already merged; nothing to do.\n", branch)
	case len(m.Conflicts) == 0:
		fmt.Fprintf(&b, "Merged %s as %s: %s.\n", branch, m.Commit, m.Diffstat)
		for _, f := range m.Diffstat.PerFile {
			if f.Binary {
				fmt.Fprintf(&b, "  %s (binary)\n", f.Path)
			} else {
				fmt.Fprintf(&b, "  %s +%d -%d\n", f.Path, f.Insertions, f.Deletions)
			}
		}
	default:
		fmt.Fprintf(&b, "Merging %s conflicts in %d file(s); the merge was aborted and your worktree is unchanged.\n", branch, len(m.Conflicts))
		for _, c := range m.Conflicts {
			fmt.Fprintf(&b, "\n%s (%s)\n", c.Path, c.Kind)
			for _, h := range c.Hunks {
				b.WriteString(h)
				if !strings.HasSuffix(h, "\n") {
					b.WriteString("\n")
				}
			}
		}
		fmt.Fprintf(&b, "\nThe branch %s is intact: make its changes yourself on top of yours, or delegate again from your current state.\n", branch)
	}
	return b.String()
}

// Caps on what a conflict report carries.
const (
	maxConflictFiles = 50      // files with hunks; further files are listed bare
	maxHunksPerFile  = 10      // hunks per file
	maxHunkBytes     = 4 << 10 // bytes per hunk
	maxConflictRead  = 1 << 20 // bytes read from one conflicted file
)

// cmd points c at this worktree: its directory, and its git directory and
// work tree given explicitly, so a rewritten DIR/.git cannot redirect git.
func (w *Worktree) cmd(c gitCmd) gitCmd {
	c.dir = w.Dir
	c.env = append(c.env, "GIT_DIR="+w.gitDir, "GIT_WORK_TREE="+w.Dir)
	return c
}

func (w *Worktree) git(ctx context.Context, args ...string) ([]byte, error) {
	return w.Repo.run(ctx, w.cmd(gitCmd{args: args}))
}

// identity is an author/committer name and email.
type identity struct{ name, email string }

func (id identity) env() []string {
	return []string{
		"GIT_AUTHOR_NAME=" + id.name, "GIT_AUTHOR_EMAIL=" + id.email,
		"GIT_COMMITTER_NAME=" + id.name, "GIT_COMMITTER_EMAIL=" + id.email,
	}
}

// repoIdentity returns user.name and user.email from the repository's and
// the user's config, defaulting each to ouro's, read once per Repo.
func (r *Repo) repoIdentity(ctx context.Context) (identity, error) {
	r.idMu.Lock()
	defer r.idMu.Unlock()
	if r.identity != nil {
		return *r.identity, nil
	}
	id := identity{name: "ouro", email: "ouro@ouro.invalid"}
	out, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"config", "-z", "--get-regexp", `^user\.(name|email)$`}})
	if err != nil && exitCode(err) != 1 { // 1: neither is set
		return identity{}, fmt.Errorf("read user.name and user.email in %s: %w", r.Dir, err)
	}
	for _, kv := range splitZ(out) {
		k, v, _ := strings.Cut(kv, "\n")
		if v = strings.TrimSpace(v); v == "" || checkIdent(v) != nil {
			continue
		}
		switch k {
		case "user.name":
			id.name = v
		case "user.email":
			id.email = v
		}
	}
	r.identity = &id
	return id, nil
}

func checkIdent(s string) error {
	if strings.ContainsAny(s, "<>\n\x00") {
		return fmt.Errorf("%q contains '<', '>' or a newline", s)
	}
	return nil
}

func (w *Worktree) identity(ctx context.Context, name, email string) (identity, error) {
	id, err := w.Repo.repoIdentity(ctx)
	if err != nil {
		return identity{}, err
	}
	if name = strings.TrimSpace(name); name != "" {
		if err := checkIdent(name); err != nil {
			return identity{}, fmt.Errorf("author name: %w", err)
		}
		id.name = name
	}
	if email = strings.TrimSpace(email); email != "" {
		if err := checkIdent(email); err != nil {
			return identity{}, fmt.Errorf("author email: %w", err)
		}
		id.email = email
	}
	return id, nil
}

// buildMessage builds "subject\n\nbody\n\ntrailers\n".
func buildMessage(subject, body string, trailers []Trailer) (string, error) {
	subject = strings.Join(strings.Fields(subject), " ")
	if subject == "" {
		return "", errors.New("commit subject is empty")
	}
	var b strings.Builder
	b.WriteString(subject)
	b.WriteString("\n")
	if body = strings.TrimSpace(body); body != "" {
		b.WriteString("\n")
		b.WriteString(body)
		b.WriteString("\n")
	}
	for i, t := range trailers {
		if err := checkTrailer(t); err != nil {
			return "", err
		}
		if i == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", t.Key, strings.TrimSpace(t.Value))
	}
	return b.String(), nil
}

func checkTrailer(t Trailer) error {
	if t.Key == "" {
		return errors.New("trailer key is empty")
	}
	for _, c := range t.Key {
		if !(c == '-' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return fmt.Errorf("trailer key %q: use letters, digits and '-'", t.Key)
		}
	}
	if strings.TrimSpace(t.Value) == "" || strings.ContainsAny(t.Value, "\n\r\x00") {
		return fmt.Errorf("trailer %s: value %q must be one non-empty line", t.Key, t.Value)
	}
	return nil
}

// Commit stages every change in the worktree (git add -A) and commits it
// on the run's branch, returning the new commit, or "" when nothing
// changed. It commits with plumbing (write-tree, commit-tree, update-ref
// against the old HEAD), so no hook, template, message cleanup or signing
// applies, and a concurrent move of the branch fails instead of being lost.
func (w *Worktree) Commit(ctx context.Context, ci CommitInfo) (string, error) {
	sha, _, err := w.CommitExcept(ctx, ci, nil)
	return sha, err
}

// CommitExcept is Commit, leaving out of the commit every changed path
// (worktree-relative, slash-separated) that exclude reports true for: such
// paths keep their content in the worktree but the commit has them as
// they were. It returns the paths it left out. The agent loop uses it so
// that files an agent must not write (.ouro/, hooks, rc files) never reach
// a branch a person might merge.
func (w *Worktree) CommitExcept(ctx context.Context, ci CommitInfo, exclude func(rel string) bool) (string, []string, error) {
	msg, err := buildMessage(ci.Subject, ci.Body, ci.Trailers)
	if err != nil {
		return "", nil, fmt.Errorf("commit in %s: %w", w.Dir, err)
	}
	id, err := w.identity(ctx, ci.AuthorName, ci.AuthorEmail)
	if err != nil {
		return "", nil, fmt.Errorf("commit in %s: %w", w.Dir, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()

	if _, err := w.git(ctx, "add", "--all", "--", "."); err != nil {
		return "", nil, fmt.Errorf("commit in %s: stage changes: %w", w.Dir, err)
	}
	var excluded []string
	if exclude != nil {
		out, err := w.git(ctx, "diff", "--cached", "--name-only", "-z", "--no-renames", "HEAD")
		if err != nil {
			return "", nil, fmt.Errorf("commit in %s: list staged changes: %w", w.Dir, err)
		}
		for _, p := range splitZ(out) {
			if p != "" && exclude(p) {
				excluded = append(excluded, p)
			}
		}
		if len(excluded) > 0 {
			args := append([]string{"reset", "--quiet", "HEAD", "--"}, excluded...)
			if _, err := w.git(ctx, args...); err != nil {
				return "", nil, fmt.Errorf("commit in %s: leave out protected paths: %w", w.Dir, err)
			}
		}
	}
	out, err := w.git(ctx, "write-tree")
	if err != nil {
		return "", nil, fmt.Errorf("commit in %s: write tree: %w", w.Dir, err)
	}
	tree := trimOut(out)
	out, err = w.git(ctx, "rev-parse", "HEAD^{commit}", "HEAD^{tree}")
	if err != nil {
		return "", nil, fmt.Errorf("commit in %s: read HEAD: %w", w.Dir, err)
	}
	head, headTree, _ := strings.Cut(trimOut(out), "\n")
	if tree == headTree {
		return "", excluded, nil
	}
	out, err = w.Repo.run(ctx, w.cmd(gitCmd{
		env:   id.env(),
		stdin: strings.NewReader(msg),
		args:  []string{"commit-tree", "--no-gpg-sign", tree, "-p", head, "-F", "-"},
	}))
	if err != nil {
		return "", nil, fmt.Errorf("commit in %s: create commit: %w", w.Dir, err)
	}
	sha := trimOut(out)
	subject, _, _ := strings.Cut(msg, "\n")
	if _, err := w.Repo.run(ctx, w.cmd(gitCmd{
		env:  id.env(),
		args: []string{"update-ref", "-m", "commit: " + subject, "HEAD", sha, head},
	})); err != nil {
		return "", nil, fmt.Errorf("commit in %s: move %s to the new commit: %w", w.Dir, w.Branch, err)
	}
	return sha, excluded, nil
}

// Diffstat counts the committed changes from from (a commit; "" means Base)
// to the worktree's HEAD. Uncommitted changes are not included: call Commit
// first, or use Diff for them. Renames count as a deletion and an addition.
func (w *Worktree) Diffstat(ctx context.Context, from string) (Diffstat, error) {
	if from == "" {
		from = w.Base
	}
	if from == "" {
		return Diffstat{}, fmt.Errorf("diffstat in %s: no base commit recorded; pass the commit to count from", w.Dir)
	}
	sha, err := w.Repo.resolveCommit(ctx, w.Dir, from)
	if err != nil {
		return Diffstat{}, fmt.Errorf("diffstat in %s: %w", w.Dir, err)
	}
	return w.diffstat(ctx, sha, "HEAD")
}

func (w *Worktree) diffstat(ctx context.Context, from, to string) (Diffstat, error) {
	out, err := w.git(ctx, "diff", "--numstat", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", "--ignore-submodules=none", from, to, "--")
	if err != nil {
		return Diffstat{}, fmt.Errorf("diffstat %s..%s in %s: %w", from, to, w.Dir, err)
	}
	return parseNumstat(out)
}

// parseNumstat reads `git diff --numstat -z --no-renames`: records of
// "ADDED\tDELETED\tPATH\x00", with "-" counts for binary files.
func parseNumstat(out []byte) (Diffstat, error) {
	var d Diffstat
	for _, rec := range splitZ(out) {
		ins, rest, ok1 := strings.Cut(rec, "\t")
		del, path, ok2 := strings.Cut(rest, "\t")
		if !ok1 || !ok2 {
			return Diffstat{}, fmt.Errorf("unexpected numstat record %q", rec)
		}
		fs := FileStat{Path: path}
		if ins == "-" && del == "-" {
			fs.Binary = true
		} else {
			var err1, err2 error
			fs.Insertions, err1 = strconv.Atoi(ins)
			fs.Deletions, err2 = strconv.Atoi(del)
			if err1 != nil || err2 != nil {
				return Diffstat{}, fmt.Errorf("unexpected numstat record %q", rec)
			}
		}
		d.Files++
		d.Insertions += fs.Insertions
		d.Deletions += fs.Deletions
		d.PerFile = append(d.PerFile, fs)
	}
	return d, nil
}

// Diff returns the uncommitted changes in the worktree against HEAD as a
// unified diff, new untracked (not ignored) files included. It stages into
// a temporary copy of the index, so the worktree's own index is untouched.
// Binary files show as "Binary files ... differ".
func (w *Worktree) Diff(ctx context.Context) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	tmp, err := os.CreateTemp("", "ouro-index-*")
	if err != nil {
		return "", fmt.Errorf("diff in %s: %w", w.Dir, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	src, err := os.Open(filepath.Join(w.gitDir, "index"))
	if err == nil {
		_, err = io.Copy(tmp, src)
		src.Close()
	} else if errors.Is(err, os.ErrNotExist) {
		err = nil // git builds a fresh index
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("diff in %s: copy index: %w", w.Dir, err)
	}
	idx := []string{"GIT_INDEX_FILE=" + tmpName}
	if _, err := w.Repo.run(ctx, w.cmd(gitCmd{env: idx, args: []string{"add", "--all", "--", "."}})); err != nil {
		return "", fmt.Errorf("diff in %s: stage into temporary index: %w", w.Dir, err)
	}
	out, err := w.Repo.run(ctx, w.cmd(gitCmd{env: idx, args: []string{"diff", "--cached", "--no-ext-diff", "--no-textconv", "--no-color", "--ignore-submodules=none", "HEAD", "--"}}))
	if err != nil {
		return "", fmt.Errorf("diff in %s: %w", w.Dir, err)
	}
	return string(out), nil
}

// status returns the worktree's changed and untracked (not ignored) paths.
func (w *Worktree) status(ctx context.Context) ([]string, error) {
	out, err := w.git(ctx, "status", "--porcelain=v1", "-z", "--untracked-files=normal", "--ignore-submodules=all")
	if err != nil {
		return nil, err
	}
	return statusPaths(out), nil
}

// Head is the commit the worktree is at.
func (w *Worktree) Head(ctx context.Context) (string, error) {
	out, err := w.git(ctx, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", err
	}
	return trimOut(out), nil
}

// Merge merges branch (a child run's branch, or any commit) into this
// worktree with a merge commit carrying message and trailers. The worktree
// must be clean (Commit first). On conflict the merge is aborted, the
// worktree is verified clean with HEAD unchanged, and the conflicted files
// and hunks are returned in MergeResult.Conflicts with a nil error.
func (w *Worktree) Merge(ctx context.Context, branch, message string, trailers []Trailer) (MergeResult, error) {
	if strings.TrimSpace(message) == "" {
		message = "Merge " + branch
	}
	subject, body, _ := strings.Cut(message, "\n")
	msg, err := buildMessage(subject, body, trailers)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s: %w", branch, w.Dir, err)
	}
	id, err := w.identity(ctx, "", "")
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s: %w", branch, w.Dir, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()

	theirs, err := w.Repo.resolveCommit(ctx, w.Dir, branch)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s: %w", branch, w.Dir, err)
	}
	before, err := w.Head(ctx)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s: read HEAD: %w", branch, w.Dir, err)
	}
	dirty, err := w.status(ctx)
	if err != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s: check status: %w", branch, w.Dir, err)
	}
	if len(dirty) > 0 {
		return MergeResult{}, errorf(ErrDirty, "merge %s into %s: the worktree has uncommitted changes to %s; commit them first",
			branch, w.Dir, listPaths(dirty, 10))
	}

	_, mergeErr := w.Repo.run(ctx, w.cmd(gitCmd{
		env: id.env(),
		args: []string{"merge", "--no-ff", "--no-edit", "--no-verify", "--no-gpg-sign", "--no-log",
			"--no-stat", "--no-squash", "--cleanup=verbatim", "--quiet", "-m", msg, theirs},
	}))
	if mergeErr == nil {
		after, err := w.Head(ctx)
		if err != nil {
			return MergeResult{}, fmt.Errorf("merge %s into %s: read HEAD: %w", branch, w.Dir, err)
		}
		if after == before {
			return MergeResult{UpToDate: true}, nil
		}
		ds, err := w.diffstat(ctx, before, after)
		if err != nil {
			return MergeResult{}, fmt.Errorf("merge %s into %s: %w", branch, w.Dir, err)
		}
		return MergeResult{Commit: after, Diffstat: ds}, nil
	}

	// Failed: a conflict, or something else. Either way put things back.
	conflicts, cerr := w.conflicts(ctx)
	if rerr := w.restore(ctx, before); rerr != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s failed (%v) and the worktree could not be restored: %w", branch, w.Dir, mergeErr, rerr)
	}
	if cerr != nil {
		return MergeResult{}, fmt.Errorf("merge %s into %s: list conflicts: %w (merge aborted)", branch, w.Dir, cerr)
	}
	if len(conflicts) == 0 {
		return MergeResult{}, fmt.Errorf("merge %s into %s (aborted): %w", branch, w.Dir, mergeErr)
	}
	return MergeResult{Conflicts: conflicts}, nil
}

// restore aborts a merge in progress and checks the worktree is back at
// before with nothing changed; if merge --abort does not get there, it
// resets hard to before (safe: the worktree was clean when the merge began).
func (w *Worktree) restore(ctx context.Context, before string) error {
	if _, err := os.Stat(filepath.Join(w.gitDir, "MERGE_HEAD")); err == nil {
		if _, err := w.git(ctx, "merge", "--abort"); err == nil {
			if ok, _ := w.isAt(ctx, before); ok {
				return nil
			}
		}
	} else if ok, _ := w.isAt(ctx, before); ok {
		return nil
	}
	if _, err := w.git(ctx, "reset", "--hard", "--quiet", before); err != nil {
		return fmt.Errorf("reset to %s: %w", before, err)
	}
	ok, err := w.isAt(ctx, before)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("worktree still differs from %s after reset", before)
	}
	return nil
}

// isAt reports whether HEAD is before and the worktree has no changes.
func (w *Worktree) isAt(ctx context.Context, before string) (bool, error) {
	h, err := w.Head(ctx)
	if err != nil {
		return false, err
	}
	st, err := w.status(ctx)
	if err != nil {
		return false, err
	}
	return h == before && len(st) == 0, nil
}

// conflicts lists the unmerged paths with their kind and conflict hunks.
func (w *Worktree) conflicts(ctx context.Context) ([]Conflict, error) {
	out, err := w.git(ctx, "ls-files", "--unmerged", "-z")
	if err != nil {
		return nil, err
	}
	// Records: "MODE SHA STAGE\tPATH".
	stages := map[string]int{} // bit n set for stage n
	var order []string
	for _, rec := range splitZ(out) {
		meta, path, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 3 {
			continue
		}
		st, _ := strconv.Atoi(f[2])
		if _, seen := stages[path]; !seen {
			order = append(order, path)
		}
		stages[path] |= 1 << st
	}
	slices.Sort(order)
	root, err := os.OpenRoot(w.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var cs []Conflict
	for i, p := range order {
		c := Conflict{Path: p, Kind: conflictKind(stages[p])}
		if i < maxConflictFiles {
			c.Hunks = readHunks(root, p)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func conflictKind(bits int) string {
	base, ours, theirs := bits&2 != 0, bits&4 != 0, bits&8 != 0
	switch {
	case ours && theirs && base:
		return "both modified"
	case ours && theirs:
		return "both added"
	case theirs:
		return "deleted by us"
	case ours:
		return "deleted by them"
	default:
		return "unmerged"
	}
}

// readHunks extracts the conflict regions of a regular file inside root. A
// symlink (which the agent may point anywhere) or anything else not a
// regular file is not read.
func readHunks(root *os.Root, path string) []string {
	fi, err := root.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	f, err := root.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConflictRead))
	if err != nil || bytes.IndexByte(data, 0) >= 0 {
		return nil
	}
	return extractHunks(data)
}

// extractHunks finds regions from a line of 7 or more '<' to the matching
// line of as many '>' (the marker size can be changed by attributes).
func extractHunks(data []byte) []string {
	var hunks []string
	lines := strings.SplitAfter(string(data), "\n")
	for i := 0; i < len(lines) && len(hunks) < maxHunksPerFile; i++ {
		n := markerLen(lines[i], '<')
		if n == 0 {
			continue
		}
		end := strings.Repeat(">", n)
		var b strings.Builder
		j := i
		for ; j < len(lines); j++ {
			b.WriteString(lines[j])
			if j > i && markerLen(lines[j], '>') == n && strings.HasPrefix(lines[j], end) {
				break
			}
		}
		h := b.String()
		if len(h) > maxHunkBytes {
			h = h[:maxHunkBytes] + "\n[... hunk truncated]\n"
		}
		hunks = append(hunks, h)
		i = j
	}
	return hunks
}

// markerLen returns n if line starts with n >= 7 copies of c followed by a
// space or the end of the line, else 0.
func markerLen(line string, c byte) int {
	n := 0
	for n < len(line) && line[n] == c {
		n++
	}
	if n < 7 {
		return 0
	}
	rest := line[n:]
	if rest == "" || rest[0] == ' ' || rest[0] == '\n' || rest[0] == '\r' {
		return n
	}
	return 0
}

// Remove deletes the worktree directory and git's record of it, discarding
// whatever it holds, and deletes the branch unless keepBranch is set.
func (w *Worktree) Remove(ctx context.Context, keepBranch bool) error {
	r := w.Repo
	w.mu.Lock()
	defer w.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := os.Stat(w.Dir); err == nil {
		if _, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "remove", "--force", "--force", "--", w.Dir}}); err != nil {
			return fmt.Errorf("remove worktree %s: %w", w.Dir, err)
		}
	} else if _, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"worktree", "prune"}}); err != nil {
		return fmt.Errorf("remove worktree %s (already deleted): prune: %w", w.Dir, err)
	}
	if !keepBranch {
		if _, err := r.run(ctx, gitCmd{dir: r.Dir, args: []string{"update-ref", "-d", "refs/heads/" + w.Branch}}); err != nil {
			return fmt.Errorf("remove worktree %s: delete branch %s: %w", w.Dir, w.Branch, err)
		}
	}
	return nil
}

// rcFiles are files in the worktree's top level that a shell or direnv
// would run on the user's behalf.
func rcFiles() []string {
	return []string{".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
		".zshrc", ".zshenv", ".zprofile", ".zlogin", ".envrc"}
}

// Protected returns the absolute paths, symlinks resolved, the agent must
// never be able to write: DIR/.git (the gitdir file), the worktree's git
// directory, the common directory with, named explicitly, its hooks/ and
// config, DIR/.ouro, and shell and direnv rc files in DIR. Paths that do
// not exist yet are included, so the agent cannot create them either. When
// one of the rc files or DIR/.git is a symlink, both the link and its
// target are listed.
func (w *Worktree) Protected() []string {
	var out []string
	add := func(p string) {
		p = filepath.Clean(p)
		dir, base := filepath.Split(p)
		link := filepath.Join(resolve(dir), base)
		out = append(out, link)
		if t := resolve(p); t != link {
			out = append(out, t)
		}
	}
	add(filepath.Join(w.Dir, ".git"))
	add(w.gitDir)
	cd := w.Repo.CommonDir
	add(cd)
	add(filepath.Join(cd, "hooks"))
	add(filepath.Join(cd, "config"))
	add(filepath.Join(w.Dir, ".ouro"))
	for _, f := range rcFiles() {
		add(filepath.Join(w.Dir, f))
	}
	slices.Sort(out)
	return slices.Compact(out)
}
