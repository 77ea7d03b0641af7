package policy

import (
	"path"
	"slices"
	"strings"
)

// This file reads shell text the way a policy needs to: which simple
// commands it runs and which files its redirections write. It is an
// approximation of POSIX sh, biased towards finding more commands rather
// than fewer (text inside $(...), backticks, sh -c strings, eval and here
// documents fed to a shell is read as commands too). The sandbox, not this
// parser, is what keeps a command contained; rules built on it only need
// to catch the plain and the lightly disguised cases, and the monitors
// score the rest.

// maxShellDepth bounds how deep nested shell text (sh -c "eval '...'") is
// followed.
const maxShellDepth = 8

// shellScan collects what a piece of shell text does.
type shellScan struct {
	cmds      [][]string // simple commands, words with quotes removed
	redirects []string   // targets of output redirections, after any cd
	dir       string     // where earlier cd commands went, "" for the start
}

// scanShell reads shell text into simple commands and output redirection
// targets.
func scanShell(src string) shellScan {
	var s shellScan
	s.scan(src, 0)
	return s
}

// heredoc is a here document announced on the current line.
type heredoc struct {
	delim     string
	stripTabs bool
	toShell   bool // the command reading it is a shell: its body is commands
}

// redirKind says what the next word completes.
type redirKind int

const (
	redirNone     redirKind = iota
	redirOut                // next word is a file written
	redirOutDup             // after >&: a file written unless it is an fd number or "-"
	redirIn                 // next word is a file read
	redirHere               // next word is a here-document delimiter
	redirHereTabs           // same, for <<-
	redirString             // next word is a here-string (data)
)

func (s *shellScan) scan(src string, depth int) {
	if depth > maxShellDepth {
		return
	}
	var (
		words   []string
		word    strings.Builder
		inWord  bool
		pending redirKind
		heres   []heredoc
	)
	endWord := func() {
		if !inWord {
			return
		}
		w := word.String()
		word.Reset()
		inWord = false
		switch pending {
		case redirOut:
			s.redirects = append(s.redirects, inDir(s.dir, w))
		case redirOutDup:
			if w != "-" && !allDigits(w) {
				s.redirects = append(s.redirects, inDir(s.dir, w))
			}
		case redirIn, redirString:
		case redirHere, redirHereTabs:
			heres = append(heres, heredoc{
				delim:     w,
				stripTabs: pending == redirHereTabs,
				toShell:   len(words) > 0 && isShell(path.Base(words[0])),
			})
		default:
			words = append(words, w)
		}
		pending = redirNone
	}
	endCmd := func() {
		endWord()
		if len(words) > 0 {
			s.cmds = append(s.cmds, words)
			s.dir = nextDir(s.dir, words)
			words = nil
		}
		pending = redirNone
	}

	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			endWord()
			i++
		case c == '\n':
			endCmd()
			i++
			if len(heres) > 0 {
				i = s.readHeredocs(src, i, heres, depth)
				heres = heres[:0]
			}
		case c == '#' && !inWord:
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == ';' || c == '|' || c == '(' || c == ')':
			endCmd()
			i++
		case c == '&':
			if i+1 < len(src) && src[i+1] == '>' { // &> and &>> write a file
				endWord()
				i += 2
				if i < len(src) && src[i] == '>' {
					i++
				}
				pending = redirOut
				continue
			}
			endCmd()
			i++
		case c == '>' || c == '<':
			// "2>file": the digits before the operator are an fd, not a word.
			if inWord && allDigits(word.String()) {
				word.Reset()
				inWord = false
			}
			endWord()
			i = s.redirect(src, i, &pending, depth)
		case c == '\\':
			if i+1 < len(src) {
				if src[i+1] != '\n' { // backslash-newline joins lines
					word.WriteByte(src[i+1])
					inWord = true
				}
				i += 2
			} else {
				i++
			}
		case c == '\'':
			j := strings.IndexByte(src[i+1:], '\'')
			if j < 0 {
				j = len(src) - i - 1
			}
			word.WriteString(src[i+1 : i+1+j])
			inWord = true
			i += j + 2
		case c == '"':
			i = s.doubleQuoted(src, i+1, &word, depth)
			inWord = true
		case c == '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				end = len(src) - i - 1
			}
			s.scan(src[i+1:i+1+end], depth+1)
			word.WriteString(src[i:min(len(src), i+2+end)])
			inWord = true
			i += end + 2
		case c == '$' && i+1 < len(src) && src[i+1] == '(':
			end := matchParen(src, i+1)
			s.scan(src[i+2:end], depth+1)
			word.WriteString(src[i:min(len(src), end+1)])
			inWord = true
			i = end + 1
		case c == '$' && i+1 < len(src) && src[i+1] == '{':
			end := strings.IndexByte(src[i:], '}')
			if end < 0 {
				end = len(src) - i - 1
			}
			word.WriteString(src[i : i+end+1])
			inWord = true
			i += end + 1
		default:
			word.WriteByte(c)
			inWord = true
			i++
		}
	}
	endCmd()
}

