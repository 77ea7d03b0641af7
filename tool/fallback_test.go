package tool

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/sys/unix"
)

const childEnv = "OURO_TOOL_TEST_NO_OPENAT2"

// TestOpenat2Unavailable runs the file tools in a child process whose
// seccomp filter makes openat2 fail with EPERM, as some container runtimes
// do, and checks they notice and fall back to the walk on their own.
func TestOpenat2Unavailable(t *testing.T) {
	if !seccomp.Supported() {
		t.Skip("seccomp not supported")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenat2UnavailableChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestOpenat2UnavailableChild") {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func TestOpenat2UnavailableChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestOpenat2Unavailable")
	}
	err := seccomp.LoadFilter(seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls:      []seccomp.SyscallGroup{{Action: seccomp.ActionErrno, Names: []string{"openat2"}}},
		},
	})
	if err != nil {
		t.Fatalf("load seccomp filter: %v", err)
	}
	if _, err := unix.Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{Flags: unix.O_PATH}); !errors.Is(err, unix.EPERM) {
		t.Fatalf("openat2 still works (%v); the filter did not load", err)
	}
	f := newFixture(t, false) // openat2 mode: it has to find out by itself
	f.write("sub/a.txt", "hello\n")
	f.symlink(f.secret, "abs-link")
	f.symlink(f.outside, "dir-link")
	f.symlink(".ouro", "alias")
	if out := f.call(NameReadFile, `{"path":"sub/a.txt"}`); out.Content != "    1\thello\n" {
		t.Fatalf("read: %+v", out)
	}
	if out := f.call(NameWriteFile, `{"path":"sub/new/b.txt","content":"x\n"}`); out.IsError || f.read("sub/new/b.txt") != "x\n" {
		t.Fatalf("write: %+v", out)
	}
	if out := f.call(NameReadFile, `{"path":"nope"}`); out.Content != "nope: no such file or directory" {
		t.Fatalf("missing file: %+v", out)
	}
	for _, p := range []string{"abs-link", "dir-link/secret", "../outside/secret"} {
		for _, name := range []string{NameReadFile, NameWriteFile, NameGrep} {
			input := map[string]string{"path": p}
			switch name {
			case NameGrep:
				input["pattern"] = "x"
			case NameWriteFile:
				input["content"] = "pwned"
			}
			if out := f.call(name, js(input)); !out.IsError || !strings.Contains(out.Content, "path escapes the workspace") {
				t.Errorf("%s %s: %+v", name, p, out)
			}
		}
	}
	if out := f.call(NameWriteFile, `{"path":"alias/policy.yaml","content":"x"}`); !strings.Contains(out.Content, "is protected") {
		t.Errorf("protected: %+v", out)
	}
	f.checkSecret()
}
