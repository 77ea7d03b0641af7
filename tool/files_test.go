package tool

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	long := strings.Repeat("x", maxLineLen+10)
	tests := []struct {
		name    string
		files   map[string]string
		ws      func(*Workspace)
		input   string
		want    string // exact content, when set
		has     []string
		isError bool
	}{
		{name: "whole file", files: map[string]string{"a.txt": "one\ntwo\nthree\n"}, input: `{"path":"a.txt"}`,
			want: "    1\tone\n    2\ttwo\n    3\tthree\n"},
		{name: "no final newline", files: map[string]string{"a.txt": "one\ntwo"}, input: `{"path":"a.txt"}`,
			want: "    1\tone\n    2\ttwo\n"},
		{name: "crlf", files: map[string]string{"a.txt": "one\r\ntwo\r\n"}, input: `{"path":"a.txt"}`,
			want: "    1\tone\n    2\ttwo\n"},
		{name: "offset and limit", files: map[string]string{"a.txt": "one\ntwo\nthree\nfour\n"}, input: `{"path":"a.txt","offset":2,"limit":2}`,
			want: "    2\ttwo\n    3\tthree\n\n(a.txt continues after line 3; read on with offset=4)"},
		{name: "offset 0 is the start", files: map[string]string{"a.txt": "one\n"}, input: `{"path":"a.txt","offset":0}`,
			want: "    1\tone\n"},
		{name: "integral float offset", files: map[string]string{"a.txt": "one\ntwo\n"}, input: `{"path":"a.txt","offset":2.0}`,
			want: "    2\ttwo\n"},
		{name: "default limit from workspace", files: map[string]string{"a.txt": "1\n2\n3\n"}, ws: func(w *Workspace) { w.MaxRead = 2 },
			input: `{"path":"a.txt"}`, want: "    1\t1\n    2\t2\n\n(a.txt continues after line 2; read on with offset=3)"},
		{name: "subdirectory and dot segments", files: map[string]string{"d/e/f.go": "package e\n"}, input: `{"path":"d/./x/../e/f.go"}`,
			want: "    1\tpackage e\n"},
		{name: "line numbers past five digits", files: map[string]string{"a.txt": strings.Repeat("l\n", 100001)}, input: `{"path":"a.txt","offset":100001}`,
			want: "100001\tl\n"},
		{name: "long line cut", files: map[string]string{"a.txt": long + "\nshort\n"}, input: `{"path":"a.txt"}`,
			want: "    1\t" + long[:maxLineLen] + " [... line cut, 10 more characters]\n    2\tshort\n"},
		{name: "line one over the cut", files: map[string]string{"a.txt": strings.Repeat("y", maxLineLen+1) + "\n"}, input: `{"path":"a.txt"}`,
			want: "    1\t" + strings.Repeat("y", maxLineLen) + " [... line cut, 1 more characters]\n"},
		{name: "line at the cut, crlf", files: map[string]string{"a.txt": strings.Repeat("z", maxLineLen) + "\r\n"}, input: `{"path":"a.txt"}`,
			want: "    1\t" + strings.Repeat("z", maxLineLen) + "\n"},
		{name: "invalid utf-8", files: map[string]string{"a.txt": "a\xffb\n"}, input: `{"path":"a.txt"}`, want: "    1\ta\uFFFDb\n"},
		{name: "empty", files: map[string]string{"a.txt": ""}, input: `{"path":"a.txt"}`, want: "a.txt is empty"},
		{name: "offset past end", files: map[string]string{"a.txt": "one\n"}, input: `{"path":"a.txt","offset":5}`, isError: true,
			want: "offset 5 is past the end of a.txt, which has 1 lines"},
		{name: "missing", input: `{"path":"nope.txt"}`, isError: true, want: "nope.txt: no such file or directory"},
		{name: "missing parent", input: `{"path":"no/such/file"}`, isError: true, has: []string{"no/such/file", "no such file"}},
		{name: "directory", files: map[string]string{"d/x": ""}, input: `{"path":"d"}`, isError: true, has: []string{"d is a directory"}},
		{name: "binary", files: map[string]string{"b.bin": "ELF\x00\x01\x02"}, input: `{"path":"b.bin"}`, isError: true,
			want: "b.bin looks like a binary file (it contains NUL bytes); read_file shows text only"},
		{name: "output cap", files: map[string]string{"a.txt": strings.Repeat("0123456789\n", 100)}, ws: func(w *Workspace) { w.MaxOutput = 100 },
			input: `{"path":"a.txt"}`, has: []string{"    1\t0123456789\n", "read on with offset="}},
	}
	resolveModes(t, func(t *testing.T, walk bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var cfg []func(*Workspace)
				if tt.ws != nil {
					cfg = append(cfg, tt.ws)
				}
				f := newFixture(t, walk, cfg...)
				for p, c := range tt.files {
					f.write(p, c)
				}
				out := f.call(NameReadFile, tt.input)
				if out.IsError != tt.isError {
					t.Fatalf("IsError = %v, want %v; content %q", out.IsError, tt.isError, out.Content)
				}
				if tt.want != "" && out.Content != tt.want {
					t.Fatalf("content\n%q\nwant\n%q", out.Content, tt.want)
				}
				for _, h := range tt.has {
					if !strings.Contains(out.Content, h) {
						t.Fatalf("content %q lacks %q", out.Content, h)
					}
				}
			})
		}
	})
}