// redirect reads a redirection operator starting at src[i] and returns the
// index after it. Process substitutions <(...) and >(...) are read as
// commands.
func (s *shellScan) redirect(src string, i int, pending *redirKind, depth int) int {
	op := src[i]
	i++
	next := byte(0)
	if i < len(src) {
		next = src[i]
	}
	if next == '(' { // process substitution
		end := matchParen(src, i)
		s.scan(src[i+1:end], depth+1)
		return end + 1
	}
	if op == '>' {
		switch next {
		case '>', '|':
			i++
			*pending = redirOut
		case '&':
			i++
			*pending = redirOutDup
		default:
			*pending = redirOut
		}
		return i
	}
	switch next {
	case '<':
		i++
		switch {
		case i < len(src) && src[i] == '<':
			i++
			*pending = redirString
		case i < len(src) && src[i] == '-':
			i++
			*pending = redirHereTabs
		default:
			*pending = redirHere
		}
	case '>': // <> opens for reading and writing
		i++
		*pending = redirOut
	case '&':
		i++
		*pending = redirIn
	default:
		*pending = redirIn
	}
	return i
}

// doubleQuoted reads a double-quoted string whose text starts at src[i],
// appending its value to w, and returns the index after the closing quote.
// Command substitutions inside are read as commands.
func (s *shellScan) doubleQuoted(src string, i int, w *strings.Builder, depth int) int {
	for i < len(src) {
		c := src[i]
		switch {
		case c == '"':
			return i + 1
		case c == '\\' && i+1 < len(src):
			switch n := src[i+1]; n {
			case '"', '\\', '$', '`':
				w.WriteByte(n)
			case '\n':
			default:
				w.WriteByte('\\')
				w.WriteByte(n)
			}
			i += 2
		case c == '$' && i+1 < len(src) && src[i+1] == '(':
			end := matchParen(src, i+1)
			s.scan(src[i+2:end], depth+1)
			w.WriteString(src[i:min(len(src), end+1)])
			i = end + 1
		case c == '`':
			end := strings.IndexByte(src[i+1:], '`')
			if end < 0 {
				end = len(src) - i - 1
			}
			s.scan(src[i+1:i+1+end], depth+1)
			w.WriteString(src[i:min(len(src), i+2+end)])
			i += end + 2
		default:
			w.WriteByte(c)
			i++
		}
	}
	return i
}

// readHeredocs skips the bodies of the here documents announced on the
// line that ended just before src[i], reading a body as commands when a
// shell consumes it, and returns the index after the last body.
func (s *shellScan) readHeredocs(src string, i int, heres []heredoc, depth int) int {
	for _, h := range heres {
		start := i
		for i < len(src) {
			end := strings.IndexByte(src[i:], '\n')
			line := src[i:]
			next := len(src)
			if end >= 0 {
				line = src[i : i+end]
				next = i + end + 1
			}
			check := line
			if h.stripTabs {
				check = strings.TrimLeft(line, "\t")
			}
			if check == h.delim {
				if h.toShell {
					s.scan(src[start:i], depth+1)
				}
				i = next
				break
			}
			i = next
			if i == len(src) && h.toShell {
				s.scan(src[start:i], depth+1)
			}
		}
	}
	return i
}

