//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
	"golang.org/x/sys/unix"
)

// TestDaemonsDie checks that processes that left their command's process
// group (setsid, double fork, nohup) are gone once the command returns.
func TestDaemonsDie(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{})
		m := marker(t)
		script := fmt.Sprintf(`setsid sleep %[1]s </dev/null >/dev/null 2>&1 &
(sh -c 'sleep %[1]s &' &) 
nohup sleep %[1]s >/dev/null 2>&1 &
setsid sh -c 'trap "" TERM HUP; exec sleep %[1]s' </dev/null >/dev/null 2>&1 &
echo started`, m)
		res := run(t, s, script)
		if !strings.Contains(string(res.Output), "started") {
			t.Fatalf("script did not run: %s", res.Output)
		}
		if left := hostProcsWith("sleep", m); len(left) > 0 {
			t.Errorf("daemons outlived their command:\n%s", strings.Join(left, "\n"))
		}
		// The sandbox still works afterwards.
		if res := run(t, s, "echo again"); strings.TrimSpace(string(res.Output)) != "again" {
			t.Errorf("next command: %q", res.Output)
		}
	})
}

// TestTimeout checks that the wall-clock limit kills the whole tree.
func TestTimeout(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{})
		m := marker(t)
		res, err := s.Run(context.Background(), ouro.Command{
			Script:  fmt.Sprintf("echo before; (setsid sleep %[1]s &); sleep %[1]s; echo after", m),
			Timeout: 300 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !res.TimedOut || res.Limit != "timeout" || res.ExitCode != -1 || res.Signal != "SIGKILL" {
			t.Errorf("result = %+v; want TimedOut, Limit timeout, exit -1, SIGKILL", res)
		}
		if got := string(res.Output); got != "before\n" {
			t.Errorf("output = %q, want %q", got, "before\n")
		}
		if res.Duration < 300*time.Millisecond || res.Duration > 10*time.Second {
			t.Errorf("duration %v, want about 300ms", res.Duration)
		}
		if left := hostProcsWith("sleep", m); len(left) > 0 {
			t.Errorf("processes outlived the timeout:\n%s", strings.Join(left, "\n"))
		}
	})
}

// TestCancel checks that cancelling the context kills the command.
func TestCancel(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		s := newSandbox(t, mode, Config{Workspace: ws})
		fifo := filepath.Join(ws, "started")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		m := marker(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			// Reading the FIFO blocks until the command has written it.
			_, _ = os.ReadFile(fifo)
			cancel()
		}()
		start := time.Now()
		_, err := s.Run(ctx, ouro.Command{Script: fmt.Sprintf("echo > started; sleep %s", m)})
		if err == nil || !strings.Contains(err.Error(), "cancel") {
			t.Errorf("Run after cancel: err = %v, want a cancellation error", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("cancel took %v", d)
		}
		if left := hostProcsWith("sleep", m); len(left) > 0 {
			t.Errorf("processes outlived the cancellation:\n%s", strings.Join(left, "\n"))
		}
		if res := run(t, s, "echo again"); strings.TrimSpace(string(res.Output)) != "again" {
			t.Errorf("next command: %q", res.Output)
		}
	})
}

// TestKillSwitch checks that Kill ends a running command and its daemons.
func TestKillSwitch(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		s := newSandbox(t, mode, Config{Workspace: ws})
		fifo := filepath.Join(ws, "started")
		if err := unix.Mkfifo(fifo, 0o600); err != nil {
			t.Fatal(err)
		}
		m := marker(t)
		done := make(chan ouro.CommandResult, 1)
		go func() {
			res, _ := s.Run(context.Background(), ouro.Command{Script: fmt.Sprintf("(setsid sleep %[1]s &); echo > started; sleep %[1]s", m)})
			done <- res
		}()
		if _, err := os.ReadFile(fifo); err != nil {
			t.Fatal(err)
		}
		if err := s.Kill(); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.Signal != "SIGKILL" || res.TimedOut {
			t.Errorf("result after Kill = %+v, want SIGKILL", res)
		}
		if left := hostProcsWith("sleep", m); len(left) > 0 {
			t.Errorf("processes outlived Kill:\n%s", strings.Join(left, "\n"))
		}
	})
}

