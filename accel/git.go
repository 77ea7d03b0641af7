package accel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// repo runs git in one repository.
type repo struct {
	bin  string // git binary
	dir  string // where git runs: the work tree top, or the git dir of a bare repository
	bare bool
}

func (r *repo) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

// output runs git and returns its standard output; the error carries git's
// standard error.
func (r *repo) output(ctx context.Context, args ...string) ([]byte, error) {
	cmd := r.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return out, fmt.Errorf("git %s: %s: %w", args[0], msg, err)
	}
	return out, nil
}

// Errors that name what is wrong with the input; callers test them with
// errors.Is.
var (
	// ErrNotRepository: the directory is not inside a git repository.
	ErrNotRepository = errors.New("not a git repository")
	// ErrEmptyRepository: the repository has no commits yet.
	ErrEmptyRepository = errors.New("the repository has no commits")
	// ErrUnknownBranch: the branch or revision does not exist.
	ErrUnknownBranch = errors.New("unknown branch")
	// ErrNoCommits: no commit falls in the requested range.
	ErrNoCommits = errors.New("no commits in the requested range")
	// ErrEmptyBaseline: the baseline window holds no commits.
	ErrEmptyBaseline = errors.New("the baseline window has no commits")
)

// openRepo finds the repository that holds dir and returns it with whether
// it is a shallow clone.
func openRepo(ctx context.Context, bin, dir string) (*repo, bool, error) {
	if bin == "" {
		bin = "git"
	}
	if dir == "" {
		dir = "."
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, false, fmt.Errorf("open %s: %w: no such directory", dir, ErrNotRepository)
	}
	r := &repo{bin: bin, dir: dir}
	out, err := r.output(ctx, "rev-parse", "--is-bare-repository", "--is-shallow-repository", "--absolute-git-dir")
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, false, fmt.Errorf("open %s: %w (run it inside a repository or pass --repo DIR)", dir, ErrNotRepository)
		}
		return nil, false, fmt.Errorf("open %s: %w", dir, err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		return nil, false, fmt.Errorf("open %s: unexpected git rev-parse output %q", dir, out)
	}
	r.bare = f[0] == "true"
	shallow := f[1] == "true"
	if r.bare {
		r.dir = f[2]
	} else {
		top, err := r.output(ctx, "rev-parse", "--show-toplevel")
		if err != nil {
			return nil, false, fmt.Errorf("open %s: %w", dir, err)
		}
		r.dir = strings.TrimSpace(string(top))
	}
	return r, shallow, nil
}

// resolve returns the commit id that rev names.
func (r *repo) resolve(ctx context.Context, rev string) (string, error) {
	out, err := r.output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err == nil {
		return strings.TrimSpace(string(out)), nil
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if _, herr := r.output(ctx, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"); herr != nil {
		if refs, _ := r.output(ctx, "for-each-ref", "--count=1", "--format=%(refname)"); len(bytes.TrimSpace(refs)) == 0 {
			return "", fmt.Errorf("resolve %s: %w: make a first commit, then run accel", rev, ErrEmptyRepository)
		}
	}
	return "", fmt.Errorf("resolve %q: %w: no such branch or commit (list them with `git branch -a`)", rev, ErrUnknownBranch)
}

// tokenReader splits git's -z output at NUL bytes.
type tokenReader struct {
	r   *bufio.Reader
	buf []byte
}

func newTokenReader(r io.Reader) *tokenReader {
	return &tokenReader{r: bufio.NewReaderSize(r, 256<<10)}
}

// next returns the next token, valid until the following call.
func (t *tokenReader) next() ([]byte, error) {
	b, err := t.r.ReadSlice(0)
	switch {
	case err == nil:
		return b[:len(b)-1], nil
	case errors.Is(err, bufio.ErrBufferFull):
		t.buf = append(t.buf[:0], b...)
		for {
			b, err = t.r.ReadSlice(0)
			t.buf = append(t.buf, b...)
			if err == nil {
				return t.buf[:len(t.buf)-1], nil
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				if errors.Is(err, io.EOF) && len(t.buf) > 0 {
					return t.buf, nil
				}
				return nil, err
			}
		}
	case errors.Is(err, io.EOF) && len(b) > 0:
		return b, nil
	}
	return nil, err
}

// attrChecker asks one `git check-attr --stdin` process for the linguist
// attributes of each path.
type attrChecker struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *tokenReader
	wc  io.WriteCloser
}

// attrs holds the linguist attributes of a path: +1 set, -1 unset, 0 not
// specified.
type attrs struct{ generated, vendored int8 }

func (r *repo) startAttrChecker(ctx context.Context) (*attrChecker, error) {
	args := []string{"check-attr", "--stdin", "-z"}
	if r.bare {
		args = append(args, "--cached")
	}
	args = append(args, "linguist-generated", "linguist-vendored")
	cmd := r.command(ctx, args...)
	wc, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start git check-attr: %w", err)
	}
	rc, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start git check-attr: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start git check-attr: %w", err)
	}
	return &attrChecker{cmd: cmd, in: bufio.NewWriter(wc), out: newTokenReader(rc), wc: wc}, nil
}

