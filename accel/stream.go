package accel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// logFormat puts each commit's fields between NUL bytes; %x01 marks the
// start of a commit. %aE, %aN and %cE, %cN respect .mailmap.
const logFormat = "--format=%x01%H%x00%P%x00%aE%x00%aN%x00%cE%x00%cN%x00%ct%x00%B%x00"

// rawCommit is one commit as read from the log, with its numstat entries
// folded into per-class totals.
type rawCommit struct {
	hash    string
	parents int
	second  string // the second parent of a merge
	time    int64
	meta    commitMeta
	added   [numClasses]int
	deleted [numClasses]int
	changes [numClasses]int
	paths   []uint32 // counted paths touched
	files   []fileChange
}

// fileChange is one numstat entry, kept only when explaining a commit.
type fileChange struct {
	Path    string `json:"path"`
	Added   int    `json:"added"`
	Deleted int    `json:"deleted"`
	Class   string `json:"class"`
	Why     string `json:"why,omitempty"`
}

func (c *rawCommit) reset() {
	paths, files := c.paths[:0], c.files[:0]
	*c = rawCommit{paths: paths, files: files}
}

// countedLines is the commit's added plus deleted lines in counted files.
func (c *rawCommit) countedLines() int { return c.added[classCounted] + c.deleted[classCounted] }

// streamLog runs one `git log` with args and calls fn for each commit, in
// the order git prints them. The commit passed to fn is reused afterwards.
func (r *repo) streamLog(ctx context.Context, args []string, pc *pathClassifier, keepFiles bool, fn func(*rawCommit) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	full := append([]string{"-c", "log.showSignature=false", "log", "-z", "--numstat", "--no-color", logFormat}, args...)
	cmd := r.command(ctx, full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("start git log: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start git log: %w", err)
	}
	perr := parseLog(out, pc, keepFiles, fn)
	if perr != nil {
		cancel()
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		return perr
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("git log: %s: %w", strings.TrimSpace(stderr.String()), err)
	}
	return nil
}

// parseLog reads the -z log stream incrementally.
func parseLog(out io.Reader, pc *pathClassifier, keepFiles bool, fn func(*rawCommit) error) error {
	tr := newTokenReader(out)
	var c rawCommit
	have := false
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		return fn(&c)
	}
	for {
		tok, err := tr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return flush()
			}
			return fmt.Errorf("read git log: %w", err)
		}
		if len(tok) > 0 && tok[0] == 1 {
			if err := flush(); err != nil {
				return err
			}
			c.reset()
			have = true
			c.hash = string(tok[1:])
			var f [7]string
			for i := range f {
				t, err := tr.next()
				if err != nil {
					return fmt.Errorf("read git log: commit %s is cut short: %w", c.hash, err)
				}
				f[i] = string(t)
			}
			if f[0] != "" {
				c.parents = strings.Count(f[0], " ") + 1
				if c.parents > 1 {
					rest := f[0][strings.IndexByte(f[0], ' ')+1:]
					c.second, _, _ = strings.Cut(rest, " ")
				}
			}
			c.meta = commitMeta{
				authorEmail: normalizeEmail(f[1]), authorName: f[2],
				committerEmail: normalizeEmail(f[3]), committerName: f[4],
				body: f[6],
			}
			c.time, _ = strconv.ParseInt(f[5], 10, 64)
			continue
		}
		tok = bytes.TrimLeft(tok, "\n")
		if len(tok) == 0 || !have {
			continue
		}
		// "added\tdeleted\tpath", or "added\tdeleted\t" followed by the old
		// and new path of a rename.
		i := bytes.IndexByte(tok, '\t')
		if i < 0 {
			continue
		}
		j := bytes.IndexByte(tok[i+1:], '\t')
		if j < 0 {
			continue
		}
		j += i + 1
		as, ds, p := tok[:i], tok[i+1:j], tok[j+1:]
		binary := len(as) == 1 && as[0] == '-'
		a, d := atoiBytes(as), atoiBytes(ds)
		if len(p) == 0 {
			if _, err := tr.next(); err != nil { // old path
				return fmt.Errorf("read git log: rename in %s is cut short: %w", c.hash, err)
			}
			if p, err = tr.next(); err != nil {
				return fmt.Errorf("read git log: rename in %s is cut short: %w", c.hash, err)
			}
		}
		e, err := pc.lookup(p)
		if err != nil {
			return err
		}
		cl := e.class
		if binary {
			cl = classBinary
			e.binary = true
		}
		c.added[cl] += a
		c.deleted[cl] += d
		c.changes[cl]++
		if cl == classCounted {
			c.paths = append(c.paths, e.id)
		}
		if keepFiles {
			why := e.why
			if binary {
				why = "binary content"
			}
			c.files = append(c.files, fileChange{Path: string(p), Added: a, Deleted: d, Class: cl.String(), Why: why})
		}
	}
}

func atoiBytes(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// revertRe finds the commit a revert names.
var revertRe = regexp.MustCompile(`This reverts commit ([0-9a-fA-F]{7,64})`)

// revertedBy returns the commit ids a message says it reverts.
func revertedBy(body string) []string {
	if !strings.Contains(body, "This reverts commit ") {
		return nil
	}
	var out []string
	for _, m := range revertRe.FindAllStringSubmatch(body, -1) {
		out = append(out, strings.ToLower(m[1]))
	}
	return out
}
