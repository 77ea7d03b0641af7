package policy

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Match reports whether the workspace-relative path rel is covered by the
// glob pattern. Both are '/'-separated and relative to the workspace root.
//
// A "**" segment matches zero or more whole segments; "*" matches any run
// of characters within one segment and "?" exactly one character, neither
// crossing a '/'. Dot files are not special: "*" matches ".env". Every
// other character, '[' included, stands for itself, and matching is case
// sensitive. A pattern is anchored at the workspace root ("**/.envrc"
// matches at any depth, ".envrc" only at the top), and a pattern that
// names a directory covers everything under it: ".git/hooks" covers
// ".git/hooks/pre-commit".
//
// rel is cleaned lexically first ("./a//b/" is "a/b"). A path outside the
// workspace ("/etc/passwd", "../x") matches no pattern.
func Match(pattern, rel string) bool {
	rel = cleanRel(rel)
	if rel == "." || outside(rel) {
		return false
	}
	return matchClean(cleanRel(pattern), rel)
}

// matchClean is Match for a cleaned pattern and a cleaned path inside the
// workspace.
func matchClean(pattern, rel string) bool {
	if matchSegments(pattern, rel) {
		return true
	}
	// A pattern that matches a directory covers what is under it.
	for i := 0; i < len(rel); i++ {
		if rel[i] == '/' && matchSegments(pattern, rel[:i]) {
			return true
		}
	}
	return false
}

// cleanRel cleans a workspace-relative path lexically, dropping a leading
// "./". It returns "." for the workspace root and for "".
func cleanRel(p string) string {
	if p == "" {
		return "."
	}
	if isClean(p) {
		return p
	}
	return path.Clean(p)
}

// isClean reports whether path.Clean would return p unchanged, for the
// common case of a plain relative path, without building a copy.
func isClean(p string) bool {
	if p[len(p)-1] == '/' && len(p) > 1 {
		return false
	}
	start := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		if (seg == "" && i > 0) || seg == "." || seg == ".." {
			// "", "." or ".." segments; a lone "." or a leading ".." is
			// what Clean keeps, so let Clean decide.
			return false
		}
		start = i + 1
	}
	return true
}

// outside reports whether a cleaned path lies outside the workspace.
func outside(p string) bool {
	return strings.HasPrefix(p, "/") || p == ".." || strings.HasPrefix(p, "../")
}

// validPattern checks a protected pattern and returns it cleaned.
func validPattern(p string) (string, error) {
	switch {
	case strings.TrimSpace(p) == "":
		return "", fmt.Errorf("empty pattern")
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("pattern %q contains a NUL byte", p)
	case strings.HasPrefix(p, "/"):
		return "", fmt.Errorf("pattern %q is absolute; patterns are relative to the workspace root", p)
	}
	c := path.Clean(p)
	if c == "." {
		return "", fmt.Errorf("pattern %q names the workspace root; use \"**\" to protect everything", p)
	}
	if outside(c) {
		return "", fmt.Errorf("pattern %q leaves the workspace", p)
	}
	return c, nil
}

// matchSegments matches a cleaned pattern against a cleaned path, segment
// by segment. An empty string stands for zero segments.
func matchSegments(pat, name string) bool {
	for pat != "" {
		pseg, prest := cutSegment(pat)
		if pseg == "**" {
			// Try every split: ** takes zero, one, two ... segments.
			for {
				if matchSegments(prest, name) {
					return true
				}
				if name == "" {
					return false
				}
				_, name = cutSegment(name)
			}
		}
		if name == "" {
			return false
		}
		nseg, nrest := cutSegment(name)
		if !matchSegment(pseg, nseg) {
			return false
		}
		pat, name = prest, nrest
	}
	return name == ""
}

// cutSegment splits off the first segment of a '/'-separated path.
func cutSegment(s string) (seg, rest string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// matchSegment matches one segment against a pattern segment holding '*'
// and '?' wildcards. It backtracks only to the most recent '*', which is
// enough for this pattern language and keeps it linear in practice.
func matchSegment(pat, s string) bool {
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += n
				continue
			default:
				if c == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' swallow one more character and retry.
		_, n := utf8.DecodeRuneInString(s[starS:])
		starS += n
		px, sx = starP+1, starS
	}
	for px < len(pat) && pat[px] == '*' {
		px++
	}
	return px == len(pat)
}
