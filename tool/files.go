package tool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ouro-run/ouro"
	"golang.org/x/sys/unix"
)

// describePaths fills a.Paths with rel and, when it resolves through
// symlinks to somewhere else, that place too (outside the workspace it is
// given as resolved, e.g. "/etc/passwd"), so policy sees both names.
func (e *env) describePaths(p string, a *ouro.Action) {
	rel, esc := lexical(e.ws.Root, p)
	a.Paths = []string{rel}
	if esc {
		return
	}
	s, err := e.fs.open()
	if err != nil {
		return
	}
	defer s.close()
	loc, err := s.locate(rel)
	var ee *escapeError
	switch {
	case err == nil:
		if real := loc.real(); real != rel {
			a.Paths = append(a.Paths, real)
		}
		loc.close()
	case errors.As(err, &ee) && ee.resolved != "":
		a.Paths = append(a.Paths, ee.resolved)
	}
}

// pathArg validates a path argument: no NUL bytes.
func pathArg(p *params, args map[string]any, name string) (string, error) {
	v := str(args, name)
	if strings.IndexByte(v, 0) >= 0 {
		return "", p.errorf("%q contains a NUL byte", name)
	}
	return v, nil
}

// ---- read_file ----

type readFile struct{ e *env }

var readParams = params{tool: NameReadFile, fields: []field{
	{name: "path", kind: kString, required: true, desc: "File to read, relative to the workspace root."},
	{name: "offset", kind: kInt, min: 0, desc: "1-based line number to start at (default 1)."},
	{name: "limit", kind: kInt, min: 1, desc: "Most lines to return (default 2000)."},
}}

func (t *readFile) Spec() ouro.ToolSpec {
	return readParams.spec("Read a text file. Lines come back numbered, as `   12\tcode`. " +
		"Use offset and limit to page through long files. Binary files are refused.")
}

func (t *readFile) Describe(input json.RawMessage, a *ouro.Action) error {
	args, err := readParams.parse(input)
	if err != nil {
		return err
	}
	p, err := pathArg(&readParams, args, "path")
	if err != nil {
		return err
	}
	a.Tool, a.Args, a.Writes, a.Command, a.Argv, a.Hosts = NameReadFile, args, false, "", nil, nil
	t.e.describePaths(p, a)
	return nil
}

func (t *readFile) Call(ctx context.Context, input json.RawMessage) (Output, error) {
	args, err := readParams.parse(input)
	if err != nil {
		return fail(err), nil
	}
	p, err := pathArg(&readParams, args, "path")
	if err != nil {
		return fail(err), nil
	}
	offset := num(args, "offset", 1)
	if offset < 1 {
		offset = 1
	}
	limit := num(args, "limit", int64(t.e.ws.MaxRead))
	s, err := t.e.fs.open()
	if err != nil {
		return Output{}, err
	}
	defer s.close()
	rel, err := s.check(p)
	if err != nil {
		return fail(err), nil
	}
	f, st, err := s.openRead(rel)
	if err != nil {
		return fail(err), nil
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 32<<10)
	if head, _ := r.Peek(sniffLen); bytes.IndexByte(head, 0) >= 0 {
		return failf("%s looks like a binary file (it contains NUL bytes); read_file shows text only", rel), nil
	}
	b := make([]byte, 0, min(int(st.Size)+int(st.Size)/4+64, t.e.ws.MaxOutput+maxLineLen+64))
	lr := &lineReader{r: r}
	line := int64(0)
	shown := int64(0)
	more := false
	for {
		if line%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Output{}, err
			}
		}
		text, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return failf("%s: %v", rel, err), nil
		}
		line++
		if line < offset {
			continue
		}
		if shown == limit {
			more = true
			break
		}
		if len(b)+numberedLen(line, text) > t.e.ws.MaxOutput && shown > 0 {
			more = true
			break
		}
		b = appendNumbered(b, line, text)
		shown++
	}
	switch {
	case line == 0:
		return Output{Content: rel + " is empty"}, nil
	case offset > line:
		return failf("offset %d is past the end of %s, which has %d lines", offset, rel, line), nil
	case more:
		b = fmt.Appendf(b, "\n(%s continues after line %d; read on with offset=%d)", rel, offset+shown-1, offset+shown)
	}
	return Output{Content: string(b)}, nil
}