func TestReadFileFIFODoesNotBlock(t *testing.T) {
	f := newFixture(t, false)
	if err := syscall.Mkfifo(f.path("pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan Output, 1)
	go func() { done <- f.call(NameReadFile, `{"path":"pipe"}`) }()
	select {
	case out := <-done:
		if !out.IsError || !strings.Contains(out.Content, "not a regular file") {
			t.Fatalf("got %+v", out)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read_file blocked on a FIFO")
	}
}

func TestReadAbsoluteInsideWorkspace(t *testing.T) {
	f := newFixture(t, false)
	f.write("a.txt", "hi\n")
	out := f.call(NameReadFile, js(map[string]any{"path": f.path("a.txt")}))
	if out.IsError || out.Content != "    1\thi\n" {
		t.Fatalf("got %+v", out)
	}
}

func TestWriteFile(t *testing.T) {
	resolveModes(t, func(t *testing.T, walk bool) {
		f := newFixture(t, walk)

		// Create, with parent directories.
		out := f.call(NameWriteFile, `{"path":"x/y/z.txt","content":"a\nb\n"}`)
		if out.IsError || out.Content != "created x/y/z.txt (4 bytes, 2 lines)" {
			t.Fatalf("create: %+v", out)
		}
		if got := f.read("x/y/z.txt"); got != "a\nb\n" {
			t.Fatalf("content %q", got)
		}
		if want := "--- /dev/null\n+++ b/x/y/z.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n"; out.Diff != want {
			t.Fatalf("diff\n%s\nwant\n%s", out.Diff, want)
		}

		// Replace.
		out = f.call(NameWriteFile, `{"path":"x/y/z.txt","content":"a\nc\n"}`)
		if out.IsError || out.Content != "replaced x/y/z.txt (4 bytes, 2 lines)" {
			t.Fatalf("replace: %+v", out)
		}
		if want := "--- a/x/y/z.txt\n+++ b/x/y/z.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"; out.Diff != want {
			t.Fatalf("diff\n%s\nwant\n%s", out.Diff, want)
		}

		// Same content: nothing to do.
		out = f.call(NameWriteFile, `{"path":"x/y/z.txt","content":"a\nc\n"}`)
		if out.IsError || out.Diff != "" || !strings.Contains(out.Content, "nothing changed") {
			t.Fatalf("unchanged: %+v", out)
		}

		// Mode is kept.
		f.write("run.sh", "#!/bin/sh\n")
		if err := os.Chmod(f.path("run.sh"), 0o750); err != nil {
			t.Fatal(err)
		}
		if out := f.call(NameWriteFile, `{"path":"run.sh","content":"#!/bin/sh\necho\n"}`); out.IsError {
			t.Fatal(out.Content)
		}
		if st, err := os.Stat(f.path("run.sh")); err != nil || st.Mode().Perm() != 0o750 {
			t.Fatalf("mode %v, %v; want 0750", st.Mode(), err)
		}

		// Through a symlink inside the workspace: the target changes, the
		// link stays.
		f.write("real.txt", "old\n")
		f.symlink("real.txt", "alias.txt")
		if out := f.call(NameWriteFile, `{"path":"alias.txt","content":"new\n"}`); out.IsError {
			t.Fatal(out.Content)
		}
		if got := f.read("real.txt"); got != "new\n" {
			t.Fatalf("real.txt = %q", got)
		}
		if st, err := os.Lstat(f.path("alias.txt")); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("alias.txt is no longer a symlink: %v %v", st, err)
		}

		// No temporary files are left behind.
		for _, d := range []string{".", "x/y"} {
			ents, _ := os.ReadDir(f.path(d))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".ouro-tmp-") {
					t.Fatalf("temporary file left: %s/%s", d, e.Name())
				}
			}
		}

		// Bad targets.
		for _, tc := range []struct{ input, has string }{
			{`{"path":"x","content":""}`, "x is a directory"},
			{`{"path":".","content":""}`, "the workspace itself"},
			{`{"path":"","content":"a"}`, `"path" must not be empty`},
			{`{"path":"real.txt/sub","content":"a"}`, "not a directory"},
		} {
			out := f.call(NameWriteFile, tc.input)
			if !out.IsError || !strings.Contains(out.Content, tc.has) {
				t.Errorf("%s: got %+v, want error with %q", tc.input, out, tc.has)
			}
		}
	})
}

