//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

func TestMain(m *testing.M) {
	Init()
	os.Exit(m.Run())
}

// isolatedModes are the modes every isolation test runs in.
var isolatedModes = []Mode{ModeBwrap, ModeLandlock}

// newSandbox starts a sandbox in mode for cfg, skipping the test where
// bubblewrap is missing.
func newSandbox(t *testing.T, mode Mode, cfg Config) *Sandbox {
	t.Helper()
	if cfg.Workspace == "" {
		cfg.Workspace = t.TempDir()
	}
	cfg.Mode = mode
	if mode == ModeBwrap {
		if _, err := exec.LookPath("bwrap"); err != nil {
			t.Skip("install bubblewrap (apt-get install bubblewrap)")
		}
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start %s sandbox: %v", mode, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eachMode runs f in a subtest per isolated mode.
func eachMode(t *testing.T, f func(t *testing.T, mode Mode)) {
	for _, m := range isolatedModes {
		t.Run(string(m), func(t *testing.T) { f(t, m) })
	}
}

// run runs script and fails the test on a sandbox error.
func run(t *testing.T, s *Sandbox, script string) ouro.CommandResult {
	t.Helper()
	res, err := s.Run(context.Background(), ouro.Command{Script: script})
	if err != nil {
		t.Fatalf("run %q: %v", script, err)
	}
	return res
}

// marker returns a sleep duration unique to the test, so its processes
// can be found on the host by command line.
func marker(t *testing.T) string {
	return strconv.FormatInt(3_000_000+time.Now().UnixNano()%1_000_000, 10)
}

// hostProcsWith lists host processes whose command line contains all of
// words, the way ps would find them.
func hostProcsWith(words ...string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmd := string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		all := true
		for _, w := range words {
			all = all && strings.Contains(cmd, w)
		}
		if all && !isZombie(mustAtoi(e.Name())) {
			out = append(out, e.Name()+": "+cmd)
		}
	}
	return out
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
