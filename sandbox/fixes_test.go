//go:build linux

package sandbox

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ouro-run/ouro"
	"golang.org/x/sys/unix"
)

// TestSetIDRefused checks that no command can give a workspace file the
// setuid or setgid bit, which the file would keep on the host.
func TestSetIDRefused(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		s := newSandbox(t, mode, Config{Workspace: ws})
		cases := []struct {
			name, script string
		}{
			{"chmod 6755", "cp /bin/true h1 && chmod 6755 h1"},
			{"chmod u+s", "cp /bin/true h2 && chmod u+s h2"},
			{"chmod g+s", "cp /bin/true h3 && chmod g+s h3"},
			{"install -m 4755", "install -m 4755 /bin/true h4"},
		}
		if _, err := exec.LookPath("python3"); err == nil {
			cases = append(cases,
				struct{ name, script string }{"python os.chmod", `python3 -c "import shutil, os; shutil.copy('/bin/true', 'h5'); os.chmod('h5', 0o6755)"`},
				struct{ name, script string }{"python fchmod", `python3 -c "import os; fd = os.open('h6', os.O_WRONLY|os.O_CREAT, 0o644); os.fchmod(fd, 0o4755)"`},
				struct{ name, script string }{"python open with mode", `python3 -c "import os; os.open('h7', os.O_WRONLY|os.O_CREAT, 0o4755)"`},
			)
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := run(t, s, c.script)
				if res.ExitCode == 0 {
					t.Errorf("%q succeeded: %s", c.script, res.Output)
				}
				name := filepath.Join(ws, "h"+string(rune('1'+i)))
				if fi, err := os.Stat(name); err == nil && fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
					t.Errorf("%q: %s has mode %v on the host", c.script, name, fi.Mode())
				}
			})
		}
		// Ordinary modes still work.
		res := run(t, s, "cp /bin/true ok && chmod 750 ok && ./ok && echo ran")
		if strings.TrimSpace(string(res.Output)) != "ran" {
			t.Fatalf("chmod 750: %+v %s", res, res.Output)
		}
		if fi, err := os.Stat(filepath.Join(ws, "ok")); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("ok: mode %v, %v; want 0750", fi.Mode(), err)
		}
	})
}

// TestMemoryTotal checks that the memory of all a sandbox's processes
// together is capped, and the command reported as stopped by it.
func TestMemoryTotal(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("needs python3")
	}
	eachMode(t, func(t *testing.T, mode Mode) {
		// Three processes of 150 MiB each, each under the per-process
		// limit, 450 MiB together against a total of 300 MiB.
		s := newSandbox(t, mode, Config{Limits: Limits{Memory: 256 << 20, MemoryTotal: 300 << 20}})
		if s.cgroup == nil || s.cgroup.memory == "" {
			t.Skip("no writable memory cgroup here")
		}
		// Each balloon, once up, holds its memory until all three have
		// been up (or 5 s pass), then says "held": the cap must kill at
		// least one, whatever order they start in.
		script := `rm -f up-*; for i in 1 2 3; do python3 -c "
import glob, time
a = b'x' * (150 << 20)
open('up-$i', 'w').close()
print('up', flush=True)
t = time.time()
while len(glob.glob('up-*')) < 3 and time.time() - t < 5:
    time.sleep(0.05)
print('held', flush=True)
" & done; wait; rm -f up-*`
		res := run(t, s, script)
		n := 0
		for _, line := range strings.Split(string(res.Output), "\n") {
			if strings.TrimSpace(line) == "held" {
				n++
			}
		}
		if n >= 3 {
			t.Errorf("all %d balloons of 150 MiB held their memory under a 300 MiB total: %s", n, res.Output)
		}
		if res.Limit != "memory" {
			t.Errorf("Limit = %q, want memory (%+v, %s)", res.Limit, res, res.Output)
		}
		// The sandbox survives and is not charged for the dead balloons.
		res = run(t, s, `python3 -c "a = b'x' * (150 << 20); print('single')"`)
		if strings.TrimSpace(string(res.Output)) != "single" || res.Limit != "" {
			t.Errorf("one 150 MiB process afterwards: %+v %s", res, res.Output)
		}
	})
}