func TestEditFile(t *testing.T) {
	const src = "package main\n\nfunc main() {\n\tprintln(\"hello\")\n}\n"
	tests := []struct {
		name    string
		content string
		input   map[string]any
		want    string // file content afterwards
		out     string // exact Content, when set
		diff    string
		has     []string
		isError bool
	}{
		{name: "unique", content: src, input: map[string]any{"old": "\"hello\"", "new": "\"bye\""},
			want: strings.Replace(src, "hello", "bye", 1), out: "edited f.go: replaced 1 occurrence, now lines 4-4",
			diff: "--- a/f.go\n+++ b/f.go\n@@ -1,5 +1,5 @@\n package main\n \n func main() {\n-\tprintln(\"hello\")\n+\tprintln(\"bye\")\n }\n"},
		{name: "multi-line new", content: "a\nb\nc\n", input: map[string]any{"old": "b\n", "new": "b1\nb2\n"},
			want: "a\nb1\nb2\nc\n", out: "edited f.go: replaced 1 occurrence, now lines 2-3"},
		{name: "delete", content: "a\nb\nc\n", input: map[string]any{"old": "b\n", "new": ""}, want: "a\nc\n",
			out: "edited f.go: removed the text at line 2", diff: "--- a/f.go\n+++ b/f.go\n@@ -1,3 +1,2 @@\n a\n-b\n c\n"},
		{name: "absent with whitespace hint", content: src, input: map[string]any{"old": "    println(\"hello\")", "new": "x"},
			isError: true, has: []string{"old text not found in f.go", "line 4 has the same text with different whitespace"}},
		{name: "absent with closest line", content: src, input: map[string]any{"old": "println(\"helo\")", "new": "x"},
			isError: true, has: []string{"old text not found in f.go", "the closest line is 4"}},
		{name: "absent, later line differs", content: src, input: map[string]any{"old": "func main() {\n\tprintln(1)", "new": "x"},
			isError: true, has: []string{"its first line matches line 3"}},
		{name: "absent, nothing close", content: src, input: map[string]any{"old": "zzzzqqqq", "new": "x"},
			isError: true, has: []string{"old text not found", "read the file again"}},
		{name: "not unique", content: "x = 1\nx = 1\nx = 1\n", input: map[string]any{"old": "x = 1", "new": "x = 2"},
			isError: true, out: "old text occurs 3 times in f.go; include more surrounding lines in old so it matches exactly once"},
		{name: "overlapping matches are ambiguous", content: "aaa\n", input: map[string]any{"old": "aa", "new": "b"},
			isError: true, has: []string{"occurs 2 times"}},
		{name: "crlf file, lf old", content: "a\r\nb\r\nc\r\n", input: map[string]any{"old": "a\nb\n", "new": "a\nB\n"},
			want: "a\r\nB\r\nc\r\n"},
		{name: "empty old", content: src, input: map[string]any{"old": "", "new": "x"}, isError: true, has: []string{`"old" must not be empty`}},
		{name: "old equals new", content: src, input: map[string]any{"old": "main", "new": "main"}, isError: true, has: []string{"the same"}},
		{name: "binary", content: "a\x00b", input: map[string]any{"old": "a", "new": "c"}, isError: true, has: []string{"binary"}},
	}
	resolveModes(t, func(t *testing.T, walk bool) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, walk)
				f.write("f.go", tt.content)
				tt.input["path"] = "f.go"
				out := f.call(NameEditFile, js(tt.input))
				if out.IsError != tt.isError {
					t.Fatalf("IsError = %v; %q", out.IsError, out.Content)
				}
				if tt.out != "" && out.Content != tt.out {
					t.Fatalf("content %q, want %q", out.Content, tt.out)
				}
				for _, h := range tt.has {
					if !strings.Contains(out.Content, h) {
						t.Fatalf("content %q lacks %q", out.Content, h)
					}
				}
				if tt.diff != "" && out.Diff != tt.diff {
					t.Fatalf("diff\n%s\nwant\n%s", out.Diff, tt.diff)
				}
				want := tt.want
				if tt.isError {
					want = tt.content
				}
				if got := f.read("f.go"); got != want {
					t.Fatalf("file %q, want %q", got, want)
				}
			})
		}
	})
}

