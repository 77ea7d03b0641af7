package tool

import (
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxLexDepth bounds how deeply SplitCommand follows command
// substitutions and nested shells.
const maxLexDepth = 12

// SplitCommand splits a shell script into its simple commands, each as
// its words after quote removal, for policy and monitors to inspect. It
// is a best-effort lexer and never fails.
//
// Commands are separated by ; & && || | |& newlines and parentheses.
// Quotes (”, "", $'...') and backslashes are removed as the shell would;
// $(...), `...`, <(...) and >(...) stay in their word as written and the
// commands inside them are listed too, as are those in unquoted here-doc
// bodies. Redirections are kept as tokens: "echo x >f 2>&1" gives
// ["echo" "x" ">" "f" "2>&" "1"]; a here-doc gives "<<", its delimiter and
// its body. Leading reserved words (if, then, do, while, !, {, ...) are
// dropped.
//
// When a command starts with variable assignments or a wrapper (env, sudo,
// nohup, exec, command, time, nice, timeout, xargs, ...), the wrapped
// command is listed after it, with a program path reduced to its base
// name: "FOO=1 /usr/bin/git push" gives ["FOO=1" "/usr/bin/git" "push"]
// and ["git" "push"]. The scripts run by sh -c, bash -c (and other
// shells), eval, and a shell reading a here-doc or here-string are split
// and listed as well.
func SplitCommand(script string) [][]string {
	return splitScript(script, 0)
}

// rawCmd is one simple command as the lexer found it.
type rawCmd struct {
	argv  []string
	inner [][]string // commands in its substitutions, already flattened
}

// heredoc is a here-document waiting for the next newline.
type heredoc struct {
	cmd    *rawCmd
	at     int // index in argv where the body goes (after the delimiter)
	delim  string
	strip  bool // <<- strips leading tabs
	expand bool // unquoted delimiter: the body is subject to substitution
}

type lexer struct {
	s        string
	i        int
	depth    int
	cmds     []*rawCmd
	cur      *rawCmd
	heredocs []heredoc
}

func splitScript(s string, depth int) [][]string {
	if depth > maxLexDepth {
		return nil
	}
	l := &lexer{s: s, depth: depth}
	l.run()
	return l.flatten()
}

func (l *lexer) peek(k int) byte {
	if l.i+k < len(l.s) {
		return l.s[l.i+k]
	}
	return 0
}

func (l *lexer) ensure() *rawCmd {
	if l.cur == nil {
		l.cur = &rawCmd{}
	}
	return l.cur
}

// end finishes the current command.
func (l *lexer) end() {
	if l.cur != nil && (len(l.cur.argv) > 0 || len(l.cur.inner) > 0) {
		l.cmds = append(l.cmds, l.cur)
	}
	l.cur = nil
}

func (l *lexer) run() {
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			l.i++
		case c == '\\' && l.peek(1) == '\n':
			l.i += 2
		case c == '\n':
			l.i++
			l.end()
			l.readHeredocs()
		case c == '#':
			for l.i < len(l.s) && l.s[l.i] != '\n' {
				l.i++
			}
		case c == '&' && l.peek(1) == '>':
			l.ensure()
			l.redirect("&")
		case c == ';' || c == '&' || c == '|' || c == '(' || c == ')':
			l.end()
			l.i++
			if n := l.peek(0); (c == ';' && (n == ';' || n == '&')) || (c == '&' && n == '&') || (c == '|' && (n == '|' || n == '&')) {
				l.i++
				if c == ';' && l.peek(0) == '&' {
					l.i++ // ;;&
				}
			}
		case (c == '<' || c == '>') && l.peek(1) != '(':
			l.ensure()
			l.redirect("")
		default:
			cmd := l.ensure()
			w, quoted := l.word()
			if !quoted && w != "" && isDigits(w) && (l.peek(0) == '<' || l.peek(0) == '>') {
				l.redirect(w)
				continue
			}
			if w != "" || quoted {
				cmd.argv = append(cmd.argv, w)
			}
		}
	}
	l.end()
	l.readHeredocs()
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// redirect reads a redirection operator (after an optional descriptor
// prefix) and, for a here-doc, its delimiter.
func (l *lexer) redirect(prefix string) {
	ops := []string{"<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">&", ">|", ">"}
	if prefix == "&" {
		l.i++ // the '&'
		ops = []string{">>", ">"}
	}
	op := ""
	for _, o := range ops {
		if strings.HasPrefix(l.s[l.i:], o) {
			op = o
			break
		}
	}
	if op == "" { // cannot happen: called at < or >
		l.i++
		return
	}
	l.i += len(op)
	cmd := l.ensure()
	cmd.argv = append(cmd.argv, prefix+op)
	if op != "<<" && op != "<<-" {
		return
	}
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
	delim, quoted := l.word()
	cmd.argv = append(cmd.argv, delim)
	l.heredocs = append(l.heredocs, heredoc{cmd: cmd, at: len(cmd.argv), delim: delim, strip: op == "<<-", expand: !quoted})
}

// readHeredocs reads the bodies of pending here-docs, which start at the
// current position (just after a newline).
func (l *lexer) readHeredocs() {
	shift := map[*rawCmd]int{}
	for _, h := range l.heredocs {
		var body strings.Builder
		for l.i < len(l.s) {
			j := strings.IndexByte(l.s[l.i:], '\n')
			var line string
			if j < 0 {
				line, l.i = l.s[l.i:], len(l.s)
			} else {
				line, l.i = l.s[l.i:l.i+j], l.i+j+1
			}
			if h.strip {
				line = strings.TrimLeft(line, "\t")
			}
			if line == h.delim {
				break
			}
			body.WriteString(line)
			body.WriteByte('\n')
		}
		at := h.at + shift[h.cmd]
		shift[h.cmd]++
		h.cmd.argv = slices.Insert(h.cmd.argv, min(at, len(h.cmd.argv)), body.String())
		if h.expand {
			h.cmd.inner = append(h.cmd.inner, scanSubs(body.String(), l.depth+1)...)
		}
	}
	l.heredocs = l.heredocs[:0]
}

// word reads one word, removing quotes. quoted reports whether any part
// was quoted or escaped.
func (l *lexer) word() (string, bool) {
	var b strings.Builder
	quoted := false
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch c {
		case ' ', '\t', '\r', '\n', ';', '&', '|', '(', ')':
			return b.String(), quoted
		case '<', '>':
			if l.peek(1) != '(' {
				return b.String(), quoted
			}
			b.WriteString(l.subst(l.i + 2))
		case '\\':
			switch {
			case l.peek(1) == '\n':
				l.i += 2
			case l.i+1 < len(l.s):
				b.WriteByte(l.s[l.i+1])
				l.i += 2
				quoted = true
			default:
				l.i++
			}
		case '\'':
			quoted = true
			j := strings.IndexByte(l.s[l.i+1:], '\'')
			if j < 0 {
				b.WriteString(l.s[l.i+1:])
				l.i = len(l.s)
			} else {
				b.WriteString(l.s[l.i+1 : l.i+1+j])
				l.i += j + 2
			}
		case '"':
			quoted = true
			l.i++
			l.dquote(&b)
		case '`':
			b.WriteString(l.backtick())
		case '$':
			if l.dollar(&b, false) {
				quoted = true
			}
		default:
			b.WriteByte(c)
			l.i++
		}
	}
	return b.String(), quoted
}

