package tool

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

func TestIgnoreRules(t *testing.T) {
	tests := []struct {
		patterns string
		path     string
		dir      bool
		ignored  bool
	}{
		{"*.log", "a.log", false, true},
		{"*.log", "d/e/a.log", false, true},
		{"*.log", "a.log.txt", false, false},
		{"/build", "build", true, true},
		{"/build", "src/build", true, false},
		{"build/", "build", true, true},
		{"build/", "build", false, false},
		{"build/", "src/build", true, true},
		{"doc/*.txt", "doc/a.txt", false, true},
		{"doc/*.txt", "doc/sub/a.txt", false, false},
		{"doc/*.txt", "x/doc/a.txt", false, false},
		{"**/foo", "foo", false, true},
		{"**/foo", "a/b/foo", false, true},
		{"a/**/b", "a/b", false, true},
		{"a/**/b", "a/x/y/b", false, true},
		{"a/**/b", "a/x/c", false, false},
		{"abc/**", "abc", true, false},
		{"abc/**", "abc/x", false, true},
		{"abc/**", "abc/x/y", false, true},
		{"*.log\n!keep.log", "keep.log", false, false},
		{"*.log\n!keep.log", "x.log", false, true},
		{"!keep.log\n*.log", "keep.log", false, true}, // the last match wins
		{`\#hash`, "#hash", false, true},
		{"#hash", "#hash", false, false}, // a comment
		{`\!bang`, "!bang", false, true},
		{`trail\ `, "trail ", false, true},
		{"sp  ", "sp", false, true},
		{"?.c", "a.c", false, true},
		{"?.c", "ab.c", false, false},
		{"?.c", "é.c", false, true},
		{"[abc].go", "b.go", false, true},
		{"[abc].go", "d.go", false, false},
		{"[!a].go", "b.go", false, true},
		{"[!a].go", "a.go", false, false},
		{"[^a].go", "a.go", false, false},
		{"[a-c]x", "bx", false, true},
		{"[a-c]x", "dx", false, false},
		{"[]]x", "]x", false, true},
		{"[unclosed", "[unclosed", false, true},
		{`a\*b`, "a*b", false, true},
		{`a\*b`, "axb", false, false},
		{"*", "anything", false, true},
		{"a*b*c", "aXXbYYc", false, true},
		{"a*b*c", "aXXbYY", false, false},
		{"*.go", "dir.go/x", false, false},
		{"foo\r", "foo", false, true},
		{"logs/\n!logs/", "logs", true, false},
		{"/", "x", false, false},
		{"", "x", false, false},
	}
	for _, tt := range tests {
		g := ignorer{files: []*ignoreFile{parseIgnore("", []byte(tt.patterns))}}
		if got := g.ignored(tt.path, tt.dir); got != tt.ignored {
			t.Errorf("patterns %q, path %q (dir %v): ignored = %v, want %v", tt.patterns, tt.path, tt.dir, got, tt.ignored)
		}
	}
}

func TestIgnoreNestedPrecedence(t *testing.T) {
	g := ignorer{files: []*ignoreFile{
		parseIgnore("", []byte("secret.env\n")),  // .git/info/exclude
		parseIgnore("", []byte("*.txt\n!a.txt")), // .gitignore
		parseIgnore("sub", []byte("!*.txt\n/local\n")),
	}}
	tests := []struct {
		path    string
		ignored bool
	}{
		{"secret.env", true},
		{"sub/secret.env", true},
		{"b.txt", true},
		{"a.txt", false},
		{"sub/b.txt", false}, // the deeper file decides
		{"sub/local", true},
		{"sub/x/local", false}, // anchored to sub
		{"local", false},
	}
	for _, tt := range tests {
		if got := g.ignored(tt.path, false); got != tt.ignored {
			t.Errorf("%s: ignored = %v, want %v", tt.path, got, tt.ignored)
		}
	}
}