func TestEditMissingFile(t *testing.T) {
	f := newFixture(t, false)
	out := f.call(NameEditFile, `{"path":"nope.go","old":"a","new":"b"}`)
	if !out.IsError || out.Content != "nope.go does not exist; use write_file to create it" {
		t.Fatalf("got %+v", out)
	}
	if _, err := os.Stat(f.path("nope.go")); !os.IsNotExist(err) {
		t.Fatal("edit_file created the file")
	}
}

// TestEscapes tries every way out of the workspace the tests know, with
// every file tool, and checks each is refused and nothing outside changed.
func TestEscapes(t *testing.T) {
	resolveModes(t, func(t *testing.T, walk bool) {
		f := newFixture(t, walk)
		rel, err := filepath.Rel(f.root, f.secret)
		if err != nil {
			t.Fatal(err)
		}
		f.symlink(f.secret, "abs-link")                                // absolute symlink to the secret
		f.symlink(rel, "rel-link")                                     // ../outside/secret
		f.symlink(f.outside, "dir-link")                               // a directory outside
		f.symlink("../../outside", "sub/up-dir-link")                  // climbs out
		f.symlink("/proc/self/root", "proc-root")                      // a magic link's directory
		f.symlink("/proc/self/cwd", "proc-cwd")                        // another magic link
		f.symlink("../../../../../../../../../../proc/self/root", "r") // relative, climbing out to /proc
		f.symlink("loop2", "loop1")
		f.symlink("loop1", "loop2")

		paths := []struct{ path, why string }{
			{"../outside/secret", "escape"},
			{"sub/../../outside/secret", "escape"},
			{f.secret, "escape"},
			{"/etc/passwd", "escape"},
			{"/proc/self/root/etc/passwd", "escape"},
			{"/proc/self/root" + f.secret, "escape"},
			{"abs-link", "escape"},
			{"rel-link", "escape"},
			{"dir-link/secret", "escape"},
			{"sub/up-dir-link/secret", "escape"},
			{"proc-root/etc/passwd", "escape"},
			{"proc-root" + f.secret, "escape"},
			{"proc-cwd/secret", "escape"},
			{"r/etc/passwd", "escape"},
			{"loop1", "loop"},
		}
		for _, p := range paths {
			inputs := map[string]string{
				NameReadFile:  js(map[string]any{"path": p.path}),
				NameWriteFile: js(map[string]any{"path": p.path, "content": "pwned\n"}),
				NameEditFile:  js(map[string]any{"path": p.path, "old": "TOP", "new": "pwned"}),
				NameListFiles: js(map[string]any{"path": p.path}),
				NameGrep:      js(map[string]any{"pattern": "SECRET", "path": p.path}),
			}
			for _, name := range []string{NameReadFile, NameWriteFile, NameEditFile, NameListFiles, NameGrep} {
				t.Run(name+" "+p.path, func(t *testing.T) {
					out := f.call(name, inputs[name])
					if !out.IsError {
						t.Fatalf("not refused: %q", out.Content)
					}
					want := "path escapes the workspace"
					if p.why == "loop" {
						want = "too many levels of symbolic links"
					}
					if !strings.Contains(out.Content, want) {
						t.Fatalf("error %q does not say %q", out.Content, want)
					}
					if strings.Contains(out.Content, "TOP SECRET") {
						t.Fatalf("secret leaked: %q", out.Content)
					}
					f.checkSecret()
				})
			}
		}
		// A symlink inside the workspace that stays inside works.
		f.write("sub/../outside-named/x.txt", "inside\n")
		f.symlink("../outside-named/x.txt", "sub/ok-link")
		if out := f.call(NameReadFile, `{"path":"sub/ok-link"}`); out.IsError || out.Content != "    1\tinside\n" {
			t.Fatalf("in-workspace symlink: %+v", out)
		}
		// grep and list_files over the whole workspace do not follow links out.
		if out := f.call(NameGrep, `{"pattern":"SECRET"}`); out.IsError || strings.Contains(out.Content, "TOP SECRET") {
			t.Fatalf("grep followed a link out: %+v", out)
		}
		if out := f.call(NameListFiles, `{}`); strings.Contains(out.Content, "dir-link/") {
			t.Fatalf("list_files followed a directory link out: %q", out.Content)
		}
	})
}

