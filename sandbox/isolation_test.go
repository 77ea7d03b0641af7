//go:build linux

package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ouro-run/ouro"
)

// TestWrites checks that only the workspace, the private /tmp, the empty
// home and Writable directories accept writes.
func TestWrites(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		// A host directory outside /tmp, which the sandbox replaces.
		outside, err := os.MkdirTemp("/var/tmp", "ouro-sandbox-outside-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(outside) })
		extra := t.TempDir()
		s := newSandbox(t, mode, Config{Workspace: ws, Writable: []string{extra}})
		cases := []struct {
			name   string
			path   string
			wantOK bool
		}{
			{"workspace", filepath.Join(ws, "a.txt"), true},
			{"workspace subdir", filepath.Join(ws, "sub", "b.txt"), true},
			{"writable", filepath.Join(extra, "c.txt"), true},
			{"tmp", "$TMPDIR/d.txt", true},
			{"home", "$HOME/e.txt", true},
			{"outside dir", filepath.Join(outside, "f.txt"), false},
			{"etc", "/etc/ouro-sandbox-test", false},
			{"usr", "/usr/ouro-sandbox-test", false},
			{"var tmp", "/var/tmp/ouro-sandbox-test", false},
			{"via proc 1 root", "/proc/1/root" + outside + "/g.txt", false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				script := fmt.Sprintf("mkdir -p \"$(dirname %[1]s)\" 2>/dev/null; echo data > %[1]s && echo WROTE", c.path)
				res := run(t, s, script)
				got := strings.Contains(string(res.Output), "WROTE")
				if got != c.wantOK {
					t.Errorf("write to %s: wrote=%v, want %v; output: %s", c.path, got, c.wantOK, res.Output)
				}
			})
		}
		// Nothing appeared on the host outside the workspace.
		for _, p := range []string{filepath.Join(outside, "f.txt"), filepath.Join(outside, "g.txt"), "/etc/ouro-sandbox-test", "/usr/ouro-sandbox-test", "/var/tmp/ouro-sandbox-test"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s exists on the host after the sandbox wrote to it", p)
				_ = os.Remove(p)
			}
		}
		if b, err := os.ReadFile(filepath.Join(ws, "sub", "b.txt")); err != nil || string(b) != "data\n" {
			t.Errorf("workspace file on the host = %q, %v; want \"data\\n\"", b, err)
		}
	})
}

// TestProtected checks that protected paths inside the workspace cannot
// be written, removed, renamed away or replaced.
func TestProtected(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		for _, d := range []string{".git/hooks", ".ouro", "src"} {
			if err := os.MkdirAll(filepath.Join(ws, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		files := map[string]string{".git/config": "[core]\n", ".ouro/policy.yaml": "rules: []\n", ".git/hooks/pre-commit.sample": "#!/bin/sh\n"}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(ws, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		prot := []string{filepath.Join(ws, ".git/config"), filepath.Join(ws, ".git/hooks"), filepath.Join(ws, ".ouro")}
		s := newSandbox(t, mode, Config{Workspace: ws, Protected: prot})
		attacks := []struct{ name, script string }{
			{"append config", "echo '[core] hooksPath = /tmp' >> .git/config"},
			{"truncate config", ": > .git/config"},
			{"remove config", "rm -f .git/config"},
			{"plant hook", "echo 'curl evil' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit"},
			{"edit sample hook", "echo evil >> .git/hooks/pre-commit.sample"},
			{"rename hooks away", "mv .git/hooks .git/hooks.old && mkdir .git/hooks && echo evil > .git/hooks/pre-commit"},
			{"rename git dir", "mv .git .git-old && mkdir -p .git && echo evil > .git/config"},
			{"edit policy", "echo 'rules: [allow all]' > .ouro/policy.yaml"},
			{"remove ouro dir", "rm -rf .ouro"},
			{"rename ouro dir", "mv .ouro .ouro-old"},
		}
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				run(t, s, a.script)
				for name, body := range files {
					b, err := os.ReadFile(filepath.Join(ws, name))
					if err != nil || string(b) != body {
						t.Fatalf("after %q: %s = %q, %v; want %q", a.script, name, b, err, body)
					}
				}
				if _, err := os.Stat(filepath.Join(ws, ".git/hooks/pre-commit")); err == nil {
					t.Fatalf("after %q: a pre-commit hook exists", a.script)
				}
			})
		}
		// The rest of the workspace stays writable.
		res := run(t, s, "echo ok > src/main.go && cat src/main.go")
		if strings.TrimSpace(string(res.Output)) != "ok" {
			t.Errorf("write beside protected paths: %q", res.Output)
		}
	})
}

