package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/ouro-run/ouro"
	"golang.org/x/sys/unix"
)

// walker visits the files under one directory by descriptor, never
// following symlinks, skipping .git and what .gitignore files exclude.
type walker struct {
	ctx     context.Context
	ign     ignorer
	visited int
	limited bool // stopped at maxWalkEntries
	// visit is called for each regular file or symlink, with the
	// directory descriptor it is in. Returning false stops the walk.
	visit func(dirfd int, name, rel string, st *unix.Stat_t) bool
}

var errStop = errors.New("stop")

// loadIgnores pushes the ignore files that apply above start (which is
// workspace-relative and walked next): .git/info/exclude when .git is a
// directory, and the .gitignore of the root and of each directory down to,
// but not including, start.
func (w *walker) loadIgnores(s *session, start string) {
	if fd, err := s.openBeneath(".git/info/exclude", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY); err == nil {
		if data, ok := readSmall(fd); ok {
			w.ign.files = append(w.ign.files, parseIgnore("", data))
		}
	}
	if start == "." {
		return
	}
	parts := splitRel(start)
	for i := range parts {
		dir := strings.Join(parts[:i], "/")
		name := path.Join(dir, ".gitignore")
		fd, err := s.openBeneath(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
		if err != nil {
			continue
		}
		if data, ok := readSmall(fd); ok {
			w.ign.files = append(w.ign.files, parseIgnore(dir, data))
		}
	}
}

// readSmall reads a regular file of at most 1 MiB from fd and closes it.
func readSmall(fd int) ([]byte, bool) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size > 1<<20 {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	return data, err == nil
}

// walk visits directory dirfd (an O_RDONLY descriptor, closed here) at
// workspace-relative rel.
func (w *walker) walk(dirfd int, rel string) error {
	dir := os.NewFile(uintptr(dirfd), rel)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return &pathError{path: rel, err: err}
	}
	sort.Strings(names)
	pushed := false
	if fd, err := openat(dirfd, ".gitignore", unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0); err == nil {
		if data, ok := readSmall(fd); ok {
			base := rel
			if base == "." {
				base = ""
			}
			w.ign.files = append(w.ign.files, parseIgnore(base, data))
			pushed = true
		}
	}
	if pushed {
		defer func() { w.ign.files = w.ign.files[:len(w.ign.files)-1] }()
	}
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if w.visited++; w.visited > maxWalkEntries {
			w.limited = true
			return errStop
		}
		if name == ".git" {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // removed meanwhile
		}
		child := name
		if rel != "." {
			child = rel + "/" + name
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if w.ign.ignored(child, isDir) {
			continue
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			fd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
			if err != nil {
				continue
			}
			if err := w.walk(fd, child); err != nil {
				return err
			}
		case unix.S_IFREG, unix.S_IFLNK:
			if !w.visit(dirfd, name, child, &st) {
				return errStop
			}
		}
	}
	return nil
}

// ---- list_files ----

type listFiles struct{ e *env }

var listParams = params{tool: NameListFiles, fields: []field{
	{name: "path", kind: kString, desc: "Directory to list, relative to the workspace root (default the root)."},
	{name: "pattern", kind: kString, desc: "Glob the files must match, relative to path: * ? [abc] and ** for any depth, e.g. \"**/*_test.go\". A pattern without / matches file names at any depth."},
}}

func (t *listFiles) Spec() ouro.ToolSpec {
	return listParams.spec("List files under a directory, recursively and sorted, leaving out .git and what .gitignore excludes.")
}

func (t *listFiles) Describe(input json.RawMessage, a *ouro.Action) error {
	args, err := listParams.parse(input)
	if err != nil {
		return err
	}
	p, err := pathArg(&listParams, args, "path")
	if err != nil {
		return err
	}
	a.Tool, a.Args, a.Writes, a.Command, a.Argv, a.Hosts = NameListFiles, args, false, "", nil, nil
	t.e.describePaths(p, a)
	return nil
}

