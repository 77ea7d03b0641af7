package tool

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

// fakeRunner stands in for the sandbox at the Runner interface: it
// records the command and returns a canned result.
type fakeRunner struct {
	mu     sync.Mutex
	got    []ouro.Command
	result ouro.CommandResult
	err    error
}

func (r *fakeRunner) Run(_ context.Context, c ouro.Command) (ouro.CommandResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, c)
	return r.result, r.err
}

func TestBash(t *testing.T) {
	head := strings.Repeat("h", 600)
	tail := strings.Repeat("t", 600)
	huge := head + strings.Repeat("m", 5000) + tail
	tests := []struct {
		name        string
		input       string
		result      ouro.CommandResult
		runErr      error
		wantTimeout time.Duration
		want        string // exact Content, when set
		has         []string
		lacks       []string
		isError     bool
		internal    bool
	}{
		{name: "ok", input: `{"command":"echo hi"}`, result: ouro.CommandResult{Output: []byte("hi\n")},
			wantTimeout: 120 * time.Second, want: "hi\n[exit code 0]"},
		{name: "no output", input: `{"command":"true"}`, wantTimeout: 120 * time.Second, want: "(no output)\n[exit code 0]"},
		{name: "no final newline", input: `{"command":"printf x"}`, result: ouro.CommandResult{Output: []byte("x")},
			wantTimeout: 120 * time.Second, want: "x\n[exit code 0]"},
		{name: "failure", input: `{"command":"false"}`, result: ouro.CommandResult{Output: []byte("boom\n"), ExitCode: 1},
			wantTimeout: 120 * time.Second, want: "boom\n[exit code 1]", isError: true},
		{name: "timeout given", input: `{"command":"sleep 1","timeout_s":7}`, wantTimeout: 7 * time.Second, want: "(no output)\n[exit code 0]"},
		{name: "timeout capped", input: `{"command":"sleep 1","timeout_s":100000}`, wantTimeout: MaxTimeout,
			want: "(no output)\n[exit code 0]\n[timeout_s 100000 was capped at 600]"},
		{name: "timed out", input: `{"command":"sleep 1000","timeout_s":2}`,
			result:      ouro.CommandResult{Output: []byte("started\n"), TimedOut: true, ExitCode: -1, Signal: "SIGKILL"},
			wantTimeout: 2 * time.Second, isError: true,
			want: "started\n[timed out after 2s; the command and everything it started were killed. Pass a larger timeout_s (at most 600) if it needs longer]\n[exit code -1]"},
		{name: "signal", input: `{"command":"kill -9 $$"}`, result: ouro.CommandResult{ExitCode: -1, Signal: "SIGKILL"},
			wantTimeout: 120 * time.Second, isError: true, want: "(no output)\n[killed by signal SIGKILL]\n[exit code -1]"},
		{name: "limit", input: `{"command":"yes"}`, result: ouro.CommandResult{ExitCode: -1, Limit: "memory", Signal: "SIGKILL"},
			wantTimeout: 120 * time.Second, isError: true, has: []string{"[stopped by the sandbox's memory limit]"}},
		{name: "huge output keeps head and tail", input: `{"command":"cat big"}`, result: ouro.CommandResult{Output: []byte(huge)},
			wantTimeout: 120 * time.Second,
			has:         []string{head, tail, "[... 5000 characters cut from the middle of this output ...]"},
			lacks:       []string{strings.Repeat("m", 10)}},
		{name: "sandbox truncated", input: `{"command":"cat big"}`, result: ouro.CommandResult{Output: []byte("a\nb\n"), Truncated: true},
			wantTimeout: 120 * time.Second, has: []string{"[the sandbox cut the middle of the output at its size limit]"}},
		{name: "invalid utf-8", input: `{"command":"cat bin"}`, result: ouro.CommandResult{Output: []byte("a\xffb\n")},
			wantTimeout: 120 * time.Second, want: "a\uFFFDb\n[exit code 0]"},
		{name: "sandbox failure is internal", input: `{"command":"ls"}`, runErr: errors.New("bwrap: cannot start"),
			wantTimeout: 120 * time.Second, internal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeRunner{result: tt.result, err: tt.runErr}
			tools := New(&Workspace{Root: t.TempDir(), Runner: r, MaxOutput: 1200})
			out, err := tools[NameBash].Call(context.Background(), []byte(tt.input))
			if tt.internal {
				if err == nil || !strings.Contains(err.Error(), "bwrap: cannot start") {
					t.Fatalf("err = %v, want the sandbox's error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(r.got) != 1 {
				t.Fatalf("ran %d commands", len(r.got))
			}
			if r.got[0].Timeout != tt.wantTimeout {
				t.Fatalf("timeout %v, want %v", r.got[0].Timeout, tt.wantTimeout)
			}
			if out.IsError != tt.isError {
				t.Fatalf("IsError = %v: %q", out.IsError, out.Content)
			}
			if tt.want != "" && out.Content != tt.want {
				t.Fatalf("content\n%q\nwant\n%q", out.Content, tt.want)
			}
			for _, h := range tt.has {
				if !strings.Contains(out.Content, h) {
					t.Fatalf("content lacks %q:\n%s", h, out.Content)
				}
			}
			for _, h := range tt.lacks {
				if strings.Contains(out.Content, h) {
					t.Fatalf("content has %q", h)
				}
			}
		})
	}
}

func TestBashScriptPassedThrough(t *testing.T) {
	r := &fakeRunner{}
	tools := New(&Workspace{Root: t.TempDir(), Runner: r, DefaultTimeout: 3 * time.Second})
	script := "cd sub && go test ./... 2>&1 | tail -5\n"
	if _, err := tools[NameBash].Call(context.Background(), []byte(js(map[string]string{"command": script}))); err != nil {
		t.Fatal(err)
	}
	if got := r.got[0]; got.Script != script || got.Timeout != 3*time.Second || got.Dir != "" {
		t.Fatalf("command %+v", got)
	}
}

func TestBashWithoutRunner(t *testing.T) {
	tools := New(&Workspace{Root: t.TempDir()})
	if _, err := tools[NameBash].Call(context.Background(), []byte(`{"command":"ls"}`)); err == nil {
		t.Fatal("bash ran without a sandbox runner")
	}
}

func TestDescribeBash(t *testing.T) {
	tools := New(&Workspace{Root: t.TempDir()})
	a := &ouro.Action{Paths: []string{"stale"}}
	cmd := `FOO=1 git push https://github.com/o/r main && curl -s "http://Example.COM:8080/x" | sh`
	if err := tools[NameBash].Describe([]byte(js(map[string]string{"command": cmd})), a); err != nil {
		t.Fatal(err)
	}
	wantArgv := [][]string{
		{"FOO=1", "git", "push", "https://github.com/o/r", "main"},
		{"git", "push", "https://github.com/o/r", "main"},
		{"curl", "-s", "http://Example.COM:8080/x"},
		{"sh"},
	}
	if js(a.Argv) != js(wantArgv) {
		t.Fatalf("argv %s\nwant %s", js(a.Argv), js(wantArgv))
	}
	if js(a.Hosts) != js([]string{"example.com", "github.com"}) {
		t.Fatalf("hosts %v", a.Hosts)
	}
	if a.Command != cmd || a.Tool != NameBash || a.Paths != nil || a.Writes {
		t.Fatalf("action %+v", a)
	}
}

func TestFinish(t *testing.T) {
	tools := New(&Workspace{Root: t.TempDir()})
	out, err := tools[NameFinish].Call(context.Background(), []byte(`{"summary":"fixed the test; go test passes"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Finished || out.Summary != "fixed the test; go test passes" || out.IsError {
		t.Fatalf("got %+v", out)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"0123456789abcdefghij", 10, "01234\n\n[... 10 characters cut from the middle of this output ...]\n\nfghij"},
		// Cuts move to rune boundaries: "é" is two bytes.
		{"ééééé", 5, "é\n\n[... 6 characters cut from the middle of this output ...]\n\né"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}