// lineReader reads lines for read_file, reusing one buffer.
type lineReader struct {
	r    *bufio.Reader
	kept []byte
}

// next returns the next line without its line ending, cut to maxLineLen
// with a note of how much was dropped. The slice is valid until the next
// call.
func (lr *lineReader) next() ([]byte, error) {
	chunk, err := lr.r.ReadSlice('\n')
	if err == nil && len(chunk) <= maxLineLen+1 {
		// The usual case: the whole line is in the reader's buffer.
		line := bytes.TrimSuffix(chunk[:len(chunk)-1], []byte("\r"))
		if !utf8.Valid(line) {
			line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
		}
		return line, nil
	}
	lr.kept = lr.kept[:0]
	total := 0
	var prev, last byte // the last two bytes read
	for first := true; ; first = false {
		if !first {
			chunk, err = lr.r.ReadSlice('\n')
		}
		total += len(chunk)
		if room := maxLineLen - len(lr.kept); room > 0 {
			lr.kept = append(lr.kept, chunk[:min(room, len(chunk))]...)
		}
		for _, c := range chunk[max(0, len(chunk)-2):] {
			prev, last = last, c
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && total == 0 {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		break
	}
	n := total
	if n > 0 && last == '\n' {
		n--
		if n > 0 && prev == '\r' {
			n--
		}
	}
	line := lr.kept[:min(len(lr.kept), n)]
	if !utf8.Valid(line) {
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	if dropped := n - min(len(lr.kept), n); dropped > 0 {
		line = append(line, " [... line cut, "...)
		line = strconv.AppendInt(line, int64(dropped), 10)
		line = append(line, " more characters]"...)
	}
	return line, nil
}

// numberedLen is how long appendNumbered makes a line.
func numberedLen(n int64, text []byte) int {
	digits := 1
	for x := n; x >= 10; x /= 10 {
		digits++
	}
	return max(digits, 5) + len(text) + 2
}

// appendNumbered appends text as read_file shows it: the line number
// right-aligned in five columns, a tab, the text.
func appendNumbered(b []byte, n int64, text []byte) []byte {
	for x := int64(10000); x > n && x > 1; x /= 10 {
		b = append(b, ' ')
	}
	b = strconv.AppendInt(b, n, 10)
	b = append(b, '\t')
	b = append(b, text...)
	return append(b, '\n')
}

// ---- write_file ----

type writeFile struct{ e *env }

var writeParams = params{tool: NameWriteFile, fields: []field{
	{name: "path", kind: kString, required: true, desc: "File to write, relative to the workspace root. Missing parent directories are created."},
	{name: "content", kind: kString, required: true, desc: "The whole new content of the file."},
}}

func (t *writeFile) Spec() ouro.ToolSpec {
	return writeParams.spec("Create a file or replace its whole content. " +
		"To change part of an existing file, use edit_file instead.")
}

func (t *writeFile) Describe(input json.RawMessage, a *ouro.Action) error {
	args, err := writeParams.parse(input)
	if err != nil {
		return err
	}
	p, err := t.check(args)
	if err != nil {
		return err
	}
	a.Tool, a.Args, a.Writes, a.Command, a.Argv, a.Hosts = NameWriteFile, args, true, "", nil, nil
	t.e.describePaths(p, a)
	return nil
}

func (t *writeFile) check(args map[string]any) (string, error) {
	p, err := pathArg(&writeParams, args, "path")
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", writeParams.errorf(`"path" must not be empty`)
	}
	if n := len(str(args, "content")); n > MaxFileSize {
		return "", writeParams.errorf(`"content" is %d bytes, more than the limit of %d`, n, MaxFileSize)
	}
	return p, nil
}

func (t *writeFile) Call(ctx context.Context, input json.RawMessage) (Output, error) {
	args, err := writeParams.parse(input)
	if err != nil {
		return fail(err), nil
	}
	p, err := t.check(args)
	if err != nil {
		return fail(err), nil
	}
	content := str(args, "content")
	s, err := t.e.fs.open()
	if err != nil {
		return Output{}, err
	}
	defer s.close()
	rel, err := s.check(p)
	if err != nil {
		return fail(err), nil
	}
	tg, err := s.openWrite(t.e, rel, true)
	if err != nil {
		return fail(err), nil
	}
	defer tg.close()
	var old []byte
	if tg.loc.exists {
		if old, err = tg.read(); err != nil {
			return fail(err), nil
		}
		if string(old) == content {
			return Output{Content: fmt.Sprintf("%s already has this content; nothing changed", rel)}, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return Output{}, err
	}
	if err := tg.write([]byte(content)); err != nil {
		return fail(err), nil
	}
	verb := "created"
	if tg.loc.exists {
		verb = "replaced"
	}
	return Output{
		Content: fmt.Sprintf("%s %s (%d bytes, %d lines)", verb, rel, len(content), countLines(content)),
		Diff:    fileDiff(rel, old, []byte(content), !tg.loc.exists),
	}, nil
}

// fileDiff is the unified diff of a change, or a one-line note when either
// side is binary.
func fileDiff(rel string, old, new []byte, created bool) string {
	if bytes.IndexByte(head(old), 0) >= 0 || bytes.IndexByte(head(new), 0) >= 0 {
		return fmt.Sprintf("Binary files a/%s and b/%s differ\n", rel, rel)
	}
	return truncate(unifiedDiff(rel, string(old), string(new), created), maxDiffLen)
}

func head(b []byte) []byte { return b[:min(len(b), sniffLen)] }

func countLines(s string) int {
	if s == "" {
		return 0
	}
	n := strings.Count(s, "\n")
	if !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}

// ---- edit_file ----

type editFile struct{ e *env }

var editParams = params{tool: NameEditFile, fields: []field{
	{name: "path", kind: kString, required: true, desc: "File to edit, relative to the workspace root."},
	{name: "old", kind: kString, required: true, desc: "Exact text to replace, including whitespace; it must occur exactly once in the file. Add surrounding lines to make it unique."},
	{name: "new", kind: kString, required: true, desc: "Text to put in its place."},
}}

func (t *editFile) Spec() ouro.ToolSpec {
	return editParams.spec("Replace one exact, unique occurrence of old with new in a file. " +
		"Read the file first; old must match it character for character.")
}

func (t *editFile) check(args map[string]any) (string, error) {
	p, err := pathArg(&editParams, args, "path")
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", editParams.errorf(`"path" must not be empty`)
	}
	if str(args, "old") == "" {
		return "", editParams.errorf(`"old" must not be empty (to create a file use write_file)`)
	}
	if str(args, "old") == str(args, "new") {
		return "", editParams.errorf(`"old" and "new" are the same, so the edit would change nothing`)
	}
	return p, nil
}

func (t *editFile) Describe(input json.RawMessage, a *ouro.Action) error {
	args, err := editParams.parse(input)
	if err != nil {
		return err
	}
	p, err := t.check(args)
	if err != nil {
		return err
	}
	a.Tool, a.Args, a.Writes, a.Command, a.Argv, a.Hosts = NameEditFile, args, true, "", nil, nil
	t.e.describePaths(p, a)
	return nil
}

func (t *editFile) Call(ctx context.Context, input json.RawMessage) (Output, error) {
	args, err := editParams.parse(input)
	if err != nil {
		return fail(err), nil
	}
	p, err := t.check(args)
	if err != nil {
		return fail(err), nil
	}
	old, repl := str(args, "old"), str(args, "new")
	s, err := t.e.fs.open()
	if err != nil {
		return Output{}, err
	}
	defer s.close()
	rel, err := s.check(p)
	if err != nil {
		return fail(err), nil
	}
	tg, err := s.openWrite(t.e, rel, false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return failf("%s does not exist; use write_file to create it", rel), nil
		}
		return fail(err), nil
	}
	defer tg.close()
	data, err := tg.read()
	if err != nil {
		return fail(err), nil
	}
	if bytes.IndexByte(head(data), 0) >= 0 {
		return failf("%s looks like a binary file (it contains NUL bytes); edit_file edits text only", rel), nil
	}
	content := string(data)
	n := countOverlapping(content, old)
	if n == 0 && strings.Contains(content, "\r\n") && !strings.Contains(old, "\r") {
		// The file has CRLF line endings and the model wrote LF.
		crOld := strings.ReplaceAll(old, "\n", "\r\n")
		if m := countOverlapping(content, crOld); m > 0 {
			old, repl, n = crOld, strings.ReplaceAll(repl, "\n", "\r\n"), m
		}
	}
	switch {
	case n == 0:
		return failf("old text not found in %s%s", rel, closestHint(content, old)), nil
	case n > 1:
		return failf("old text occurs %d times in %s; include more surrounding lines in old so it matches exactly once", n, rel), nil
	}
	i := strings.Index(content, old)
	updated := content[:i] + repl + content[i+len(old):]
	if len(updated) > MaxFileSize {
		return failf("the edit would make %s %d bytes, more than the limit of %d", rel, len(updated), MaxFileSize), nil
	}
	if err := ctx.Err(); err != nil {
		return Output{}, err
	}
	if err := tg.write([]byte(updated)); err != nil {
		return fail(err), nil
	}
	first := strings.Count(content[:i], "\n") + 1
	last := first + strings.Count(repl, "\n")
	if strings.HasSuffix(repl, "\n") && last > first {
		last--
	}
	msg := fmt.Sprintf("edited %s: replaced 1 occurrence, now lines %d-%d", rel, first, last)
	if repl == "" {
		msg = fmt.Sprintf("edited %s: removed the text at line %d", rel, first)
	}
	return Output{
		Content: msg,
		Diff:    fileDiff(rel, data, []byte(updated), false),
	}, nil
}

// countOverlapping counts occurrences of sub in s, overlapping ones too,
// since any two of them make the match ambiguous.
func countOverlapping(s, sub string) int {
	n := 0
	for i := 0; ; {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return n
		}
		n++
		i += j + 1
		if i > len(s) {
			return n
		}
	}
}