// globMatcher matches paths relative to the listed directory.
type globMatcher struct {
	segs     []string
	anchored bool
}

func newGlob(pattern string) *globMatcher {
	pattern = strings.Trim(pattern, "/")
	if pattern == "" {
		return nil
	}
	return &globMatcher{segs: strings.Split(pattern, "/"), anchored: strings.Contains(pattern, "/")}
}

func (g *globMatcher) match(sub string) bool {
	if g == nil {
		return true
	}
	if !g.anchored {
		return wildmatch(g.segs[0], sub[strings.LastIndexByte(sub, '/')+1:])
	}
	return matchSegments(g.segs, strings.Split(sub, "/"))
}

func (t *listFiles) Call(ctx context.Context, input json.RawMessage) (Output, error) {
	args, err := listParams.parse(input)
	if err != nil {
		return fail(err), nil
	}
	p, err := pathArg(&listParams, args, "path")
	if err != nil {
		return fail(err), nil
	}
	glob := newGlob(str(args, "pattern"))
	s, err := t.e.fs.open()
	if err != nil {
		return Output{}, err
	}
	defer s.close()
	rel, err := s.check(p)
	if err != nil {
		return fail(err), nil
	}
	fd, err := s.openBeneath(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return fail(err), nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fail(&pathError{path: rel, err: err}), nil
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return Output{Content: rel + " is a file, not a directory"}, nil
	}
	var files []string
	size := 0
	capped := false
	w := &walker{ctx: ctx}
	w.loadIgnores(s, rel)
	w.visit = func(_ int, _, child string, _ *unix.Stat_t) bool {
		sub := child
		if rel != "." {
			sub = child[len(rel)+1:]
		}
		if !glob.match(sub) {
			return true
		}
		if len(files) == maxListEntries || size > t.e.ws.MaxOutput {
			capped = true
			return false
		}
		files = append(files, child)
		size += len(child) + 1
		return true
	}
	if err := w.walk(fd, rel); err != nil && err != errStop {
		if ctx.Err() != nil {
			return Output{}, ctx.Err()
		}
		return fail(err), nil
	}
	sort.Strings(files)
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	body := truncate(b.String(), t.e.ws.MaxOutput)
	b.Reset()
	b.WriteString(body)
	switch {
	case capped:
		fmt.Fprintf(&b, "(listing stopped at %d files; narrow it with path or pattern)\n", len(files))
	case w.limited:
		fmt.Fprintf(&b, "(walk stopped after %d entries; narrow it with path or pattern)\n", maxWalkEntries)
	case len(files) == 0:
		if glob != nil {
			return Output{Content: fmt.Sprintf("no files under %s match %q", rel, str(args, "pattern"))}, nil
		}
		return Output{Content: fmt.Sprintf("no files under %s", rel)}, nil
	}
	return Output{Content: b.String()}, nil
}

// ---- grep ----

type grepTool struct{ e *env }

var grepParams = params{tool: NameGrep, fields: []field{
	{name: "pattern", kind: kString, required: true, desc: "Regular expression (Go RE2 syntax; (?i) for case-insensitive) matched against each line."},
	{name: "path", kind: kString, desc: "File or directory to search, relative to the workspace root (default the root)."},
}}

func (t *grepTool) Spec() ouro.ToolSpec {
	return grepParams.spec("Search file contents with a regular expression. Prints path:line:text for each matching line, " +
		"skipping binary files, .git and what .gitignore excludes.")
}

func (t *grepTool) parse(input json.RawMessage) (map[string]any, *regexp.Regexp, string, error) {
	args, err := grepParams.parse(input)
	if err != nil {
		return nil, nil, "", err
	}
	p, err := pathArg(&grepParams, args, "path")
	if err != nil {
		return nil, nil, "", err
	}
	pat := str(args, "pattern")
	if pat == "" {
		return nil, nil, "", grepParams.errorf(`"pattern" must not be empty`)
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, nil, "", grepParams.errorf(`"pattern" is not a valid regular expression: %v`, err)
	}
	return args, re, p, nil
}

