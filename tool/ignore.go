package tool

import (
	"strings"
	"unicode/utf8"
)

// ignoreRule is one pattern line of a .gitignore file.
type ignoreRule struct {
	segs     []string // the pattern split at "/"
	negate   bool     // "!pattern": re-include
	dirOnly  bool     // "pattern/": directories only
	anchored bool     // has a "/" before its end: matches the path from the file's directory, not just the name
}

// ignoreFile is the rules of one .gitignore (or .git/info/exclude) and the
// directory they apply to.
type ignoreFile struct {
	base  string // workspace-relative directory; "" for the root
	rules []ignoreRule
}

// parseIgnore reads gitignore syntax: blank lines and # comments skipped,
// trailing unescaped spaces dropped, ! negates, a trailing / means
// directories only, a / elsewhere anchors the pattern to base, and
// backslash escapes the next character.
func parseIgnore(base string, data []byte) *ignoreFile {
	f := &ignoreFile{base: base}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		line = trimTrailingSpaces(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var r ignoreRule
		if line[0] == '!' {
			r.negate = true
			line = line[1:]
		}
		for strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = line[:len(line)-1]
		}
		if line == "" {
			continue
		}
		r.anchored = strings.Contains(line, "/")
		line = strings.TrimLeft(line, "/")
		if line == "" {
			continue
		}
		r.segs = strings.Split(line, "/")
		f.rules = append(f.rules, r)
	}
	return f
}

// trimTrailingSpaces drops trailing spaces that are not escaped with a
// backslash.
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") {
		i := len(s) - 1
		bs := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			bs++
		}
		if bs%2 == 1 {
			break
		}
		s = s[:i]
	}
	return s
}

// match reports whether some rule matches rel (workspace-relative) and,
// if so, whether the last matching rule ignores it.
func (f *ignoreFile) match(rel string, isDir bool) (matched, ignored bool) {
	sub := rel
	if f.base != "" {
		if !strings.HasPrefix(rel, f.base+"/") {
			return false, false
		}
		sub = rel[len(f.base)+1:]
	}
	name := sub[strings.LastIndexByte(sub, '/')+1:]
	var parts []string
	for i := len(f.rules) - 1; i >= 0; i-- {
		r := &f.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			if parts == nil {
				parts = strings.Split(sub, "/")
			}
			ok = matchSegments(r.segs, parts)
		} else {
			ok = wildmatch(r.segs[0], name)
		}
		if ok {
			return true, !r.negate
		}
	}
	return false, false
}

// ignorer is the stack of ignore files in force at one point of a walk:
// .git/info/exclude first, then .gitignore files from the root down.
type ignorer struct {
	files []*ignoreFile
}

// ignored reports whether rel is ignored: the deepest file with a
// matching rule decides, and within a file the last matching rule.
func (g *ignorer) ignored(rel string, isDir bool) bool {
	for i := len(g.files) - 1; i >= 0; i-- {
		if m, ign := g.files[i].match(rel, isDir); m {
			return ign
		}
	}
	return false
}

// matchSegments matches path segments against pattern segments, where a
// "**" segment matches any number of segments (at least one when it ends
// the pattern, so "dir/**" matches what is inside dir, not dir).
func matchSegments(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return len(parts) > 0
			}
			for i := 0; i <= len(parts); i++ {
				if matchSegments(pat[1:], parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 || !wildmatch(pat[0], parts[0]) {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}

// wildmatch matches one path segment against a glob: * any run of
// characters, ? one character, [abc], [a-z], [!a] or [^a] a class, and
// backslash escaping the next character. An unclosed [ is literal.
func wildmatch(pat, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, -1
	for sx < len(s) || px < len(pat) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += n
					continue
				}
			case '[':
				if sx < len(s) {
					r, n := utf8.DecodeRuneInString(s[sx:])
					if ok, width, valid := matchClass(pat[px:], r); valid {
						if ok {
							px += width
							sx += n
							continue
						}
					} else if s[sx] == '[' {
						px++
						sx++
						continue
					}
				}
			case '\\':
				if px+1 < len(pat) {
					if sx < len(s) && s[sx] == pat[px+1] {
						px += 2
						sx++
						continue
					}
				} else if sx < len(s) && s[sx] == '\\' {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			_, n := utf8.DecodeRuneInString(s[starS:])
			starS += n
			px, sx = starP+1, starS
			continue
		}
		return false
	}
	return true
}

// matchClass matches r against the bracket expression at the start of
// pat. valid is false when the bracket is not closed.
func matchClass(pat string, r rune) (ok bool, width int, valid bool) {
	i := 1
	negate := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		negate = true
		i++
	}
	first := true
	for i < len(pat) {
		if pat[i] == ']' && !first {
			return ok != negate, i + 1, true
		}
		first = false
		lo, n := classChar(pat[i:])
		i += n
		hi := lo
		if i+1 < len(pat) && pat[i] == '-' && pat[i+1] != ']' {
			hi, n = classChar(pat[i+1:])
			i += 1 + n
		}
		if lo <= r && r <= hi {
			ok = true
		}
	}
	return false, 0, false
}

// classChar reads one (possibly escaped) character of a bracket
// expression.
func classChar(s string) (rune, int) {
	if s[0] == '\\' && len(s) > 1 {
		r, n := utf8.DecodeRuneInString(s[1:])
		return r, n + 1
	}
	return utf8.DecodeRuneInString(s)
}