// TestTmpSize checks that the in-memory filesystems of a bubblewrap
// sandbox are capped.
func TestTmpSize(t *testing.T) {
	const capMiB = 8
	s := newSandbox(t, ModeBwrap, Config{Limits: Limits{TmpSize: capMiB << 20}})
	for _, dir := range []string{"/tmp", "/dev/shm", "$HOME"} {
		t.Run(dir, func(t *testing.T) {
			res := run(t, s, "dd if=/dev/zero of="+dir+"/fill bs=1M count=16 2>/dev/null; echo rc=$?; stat -c %s "+dir+"/fill; rm -f "+dir+"/fill")
			lines := strings.Fields(string(res.Output))
			if len(lines) != 2 || lines[0] == "rc=0" {
				t.Fatalf("writing 16 MiB to a %d MiB %s: %q", capMiB, dir, res.Output)
			}
			if lines[1] == "16777216" {
				t.Errorf("%s held 16 MiB under a %d MiB cap", dir, capMiB)
			}
		})
	}
}

// TestDiskGrowth checks that a command filling the disk with many files,
// each under the file size limit, is killed with Limit "disk".
func TestDiskGrowth(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		s := newSandbox(t, mode, Config{Workspace: ws, Limits: Limits{FileSize: 32 << 20, DiskGrowth: 96 << 20}})
		// Space freed on this filesystem by earlier tests returns at the
		// next journal commit and would hide the growth: settle it first.
		if d, err := os.Open(ws); err == nil {
			_ = unix.Syncfs(int(d.Fd()))
			d.Close()
		}
		// Eight files of 32 MiB: 256 MiB against a growth of 96 MiB.
		res, err := s.Run(context.Background(), ouro.Command{Script: "mkdir fill; for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=fill/f$i bs=1M count=32 2>/dev/null; done; echo filled"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Limit != "disk" || strings.Contains(string(res.Output), "filled") {
			t.Errorf("result %+v %q; want Limit disk before the end", res, res.Output)
		}
		var total int64
		entries, _ := os.ReadDir(filepath.Join(ws, "fill"))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil {
				total += fi.Size()
			}
		}
		if total >= 256<<20 {
			t.Errorf("%d bytes were written, want fewer than %d", total, 256<<20)
		}
		_ = os.RemoveAll(filepath.Join(ws, "fill"))
		// A command within the limit is not stopped.
		res = run(t, s, "dd if=/dev/zero of=small bs=1M count=8 2>/dev/null; rm small; echo fine")
		if strings.TrimSpace(string(res.Output)) != "fine" || res.Limit != "" {
			t.Errorf("8 MiB: %+v %q", res, res.Output)
		}
	})
}

