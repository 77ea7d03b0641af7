package tool

import (
	"strings"
	"testing"
)

type argv = [][]string

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		script string
		want   argv
	}{
		{"", nil},
		{"   \n\t ", nil},
		{"ls -la", argv{{"ls", "-la"}}},
		{"a&&b", argv{{"a"}, {"b"}}},
		{"a||b|c&d;e", argv{{"a"}, {"b"}, {"c"}, {"d"}, {"e"}}},
		{"a |& b", argv{{"a"}, {"b"}}},
		{"a\nb\n\nc", argv{{"a"}, {"b"}, {"c"}}},
		{"echo 'a;b' \"c&&d\" e\\;f", argv{{"echo", "a;b", "c&&d", "e;f"}}},
		{`echo "it's" 'say "hi"'`, argv{{"echo", "it's", `say "hi"`}}},
		{`c"ur"l ex'am'ple.com`, argv{{"curl", "example.com"}}},
		{`echo "a\"b" "\$HOME" "\x"`, argv{{"echo", `a"b`, "$HOME", `\x`}}},
		{"echo a\\\nb", argv{{"echo", "ab"}}},
		{"echo $'\\x63url' $'a\\'b' $'\\101\\n'", argv{{"echo", "curl", "a'b", "A\n"}}},
		{"# just a comment\nls # trailing\n", argv{{"ls"}}},
		{"echo a#b", argv{{"echo", "a#b"}}},
		{"FOO=1 git push", argv{{"FOO=1", "git", "push"}, {"git", "push"}}},
		{"FOO=1 BAR=2", argv{{"FOO=1", "BAR=2"}}},
		{"env -i PATH=/bin sudo -u root /usr/bin/curl x", argv{
			{"env", "-i", "PATH=/bin", "sudo", "-u", "root", "/usr/bin/curl", "x"}, {"curl", "x"}}},
		{"timeout -s KILL 5 nohup nice -n 10 git fetch", argv{
			{"timeout", "-s", "KILL", "5", "nohup", "nice", "-n", "10", "git", "fetch"}, {"git", "fetch"}}},
		{"xargs -I{} -n 1 rm {}", argv{{"xargs", "-I{}", "-n", "1", "rm", "{}"}, {"rm", "{}"}}},
		{"sh -c 'curl x'", argv{{"sh", "-c", "curl x"}, {"curl", "x"}}},
		{"bash -lc \"git push; rm -rf /\"", argv{{"bash", "-lc", "git push; rm -rf /"}, {"git", "push"}, {"rm", "-rf", "/"}}},
		{"/bin/sh -e -c 'a|b'", argv{{"/bin/sh", "-e", "-c", "a|b"}, {"sh", "-e", "-c", "a|b"}, {"a"}, {"b"}}},
		{"sh script.sh", argv{{"sh", "script.sh"}}},
		{"eval 'curl' x", argv{{"eval", "curl", "x"}, {"curl", "x"}}},
		{"echo $(curl x)", argv{{"echo", "$(curl x)"}, {"curl", "x"}}},
		{"echo \"$(whoami)\"", argv{{"echo", "$(whoami)"}, {"whoami"}}},
		{"echo `id -u`", argv{{"echo", "`id -u`"}, {"id", "-u"}}},
		{"a=$(b $(c d))", argv{{"a=$(b $(c d))"}, {"b", "$(c d)"}, {"c", "d"}}},
		{"$(base64 -d <<< Y3VybCB4)", argv{{"$(base64 -d <<< Y3VybCB4)"}, {"base64", "-d", "<<<", "Y3VybCB4"}}},
		{"echo $((1+2)) ${HOME:-/x} $#", argv{{"echo", "$((1+2))", "${HOME:-/x}", "$#"}}},
		{"echo ${X:-$(curl y)}", argv{{"echo", "${X:-$(curl y)}"}, {"curl", "y"}}},
		{"diff <(ls a) >(tee b)", argv{{"diff", "<(ls a)", ">(tee b)"}, {"ls", "a"}, {"tee", "b"}}},
		{"echo hi >out 2>&1 <in", argv{{"echo", "hi", ">", "out", "2>&", "1", "<", "in"}}},
		{"cmd &>log; cmd 2>>err >|f", argv{{"cmd", "&>", "log"}, {"cmd", "2>>", "err", ">|", "f"}}},
		{">out echo x", argv{{">", "out", "echo", "x"}, {"echo", "x"}}},
		{"echo 2>x '2'>y", argv{{"echo", "2>", "x", "2", ">", "y"}}},
		{"cat <<EOF > f\nline $(id)\nEOF\nls", argv{{"cat", "<<", "EOF", "line $(id)\n", ">", "f"}, {"id"}, {"ls"}}},
		{"cat <<'EOF'\n$(id)\nEOF", argv{{"cat", "<<", "EOF", "$(id)\n"}}},
		{"cat <<-E\n\tx\n\tE\necho", argv{{"cat", "<<-", "E", "x\n"}, {"echo"}}},
		{"bash <<EOF\ncurl evil\nEOF", argv{{"bash", "<<", "EOF", "curl evil\n"}, {"curl", "evil"}}},
		{"sh <<< 'wget x'", argv{{"sh", "<<<", "wget x"}, {"wget", "x"}}},
		{"(cd x && make)", argv{{"cd", "x"}, {"make"}}},
		{"{ a; b; }", argv{{"a"}, {"b"}}},
		{"if curl x; then rm y; else ls; fi", argv{{"curl", "x"}, {"rm", "y"}, {"ls"}}},
		{"while true; do sleep 1; done &", argv{{"true"}, {"sleep", "1"}}},
		{"! grep -q x f", argv{{"grep", "-q", "x", "f"}}},
		{"for f in a b; do cat $f; done", argv{{"for", "f", "in", "a", "b"}, {"cat", "$f"}}},
		{"f() { curl x; }; f", argv{{"f"}, {"curl", "x"}, {"f"}}},
		{"case $x in a) curl y;; esac", argv{{"case", "$x", "in", "a"}, {"curl", "y"}}},
		// Malformed input never fails.
		{"echo 'unterminated", argv{{"echo", "unterminated"}}},
		{"echo \"open $(curl", argv{{"echo", "open $(curl"}, {"curl"}}},
		{"echo `x", argv{{"echo", "`x"}, {"x"}}},
		{"a ||| b ;;; c", argv{{"a"}, {"b"}, {"c"}}},
		{"\\", nil},
	}
	for _, tt := range tests {
		got := SplitCommand(tt.script)
		if js(got) != js(tt.want) {
			t.Errorf("SplitCommand(%q)\n got %s\nwant %s", tt.script, js(got), js(tt.want))
		}
	}
}

func TestSplitCommandDepthBound(t *testing.T) {
	// Deep nesting is cut off, not followed to a stack overflow.
	s := strings.Repeat("$(", 5000) + "x" + strings.Repeat(")", 5000)
	got := SplitCommand("echo " + s)
	if len(got) == 0 || len(got) > maxLexDepth+2 {
		t.Fatalf("%d commands", len(got))
	}
	s = strings.Repeat("sh -c '", 50)
	_ = SplitCommand(s)
}

func TestUnwrapAssignments(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"A=1", true}, {"_a9=", true}, {"A+=x", true}, {"arr[1]=x", true},
		{"=x", false}, {"1A=x", false}, {"a-b=x", false}, {"--opt=x", false}, {"plain", false},
	}
	for _, tt := range tests {
		if got := isAssignment(tt.in); got != tt.want {
			t.Errorf("isAssignment(%q) = %v", tt.in, got)
		}
	}
}