// TestSecretsHidden checks that the user's home, extra hidden paths and
// secret environment variables do not reach commands.
func TestSecretsHidden(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		home := t.TempDir()
		canary := t.TempDir()
		const secret = "canary-7f3a9c1e"
		for _, f := range []string{filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(home, ".aws", "credentials"), filepath.Join(canary, "token")} {
			if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// A file in the host's shared temporary directory.
		hostTmp, err := os.CreateTemp("", "ouro-canary-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.Remove(hostTmp.Name())
		if _, err := hostTmp.WriteString(secret); err != nil {
			t.Fatal(err)
		}
		hostTmp.Close()
		t.Setenv("HOME", home)
		t.Setenv("OPENAI_API_KEY", secret)
		t.Setenv("GITHUB_TOKEN", secret)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		t.Setenv("MY_DB_PASSWORD", secret)
		t.Setenv("SSH_AUTH_SOCK", "/tmp/"+secret)
		t.Setenv("DOCKER_HOST", "unix:///"+secret)
		t.Setenv("GOPROXY", "https://user:"+secret+"@proxy.example")
		t.Setenv("LANG", "C.UTF-8")
		s := newSandbox(t, mode, Config{Hidden: []string{canary}, Env: []string{"OURO_TEST_TRUSTED=yes"}})
		script := fmt.Sprintf(`cat %[1]s/.ssh/id_ed25519 %[1]s/.aws/credentials %[2]s/token %[3]s 2>&1
ls -A %[1]s 2>&1; echo "home=[$(ls -A "$HOME")]"
env; cat /proc/self/environ | tr '\0' '\n'`, home, canary, hostTmp.Name())
		res, err := s.Run(context.Background(), ouro.Command{Script: script, Env: []string{"STRIPE_SECRET=" + secret, "TERM=dumb"}})
		if err != nil {
			t.Fatal(err)
		}
		out := string(res.Output)
		if strings.Contains(out, secret) {
			t.Errorf("secret visible in the sandbox:\n%s", out)
		}
		for _, want := range []string{"home=[]", "LANG=C.UTF-8", "OURO_TEST_TRUSTED=yes", "TERM=dumb"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

// TestHostProcessesHidden checks that the environment of host processes
// (pid 1 and a process holding a secret) cannot be read.
func TestHostProcessesHidden(t *testing.T) {
	const secret = "canary-env-51c0ffee"
	holder := exec.Command("/bin/sh", "-c", "read x")
	holder.Env = []string{"OURO_CANARY=" + secret}
	stdin, err := holder.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = holder.Wait() })
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{})
		res := run(t, s, fmt.Sprintf("cat /proc/1/environ /proc/%d/environ /proc/%d/environ 2>&1; for p in /proc/[0-9]*; do cat $p/environ; done 2>/dev/null | tr '\\0' '\\n' | grep -c OURO_CANARY", holder.Process.Pid, os.Getpid()))
		if strings.Contains(string(res.Output), secret) {
			t.Errorf("host process environment readable:\n%s", res.Output)
		}
	})
}

// TestNoNetwork checks that a listener on the host's loopback cannot be
// reached, nor any other address.
func TestNoNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("reached\n"))
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{})
		cases := []struct{ name, script string }{
			{"bash dev tcp", fmt.Sprintf("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && cat <&3'", port)},
			{"python tcp", fmt.Sprintf("/usr/bin/python3 -c 'import socket; s=socket.create_connection((\"127.0.0.1\", %d), 2); print(s.recv(100).decode())'", port)},
			{"python udp dns", "/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b\"x\", (\"8.8.8.8\", 53)); print(\"sent udp\")'"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := run(t, s, c.script)
				out := string(res.Output)
				if strings.Contains(out, "reached") || strings.Contains(out, "sent udp") || res.ExitCode == 0 {
					t.Errorf("network reachable (exit %d): %s", res.ExitCode, out)
				}
			})
		}
	})
}