func (t *grepTool) Describe(input json.RawMessage, a *ouro.Action) error {
	args, _, p, err := t.parse(input)
	if err != nil {
		return err
	}
	a.Tool, a.Args, a.Writes, a.Command, a.Argv, a.Hosts = NameGrep, args, false, "", nil, nil
	t.e.describePaths(p, a)
	return nil
}

// grepState collects matches across files.
type grepState struct {
	re      *regexp.Regexp
	out     strings.Builder
	matches int
	max     int
	capped  bool
}

// file searches one file's content; false means the caps were reached.
func (g *grepState) file(rel string, data []byte) bool {
	if bytes.IndexByte(head(data), 0) >= 0 {
		return true
	}
	line := 0
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		l = bytes.TrimSuffix(l, []byte("\r"))
		if !g.re.Match(l) {
			continue
		}
		if g.matches == maxGrepMatches || g.out.Len() >= g.max {
			g.capped = true
			return false
		}
		g.matches++
		text := strings.ToValidUTF8(string(l), "\uFFFD")
		if len(text) > maxGrepLine {
			text = strings.ToValidUTF8(text[:maxGrepLine], "") + " [... line cut]"
		}
		fmt.Fprintf(&g.out, "%s:%d:%s\n", rel, line, text)
	}
	return true
}

// readFD reads a regular, singly linked file of at most MaxFileSize from
// fd and closes it; ok is false for anything else.
func readFD(fd int) ([]byte, bool) {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink > 1 || st.Size > MaxFileSize {
		return nil, false
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize))
	return data, err == nil
}

func (t *grepTool) Call(ctx context.Context, input json.RawMessage) (Output, error) {
	_, re, p, err := t.parse(input)
	if err != nil {
		return fail(err), nil
	}
	s, err := t.e.fs.open()
	if err != nil {
		return Output{}, err
	}
	defer s.close()
	rel, err := s.check(p)
	if err != nil {
		return fail(err), nil
	}
	g := &grepState{re: re, max: t.e.ws.MaxOutput}
	fd, err := s.openBeneath(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return fail(err), nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fail(&pathError{path: rel, err: err}), nil
	}
	var w *walker
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		w = &walker{ctx: ctx}
		w.loadIgnores(s, rel)
		w.visit = func(dirfd int, name, child string, st *unix.Stat_t) bool {
			if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink > 1 || st.Size > MaxFileSize {
				return true
			}
			ffd, err := openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
			if err != nil {
				return true
			}
			data, ok := readFD(ffd)
			return !ok || g.file(child, data)
		}
		if err := w.walk(fd, rel); err != nil && err != errStop {
			if ctx.Err() != nil {
				return Output{}, ctx.Err()
			}
			return fail(err), nil
		}
	} else {
		if err := regularFile(rel, &st); err != nil {
			unix.Close(fd)
			return fail(err), nil
		}
		data, ok := readFD(fd)
		if !ok {
			return failf("%s could not be read (it is larger than %d bytes or changed)", rel, MaxFileSize), nil
		}
		if bytes.IndexByte(head(data), 0) >= 0 {
			return failf("%s looks like a binary file (it contains NUL bytes); grep searches text only", rel), nil
		}
		g.file(rel, data)
	}
	body := truncate(g.out.String(), t.e.ws.MaxOutput)
	g.out.Reset()
	g.out.WriteString(body)
	switch {
	case g.capped:
		fmt.Fprintf(&g.out, "(stopped at %d matches; narrow the pattern or path)\n", g.matches)
	case w != nil && w.limited:
		fmt.Fprintf(&g.out, "(walk stopped after %d entries; narrow the path)\n", maxWalkEntries)
	case g.matches == 0:
		return Output{Content: fmt.Sprintf("no matches for %q under %s", re.String(), rel)}, nil
	}
	return Output{Content: g.out.String()}, nil
}