// dquote reads the rest of a double-quoted string into b.
func (l *lexer) dquote(b *strings.Builder) {
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch c {
		case '"':
			l.i++
			return
		case '\\':
			n := l.peek(1)
			switch {
			case n == '\n':
				l.i += 2
			case n == '$' || n == '`' || n == '"' || n == '\\':
				b.WriteByte(n)
				l.i += 2
			default:
				b.WriteByte('\\')
				l.i++
			}
		case '`':
			b.WriteString(l.backtick())
		case '$':
			l.dollar(b, true)
		default:
			b.WriteByte(c)
			l.i++
		}
	}
}

// dollar reads a $ expansion at the current position into b: command
// substitutions are recursed into and kept as written, $'...' is decoded.
// It reports whether the text was quoting ($'...' or $"...").
func (l *lexer) dollar(b *strings.Builder, inDQ bool) bool {
	n := l.peek(1)
	switch {
	case n == '(' && l.peek(2) == '(':
		end := matchClose(l.s, l.i+3, '(', ')', 2)
		inner := l.s[l.i+3 : max(l.i+3, end-1)]
		l.addInner(scanSubs(inner, l.depth+1))
		l.rawUntil(b, end)
	case n == '(':
		b.WriteString(l.subst(l.i + 2))
	case n == '{':
		end := matchClose(l.s, l.i+2, '{', '}', 1)
		l.addInner(scanSubs(l.s[l.i+2:min(end, len(l.s))], l.depth+1))
		l.rawUntil(b, end)
	case n == '\'' && !inDQ:
		l.i += 2
		l.ansiC(b)
		return true
	case n == '"' && !inDQ:
		l.i += 2
		l.dquote(b)
		return true
	default:
		b.WriteByte('$')
		l.i++
	}
	return false
}

