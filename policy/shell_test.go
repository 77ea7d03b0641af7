package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

type cmds = [][]string

func TestScanShell(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		cmds      cmds
		redirects []string
	}{
		{"simple", "git status", cmds{{"git", "status"}}, nil},
		{"pipe and fd dup", "go test ./... 2>&1 | tail -n 50", cmds{{"go", "test", "./..."}, {"tail", "-n", "50"}}, nil},
		{"quotes and escapes", `echo "a b" 'c d' e\ f > out.txt`, cmds{{"echo", "a b", "c d", "e f"}}, []string{"out.txt"}},
		{"double quote escapes", `echo "a \"q\" \$x \n"`, cmds{{"echo", `a "q" $x \n`}}, nil},
		{"separators", "a && b || c; d & e\nf", cmds{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}, {"f"}}, nil},
		{"assignments kept", "x=1 y=2 cmd", cmds{{"x=1", "y=2", "cmd"}}, nil},
		{
			"every output redirection", "echo a >> log 2> err &> all >| f <> rw < in 3>&- >&file &>>both",
			cmds{{"echo", "a"}}, []string{"log", "err", "all", "f", "rw", "file", "both"},
		},
		{"fd number is not a word", "echo hi 2>/dev/null", cmds{{"echo", "hi"}}, []string{"/dev/null"}},
		{"attached redirect", "echo x>.git/config", cmds{{"echo", "x"}}, []string{".git/config"}},
		{"here string is data", "cat <<< 'git push'", cmds{{"cat"}}, nil},
		{
			"here document body is data", "cat <<'EOF' > .git/hooks/pre-commit\n#!/bin/sh\ngit push\nEOF\nls",
			cmds{{"cat"}, {"ls"}}, []string{".git/hooks/pre-commit"},
		},
		{
			"here document with tabs", "cat <<-END\n\tgit push\n\tEND\nls -l",
			cmds{{"cat"}, {"ls", "-l"}}, nil,
		},
		{
			"here document fed to a shell is commands", "bash <<EOF\ngit push origin\nEOF\n",
			cmds{{"bash"}, {"git", "push", "origin"}}, nil,
		},
		{
			"unterminated here document to a shell", "sh <<EOF\nnpm publish",
			cmds{{"sh"}, {"npm", "publish"}}, nil,
		},
		{
			"command substitution", "echo $(git push) `npm publish`",
			cmds{{"git", "push"}, {"npm", "publish"}, {"echo", "$(git push)", "`npm publish`"}}, nil,
		},
		{
			"substitution inside double quotes", `x="$(rm -rf .ouro)"`,
			cmds{{"rm", "-rf", ".ouro"}, {"x=$(rm -rf .ouro)"}}, nil,
		},
		{
			"process substitution", "tee >(cat > .git/config) <(ls)",
			cmds{{"cat"}, {"ls"}, {"tee"}}, []string{".git/config"},
		},
		{"comments", "# git push\nls # rm -rf .ouro", cmds{{"ls"}}, nil},
		{"hash inside a word", "echo a#b", cmds{{"echo", "a#b"}}, nil},
		{"line continuation", "git \\\n push", cmds{{"git", "push"}}, nil},
		{"quotes glue a word", `git -c "core.hooks""Path"=x status`, cmds{{"git", "-c", "core.hooksPath=x", "status"}}, nil},
		{"subshell and group", "(cd a && make) ; { ls; }", cmds{{"cd", "a"}, {"make"}, {"{", "ls"}, {"}"}}, nil},
		{"unterminated quote", "echo 'abc", cmds{{"echo", "abc"}}, nil},
		{"parameter expansion with spaces", "echo ${x:-a b} c", cmds{{"echo", "${x:-a b}", "c"}}, nil},
		{"empty", "", nil, nil},
		{
			"cd moves redirects", "echo a > x; cd sub && echo b > y; cd ../other; echo c > z; cd /tmp; echo d > w; cd $D; echo e > v",
			cmds{{"echo", "a"}, {"cd", "sub"}, {"echo", "b"}, {"cd", "../other"}, {"echo", "c"}, {"cd", "/tmp"}, {"echo", "d"}, {"cd", "$D"}, {"echo", "e"}},
			[]string{"x", "sub/y", "other/z", "/tmp/w", "/?/v"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanShell(tt.src)
			if !reflect.DeepEqual(got.cmds, tt.cmds) {
				t.Errorf("cmds = %q, want %q", got.cmds, tt.cmds)
			}
			if !reflect.DeepEqual(got.redirects, tt.redirects) {
				t.Errorf("redirects = %q, want %q", got.redirects, tt.redirects)
			}
		})
	}
}