// matchParen returns the index of the ')' closing the '(' at src[open], or
// len(src) when it is not closed. Quotes inside are skipped roughly.
func matchParen(src string, open int) int {
	level := 0
	for i := open; i < len(src); i++ {
		switch src[i] {
		case '(':
			level++
		case ')':
			level--
			if level == 0 {
				return i
			}
		case '\\':
			i++
		case '\'':
			if j := strings.IndexByte(src[i+1:], '\''); j >= 0 {
				i += j + 1
			}
		}
	}
	return len(src)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// nextDir returns the working directory after a command run in dir: cd
// and pushd move it, popd goes back to the start (a guess), anything else
// leaves it. Where a cd goes cannot be known ("cd ~", "cd $X", "cd -")
// the result is "/?": outside the workspace as far as rules can tell.
func nextDir(dir string, c []string) string {
	if len(c) == 0 {
		return dir
	}
	switch path.Base(c[0]) {
	case "cd", "pushd":
	case "popd":
		return ""
	default:
		return dir
	}
	ops := operands(c[1:], "")
	if len(ops) == 0 {
		return "/?" // cd alone goes home
	}
	to := ops[0]
	switch {
	case to == "" || to == "-" || strings.HasPrefix(to, "~") || strings.ContainsAny(to, "$`*?"):
		return "/?"
	case path.IsAbs(to):
		return path.Clean(to)
	}
	return inDir(dir, to)
}

// inDir resolves a relative path against a working directory given
// relative to the workspace root ("" is the root).
func inDir(dir, p string) string {
	if dir == "" || path.IsAbs(p) {
		return p
	}
	return path.Join(dir, p)
}

// isShell reports whether a program name is a POSIX-like shell.
func isShell(prog string) bool {
	switch prog {
	case "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "posh", "rbash":
		return true
	}
	return false
}

// isAssignment reports whether a word is a NAME=value prefix assignment.
func isAssignment(w string) bool {
	eq := strings.IndexByte(w, '=')
	if eq <= 0 {
		return false
	}
	for i := 0; i < eq; i++ {
		c := w[i]
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// normalizeCommands returns the simple commands a list of argv vectors
// runs, unwrapped: prefix assignments and shell keywords are dropped, the
// program is reduced to its base name ("/usr/bin/git" is "git"), and the
// command behind a wrapper (env, sudo, timeout, xargs, nice, python -m,
// npx, find -exec, ...) or inside a shell string (sh -c, eval) is listed
// as well, after the wrapper itself.
//
// It also returns the output redirection targets found in shell strings
// it unwraps.
func normalizeCommands(argv [][]string) (cmds [][]string, redirects []string) {
	n := normalizer{}
	for _, c := range argv {
		n.add(c, 0)
	}
	return n.cmds, n.redirects
}

// maxDedup bounds the duplicate check of normalizer.seen.
const maxDedup = 64

// normalizer collects unwrapped commands.
type normalizer struct {
	cmds      [][]string
	redirects []string
}

// wrapper describes a program that runs another command given as its
// remaining arguments.
type wrapper struct {
	valueOpts  string // options taking a separate value, space separated
	positional int    // operands before the command (timeout DURATION)
	sub        string // the subcommand that runs a command ("run" for uv run), or ""
}

// wrappers lists the programs that run the command given by their
// arguments, and how to find it.
var wrappers = map[string]wrapper{
	"env":       {valueOpts: "-u --unset -C --chdir -S --split-string"},
	"command":   {},
	"builtin":   {},
	"exec":      {valueOpts: "-a"},
	"nohup":     {},
	"setsid":    {},
	"time":      {valueOpts: "-f --format -o --output"},
	"nice":      {valueOpts: "-n --adjustment"},
	"ionice":    {valueOpts: "-c --class -n --classdata -p --pid -P --pgid -u --uid"},
	"chronic":   {},
	"unbuffer":  {},
	"stdbuf":    {valueOpts: "-i -o -e --input --output --error"},
	"timeout":   {valueOpts: "-s --signal -k --kill-after", positional: 1},
	"sudo":      {valueOpts: "-u --user -g --group -C --close-from -D --chdir -h --host -p --prompt -r --role -t --type -U --other-user -T --command-timeout"},
	"doas":      {valueOpts: "-u -C"},
	"xargs":     {valueOpts: "-I -n --max-args -P --max-procs -d --delimiter -E -L --max-lines -s --max-chars -a --arg-file"},
	"flock":     {valueOpts: "-w --timeout -E --conflict-exit-code", positional: 1},
	"strace":    {valueOpts: "-o -e -p -s -E -u -a -b -I -O -P -S -X"},
	"ltrace":    {valueOpts: "-o -e -p -s -u -a -n"},
	"watch":     {valueOpts: "-n --interval -d --differences -q --equexit"},
	"npx":       {valueOpts: "-p --package -c --call"},
	"pnpx":      {valueOpts: "-p --package"},
	"bunx":      {valueOpts: "-p --package"},
	"uvx":       {valueOpts: "--from --with -p --python"},
	"busybox":   {},
	"uv":        {sub: "run", valueOpts: "--with --python -p --directory --project --package --env-file"},
	"poetry":    {sub: "run", valueOpts: "-C --directory -P --project"},
	"pipenv":    {sub: "run"},
	"pdm":       {sub: "run", valueOpts: "-p --project"},
	"bundle":    {sub: "exec"},
	"npm":       {sub: "exec", valueOpts: "-p --package -c --call -w --workspace"},
	"pnpm":      {sub: "exec", valueOpts: "-C --dir --filter"},
	"yarn":      {sub: "dlx", valueOpts: "-p --package"},
	"nix-shell": {sub: "", valueOpts: "-p --packages -I --arg --argstr --run --command"},
}

func hasWord(list, w string) bool {
	for list != "" {
		var f string
		f, list, _ = strings.Cut(list, " ")
		if f == w {
			return true
		}
	}
	return false
}

// add records a command and, for a wrapper or a shell, the commands it
// runs.
func (n *normalizer) add(c []string, depth int) {
	if depth > maxShellDepth {
		return
	}
	// Drop prefix assignments and keywords that start a command.
	for len(c) > 0 && (isAssignment(c[0]) || isKeyword(c[0])) {
		c = c[1:]
	}
	if len(c) == 0 {
		return
	}
	prog := path.Base(strings.TrimPrefix(c[0], "\\"))
	if prog != c[0] {
		cp := make([]string, len(c))
		copy(cp, c)
		cp[0] = prog
		c = cp
	}
	if n.seen(c) {
		return
	}
	n.cmds = append(n.cmds, c)

	switch {
	case isShell(prog):
		if script, ok := shellScript(c); ok {
			n.addScript(script, depth)
		}
		return
	case prog == "eval":
		n.addScript(strings.Join(c[1:], " "), depth)
		return
	case isPython(prog):
		if rest, ok := pythonModule(c); ok {
			n.add(rest, depth+1)
		}
		return
	case prog == "find":
		n.addFindExec(c, depth)
		return
	case prog == "env":
		n.addEnv(c, depth)
		return
	case prog == "watch":
		// watch joins its arguments and runs them with sh -c.
		rest := skipOptions(c[1:], wrappers[prog].valueOpts)
		n.addScript(strings.Join(rest, " "), depth)
		return
	case prog == "flock" || prog == "nix-shell":
		for i, w := range c {
			if (w == "-c" || w == "--command" || w == "--run") && i+1 < len(c) {
				n.addScript(c[i+1], depth)
				return
			}
		}
		if prog == "nix-shell" {
			return
		}
	}
	w, ok := wrappers[prog]
	if !ok {
		return
	}
	rest := c[1:]
	if w.sub != "" {
		rest = skipOptions(rest, w.valueOpts)
		if len(rest) == 0 || rest[0] != w.sub {
			return
		}
		rest = rest[1:]
	}
	rest = skipOptions(rest, w.valueOpts)
	for k := w.positional; k > 0 && len(rest) > 0; k-- {
		rest = rest[1:]
	}
	n.add(rest, depth+1)
}

// seen reports whether the same command was recorded before, as when the
// command text and the caller's argv both list it. Only the first
// maxDedup commands are compared, so a script of thousands of commands
// costs linear time.
func (n *normalizer) seen(c []string) bool {
	for _, d := range n.cmds[:min(len(n.cmds), maxDedup)] {
		if slices.Equal(c, d) {
			return true
		}
	}
	return false
}

// addScript records the commands of shell text.
func (n *normalizer) addScript(script string, depth int) {
	sc := shellScan{}
	sc.scan(script, depth+1)
	n.redirects = append(n.redirects, sc.redirects...)
	for _, c := range sc.cmds {
		n.add(c, depth+1)
	}
}

// isKeyword reports whether a word is a shell reserved word that can come
// before a command.
func isKeyword(w string) bool {
	switch w {
	case "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "coproc":
		return true
	}
	return false
}

// skipOptions drops leading options (and the values of those in
// valueOpts) and a "--" that ends them.
func skipOptions(args []string, valueOpts string) []string {
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return args[1:]
		}
		if len(a) < 2 || a[0] != '-' {
			return args
		}
		args = args[1:]
		if !strings.Contains(a, "=") && hasWord(valueOpts, a) && len(args) > 0 {
			args = args[1:]
		}
	}
	return args
}

// shellScript returns the command string of "sh [options] -c STRING".
func shellScript(c []string) (string, bool) {
	hasC := false
	for i := 1; i < len(c); i++ {
		a := c[i]
		switch {
		case a == "--" || a == "-":
			i++
			if hasC && i < len(c) {
				return c[i], true
			}
			return "", false
		case a == "-o" || a == "+o" || a == "-O" || a == "+O" || a == "--rcfile" || a == "--init-file":
			i++
		case strings.HasPrefix(a, "--"):
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			if strings.ContainsRune(a[1:], 'c') {
				hasC = true
			}
		default:
			if hasC {
				return a, true
			}
			return "", false
		}
	}
	return "", false
}

func isPython(prog string) bool {
	if prog == "pypy" || prog == "pypy3" {
		return true
	}
	rest, ok := strings.CutPrefix(prog, "python")
	if !ok {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if (rest[i] < '0' || rest[i] > '9') && rest[i] != '.' {
			return false
		}
	}
	return true
}

// pythonModule turns "python [options] -m MOD args" into "MOD args".
func pythonModule(c []string) ([]string, bool) {
	for i := 1; i < len(c); i++ {
		a := c[i]
		switch {
		case a == "-m" && i+1 < len(c):
			return c[i+1:], true
		case strings.HasPrefix(a, "-m") && len(a) > 2:
			rest := append([]string{a[2:]}, c[i+1:]...)
			return rest, true
		case a == "-c" || (strings.HasPrefix(a, "-") && strings.HasSuffix(a, "c")):
			return nil, false
		case a == "-W" || a == "-X" || a == "--check-hash-based-pycs":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return nil, false // a script
		}
	}
	return nil, false
}

// addFindExec records the commands of find's -exec, -execdir, -ok and
// -okdir actions.
func (n *normalizer) addFindExec(c []string, depth int) {
	for i := 1; i < len(c); i++ {
		switch c[i] {
		case "-exec", "-execdir", "-ok", "-okdir":
			j := i + 1
			for j < len(c) && c[j] != ";" && c[j] != "+" {
				j++
			}
			n.add(c[i+1:j], depth+1)
			i = j
		}
	}
}

// addEnv records the command env runs, including an -S string.
func (n *normalizer) addEnv(c []string, depth int) {
	rest := c[1:]
	var split []string
loop:
	for len(rest) > 0 {
		a := rest[0]
		switch {
		case a == "--":
			rest = rest[1:]
			break loop
		case a == "-S" || a == "--split-string":
			if len(rest) > 1 {
				split = append(split, rest[1])
				rest = rest[2:]
			} else {
				rest = nil
			}
		case strings.HasPrefix(a, "--split-string="):
			split = append(split, strings.TrimPrefix(a, "--split-string="))
			rest = rest[1:]
		case strings.HasPrefix(a, "-S") && len(a) > 2:
			split = append(split, a[2:])
			rest = rest[1:]
		case len(a) > 1 && a[0] == '-':
			if hasWord(wrappers["env"].valueOpts, a) && len(rest) > 1 {
				rest = rest[2:]
			} else {
				rest = rest[1:]
			}
		case isAssignment(a):
			rest = rest[1:]
		default:
			break loop
		}
	}
	if len(split) > 0 {
		n.addScript(strings.Join(split, " ")+" "+strings.Join(rest, " "), depth)
		return
	}
	n.add(rest, depth+1)
}

// operands returns the non-option arguments of a command, skipping the
// values of options named in valueOpts; "--" ends the options.
func operands(args []string, valueOpts string) []string {
	var ops []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(ops, args[i+1:]...)
		}
		if len(a) > 1 && a[0] == '-' {
			if !strings.Contains(a, "=") && hasWord(valueOpts, a) {
				i++
			}
			continue
		}
		ops = append(ops, a)
	}
	return ops
}