// rawUntil copies the source up to and including index end into b.
func (l *lexer) rawUntil(b *strings.Builder, end int) {
	stop := min(end+1, len(l.s))
	b.WriteString(l.s[l.i:stop])
	l.i = stop
}

// subst reads a $(...), <(...) or >(...) whose body starts at start,
// records the commands in it, and returns it as written.
func (l *lexer) subst(start int) string {
	end := matchClose(l.s, start, '(', ')', 1)
	l.addInner(splitScript(l.s[start:min(end, len(l.s))], l.depth+1))
	raw := l.s[l.i:min(end+1, len(l.s))]
	l.i = min(end+1, len(l.s))
	return raw
}

// backtick reads a `...` substitution, records its commands, and returns
// it as written.
func (l *lexer) backtick() string {
	j := skipBacktick(l.s, l.i+1)
	body := l.s[l.i+1 : max(l.i+1, j-1)]
	if j > len(l.s) || (j == len(l.s) && !strings.HasSuffix(l.s, "`")) {
		body = l.s[l.i+1:]
	}
	r := strings.NewReplacer("\\`", "`", "\\\\", "\\", "\\$", "$")
	l.addInner(splitScript(r.Replace(body), l.depth+1))
	raw := l.s[l.i:min(j, len(l.s))]
	l.i = min(j, len(l.s))
	return raw
}

func (l *lexer) addInner(cmds [][]string) {
	if len(cmds) > 0 {
		c := l.ensure()
		c.inner = append(c.inner, cmds...)
	}
}

// ansiC decodes the body of $'...' into b.
func (l *lexer) ansiC(b *strings.Builder) {
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c == '\'' {
			l.i++
			return
		}
		if c != '\\' || l.i+1 >= len(l.s) {
			b.WriteByte(c)
			l.i++
			continue
		}
		e := l.s[l.i+1]
		l.i += 2
		switch e {
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'e', 'E':
			b.WriteByte(0x1b)
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			b.WriteByte(byte(l.number(16, 2)))
		case 'u':
			b.WriteRune(rune(l.number(16, 4)))
		case 'U':
			b.WriteRune(rune(l.number(16, 8)))
		case 'c':
			if l.i < len(l.s) {
				b.WriteByte(l.s[l.i] & 0x1f)
				l.i++
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			l.i--
			b.WriteByte(byte(l.number(8, 3)))
		default: // \\ \' \" \? and unknown escapes
			if e != '\\' && e != '\'' && e != '"' && e != '?' {
				b.WriteByte('\\')
			}
			b.WriteByte(e)
		}
	}
}

// number reads up to max digits in base from the current position.
func (l *lexer) number(base, maxDigits int) uint64 {
	j := l.i
	for j < len(l.s) && j-l.i < maxDigits && isBaseDigit(l.s[j], base) {
		j++
	}
	v, _ := strconv.ParseUint(l.s[l.i:j], base, 64)
	l.i = j
	if v > utf8.MaxRune {
		v = utf8.RuneError
	}
	return v
}

func isBaseDigit(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '7':
		return true
	case c == '8' || c == '9':
		return base >= 10
	case (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		return base == 16
	}
	return false
}

// matchClose returns the index of the close byte that brings the nesting
// depth (starting at depth) to zero, scanning from i and skipping quoted
// text, or len(s) when there is none.
func matchClose(s string, i int, open, close byte, depth int) int {
	for i < len(s) {
		switch c := s[i]; c {
		case '\\':
			i += 2
			continue
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return len(s)
			}
			i += j + 2
			continue
		case '"':
			i = skipDQ(s, i+1)
			continue
		case '`':
			i = skipBacktick(s, i+1)
			continue
		case open:
			depth++
		case close:
			if depth--; depth == 0 {
				return i
			}
		}
		i++
	}
	return len(s)
}

