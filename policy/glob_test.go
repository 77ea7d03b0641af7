package policy

import (
	"path"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		// Literal patterns, and a pattern naming a directory covers its contents.
		{".git/config", ".git/config", true},
		{".git/config", ".git/config.lock", false},
		{".git/config", ".git/configs/x", false},
		{".git/hooks", ".git/hooks", true},
		{".git/hooks", ".git/hooks/pre-commit", true},
		{".git/hooks", ".git/hooks/sub/deep", true},
		{".git/hooks", ".git/hooksx", false},
		{".git/hooks", ".git", false},
		// Anchored at the workspace root.
		{".bashrc", ".bashrc", true},
		{".bashrc", "home/.bashrc", false},
		{"**/.bashrc", "home/.bashrc", true},
		{"**/.bashrc", ".bashrc", true},
		{"**/.bashrc", "a/b/c/.bashrc", true},
		{"**/.bashrc", "a/b/c/.bashrc.bak", false},
		// ** takes zero or more whole segments.
		{".ouro/**", ".ouro", true},
		{".ouro/**", ".ouro/policy.yaml", true},
		{".ouro/**", ".ouro/agents/a/b.yaml", true},
		{".ouro/**", ".ourox/policy.yaml", false},
		{".ouro/**", "src/.ouro/policy.yaml", false},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/**/b/*.go", "a/q/b/main.go", true},
		{"a/**/b/*.go", "a/q/b/sub/main.go", false},
		{"**", "anything/at/all", true},
		// * and ? stay within a segment; dot files are not special.
		{"*.go", "main.go", true},
		{"*.go", "cmd/main.go", false},
		{"cmd/*.go", "cmd/main.go", true},
		{"*", ".env", true},
		{".env*", ".env.local", true},
		{"*.env", "prod.env", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"a*b", "ab", true},
		{"*a*a*a", "aaaa", true},
		{"?.txt", "a.txt", true},
		{"?.txt", "ab.txt", false},
		{"?.txt", "é.txt", true}, // ? is one character, not one byte
		{"?", "", false},
		{"x/?", "x/y/z", true}, // x/y is matched, and covers x/y/z
		// Brackets are literal.
		{"[ab].txt", "a.txt", false},
		{"[ab].txt", "[ab].txt", true},
		// Case sensitive.
		{".git/config", ".GIT/config", false},
		// The path is cleaned lexically first.
		{".git/config", "./.git/config", true},
		{".git/config", ".git//config", true},
		{".git/config", "src/../.git/config", true},
		{".git/hooks/**", ".git/hooks/", true},
		{".ouro/**", ".ouro/./x", true},
		// Outside the workspace, or the root itself: nothing matches.
		{"**", "/etc/passwd", false},
		{"**", "../x", false},
		{"**", "..", false},
		{"**", ".", false},
		{"**", "", false},
		{"etc/passwd", "/etc/passwd", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.path); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestValidPattern(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{".git/hooks/", ".git/hooks", true},
		{"./x", "x", true},
		{"**/.envrc", "**/.envrc", true},
		{"", "", false},
		{"  ", "", false},
		{"/etc", "", false},
		{"../x", "", false},
		{"a/../../x", "", false},
		{".", "", false},
		{"a\x00b", "", false},
	}
	for _, tt := range tests {
		got, err := validPattern(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("validPattern(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// isClean must agree with path.Clean: whenever it says a path is clean,
// Clean returns the path unchanged.
func TestIsCleanAgreesWithClean(t *testing.T) {
	parts := []string{"a", "b.go", ".", "..", "", ".git", "..x", "x.."}
	var paths []string
	for _, p := range parts {
		for _, q := range parts {
			for _, r := range parts {
				paths = append(paths, p+"/"+q, p+"/"+q+"/"+r, "/"+p+"/"+q, p+"//"+q+"/", p)
			}
		}
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if isClean(p) && path.Clean(p) != p {
			t.Errorf("isClean(%q) = true, but Clean gives %q", p, path.Clean(p))
		}
		if got := cleanRel(p); got != path.Clean(p) {
			t.Errorf("cleanRel(%q) = %q, want %q", p, got, path.Clean(p))
		}
	}
}