// optionValues returns the values given to any of the named options, in
// the forms "-o V", "-oV" (single-letter options) and "--opt=V".
func optionValues(args []string, names ...string) []string {
	var vals []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				vals = append(vals, args[i+1])
			case strings.HasPrefix(n, "--") && strings.HasPrefix(a, n+"="):
				vals = append(vals, a[len(n)+1:])
			case len(n) == 2 && n[0] == '-' && n[1] != '-' && len(a) > 2 && strings.HasPrefix(a, n) && a[1] != '-':
				vals = append(vals, a[2:])
			}
		}
	}
	return vals
}

// writeTargets returns the paths a normalized simple command writes, for
// the commands whose meaning is well known: file utilities (rm, mv, cp,
// ln, tee, touch, chmod, install, ...), in-place editors (sed -i, perl
// -i), dd of=, downloaders (curl -o, wget -O), compilers' -o, and
// "git config" without --global or --system (which writes .git/config).
// For cp, mv, ln and install into a directory it also returns the
// directory joined with each source's base name.
func writeTargets(c []string) []string {
	if len(c) == 0 {
		return nil
	}
	args := c[1:]
	switch c[0] {
	case "rm", "rmdir", "unlink", "shred", "touch", "mkdir", "mkfifo", "mknod",
		"chmod", "chown", "chgrp", "chattr", "setfattr", "tee", "truncate", "fallocate":
		return operands(args, fileUtilValueOpts[c[0]])
	case "cp", "mv", "ln", "link", "install", "rsync":
		return copyTargets(c[0], args)
	case "sed":
		if !inPlace(args, false) {
			return nil
		}
		return operands(args, "-e --expression -f --file -l --line-length")
	case "perl":
		if !inPlace(args, true) {
			return nil
		}
		return operands(args, "-e -E -M -I -m")
	case "dd":
		var out []string
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "of="); ok {
				out = append(out, v)
			}
		}
		return out
	case "curl":
		return optionValues(args, "-o", "--output")
	case "wget":
		return append(optionValues(args, "-O", "--output-document", "-o", "--output-file"),
			optionValues(args, "-P", "--directory-prefix")...)
	case "go", "gcc", "cc", "clang", "g++", "c++", "clang++", "rustc", "sort", "ld":
		return optionValues(args, "-o", "--output")
	case "find":
		for _, a := range args {
			if a == "-delete" {
				var roots []string
				for _, r := range args {
					if strings.HasPrefix(r, "-") || r == "(" || r == "!" {
						break
					}
					roots = append(roots, r)
				}
				return roots
			}
		}
	case "tar", "bsdtar":
		if tarExtracts(args) {
			if dirs := optionValues(args, "-C", "--directory"); len(dirs) > 0 {
				return dirs
			}
			return []string{"."}
		}
	case "unzip":
		if dirs := optionValues(args, "-d"); len(dirs) > 0 {
			return dirs
		}
		return []string{"."}
	case "git":
		return gitConfigTargets(args)
	}
	return nil
}