// skipDQ returns the index after the double-quoted string whose body
// starts at i.
func skipDQ(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		case '`':
			i = skipBacktick(s, i+1)
			continue
		case '$':
			if i+1 < len(s) && s[i+1] == '(' {
				i = matchClose(s, i+2, '(', ')', 1) + 1
				continue
			}
		}
		i++
	}
	return len(s)
}

// skipBacktick returns the index after the backtick that closes the
// substitution whose body starts at i.
func skipBacktick(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '`':
			return i + 1
		}
		i++
	}
	return len(s)
}

// scanSubs finds the command substitutions in text that is otherwise
// data (a here-doc body, a ${...} expansion) and splits them.
func scanSubs(text string, depth int) [][]string {
	if depth > maxLexDepth {
		return nil
	}
	var out [][]string
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '$':
			if i+1 < len(text) && text[i+1] == '(' {
				if i+2 < len(text) && text[i+2] == '(' {
					end := matchClose(text, i+3, '(', ')', 2)
					out = append(out, scanSubs(text[i+3:max(i+3, min(end, len(text))-1)], depth+1)...)
					i = end
					continue
				}
				end := matchClose(text, i+2, '(', ')', 1)
				out = append(out, splitScript(text[i+2:min(end, len(text))], depth)...)
				i = end
			}
		case '`':
			j := skipBacktick(text, i+1)
			body := text[i+1 : max(i+1, j-1)]
			out = append(out, splitScript(body, depth)...)
			i = j - 1
		}
	}
	return out
}

// reserved words dropped from the start of a command.
var reserved = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true,
	"do": true, "done": true, "while": true, "until": true, "!": true,
	"{": true, "}": true, "esac": true,
}

func (l *lexer) flatten() [][]string {
	var out [][]string
	for _, c := range l.cmds {
		argv := c.argv
		for len(argv) > 0 && reserved[argv[0]] {
			argv = argv[1:]
		}
		if len(argv) > 0 {
			out = append(out, argv)
			out = append(out, expand(argv, l.depth)...)
		}
		out = append(out, c.inner...)
	}
	return out
}

// shells run their -c argument, or stdin, as a script.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ksh": true,
	"ash": true, "mksh": true, "yash": true, "fish": true, "busybox-sh": true,
}

// expand returns the commands a command runs on its behalf: the wrapped
// command when it has a prefix, and the script of a shell or eval.
func expand(argv []string, depth int) [][]string {
	eff := unwrap(argv)
	var out [][]string
	if len(eff) > 0 && !slices.Equal(eff, argv) {
		out = append(out, eff)
	}
	if len(eff) == 0 || depth >= maxLexDepth {
		return out
	}
	switch name := eff[0]; {
	case shells[name]:
		if script, ok := shellScript(eff); ok {
			out = append(out, splitScript(script, depth+1)...)
		}
	case name == "eval":
		out = append(out, splitScript(strings.Join(dropRedirs(eff[1:]), " "), depth+1)...)
	}
	return out
}

// redirOp reports whether t is a redirection token and how many tokens
// it spans (operator, target, and for a here-doc the body).
func redirOp(t string) int {
	op := strings.TrimLeft(t, "0123456789")
	switch op {
	case "<<", "<<-":
		return 3
	case "<<<", "<>", "<&", "<", ">>", ">&", ">|", ">", "&>", "&>>":
		return 2
	}
	return 0
}

// dropRedirs returns args without redirections and their targets.
func dropRedirs(args []string) []string {
	var out []string
	for i := 0; i < len(args); {
		if n := redirOp(args[i]); n > 0 {
			i += n
			continue
		}
		out = append(out, args[i])
		i++
	}
	return out
}

func isAssignment(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '=' || (c == '+' && i+1 < len(t) && t[i+1] == '='):
			return i > 0
		case c == '[' && i > 0:
			return strings.Contains(t[i:], "]=") || strings.Contains(t[i:], "]+=")
		case c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9'):
		default:
			return false
		}
	}
	return false
}

// wrapper says how to skip a wrapper's options: short options that take
// a value, long ones that do, and how many operands come before the
// wrapped command.
type wrapper struct {
	short    string
	long     []string
	operands int
	assigns  bool // NAME=VALUE may appear among the options (env)
}

