package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testEnv isolates git from the machine's configuration: HOME and the
// global config point into a temporary directory, no system config.
// It returns the global config path.
func testEnv(tb testing.TB) string {
	tb.Helper()
	home := tb.TempDir()
	global := filepath.Join(home, ".gitconfig")
	tb.Setenv("HOME", home)
	tb.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	tb.Setenv("GIT_CONFIG_GLOBAL", global)
	tb.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	writeFile(tb, global, "[init]\n\tdefaultBranch = main\n[user]\n\tname = Test User\n\temail = test@example.com\n")
	return global
}

// tgit runs plain git (not the package's runner) and returns trimmed stdout.
func tgit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	out, err := tgitErr(dir, args...)
	if err != nil {
		tb.Fatalf("git %s in %s: %v", strings.Join(args, " "), dir, err)
	}
	return out
}

func tgitErr(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, stderr.String())
	}
	return strings.TrimRight(string(out), "\n"), nil
}

func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func readFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func fileHash(tb testing.TB, path string) string {
	tb.Helper()
	s := sha256.Sum256([]byte(readFile(tb, path)))
	return hex.EncodeToString(s[:])
}

// newRepo makes a repository with files committed in one commit.
func newRepo(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "repo")
	tgit(tb, "", "init", "-q", dir)
	for name, content := range files {
		writeFile(tb, filepath.Join(dir, name), content)
	}
	tgit(tb, dir, "add", "-A")
	tgit(tb, dir, "commit", "-q", "-m", "initial")
	return dir
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
