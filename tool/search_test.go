package tool

import (
	"os"
	"strings"
	"testing"
)

func searchFixture(t *testing.T, walk bool, cfg ...func(*Workspace)) *fixture {
	f := newFixture(t, walk, cfg...)
	f.write(".gitignore", "node_modules/\n*.tmp\n")
	f.write("main.go", "package main\n\n// TODO: tidy\nfunc main() {}\n")
	f.write("pkg/a.go", "package pkg\n\nvar A = 1 // TODO(x)\n")
	f.write("pkg/a_test.go", "package pkg\n")
	f.write("pkg/sub/b.go", "package sub\r\n// todo lower\r\n")
	f.write("README.md", "# todo list\nTODO: write\n")
	f.write("node_modules/dep/index.js", "// TODO in a dependency\n")
	f.write("scratch.tmp", "TODO temp\n")
	f.write("bin/tool", "TODO\x00binary")
	f.write(".git/HEAD", "TODO in git\n")
	f.symlink("pkg", "pkg-link")
	return f
}

func TestListFiles(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		cfg     func(*Workspace)
		want    string
		has     []string
		isError bool
	}{
		{name: "all", input: `{}`,
			want: ".gitignore\n.ouro/policy.yaml\nREADME.md\nbin/tool\nmain.go\npkg-link\npkg/a.go\npkg/a_test.go\npkg/sub/b.go\n"},
		{name: "name pattern at any depth", input: `{"pattern":"*.go"}`, want: "main.go\npkg/a.go\npkg/a_test.go\npkg/sub/b.go\n"},
		{name: "double star", input: `{"pattern":"**/*_test.go"}`, want: "pkg/a_test.go\n"},
		{name: "anchored pattern", input: `{"pattern":"pkg/*.go"}`, want: "pkg/a.go\npkg/a_test.go\n"},
		{name: "pattern relative to path", input: `{"path":"pkg","pattern":"sub/*"}`, want: "pkg/sub/b.go\n"},
		{name: "subdirectory", input: `{"path":"pkg"}`, want: "pkg/a.go\npkg/a_test.go\npkg/sub/b.go\n"},
		{name: "through an in-workspace symlink", input: `{"path":"pkg-link/sub"}`, want: "pkg-link/sub/b.go\n"},
		{name: "ignored directory named explicitly", input: `{"path":"node_modules"}`, want: "node_modules/dep/index.js\n"},
		{name: "no match", input: `{"pattern":"*.rs"}`, want: `no files under . match "*.rs"`},
		{name: "a file", input: `{"path":"main.go"}`, want: "main.go is a file, not a directory"},
		{name: "missing", input: `{"path":"nope"}`, isError: true, want: "nope: no such file or directory"},
		{name: "capped", input: `{}`, cfg: func(w *Workspace) { w.MaxOutput = 20 }, has: []string{".gitignore\n", "(listing stopped at"}},
	}
	resolveModes(t, func(t *testing.T, walk bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var cfg []func(*Workspace)
				if tt.cfg != nil {
					cfg = append(cfg, tt.cfg)
				}
				f := searchFixture(t, walk, cfg...)
				out := f.call(NameListFiles, tt.input)
				if out.IsError != tt.isError {
					t.Fatalf("IsError = %v: %q", out.IsError, out.Content)
				}
				if tt.want != "" && out.Content != tt.want {
					t.Fatalf("got\n%s\nwant\n%s", out.Content, tt.want)
				}
				for _, h := range tt.has {
					if !strings.Contains(out.Content, h) {
						t.Fatalf("%q lacks %q", out.Content, h)
					}
				}
			})
		}
	})
}

func TestGrep(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		cfg     func(*Workspace)
		want    string
		has     []string
		isError bool
	}{
		{name: "tree", input: `{"pattern":"TODO"}`,
			want: "README.md:2:TODO: write\nmain.go:3:// TODO: tidy\npkg/a.go:3:var A = 1 // TODO(x)\n"},
		{name: "case-insensitive", input: `{"pattern":"(?i)todo","path":"pkg"}`,
			want: "pkg/a.go:3:var A = 1 // TODO(x)\npkg/sub/b.go:2:// todo lower\n"},
		{name: "anchors per line", input: `{"pattern":"^package (main|sub)$"}`,
			want: "main.go:1:package main\npkg/sub/b.go:1:package sub\n"},
		{name: "one file", input: `{"pattern":"todo","path":"README.md"}`, want: "README.md:1:# todo list\n"},
		{name: "ignored file named explicitly", input: `{"pattern":"TODO","path":"scratch.tmp"}`, want: "scratch.tmp:1:TODO temp\n"},
		{name: "no matches", input: `{"pattern":"FIXME"}`, want: `no matches for "FIXME" under .`},
		{name: "binary file named", input: `{"pattern":"TODO","path":"bin/tool"}`, isError: true,
			want: "bin/tool looks like a binary file (it contains NUL bytes); grep searches text only"},
		{name: "missing", input: `{"pattern":"x","path":"nope"}`, isError: true, want: "nope: no such file or directory"},
		{name: "capped", input: `{"pattern":"."}`, cfg: func(w *Workspace) { w.MaxOutput = 30 }, has: []string{"(stopped at "}},
	}
	resolveModes(t, func(t *testing.T, walk bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var cfg []func(*Workspace)
				if tt.cfg != nil {
					cfg = append(cfg, tt.cfg)
				}
				f := searchFixture(t, walk, cfg...)
				out := f.call(NameGrep, tt.input)
				if out.IsError != tt.isError {
					t.Fatalf("IsError = %v: %q", out.IsError, out.Content)
				}
				if tt.want != "" && out.Content != tt.want {
					t.Fatalf("got\n%s\nwant\n%s", out.Content, tt.want)
				}
				for _, h := range tt.has {
					if !strings.Contains(out.Content, h) {
						t.Fatalf("%q lacks %q", out.Content, h)
					}
				}
			})
		}
	})
}

func TestGrepLongLine(t *testing.T) {
	f := newFixture(t, false)
	f.write("min.js", "var x='"+strings.Repeat("a", 5000)+"';\n")
	out := f.call(NameGrep, `{"pattern":"var x"}`)
	if want := "min.js:1:var x='" + strings.Repeat("a", maxGrepLine-7) + " [... line cut]\n"; out.Content != want {
		t.Fatalf("got %q", out.Content)
	}
}

func TestGrepMatchCap(t *testing.T) {
	f := newFixture(t, false)
	f.write("many.txt", strings.Repeat("x\n", maxGrepMatches+5))
	out := f.call(NameGrep, `{"pattern":"x"}`)
	if n := strings.Count(out.Content, "many.txt:"); n != maxGrepMatches {
		t.Fatalf("%d matches shown, want %d", n, maxGrepMatches)
	}
	if !strings.Contains(out.Content, "(stopped at 1000 matches; narrow the pattern or path)") {
		t.Fatalf("no cap note: %q", out.Content[len(out.Content)-200:])
	}
}

func TestListSkipsSpecialFiles(t *testing.T) {
	f := newFixture(t, false)
	f.write("a", "")
	if err := os.Mkdir(f.path("empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := f.call(NameListFiles, `{}`)
	// .git is skipped; empty directories are not listed.
	if out.Content != ".ouro/policy.yaml\na\n" {
		t.Fatalf("got %q", out.Content)
	}
}