// tarExtracts reports whether tar arguments extract an archive: -x,
// --extract, --get, or an x in the first word's old-style flags ("xzf").
func tarExtracts(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--extract" || a == "--get":
			return true
		case strings.HasPrefix(a, "--"):
		case strings.HasPrefix(a, "-") && strings.ContainsRune(a, 'x'):
			return true
		case i == 0 && !strings.HasPrefix(a, "-") && strings.ContainsRune(a, 'x'):
			return true
		}
	}
	return false
}

// fileUtilValueOpts lists the options of file utilities that take a
// separate value.
var fileUtilValueOpts = map[string]string{
	"shred":     "-n --iterations -s --size --random-source",
	"touch":     "-r --reference -d --date -t",
	"mkdir":     "-m --mode --context",
	"mkfifo":    "-m --mode --context",
	"mknod":     "-m --mode --context",
	"chattr":    "-v -p",
	"setfattr":  "-n --name -v --value -x --remove --restore",
	"truncate":  "-s --size -r --reference",
	"fallocate": "-l --length -o --offset",
}

// inPlace reports whether sed or perl arguments ask for in-place editing.
func inPlace(args []string, perl bool) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if strings.HasPrefix(a, "--in-place") {
			return true
		}
		if len(a) > 1 && a[0] == '-' && a[1] != '-' {
			if perl {
				// -i may be followed by a suffix; -pi -e and -i.bak both edit.
				if strings.ContainsRune(a[1:], 'i') && !strings.HasPrefix(a, "-e") && !strings.HasPrefix(a, "-M") {
					return true
				}
				continue
			}
			if strings.ContainsRune(a[1:], 'i') && !strings.HasPrefix(a, "-e") && !strings.HasPrefix(a, "-f") {
				return true
			}
		}
	}
	return false
}