func (a *attrChecker) check(path string) (attrs, error) {
	var res attrs
	a.in.WriteString(path)
	a.in.WriteByte(0)
	if err := a.in.Flush(); err != nil {
		return res, fmt.Errorf("git check-attr %s: %w", path, err)
	}
	for i := 0; i < 2; i++ {
		var f [3]string
		for j := range f {
			tok, err := a.out.next()
			if err != nil {
				return res, fmt.Errorf("git check-attr %s: %w", path, err)
			}
			f[j] = string(tok)
		}
		v := int8(0)
		switch f[2] {
		case "set", "true":
			v = 1
		case "unset", "false":
			v = -1
		}
		switch f[1] {
		case "linguist-generated":
			res.generated = v
		case "linguist-vendored":
			res.vendored = v
		}
	}
	return res, nil
}

func (a *attrChecker) close() {
	if a == nil {
		return
	}
	a.wc.Close()
	_ = a.cmd.Wait()
}

// generatedPattern finds the "Code generated ... DO NOT EDIT." header in a
// comment at the start of a line.
const generatedPattern = `^[[:space:]]*(//|#|--|;|/\*|\*|<!--)[[:space:]]*Code generated .*DO NOT EDIT`

// generatedAtTip lists the text files at tip whose content carries the
// generated-code header, with one `git grep` over the tip's tree.
func (r *repo) generatedAtTip(ctx context.Context, tip string) (map[string]bool, error) {
	cmd := r.command(ctx, "grep", "-l", "-z", "-I", "-E", "-e", generatedPattern, tip, "--")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 && stderr.Len() == 0 {
			return map[string]bool{}, nil // no file matched
		}
		return nil, fmt.Errorf("git grep for generated headers: %s: %w", strings.TrimSpace(stderr.String()), err)
	}
	m := make(map[string]bool)
	prefix := tip + ":"
	for _, p := range bytes.Split(out, []byte{0}) {
		if len(p) == 0 {
			continue
		}
		m[strings.TrimPrefix(string(p), prefix)] = true
	}
	return m, nil
}

// objectReader reads commit objects from one `git cat-file --batch`
// process.
type objectReader struct {
	cmd *exec.Cmd
	wc  io.WriteCloser
	in  *bufio.Writer
	out *bufio.Reader
	buf []byte
}

func (r *repo) startObjectReader(ctx context.Context) (*objectReader, error) {
	cmd := r.command(ctx, "cat-file", "--batch")
	wc, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start git cat-file: %w", err)
	}
	rc, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start git cat-file: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start git cat-file: %w", err)
	}
	return &objectReader{cmd: cmd, wc: wc, in: bufio.NewWriter(wc), out: bufio.NewReaderSize(rc, 64<<10)}, nil
}

// commit returns the identities and message of a commit object. Emails
// are lower-cased; .mailmap is not applied to them.
func (o *objectReader) commit(id string) (commitMeta, bool, error) {
	var m commitMeta
	o.in.WriteString(id)
	o.in.WriteByte('\n')
	if err := o.in.Flush(); err != nil {
		return m, false, fmt.Errorf("git cat-file %s: %w", id, err)
	}
	head, err := o.out.ReadString('\n')
	if err != nil {
		return m, false, fmt.Errorf("git cat-file %s: %w", id, err)
	}
	f := strings.Fields(head)
	if len(f) != 3 {
		return m, false, nil // missing (a shallow clone's boundary)
	}
	size, err := strconv.Atoi(f[2])
	if err != nil {
		return m, false, fmt.Errorf("git cat-file %s: bad header %q", id, head)
	}
	if cap(o.buf) < size+1 {
		o.buf = make([]byte, size+1)
	}
	b := o.buf[:size+1]
	if _, err := io.ReadFull(o.out, b); err != nil {
		return m, false, fmt.Errorf("git cat-file %s: %w", id, err)
	}
	if f[1] != "commit" {
		return m, false, nil
	}
	text := string(b[:size])
	header, body, _ := strings.Cut(text, "\n\n")
	m.body = body
	for _, l := range strings.Split(header, "\n") {
		key, rest, _ := strings.Cut(l, " ")
		if key != "author" && key != "committer" {
			continue
		}
		lt, gt := strings.IndexByte(rest, '<'), strings.IndexByte(rest, '>')
		if lt < 0 || gt < lt {
			continue
		}
		name, email := strings.TrimSpace(rest[:lt]), normalizeEmail(rest[lt+1:gt])
		if key == "author" {
			m.authorName, m.authorEmail = name, email
		} else {
			m.committerName, m.committerEmail = name, email
		}
	}
	return m, true, nil
}

func (o *objectReader) close() {
	if o == nil {
		return
	}
	o.wc.Close()
	_ = o.cmd.Wait()
}