func TestHardLinks(t *testing.T) {
	resolveModes(t, func(t *testing.T, walk bool) {
		f := newFixture(t, walk)
		if err := os.Link(f.secret, f.path("hl")); err != nil {
			t.Fatal(err)
		}
		for name, input := range map[string]string{
			NameReadFile:  `{"path":"hl"}`,
			NameWriteFile: `{"path":"hl","content":"pwned"}`,
			NameEditFile:  `{"path":"hl","old":"TOP","new":"pwned"}`,
			NameGrep:      `{"pattern":"SECRET","path":"hl"}`,
		} {
			out := f.call(name, input)
			if !out.IsError || !strings.Contains(out.Content, "hl has 2 hard links") {
				t.Errorf("%s: got %+v", name, out)
			}
		}
		if out := f.call(NameGrep, `{"pattern":"SECRET"}`); strings.Contains(out.Content, "TOP SECRET") {
			t.Errorf("grep over the tree read a hard link: %q", out.Content)
		}
		f.checkSecret()
	})
}

func TestProtectedPaths(t *testing.T) {
	resolveModes(t, func(t *testing.T, walk bool) {
		f := newFixture(t, walk)
		f.symlink(".ouro", "alias")
		f.symlink(".ouro/policy.yaml", "p.yaml")
		f.symlink(".git", "g")
		f.symlink("g/hooks", "hooks-alias")
		f.write("policy-named.txt", "keep\n")
		cases := []struct{ path, has, editHas string }{
			{".ouro/policy.yaml", ".ouro/policy.yaml is protected", ""},
			{".ouro/new.yaml", "is protected", ""},
			{".ouro", "is protected", ""},
			{"./.ouro/../.ouro/policy.yaml", "is protected", ""},
			{"alias/policy.yaml", "alias/policy.yaml is protected (it resolves to .ouro/policy.yaml)", ""},
			// edit_file does not create directories, so it stops at the missing one.
			{"alias/new/deeper.yaml", "(it resolves to .ouro/new)", "does not exist"},
			{"p.yaml", "p.yaml is protected (it resolves to .ouro/policy.yaml)", ""},
			{".git/config", "is protected", ""},
			{".git/hooks/pre-commit", "is protected", ""},
			{".GIT/hooks/pre-commit", "is protected", ""},
			{"vendor/x/.git/hooks/post-checkout", "is protected", ""},
			{"g/hooks/pre-commit", "g/hooks/pre-commit is protected (it resolves to .git/hooks/pre-commit)", ""},
			{"hooks-alias/pre-push", "(it resolves to .git/hooks/pre-push)", ""},
			{"policy-named.txt", "policy-named.txt is protected", ""},
		}
		for _, c := range cases {
			for _, name := range []string{NameWriteFile, NameEditFile} {
				input := js(map[string]any{"path": c.path, "content": "pwned\n"})
				has := c.has
				if name == NameEditFile {
					input = js(map[string]any{"path": c.path, "old": "rules", "new": "pwned"})
					if c.editHas != "" {
						has = c.editHas
					}
				}
				out := f.call(name, input)
				if !out.IsError || !strings.Contains(out.Content, has) {
					t.Errorf("%s %s: got %+v, want error with %q", name, c.path, out, has)
				}
			}
		}
		if got := f.read(".ouro/policy.yaml"); got != "rules: []\n" {
			t.Fatalf("policy changed: %q", got)
		}
		if got := f.read("policy-named.txt"); got != "keep\n" {
			t.Fatalf("policy-named.txt changed: %q", got)
		}
		for _, p := range []string{".ouro/new.yaml", ".ouro/new", ".git/hooks/pre-commit", ".git/hooks/pre-push", "vendor"} {
			if _, err := os.Lstat(f.path(p)); !os.IsNotExist(err) {
				t.Errorf("%s was created", p)
			}
		}
		// Reading protected files is policy's business, not refused here.
		if out := f.call(NameReadFile, `{"path":"alias/policy.yaml"}`); out.IsError {
			t.Fatalf("read: %+v", out)
		}
	})
}