// gitTree is a workspace whose ignore rules exercise every feature, with
// git's own verdict on it as the expected listing.
var gitTree = map[string]string{
	".gitignore":          "# comment\n*.log\n!important.log\n/build/\ntmp/\ndoc/**/*.pdf\n\\#literal\n*.o\n!keep/*.o\nvendor\na/**/z\nspace\\ \n[xy].go\n",
	"sub/.gitignore":      "*.txt\n!keep.txt\n/local\n",
	"sub/deep/.gitignore": "!*.log\n",
	"a.log":               "", "important.log": "", "build/x": "", "src/build/y": "", "tmp/t": "", "src/tmp/t": "",
	"doc/a.pdf": "", "doc/x/y/b.pdf": "", "doc/c.txt": "", "#literal": "", "m.o": "", "keep/k.o": "",
	"keep/sub/k2.o": "", "vendor/v.go": "", "src/vendor": "", "a/z": "", "a/b/z": "", "a/b/c/z/inner": "",
	"secret.env": "", "sub/n.txt": "", "sub/keep.txt": "", "sub/local/f": "", "sub/x/local/g": "",
	"sub/deep/d.log": "", "sub/deep/e.txt": "", "main.go": "", "space ": "", "x.go": "", "z.go": "",
	"dir.log/inside": "", "sub/deep/more/m.log": "",
}

const gitExclude = "secret.env\n"

// gitListing returns what git itself lists as untracked and not ignored
// under dir.
func gitListing(t *testing.T, root, dir string) []string {
	t.Helper()
	args := []string{"-c", "core.excludesFile=/dev/null", "ls-files", "--others", "--exclude-standard", "-z"}
	if dir != "." {
		args = append(args, "--", dir)
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files
}

func makeGitTree(t *testing.T, f *fixture) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	if err := os.RemoveAll(f.path(".git")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(f.path(".ouro")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "init", "-q", f.root)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git init: %v %s", err, out)
	}
	f.write(".git/info/exclude", gitExclude)
	for p, c := range gitTree {
		if c == "" {
			c = p + "\n"
		}
		f.write(p, c)
	}
}

// TestListFilesMatchesGit checks list_files against git ls-files on the
// same tree, from the root and from subdirectories.
func TestListFilesMatchesGit(t *testing.T) {
	resolveModes(t, func(t *testing.T, walk bool) {
		f := newFixture(t, walk)
		makeGitTree(t, f)
		for _, dir := range []string{".", "sub", "sub/deep", "doc", "src"} {
			want := gitListing(t, f.root, dir)
			if len(want) == 0 {
				t.Fatalf("git lists nothing under %s", dir)
			}
			out := f.call(NameListFiles, js(map[string]string{"path": dir}))
			if out.IsError {
				t.Fatal(out.Content)
			}
			got := strings.Split(strings.TrimSuffix(out.Content, "\n"), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("list_files %s:\n%s\ngit:\n%s", dir, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		}
	})
}

// TestGrepMatchesGit greps for every line in the same tree: each file
// holds its own path, so the files searched must be exactly git's list.
func TestGrepMatchesGit(t *testing.T) {
	f := newFixture(t, false)
	makeGitTree(t, f)
	want := gitListing(t, f.root, ".")
	out := f.call(NameGrep, `{"pattern":"."}`)
	if out.IsError {
		t.Fatal(out.Content)
	}
	seen := map[string]bool{}
	var searched []string
	for _, l := range strings.Split(strings.TrimSuffix(out.Content, "\n"), "\n") {
		p, _, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad grep line %q", l)
		}
		if !seen[p] {
			seen[p] = true
			searched = append(searched, p)
		}
	}
	sort.Strings(searched)
	if strings.Join(searched, "\n") != strings.Join(want, "\n") {
		t.Errorf("grep searched:\n%s\ngit lists:\n%s", strings.Join(searched, "\n"), strings.Join(want, "\n"))
	}
}