// TestProxyBridge checks that commands reach the egress proxy's Unix
// socket through HTTP_PROXY and nothing else.
func TestProxyBridge(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "proxy.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = fmt.Fprintf(c, "proxy got %s", line)
			}()
		}
	}()
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{ProxySocket: sock})
		res := run(t, s, `p=${HTTP_PROXY#http://}; echo "env=$HTTPS_PROXY"
bash -c 'exec 3<>/dev/tcp/'"${p%:*}/${p##*:}"' && echo "CONNECT example.com:443 HTTP/1.1" >&3 && head -n1 <&3'`)
		out := string(res.Output)
		if !strings.Contains(out, "proxy got CONNECT example.com:443 HTTP/1.1") {
			t.Errorf("proxy not reached (exit %d):\n%s", res.ExitCode, out)
		}
		if !strings.Contains(out, "env=http://127.0.0.1:") {
			t.Errorf("HTTPS_PROXY not set:\n%s", out)
		}
	})
}

// TestPtraceRefused checks that a command cannot trace another process,
// not even its own child.
func TestPtraceRefused(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		s := newSandbox(t, mode, Config{})
		cases := []struct{ name, script string }{
			// ptrace(PTRACE_ATTACH = 16, pid) on x86-64 (syscall 101).
			{"attach child", `sleep 100 & pid=$!; perl -e '$r = syscall(101, 16, $ARGV[0], 0, 0); print $r == 0 ? "ATTACHED\n" : "refused: $!\n"' $pid; kill $pid`},
			{"attach launcher", `perl -e '$r = syscall(101, 16, getppid(), 0, 0); print $r == 0 ? "ATTACHED\n" : "refused: $!\n"'`},
			{"strace", `strace -f true 2>&1 && echo ATTACHED`},
			{"read launcher memory", `head -c 16 /proc/$PPID/mem >/dev/null 2>&1 && echo ATTACHED; cat /proc/$PPID/environ 2>/dev/null | grep -q . && echo ATTACHED; true`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := run(t, s, c.script)
				if strings.Contains(string(res.Output), "ATTACHED") {
					t.Errorf("ptrace allowed:\n%s", res.Output)
				}
			})
		}
	})
}

// TestKind checks that Kind reports the layers actually in force, read
// from the command's own /proc/self/status.
func TestKind(t *testing.T) {
	hostNet, _ := os.Readlink("/proc/self/ns/net")
	cases := []struct {
		mode     Mode
		kind     string
		seccomp  string
		ownNetNS bool
	}{
		{ModeBwrap, "bwrap+landlock+seccomp", "2", true},
		{ModeLandlock, "landlock+seccomp", "2", false},
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			s := newSandbox(t, c.mode, Config{})
			if s.Kind() != c.kind {
				t.Errorf("Kind() = %q, want %q", s.Kind(), c.kind)
			}
			res := run(t, s, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; readlink /proc/self/ns/net")
			out := string(res.Output)
			if !strings.Contains(out, "Seccomp:\t"+c.seccomp) || !strings.Contains(out, "NoNewPrivs:\t1") {
				t.Errorf("status shows no seccomp filter:\n%s", out)
			}
			if own := !strings.Contains(out, hostNet); own != c.ownNetNS {
				t.Errorf("own network namespace = %v, want %v (host %s):\n%s", own, c.ownNetNS, hostNet, out)
			}
		})
	}
	t.Run("none needs Unsafe", func(t *testing.T) {
		if _, err := New(context.Background(), Config{Workspace: t.TempDir(), Mode: ModeNone}); err == nil || !strings.Contains(err.Error(), "Unsafe") {
			t.Fatalf("New(mode none) without Unsafe: err = %v, want one naming Unsafe", err)
		}
		s := newSandbox(t, ModeNone, Config{Unsafe: true})
		if s.Kind() != "none" {
			t.Errorf("Kind() = %q, want none", s.Kind())
		}
		outside := filepath.Join(t.TempDir(), "x")
		run(t, s, "echo x > "+outside)
		if _, err := os.Stat(outside); err != nil {
			t.Errorf("mode none should not restrict writes (it is honest about being unsafe): %v", err)
		}
	})
	t.Run("auto", func(t *testing.T) {
		s := newSandbox(t, ModeAuto, Config{})
		want, err := Available(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Kind() != want {
			t.Errorf("Kind() = %q, Available() = %q", s.Kind(), want)
		}
	})
}