// copyTargets returns the destinations of cp, mv, ln, link, install and
// rsync. mv's sources are written too (they disappear), and so are ln's
// (a link to a protected file is a way to write it later).
func copyTargets(prog string, args []string) []string {
	valueOpts := "-S --suffix -m --mode -o --owner -g --group -e --rsh --exclude --include --filter -f --chmod"
	ops := operands(args, valueOpts+" -t --target-directory")
	dirs := optionValues(args, "-t", "--target-directory")
	var out []string
	if prog == "install" && hasFlag(args, "-d", "--directory") {
		return ops
	}
	var srcs []string
	switch {
	case len(dirs) > 0:
		srcs = ops
		out = append(out, dirs...)
	case len(ops) >= 2:
		srcs = ops[:len(ops)-1]
		dirs = ops[len(ops)-1:]
		out = append(out, dirs...)
	case len(ops) == 1 && (prog == "ln" || prog == "link"):
		// "ln -s target" creates ./basename(target).
		out = append(out, path.Base(ops[0]))
		srcs = ops
	default:
		return ops
	}
	for _, d := range dirs {
		for _, s := range srcs {
			out = append(out, path.Join(d, path.Base(strings.TrimSuffix(s, "/"))))
		}
	}
	if prog == "mv" || prog == "ln" || prog == "link" {
		out = append(out, srcs...)
	}
	return out
}