var wrappers = map[string]wrapper{
	"env":        {short: "uCS", long: []string{"--unset", "--chdir", "--split-string"}, assigns: true},
	"sudo":       {short: "ugChpDrtTU", long: []string{"--user", "--group", "--host", "--prompt", "--chdir", "--role", "--type", "--close-from", "--other-user", "--command-timeout"}},
	"doas":       {short: "uC"},
	"nohup":      {},
	"builtin":    {},
	"command":    {},
	"exec":       {short: "a"},
	"time":       {short: "fo", long: []string{"--format", "--output"}},
	"setsid":     {},
	"chronic":    {},
	"nice":       {short: "n", long: []string{"--adjustment"}},
	"ionice":     {short: "cnp", long: []string{"--class", "--classdata", "--pid"}},
	"timeout":    {short: "sk", long: []string{"--signal", "--kill-after"}, operands: 1},
	"stdbuf":     {short: "ioe", long: []string{"--input", "--output", "--error"}},
	"xargs":      {short: "IELnPsda", long: []string{"--max-args", "--max-procs", "--delimiter", "--arg-file", "--replace", "--eof", "--max-lines", "--max-chars"}},
	"watch":      {short: "nq", long: []string{"--interval", "--equexit"}},
	"flock":      {short: "wEc", long: []string{"--timeout", "--conflict-exit-code", "--command"}, operands: 1},
	"strace":     {short: "abeEIoOpPsSuX", long: []string{"--output", "--trace", "--attach", "--user"}},
	"ltrace":     {short: "aeEnoOpsuAlxXL", long: []string{"--output"}},
	"unbuffer":   {},
	"busybox":    {},
	"caffeinate": {short: "tw"},
}

// unwrap strips leading assignments, redirections and wrappers from a
// command, returning the command that actually runs, its program reduced
// to a base name.
func unwrap(argv []string) []string {
	a := argv
	for guard := 0; guard < 16 && len(a) > 0; guard++ {
		for len(a) > 0 {
			if isAssignment(a[0]) {
				a = a[1:]
			} else if n := redirOp(a[0]); n > 0 {
				a = a[min(n, len(a)):]
			} else {
				break
			}
		}
		if len(a) == 0 {
			return nil
		}
		w, ok := wrappers[path.Base(a[0])]
		if !ok {
			break
		}
		a = skipOpts(a[1:], w)
		a = a[min(w.operands, len(a)):]
	}
	if len(a) > 0 && strings.Contains(a[0], "/") {
		a = append([]string{path.Base(a[0])}, a[1:]...)
	}
	return a
}

// skipOpts skips the options of a wrapper.
func skipOpts(args []string, w wrapper) []string {
	i := 0
	for i < len(args) {
		t := args[i]
		if w.assigns && (isAssignment(t) || t == "-") {
			i++
			continue
		}
		if t == "--" {
			return args[i+1:]
		}
		if len(t) < 2 || t[0] != '-' {
			break
		}
		if strings.HasPrefix(t, "--") {
			if !strings.Contains(t, "=") && slices.Contains(w.long, t) {
				i++
			}
			i++
			continue
		}
		n := 1
		for j := 1; j < len(t); j++ {
			if strings.IndexByte(w.short, t[j]) >= 0 {
				if j == len(t)-1 {
					n = 2
				}
				break
			}
		}
		i += n
	}
	return args[min(i, len(args)):]
}

// shellScript returns the script a shell command runs: its -c argument,
// or a here-doc or here-string given as its stdin when it names no
// script file.
func shellScript(argv []string) (string, bool) {
	args := dropRedirs(argv[1:])
	cflag := false
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" {
			rest = args[i+1:]
			break
		}
		if strings.HasPrefix(a, "--") {
			if a == "--rcfile" || a == "--init-file" {
				i++
			}
			continue
		}
		if len(a) > 1 && (a[0] == '-' || a[0] == '+') {
			if a[0] == '-' && strings.ContainsRune(a[1:], 'c') {
				cflag = true
			}
			if strings.ContainsAny(a[1:], "oO") {
				i++
			}
			continue
		}
		rest = args[i:]
		break
	}
	if cflag {
		if len(rest) > 0 {
			return rest[0], true
		}
		return "", false
	}
	if len(rest) > 0 {
		return "", false // runs a script file
	}
	for i := 1; i < len(argv); i++ {
		op := strings.TrimLeft(argv[i], "0123456789")
		switch {
		case op == "<<<" && i+1 < len(argv):
			return argv[i+1], true
		case (op == "<<" || op == "<<-") && i+2 < len(argv):
			return argv[i+2], true
		}
	}
	return "", false
}
