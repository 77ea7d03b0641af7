package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// accelRepo makes a small repository: Ann's human commit in January 2024,
// an assisted one in April 2024.
func accelRepo(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "gitconfig"))
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(t.TempDir()))
	dir := t.TempDir()
	run := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run(nil, "init", "-q", "-b", "main")
	commit := func(date, file, content, msg string) {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		run(nil, "add", "-A")
		ts := date + "T10:00:00Z"
		run([]string{"GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com", "GIT_AUTHOR_DATE=" + ts,
			"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com", "GIT_COMMITTER_DATE=" + ts}, "commit", "-q", "-m", msg)
	}
	commit("2024-01-15", "a.go", "one\ntwo\n", "Add a")
	commit("2024-04-15", "b.go", "one\ntwo\nthree\nfour\n", "Add b\n\nCo-authored-by: Claude <noreply@anthropic.com>")
	return dir
}

func runAccel(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: os.Getenv}
	code := dispatch(context.Background(), e, append([]string{"accel"}, args...))
	return code, out.String(), errb.String()
}

func TestAccelCommand(t *testing.T) {
	repo := accelRepo(t)
	empty := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", empty).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	notRepo := t.TempDir()
	badCfg := t.TempDir() + "/bad.yaml"
	os.WriteFile(badCfg, []byte("accel: [unclosed\n"), 0o644)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring expected on stdout
		stderr string // substring expected on stderr
	}{
		{"help", []string{"--help"}, exitOK, "Exit codes:", ""},
		{"unknown flag", []string{"--nope"}, exitUsage, "", "flag provided but not defined"},
		{"stray argument", []string{"--repo", repo, "extra"}, exitUsage, "", "unexpected argument"},
		{"bad period", []string{"--repo", repo, "--by", "fortnight"}, exitUsage, "", "use quarter, month or week"},
		{"bad date", []string{"--repo", repo, "--since", "03/04/2021"}, exitUsage, "", "use YYYY-MM-DD"},
		{"until before since", []string{"--repo", repo, "--since", "2024-05-01", "--until", "2024-01-01"}, exitUsage, "", "before --since"},
		{"bad baseline", []string{"--repo", repo, "--baseline", "2021Q1"}, exitUsage, "", "FROM..TO"},
		{"bad format", []string{"--repo", repo, "--format", "pdf"}, exitUsage, "", "use table, json"},
		{"not a repository", []string{"--repo", notRepo}, exitUsage, "", "not a git repository"},
		{"unknown branch", []string{"--repo", repo, "--branch", "nope"}, exitUsage, "", "unknown branch"},
		{"empty baseline", []string{"--repo", repo, "--baseline", "2001Q1..2001Q4"}, exitUsage, "", "baseline window has no commits"},
		{"bad config", []string{"--repo", repo, "--config", badCfg}, exitUsage, "", "parse config"},
		{"empty repository", []string{"--repo", empty}, exitFail, "", "no commits"},
		{"nothing in range", []string{"--repo", repo, "--since", "2030"}, exitFail, "", "no commits in the requested range"},
		{"table", []string{"--repo", repo, "--by", "month", "--now", "2024-04-30"}, exitOK, "2024-04", ""},
		{"explain", []string{"--repo", repo, "--explain", "HEAD"}, exitOK, "kind      assisted", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runAccel(t, c.args...)
			if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errs, c.stderr) {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, out, errs)
			}
		})
	}
}

func TestAccelCommandOutputs(t *testing.T) {
	repo := accelRepo(t)
	code, out, errs := runAccel(t, "--repo", repo, "--format", "json", "--by", "quarter", "--baseline", "2024Q1..2024Q1", "--now", "2024-06-30")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Schema  string
		Periods []struct {
			Period     string
			Added      int
			Multiplier *float64
			Kinds      map[string]struct{ Commits, Added int }
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// 2024Q1: 2 lines over 13 weeks; 2024Q2: 4 lines over 13 weeks = 2x.
	if doc.Schema != "ouro.accel/v1" || len(doc.Periods) != 2 || doc.Periods[1].Kinds["assisted"].Added != 4 ||
		doc.Periods[1].Multiplier == nil || *doc.Periods[1].Multiplier < 1.99 || *doc.Periods[1].Multiplier > 2.01 {
		t.Errorf("json: %s", out)
	}
	for ext, marker := range map[string]string{".svg": "<svg", ".html": "<table>", ".csv": "period,start,end"} {
		path := filepath.Join(t.TempDir(), "report"+ext)
		if code, _, errs := runAccel(t, "--repo", repo, "--out", path); code != exitOK {
			t.Fatalf("%s: exit %d: %s", ext, code, errs)
		}
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), marker) {
			t.Errorf("%s: %v, output lacks %q", ext, err, marker)
		}
	}
	// Config extends the identity table: Ann becomes an agent identity.
	os.MkdirAll(filepath.Join(repo, ".ouro"), 0o755)
	os.WriteFile(filepath.Join(repo, ".ouro", "config.yaml"), []byte("accel:\n  identities:\n    agent:\n      emails: [ann@example.com]\n"), 0o644)
	code, out, errs = runAccel(t, "--repo", repo, "--explain", "HEAD~1")
	if code != exitOK || !strings.Contains(out, "kind      agent") {
		t.Errorf("config identities: exit %d\n%s%s", code, out, errs)
	}
}