// TestResourceLimits checks each limit with a command that exceeds it.
func TestResourceLimits(t *testing.T) {
	const fileLimit = 1 << 20
	cases := []struct {
		name   string
		limits Limits
		script string
		limit  string
		check  func(t *testing.T, ws string, res ouro.CommandResult)
	}{
		{
			name:   "many processes",
			limits: Limits{Procs: 64, Timeout: 60 * time.Second},
			script: `for i in $(seq 300); do sleep 1000 & done; echo done`,
			limit:  "procs",
			check: func(t *testing.T, _ string, res ouro.CommandResult) {
				if !strings.Contains(string(res.Output), "Cannot fork") {
					t.Errorf("no fork was refused: %.300s", res.Output)
				}
			},
		},
		{
			name:   "memory balloon",
			limits: Limits{Memory: 256 << 20, Timeout: 60 * time.Second},
			script: `tail /dev/zero`,
			limit:  "memory",
			check: func(t *testing.T, _ string, res ouro.CommandResult) {
				if res.ExitCode == 0 {
					t.Errorf("balloon succeeded: %+v", res)
				}
			},
		},
		{
			name:   "file size",
			limits: Limits{FileSize: fileLimit},
			script: `head -c 3000000 /dev/zero > big.bin`,
			limit:  "filesize",
			check: func(t *testing.T, ws string, res ouro.CommandResult) {
				fi, err := os.Stat(filepath.Join(ws, "big.bin"))
				if err != nil || fi.Size() != fileLimit {
					t.Errorf("big.bin: %v, size %d; want %d", err, sizeOf(fi), fileLimit)
				}
			},
		},
		{
			name:   "cpu",
			limits: Limits{CPUTime: time.Second, Timeout: 60 * time.Second},
			script: `while :; do :; done`,
			limit:  "cpu",
			check: func(t *testing.T, _ string, res ouro.CommandResult) {
				if res.Signal != "SIGXCPU" && res.Signal != "SIGKILL" {
					t.Errorf("signal %q, want SIGXCPU or SIGKILL", res.Signal)
				}
			},
		},
	}
	eachMode(t, func(t *testing.T, mode Mode) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ws := t.TempDir()
				s := newSandbox(t, mode, Config{Workspace: ws, Limits: c.limits})
				res := run(t, s, c.script)
				if res.Limit != c.limit {
					t.Errorf("Limit = %q, want %q (result %+v, output %.300s)", res.Limit, c.limit, res, res.Output)
				}
				if res.TimedOut {
					t.Errorf("timed out instead of hitting the %s limit", c.limit)
				}
				if c.check != nil {
					c.check(t, ws, res)
				}
				// Nothing is left and the sandbox still works.
				after := run(t, s, "echo alive")
				if strings.TrimSpace(string(after.Output)) != "alive" {
					t.Errorf("after the limit: %+v %q", after, after.Output)
				}
			})
		}
	})
}

// TestForkBomb checks that a fork bomb is contained: forks are refused
// at the process limit, the timeout ends it, nothing survives and the
// sandbox works afterwards.
func TestForkBomb(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{Limits: Limits{Procs: 64, Timeout: 3 * time.Second}})
		res := run(t, s, `bomb() { bomb | bomb & }; bomb; sleep 2`)
		contained := res.Limit == "procs" || res.TimedOut || strings.Contains(string(res.Output), "Cannot fork")
		if !contained {
			t.Errorf("fork bomb not limited: %+v", res)
		}
		if res.Duration > 30*time.Second {
			t.Errorf("fork bomb took %v to end", res.Duration)
		}
		after := run(t, s, "echo alive")
		if strings.TrimSpace(string(after.Output)) != "alive" {
			t.Errorf("after the bomb: %+v %q", after, after.Output)
		}
	})
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}