// TestHonestWorkBesideProtected checks that ordinary work succeeds in a
// workspace whose root holds protected entries (the .git file of a
// worktree, .ouro), and that those entries survive a command that
// replaces them.
func TestHonestWorkBesideProtected(t *testing.T) {
	eachMode(t, func(t *testing.T, mode Mode) {
		ws := t.TempDir()
		gitFile := filepath.Join(ws, ".git")
		const gitBody = "gitdir: /elsewhere/worktrees/w\n"
		if err := os.WriteFile(gitFile, []byte(gitBody), 0o644); err != nil {
			t.Fatal(err)
		}
		policy := filepath.Join(ws, ".ouro", "policy.yaml")
		if err := os.MkdirAll(filepath.Dir(policy), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(policy, []byte("version: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := newSandbox(t, mode, Config{Workspace: ws, Protected: []string{gitFile, filepath.Join(ws, ".ouro")}})
		honest := []string{
			"mkdir -p internal/mathx && printf 'package mathx\\n' > internal/mathx/mathx.go && cat internal/mathx/mathx.go",
			"echo one > notes.txt && sed -i 's/one/two/' notes.txt && grep -q two notes.txt",
			"mv notes.txt renamed.txt && rm renamed.txt && rm -rf internal",
			`mkdir -p "$TMPDIR/work" && cp .git "$TMPDIR/work/" && ls "$TMPDIR/work" && rm -rf "$TMPDIR/work"`,
		}
		for _, script := range honest {
			res := run(t, s, script)
			if res.ExitCode != 0 || strings.Contains(string(res.Output), "protected") {
				t.Errorf("%q: exit %d: %s", script, res.ExitCode, res.Output)
			}
		}
		attacks := []string{
			"echo 'gitdir: /tmp/evil' > .git",
			"rm -f .git && echo 'gitdir: /tmp/evil' > .git",
			"rm -rf .ouro && mkdir .ouro && echo 'allow: all' > .ouro/policy.yaml",
			"echo evil > .ouro/extra.yaml",
		}
		for _, script := range attacks {
			res := run(t, s, script)
			if b, err := os.ReadFile(gitFile); err != nil || string(b) != gitBody {
				t.Errorf("after %q: .git = %q, %v", script, b, err)
			}
			if b, err := os.ReadFile(policy); err != nil || string(b) != "version: 1\n" {
				t.Errorf("after %q: policy = %q, %v", script, b, err)
			}
			if _, err := os.Stat(filepath.Join(ws, ".ouro", "extra.yaml")); err == nil {
				t.Errorf("after %q: .ouro/extra.yaml exists", script)
			}
			if mode == ModeLandlock && res.ExitCode == 0 && !strings.Contains(string(res.Output), "put back") {
				t.Errorf("after %q: no note in the output: %q", script, res.Output)
			}
		}
	})
}

// TestWorkspaceNosuid checks that bubblewrap binds the workspace nosuid,
// so no set-ID file there gains rights inside the sandbox either.
func TestWorkspaceNosuid(t *testing.T) {
	ws := t.TempDir()
	s := newSandbox(t, ModeBwrap, Config{Workspace: ws})
	res := run(t, s, "grep ' "+ws+" ' /proc/self/mountinfo")
	line := strings.TrimSpace(string(res.Output))
	if line == "" || !strings.Contains(strings.Fields(line)[5], "nosuid") {
		t.Errorf("workspace mount %q is not nosuid", line)
	}
}

// TestLimitDefaults checks the defaults that follow other limits.
func TestLimitDefaults(t *testing.T) {
	cases := []struct {
		name                  string
		in                    Limits
		memTotal, disk, tmpSz int64
	}{
		{"all default", Limits{}, 8 << 30, 4 << 30, 512 << 20},
		{"small limits", Limits{Memory: 1 << 30, FileSize: 256 << 20}, 2 << 30, 1 << 30, 512 << 20},
		{"explicit", Limits{Memory: 1 << 30, MemoryTotal: 3 << 30, DiskGrowth: 5 << 20, TmpSize: 7 << 20}, 3 << 30, 5 << 20, 7 << 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.in.withDefaults()
			if got.MemoryTotal != c.memTotal || got.DiskGrowth != c.disk || got.TmpSize != c.tmpSz {
				t.Errorf("MemoryTotal %d, DiskGrowth %d, TmpSize %d; want %d, %d, %d",
					got.MemoryTotal, got.DiskGrowth, got.TmpSize, c.memTotal, c.disk, c.tmpSz)
			}
		})
	}
	if d := DefaultLimits(); d != d.withDefaults() {
		t.Errorf("DefaultLimits %+v disagrees with the defaults applied to it: %+v", d, d.withDefaults())
	}
}

// TestGuardKeepsHostChanges checks that in Landlock mode a protected file
// the host changed between commands is kept, not put back.
func TestGuardKeepsHostChanges(t *testing.T) {
	ws := t.TempDir()
	gitFile := filepath.Join(ws, ".git")
	if err := os.WriteFile(gitFile, []byte("gitdir: /a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t, ModeLandlock, Config{Workspace: ws, Protected: []string{gitFile}})
	run(t, s, "true")
	if err := os.WriteFile(gitFile, []byte("gitdir: /b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, s, "true")
	run(t, s, "echo 'gitdir: /evil' > .git")
	if b, _ := os.ReadFile(gitFile); string(b) != "gitdir: /b\n" {
		t.Errorf(".git = %q, want the host's change %q", b, "gitdir: /b\n")
	}
}

// TestGuardDoesNotFollowLinks checks that putting a protected path back
// never writes through a symbolic link a command left in its place.
func TestGuardDoesNotFollowLinks(t *testing.T) {
	ws, outside := t.TempDir(), t.TempDir()
	keep := filepath.Join(ws, "conf", "keep.txt")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newSandbox(t, ModeLandlock, Config{Workspace: ws, Protected: []string{keep}})
	res := run(t, s, "mv conf conf2 && ln -s "+outside+" conf")
	if !strings.Contains(string(res.Output), "put back") {
		t.Errorf("no note in the output: %q", res.Output)
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("the guard wrote through the link into %s: %v", outside, entries)
	}
	if fi, err := os.Lstat(filepath.Join(ws, "conf")); err != nil || !fi.IsDir() {
		t.Errorf("conf is not a directory again: %v, %v", fi, err)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "kept\n" {
		t.Errorf("keep.txt = %q, %v", b, err)
	}
}
