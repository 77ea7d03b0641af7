//go:build linux

package sandbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnvAllowed(t *testing.T) {
	cases := []struct {
		kv   string
		want bool
	}{
		{"PATH=/usr/bin", true},
		{"LANG=C.UTF-8", true},
		{"LC_ALL=C", true},
		{"GOFLAGS=-mod=mod", true},
		{"GIT_AUTHOR_NAME=A", true},
		{"TERM=xterm", true},
		{"OPENAI_API_KEY=x", false},
		{"GITHUB_TOKEN=x", false},
		{"MY_SECRET=x", false},
		{"DB_PASSWORD=x", false},
		{"AWS_REGION=eu-west-1", false},
		{"GOOGLE_APPLICATION_CREDENTIALS=/k.json", false},
		{"SSH_AUTH_SOCK=/tmp/agent", false},
		{"DOCKER_HOST=unix:///var/run/docker.sock", false},
		{"OURO_HOME=/home/u/.ouro", false},
		{"GOPROXY=https://user:pw@proxy.example", false},
		{"GOPROXY=https://proxy.golang.org", true},
		{"RANDOM_TOOL_SETTING=1", false}, // not on the allowlist
	}
	for _, c := range cases {
		k, v, _ := strings.Cut(c.kv, "=")
		if got := envAllowed(k, v); got != c.want {
			t.Errorf("envAllowed(%q) = %v, want %v", c.kv, got, c.want)
		}
	}
}

func TestCapture(t *testing.T) {
	cases := []struct {
		name      string
		limit     int
		writes    []string
		want      string
		truncated bool
	}{
		{"fits", 10, []string{"abc", "def"}, "abcdef", false},
		{"exact", 6, []string{"abcdef"}, "abcdef", false},
		{"cut", 6, []string{"abcdefghij"}, "abc\n[... 4 bytes of output omitted ...]\nhij", true},
		{"cut across writes", 6, []string{"ab", "cd", "ef", "gh", "ij"}, "abc\n[... 4 bytes of output omitted ...]\nhij", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp := newCapture(c.limit)
			for _, w := range c.writes {
				_, _ = cp.Write([]byte(w))
			}
			got, tr := cp.Bytes()
			if string(got) != c.want || tr != c.truncated {
				t.Errorf("got %q (truncated %v), want %q (%v)", got, tr, c.want, c.truncated)
			}
		})
	}
}

// TestPlanMounts checks the order and kinds of bubblewrap mounts.
func TestPlanMounts(t *testing.T) {
	root := t.TempDir()
	ws := filepath.Join(root, "home", "u", "ws")
	for _, d := range []string{filepath.Join(ws, ".git", "hooks"), filepath.Join(root, "home", "u", ".ssh")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(ws, ".git", "config"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(root, "home", "u")
	cfg := Config{Workspace: ws, Protected: []string{filepath.Join(ws, ".git", "config"), filepath.Join(ws, ".git", "hooks"), filepath.Join(ws, ".bashrc")}}
	p, err := planMounts(cfg, []string{home}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.args(512<<20), " ")
	want := strings.Join([]string{
		"--tmpfs " + home,
		"--bind " + ws + " " + ws,
		"--bind " + ws + "/.git " + ws + "/.git",
		"--ro-bind " + ws + "/.git/config " + ws + "/.git/config",
		"--ro-bind " + ws + "/.git/hooks " + ws + "/.git/hooks",
	}, " ")
	if !strings.HasSuffix(got, want) {
		t.Errorf("mounts:\n got %s\nwant suffix %s", got, want)
	}
	if strings.Contains(got, ".bashrc") {
		t.Errorf("a missing protected path got a mount: %s", got)
	}
	for _, opt := range []string{"--new-session", "--die-with-parent", "--unshare-all", "--proc /proc", "--tmpfs /tmp"} {
		if !strings.Contains(got, opt) {
			t.Errorf("missing %s in %s", opt, got)
		}
	}
	if _, err := planMounts(Config{Workspace: ws}, []string{ws}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("hiding the workspace itself was accepted")
	}
}