// TestSwapAfterDescribe replaces a checked file or directory with a
// symlink out between Describe and Call, as an agent racing the pipeline
// would; Call must resolve again and refuse.
func TestSwapAfterDescribe(t *testing.T) {
	resolveModes(t, func(t *testing.T, walk bool) {
		cases := []struct {
			tool, input string
			swap        func(f *fixture)
		}{
			{NameReadFile, `{"path":"f.txt"}`, swapFile},
			{NameWriteFile, `{"path":"f.txt","content":"pwned\n"}`, swapFile},
			{NameEditFile, `{"path":"f.txt","old":"safe","new":"pwned"}`, swapFile},
			{NameGrep, `{"pattern":"SECRET","path":"f.txt"}`, swapFile},
			{NameReadFile, `{"path":"d/secret"}`, swapDir},
			{NameWriteFile, `{"path":"d/secret","content":"pwned\n"}`, swapDir},
			{NameEditFile, `{"path":"d/secret","old":"safe","new":"pwned"}`, swapDir},
			{NameListFiles, `{"path":"d"}`, swapDir},
			{NameGrep, `{"pattern":"SECRET","path":"d"}`, swapDir},
		}
		for _, c := range cases {
			t.Run(c.tool+" "+c.input, func(t *testing.T) {
				f := newFixture(t, walk)
				f.write("f.txt", "safe\n")
				f.write("d/secret", "safe\n")
				a, err := f.describe(c.tool, c.input)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range a.Paths {
					if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") {
						t.Fatalf("Describe saw an escape before the swap: %v", a.Paths)
					}
				}
				c.swap(f)
				out := f.call(c.tool, c.input)
				if !out.IsError || !strings.Contains(out.Content, "path escapes the workspace") {
					t.Fatalf("after the swap: %+v", out)
				}
				f.checkSecret()
			})
		}
	})
}

func swapFile(f *fixture) {
	if err := os.Remove(f.path("f.txt")); err != nil {
		f.t.Fatal(err)
	}
	f.symlink(f.secret, "f.txt")
}

func swapDir(f *fixture) {
	if err := os.RemoveAll(f.path("d")); err != nil {
		f.t.Fatal(err)
	}
	f.symlink(f.outside, "d")
}

func TestDescribePaths(t *testing.T) {
	f := newFixture(t, false)
	f.symlink(".ouro", "alias")
	f.symlink(f.secret, "abs-link")
	f.symlink(f.outside, "dir-link")
	f.write("a/c", "x")
	cases := []struct {
		tool, input string
		paths       []string
		writes      bool
	}{
		{NameReadFile, `{"path":"a/./b/../c"}`, []string{"a/c"}, false},
		{NameReadFile, js(map[string]any{"path": f.path("a/c")}), []string{"a/c"}, false},
		{NameReadFile, `{"path":"../x"}`, []string{"../x"}, false},
		{NameReadFile, `{"path":"/etc/passwd"}`, []string{"/etc/passwd"}, false},
		{NameReadFile, `{"path":"/proc/self/root/etc/passwd"}`, []string{"/proc/self/root/etc/passwd"}, false},
		{NameWriteFile, `{"path":"alias/policy.yaml","content":""}`, []string{"alias/policy.yaml", ".ouro/policy.yaml"}, true},
		{NameEditFile, `{"path":"abs-link","old":"a","new":"b"}`, []string{"abs-link", f.secret}, true},
		{NameGrep, `{"pattern":"x","path":"dir-link/secret"}`, []string{"dir-link/secret"}, false},
		{NameListFiles, `{}`, []string{"."}, false},
		{NameGrep, `{"pattern":"x"}`, []string{"."}, false},
		{NameWriteFile, `{"path":"new/dir/file","content":""}`, []string{"new/dir/file"}, true},
	}
	for _, c := range cases {
		a, err := f.describe(c.tool, c.input)
		if err != nil {
			t.Fatalf("%s %s: %v", c.tool, c.input, err)
		}
		if strings.Join(a.Paths, "|") != strings.Join(c.paths, "|") || a.Writes != c.writes || a.Tool != c.tool {
			t.Errorf("%s %s: paths %q writes %v tool %q; want %q %v", c.tool, c.input, a.Paths, a.Writes, a.Tool, c.paths, c.writes)
		}
	}
}

func TestCallHonoursCancelledContext(t *testing.T) {
	f := newFixture(t, false)
	f.write("a.txt", "x\n")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.tools[NameReadFile].Call(ctx, json.RawMessage(`{"path":"a.txt"}`))
	if err == nil {
		t.Fatal("read_file ignored a cancelled context")
	}
}