func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

// gitConfigTargets returns ".git/config" for a "git config" that writes
// the repository's configuration.
func gitConfigTargets(args []string) []string {
	rest := skipOptions(args, gitValueOpts)
	if len(rest) == 0 || rest[0] != "config" {
		return nil
	}
	rest = rest[1:]
	if hasFlag(rest, "--global", "--system", "-l", "--list", "--get", "--get-all", "--get-regexp", "--get-urlmatch", "--get-color", "--get-colorbool", "--show-origin", "--show-scope") {
		return nil
	}
	if files := optionValues(rest, "-f", "--file"); len(files) > 0 {
		return files
	}
	ops := operands(rest, "--type --default --comment --value -t")
	if len(ops) > 0 {
		switch ops[0] {
		case "get", "list":
			return nil
		case "set", "unset", "rename-section", "remove-section", "edit":
			return []string{".git/config"}
		}
	}
	if len(ops) >= 2 || hasFlag(rest, "--unset", "--unset-all", "--add", "--replace-all", "--rename-section", "--remove-section", "-e", "--edit") {
		return []string{".git/config"}
	}
	return nil
}

// gitValueOpts are git's global options that take a separate value.
const gitValueOpts = "-C -c --git-dir --work-tree --namespace --super-prefix --config-env --list-cmds"

// subcommandValueOpts lists, per program, the global options that take a
// separate value, so that "git -C dir push" has the subcommand "push".
var subcommandValueOpts = map[string]string{
	"git":     gitValueOpts,
	"docker":  "-H --host -c --context --config -l --log-level --tlscacert --tlscert --tlskey",
	"podman":  "-c --connection --url --root --runroot --storage-driver --log-level --identity --module",
	"cargo":   "-Z -C --config --color --manifest-path --target-dir",
	"gh":      "-R --repo --hostname",
	"go":      "-C",
	"kubectl": "-n --namespace --context --kubeconfig -s --server --cluster --user",
	"helm":    "-n --namespace --kube-context --kubeconfig",
	"npm":     "-w --workspace --prefix --registry --userconfig -C",
	"yarn":    "--cwd",
	"pnpm":    "-C --dir --filter -F",
	"dotnet":  "",
	"gem":     "",
}

// subcommand returns the first operand of a normalized command after its
// global options, the subcommand of programs like git, docker and cargo:
// "push" for "git -C dir -c x=y push origin".
func subcommand(c []string) string {
	if len(c) < 2 {
		return ""
	}
	opts := subcommandValueOpts[c[0]]
	for i := 1; i < len(c); i++ {
		a := c[i]
		if a == "--" {
			if i+1 < len(c) {
				return c[i+1]
			}
			return ""
		}
		if len(a) > 1 && (a[0] == '-' || (a[0] == '+' && c[0] == "cargo")) {
			if !strings.Contains(a, "=") && hasWord(opts, a) {
				i++
			}
			continue
		}
		return a
	}
	return ""
}