// closestHint points at the file line most like the first non-blank line
// of old, when one is close enough to help: same text with other
// whitespace, or at least 60% of its character pairs in common.
func closestHint(content, old string) string {
	var want, wantRaw string
	for _, l := range strings.Split(old, "\n") {
		if strings.TrimSpace(l) != "" {
			want, wantRaw = strings.TrimSpace(l), strings.TrimSuffix(l, "\r")
			break
		}
	}
	if want == "" || len(content) > 4<<20 {
		return ""
	}
	wantNorm := strings.Join(strings.Fields(want), " ")
	wantPairs := bigrams(wantNorm)
	bestLine, bestScore, bestText := 0, 0.0, ""
	for i, l := range strings.Split(content, "\n") {
		raw := strings.TrimSuffix(l, "\r")
		t := strings.TrimSpace(raw)
		if t == "" {
			continue
		}
		norm := strings.Join(strings.Fields(t), " ")
		if norm == wantNorm {
			if raw == wantRaw {
				return fmt.Sprintf("; its first line matches line %d, so a later line of old differs from the file (check indentation and whitespace)", i+1)
			}
			return fmt.Sprintf("; line %d has the same text with different whitespace: %q", i+1, cut(t, 200))
		}
		if score := dice(wantPairs, norm); score > bestScore {
			bestLine, bestScore, bestText = i+1, score, t
		}
	}
	if bestScore >= 0.6 {
		return fmt.Sprintf("; the closest line is %d: %q", bestLine, cut(bestText, 200))
	}
	return "; read the file again and copy the text exactly"
}

func bigrams(s string) map[string]int {
	m := map[string]int{}
	for i := 0; i+2 <= len(s); i++ {
		m[s[i:i+2]]++
	}
	return m
}

// dice is the Sørensen–Dice coefficient of the character pairs of s and
// those in want.
func dice(want map[string]int, s string) float64 {
	total := 0
	for _, n := range want {
		total += n
	}
	if total == 0 || len(s) < 2 {
		return 0
	}
	used := map[string]int{}
	common := 0
	for i := 0; i+2 <= len(s); i++ {
		p := s[i : i+2]
		if used[p] < want[p] {
			used[p]++
			common++
		}
	}
	return 2 * float64(common) / float64(total+len(s)-1)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