// TestOutputCap checks that huge output keeps its head and tail.
func TestOutputCap(t *testing.T) {
	const limit = 1000
	var full bytes.Buffer
	for i := 1; i <= 100000; i++ {
		full.WriteString(strconv.Itoa(i) + "\n")
	}
	want := full.Bytes()
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{Limits: Limits{Output: limit}})
		res := run(t, s, "seq 1 100000")
		if !res.Truncated || res.ExitCode != 0 {
			t.Fatalf("result %+v, want truncated with exit 0", res)
		}
		out := res.Output
		if !bytes.HasPrefix(out, want[:limit/2]) {
			t.Errorf("head = %q, want %q", out[:min(len(out), 40)], want[:40])
		}
		if !bytes.HasSuffix(out, want[len(want)-limit/2:]) {
			t.Errorf("tail = %q, want suffix %q", out[max(0, len(out)-40):], want[len(want)-40:])
		}
		omitted := fmt.Sprintf("[... %d bytes of output omitted ...]", len(want)-limit)
		if !bytes.Contains(out, []byte(omitted)) {
			t.Errorf("output lacks %q", omitted)
		}
	})
	t.Run("runaway stream is stopped", func(t *testing.T) {
		s := newSandbox(t, ModeLandlock, Config{Limits: Limits{Output: limit, Timeout: time.Minute}})
		res := run(t, s, "yes")
		if res.Limit != "output" || !res.Truncated || res.TimedOut {
			t.Errorf("yes: %+v, want Limit output", res)
		}
	})
}

// TestRunOptions covers the working directory, standard input and exit
// codes.
func TestRunOptions(t *testing.T) {
	ws := t.TempDir()
	if err := os.Mkdir(filepath.Join(ws, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t, ModeAuto, Config{Workspace: ws})
	cases := []struct {
		name    string
		cmd     ouro.Command
		out     string
		exit    int
		wantErr string
	}{
		{"pwd root", ouro.Command{Script: "pwd"}, ws + "\n", 0, ""},
		{"pwd sub", ouro.Command{Script: "pwd", Dir: "sub"}, filepath.Join(ws, "sub") + "\n", 0, ""},
		{"stdin", ouro.Command{Script: "tr a-z A-Z", Stdin: []byte("hello")}, "HELLO", 0, ""},
		{"exit code", ouro.Command{Script: "echo x; exit 7"}, "x\n", 7, ""},
		{"stderr merged", ouro.Command{Script: "echo out; echo err >&2"}, "out\nerr\n", 0, ""},
		{"dir escape", ouro.Command{Script: "pwd", Dir: "../.."}, "", -1, "relative to the workspace"},
		{"absolute dir", ouro.Command{Script: "pwd", Dir: "/etc"}, "", -1, "relative to the workspace"},
		{"missing dir", ouro.Command{Script: "pwd", Dir: "nope"}, "", -1, "start /bin/sh"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := s.Run(context.Background(), c.cmd)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Output) != c.out || res.ExitCode != c.exit {
				t.Errorf("got %q exit %d, want %q exit %d", res.Output, res.ExitCode, c.out, c.exit)
			}
		})
	}
}

// TestConcurrency runs commands on several sandboxes at once, and several
// at once on one sandbox (which serialises them).
func TestConcurrency(t *testing.T) {
	var boxes []*Sandbox
	for range 3 {
		boxes = append(boxes, newSandbox(t, ModeAuto, Config{}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i, s := range boxes {
		for j := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				want := fmt.Sprintf("%d-%d", i, j)
				res, err := s.Run(context.Background(), ouro.Command{Script: "echo " + want + " > f; cat f"})
				if err != nil {
					errs <- err
					return
				}
				if got := strings.TrimSpace(string(res.Output)); got != want {
					errs <- fmt.Errorf("sandbox %d: got %q, want %q", i, got, want)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConfigErrors checks that bad configurations are refused clearly.
func TestConfigErrors(t *testing.T) {
	ws := t.TempDir()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no workspace", Config{}, "Workspace is empty"},
		{"relative workspace", Config{Workspace: "ws"}, "not absolute"},
		{"missing workspace", Config{Workspace: filepath.Join(ws, "nope")}, "workspace"},
		{"relative protected", Config{Workspace: ws, Protected: []string{".git"}}, "Protected path \".git\" is not absolute"},
		{"bad env", Config{Workspace: ws, Env: []string{"NOEQUALS"}}, "not KEY=VALUE"},
		{"bad mode", Config{Workspace: ws, Mode: "docker"}, "unknown mode"},
		{"missing writable", Config{Workspace: ws, Writable: []string{filepath.Join(ws, "cache")}, Mode: ModeBwrap}, "does not exist"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(context.Background(), c.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("New succeeded, want error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestClose checks that Close ends the sandbox's processes.
func TestClose(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{})
		pid := s.proc.Process.Pid
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("sandbox process %d alive after Close", pid)
		}
		if _, err := s.Run(context.Background(), ouro.Command{Script: "true"}); err == nil {
			t.Error("Run after Close succeeded")
		}
	})
}