func TestScanShellDeepNestingEnds(t *testing.T) {
	// A deeply nested command must not recurse without bound.
	src := strings.Repeat("$(", 5000) + "git push" + strings.Repeat(")", 5000)
	got := scanShell(src)
	if len(got.cmds) == 0 {
		t.Fatalf("no commands found")
	}
	for _, c := range got.cmds {
		if reflect.DeepEqual(c, []string{"git", "push"}) {
			t.Fatalf("found a command nested deeper than maxShellDepth")
		}
	}
}

func TestNormalizeCommands(t *testing.T) {
	tests := []struct {
		name string
		in   cmds
		want cmds
	}{
		{"base name", cmds{{"/usr/bin/git", "push"}}, cmds{{"git", "push"}}},
		{"backslash", cmds{{`\git`, "push"}}, cmds{{"git", "push"}}},
		{"prefix assignments", cmds{{"FOO=1", "A_B=x=y", "git", "push"}}, cmds{{"git", "push"}}},
		{"keywords", cmds{{"if", "!", "git", "push"}}, cmds{{"git", "push"}}},
		{"only assignments", cmds{{"FOO=1"}}, nil},
		{"not an assignment", cmds{{"1A=x", "y"}}, cmds{{"1A=x", "y"}}},
		{
			"env", cmds{{"env", "-i", "-u", "HOME", "FOO=1", "git", "push"}},
			cmds{{"env", "-i", "-u", "HOME", "FOO=1", "git", "push"}, {"git", "push"}},
		},
		{
			"env -S", cmds{{"env", "-S", "git push", "origin"}},
			cmds{{"env", "-S", "git push", "origin"}, {"git", "push", "origin"}},
		},
		{
			"stacked wrappers", cmds{{"sudo", "-u", "root", "timeout", "-s", "KILL", "10", "nice", "-n", "5", "git", "push"}},
			cmds{
				{"sudo", "-u", "root", "timeout", "-s", "KILL", "10", "nice", "-n", "5", "git", "push"},
				{"timeout", "-s", "KILL", "10", "nice", "-n", "5", "git", "push"},
				{"nice", "-n", "5", "git", "push"},
				{"git", "push"},
			},
		},
		{
			"shell -c", cmds{{"bash", "-lc", "git push && FOO=1 npm publish"}},
			cmds{{"bash", "-lc", "git push && FOO=1 npm publish"}, {"git", "push"}, {"npm", "publish"}},
		},
		{
			"shell -o then -c", cmds{{"sh", "-o", "pipefail", "-c", "git push"}},
			cmds{{"sh", "-o", "pipefail", "-c", "git push"}, {"git", "push"}},
		},
		{"shell script file", cmds{{"sh", "script.sh", "-c"}}, cmds{{"sh", "script.sh", "-c"}}},
		{
			"nested shells", cmds{{"sh", "-c", `bash -c "eval 'git push'"`}},
			cmds{
				{"sh", "-c", `bash -c "eval 'git push'"`},
				{"bash", "-c", "eval 'git push'"},
				{"eval", "git push"},
				{"git", "push"},
			},
		},
		{"eval", cmds{{"eval", "git", "push"}}, cmds{{"eval", "git", "push"}, {"git", "push"}}},
		{
			"python -m", cmds{{"python3.12", "-u", "-m", "twine", "upload", "dist/x"}},
			cmds{{"python3.12", "-u", "-m", "twine", "upload", "dist/x"}, {"twine", "upload", "dist/x"}},
		},
		{"python -c", cmds{{"python3", "-c", "import os"}}, cmds{{"python3", "-c", "import os"}}},
		{"python script", cmds{{"python", "setup.py", "-m", "x"}}, cmds{{"python", "setup.py", "-m", "x"}}},
		{
			"find -exec", cmds{{"find", ".", "-name", "*.tmp", "-exec", "rm", "{}", ";", "-execdir", "/bin/rm", "x", "+"}},
			cmds{{"find", ".", "-name", "*.tmp", "-exec", "rm", "{}", ";", "-execdir", "/bin/rm", "x", "+"}, {"rm", "{}"}, {"rm", "x"}},
		},
		{
			"xargs", cmds{{"xargs", "-n", "1", "-0", "git", "push"}},
			cmds{{"xargs", "-n", "1", "-0", "git", "push"}, {"git", "push"}},
		},
		{
			"uv run", cmds{{"uv", "run", "--with", "twine", "twine", "upload"}},
			cmds{{"uv", "run", "--with", "twine", "twine", "upload"}, {"twine", "upload"}},
		},
		{"uv other subcommand", cmds{{"uv", "pip", "install", "x"}}, cmds{{"uv", "pip", "install", "x"}}},
		{
			"npx", cmds{{"npx", "-y", "npm", "publish"}},
			cmds{{"npx", "-y", "npm", "publish"}, {"npm", "publish"}},
		},
		{
			"watch", cmds{{"watch", "-n", "5", "git", "push"}},
			cmds{{"watch", "-n", "5", "git", "push"}, {"git", "push"}},
		},
		{
			"flock -c", cmds{{"flock", "/tmp/l", "-c", "git push"}},
			cmds{{"flock", "/tmp/l", "-c", "git push"}, {"git", "push"}},
		},
		{
			"flock command", cmds{{"flock", "/tmp/l", "git", "push"}},
			cmds{{"flock", "/tmp/l", "git", "push"}, {"git", "push"}},
		},
		{
			"busybox", cmds{{"busybox", "sh", "-c", "git push"}},
			cmds{{"busybox", "sh", "-c", "git push"}, {"sh", "-c", "git push"}, {"git", "push"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := normalizeCommands(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("normalizeCommands(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestLongScriptIsLinear(t *testing.T) {
	// 20000 distinct commands; a quadratic duplicate check would take
	// billions of comparisons.
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "echo %d; ", i)
	}
	s := scanShell(b.String())
	cmds, _ := normalizeCommands(s.cmds)
	if len(cmds) != 20000 {
		t.Fatalf("%d commands, want 20000", len(cmds))
	}
}

func TestNormalizeDoesNotModifyInput(t *testing.T) {
	in := cmds{{"/usr/bin/git", "push"}}
	normalizeCommands(in)
	if in[0][0] != "/usr/bin/git" {
		t.Fatalf("input changed to %q", in)
	}
}

func TestWriteTargets(t *testing.T) {
	tests := []struct {
		cmd  []string
		want []string
	}{
		{[]string{"rm", "-rf", ".ouro"}, []string{".ouro"}},
		{[]string{"rm", "-r", ".git/hooks"}, []string{".git/hooks"}},
		{[]string{"rm", "--", "-x"}, []string{"-x"}},
		{[]string{"touch", "-r", "ref", "f"}, []string{"f"}},
		{[]string{"chmod", "+x", ".git/hooks/pre-commit"}, []string{"+x", ".git/hooks/pre-commit"}},
		{[]string{"tee", "-a", "f1", "f2"}, []string{"f1", "f2"}},
		{[]string{"truncate", "-s", "0", "f"}, []string{"f"}},
		{[]string{"cp", "a", "b"}, []string{"b", "b/a"}},
		{[]string{"cp", "-r", "hooks", ".git/"}, []string{".git/", ".git/hooks"}},
		{[]string{"cp", "-t", ".git/hooks", "a", "dir/b"}, []string{".git/hooks", ".git/hooks/a", ".git/hooks/b"}},
		{[]string{"cp", "--target-directory=.ouro", "p.yaml"}, []string{".ouro", ".ouro/p.yaml"}},
		{[]string{"cp", ".git/config", "/tmp/backup"}, []string{"/tmp/backup", "/tmp/backup/config"}},
		{[]string{"mv", "a", "b"}, []string{"b", "b/a", "a"}},
		{[]string{"mv", "-S", ".bak", "a", "b"}, []string{"b", "b/a", "a"}},
		{[]string{"ln", "-s", "/tmp/x", ".git/hooks/pre-commit"}, []string{".git/hooks/pre-commit", ".git/hooks/pre-commit/x", "/tmp/x"}},
		{[]string{"ln", "-s", ".git/config"}, []string{"config", ".git/config"}},
		{[]string{"install", "-d", ".git/hooks"}, []string{".git/hooks"}},
		{[]string{"install", "-m", "755", "x", ".git/hooks/pre-commit"}, []string{".git/hooks/pre-commit", ".git/hooks/pre-commit/x"}},
		{[]string{"sed", "-i", "s/a/b/", "f"}, []string{"s/a/b/", "f"}},
		{[]string{"sed", "-e", "s/a/b/", "-i.bak", "f"}, []string{"f"}},
		{[]string{"sed", "-Ei", "s/a/b/", "f"}, []string{"s/a/b/", "f"}},
		{[]string{"sed", "--in-place", "-e", "x", "f"}, []string{"f"}},
		{[]string{"sed", "-n", "1p", "f"}, nil},
		{[]string{"perl", "-pi", "-e", "s/x/y/", "f"}, []string{"f"}},
		{[]string{"perl", "-i.bak", "-pe", "s/x/y/", "f"}, []string{"s/x/y/", "f"}},
		{[]string{"perl", "-e", "print 1", "f"}, nil},
		{[]string{"dd", "if=a", "of=b", "bs=1"}, []string{"b"}},
		{[]string{"curl", "-fsSL", "-o", "out", "https://x"}, []string{"out"}},
		{[]string{"curl", "--output=out", "https://x"}, []string{"out"}},
		{[]string{"wget", "-O", "out", "https://x"}, []string{"out"}},
		{[]string{"wget", "-P", "dir", "https://x"}, []string{"dir"}},
		{[]string{"go", "build", "-o", "bin/x", "./cmd"}, []string{"bin/x"}},
		{[]string{"go", "test", "./..."}, nil},
		{[]string{"find", ".git/hooks", "-type", "f", "-delete"}, []string{".git/hooks"}},
		{[]string{"find", ".", "-name", "x"}, nil},
		{[]string{"git", "config", "user.email", "a@b"}, []string{".git/config"}},
		{[]string{"git", "-C", ".", "config", "set", "user.name", "x"}, []string{".git/config"}},
		{[]string{"git", "config", "--unset", "user.name"}, []string{".git/config"}},
		{[]string{"git", "config", "--file", "f", "k", "v"}, []string{"f"}},
		{[]string{"git", "config", "--get", "user.email"}, nil},
		{[]string{"git", "config", "user.email"}, nil},
		{[]string{"git", "config", "--global", "user.email", "x"}, nil},
		{[]string{"git", "config", "get", "user.email"}, nil},
		{[]string{"git", "status"}, nil},
		{[]string{"tar", "-xzf", "a.tgz", "-C", "d"}, []string{"d"}},
		{[]string{"tar", "xf", "a.tar"}, []string{"."}},
		{[]string{"tar", "--extract", "--directory=d", "-f", "a.tar"}, []string{"d"}},
		{[]string{"tar", "-czf", "a.tgz", "d"}, nil},
		{[]string{"tar", "tf", "a.tar"}, nil},
		{[]string{"unzip", "a.zip", "-d", "d"}, []string{"d"}},
		{[]string{"cat", "f"}, nil},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := writeTargets(tt.cmd); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("writeTargets(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestSubcommand(t *testing.T) {
	tests := []struct {
		cmd  []string
		want string
	}{
		{[]string{"git", "push"}, "push"},
		{[]string{"git", "-C", "dir", "-c", "a=b", "push", "origin"}, "push"},
		{[]string{"git", "--git-dir=.git", "push"}, "push"},
		{[]string{"git", "--git-dir", ".git", "--work-tree", ".", "push"}, "push"},
		{[]string{"git", "--no-pager", "log"}, "log"},
		{[]string{"git", "commit", "-m", "push"}, "commit"},
		{[]string{"git", "--", "push"}, "push"},
		{[]string{"git"}, ""},
		{[]string{"git", "-C"}, ""},
		{[]string{"cargo", "+nightly", "publish"}, "publish"},
		{[]string{"cargo", "-Z", "unstable", "publish"}, "publish"},
		{[]string{"docker", "-H", "tcp://x", "push", "img"}, "push"},
		{[]string{"gh", "-R", "o/r", "release", "create"}, "release"},
		{[]string{"make", "-j4", "all"}, "all"},
	}
	for _, tt := range tests {
		if got := subcommand(tt.cmd); got != tt.want {
			t.Errorf("subcommand(%q) = %q, want %q", tt.cmd, got, tt.want)
		}
	}
}

func TestNextDir(t *testing.T) {
	tests := []struct {
		dir  string
		cmd  []string
		want string
	}{
		{"", []string{"cd", "a/b"}, "a/b"},
		{"a", []string{"cd", ".."}, "."},
		{"a", []string{"cd", "../.."}, ".."},
		{"a", []string{"cd", "-P", "b"}, "a/b"},
		{"", []string{"cd"}, "/?"},
		{"", []string{"cd", "~/x"}, "/?"},
		{"", []string{"cd", "-"}, "/?"},
		{"", []string{"cd", "/abs//x"}, "/abs/x"},
		{"a", []string{"popd"}, ""},
		{"a", []string{"ls", "b"}, "a"},
		{"", []string{"pushd", ".git"}, ".git"},
	}
	for _, tt := range tests {
		if got := nextDir(tt.dir, tt.cmd); got != tt.want {
			t.Errorf("nextDir(%q, %q) = %q, want %q", tt.dir, tt.cmd, got, tt.want)
		}
	}
}

// FuzzShell checks that no command text makes the shell reading panic or
// loop: whatever an agent sends reaches this code.
func FuzzShell(f *testing.F) {
	for _, s := range []string{
		"git push", "echo $(a `b` \"$(c)\") > x", "cat <<EOF\nx\nEOF", "bash -c 'sh -c \"eval x\"'",
		"env -S 'a b' c", "find . -exec rm {} ;", "cd .git && tee -a x", "a >& b <> c &>> d", "x=$((1+2))",
		"'unterminated", "\"unterminated $(", "${", "<<", "\\", "cp -t", "tar -C", "python -m",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		s := scanShell(src)
		all := append(s.cmds, [][]string{{"sh", "-c", src}, {"env", "-S", src}, {"xargs", src}}...)
		cmds, _ := normalizeCommands(all)
		for _, c := range cmds {
			if len(c) == 0 {
				t.Fatalf("empty command from %q", src)
			}
			writeTargets(c)
			subcommand(c)
			nextDir("", c)
		}
	})
}
