package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/sandbox"
)

// ouroBin is the ouro binary built once for the tests that need a real
// process (kill -9, signals, a second terminal).
var ouroBin string

// sharedCache is the sandboxes' Go build cache, shared by the tests so
// that each run does not rebuild the standard library.
var sharedCache string

func TestMain(m *testing.M) {
	sandbox.Init()
	dir, err := os.MkdirTemp("", "ouro-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ouroBin = filepath.Join(dir, "ouro")
	sharedCache = filepath.Join(dir, "gocache")
	if out, err := exec.Command("go", "build", "-o", ouroBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ouro: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is one test's machine: a state directory, a fake home, a repo.
type world struct {
	t    *testing.T
	home string // OURO_HOME
	user string // HOME, with a canary secret
	repo string
	env  []string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, home: t.TempDir(), user: t.TempDir(), repo: filepath.Join(t.TempDir(), "repo")}
	os.MkdirAll(filepath.Join(w.user, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(w.user, ".ssh", "id_ed25519"), []byte("CANARY-SECRET-KEY"), 0o600)
	w.env = append(os.Environ(), "OURO_HOME="+w.home, "HOME="+w.user, "XDG_CONFIG_HOME="+filepath.Join(w.user, ".config"),
		"GIT_CONFIG_NOSYSTEM=1", "NO_COLOR=1", "GOFLAGS=", "GOTOOLCHAIN=local", "OURO_GOCACHE="+sharedCache)
	return w
}

func (w *world) getenv(k string) string {
	for i := len(w.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(w.env[i], k+"="); ok {
			return v
		}
	}
	return ""
}

// fixture writes a Go repository whose test fails, and commits it.
func (w *world) fixture() {
	w.t.Helper()
	files := map[string]string{
		"go.mod":       "module example.com/calc\n\ngo 1.22\n",
		"calc.go":      "package calc\n\n// Add returns a+b.\nfunc Add(a, b int) int {\n\treturn a - b\n}\n",
		"calc_test.go": "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 3) != 5 {\n\t\tt.Fatal(\"Add(2, 3) != 5\")\n\t}\n}\n",
	}
	os.MkdirAll(w.repo, 0o755)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(w.repo, name), []byte(body), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	w.git("init", "-q", "-b", "main")
	w.git("add", "-A")
	w.git("-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", "calc")
}

func (w *world) git(args ...string) string {
	w.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", w.repo}, args...)...)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (w *world) script(name, body string) string {
	w.t.Helper()
	p := filepath.Join(w.t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// ouro runs a command in-process and returns its exit code and output.
func (w *world) ouro(args ...string) (int, string, string) {
	w.t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: w.getenv}
	code := dispatch(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// start runs the ouro binary in the background with --json and returns
// the process and a channel of its events.
func (w *world) start(args ...string) (*exec.Cmd, <-chan ouro.Event, *bytes.Buffer) {
	w.t.Helper()
	cmd := exec.Command(ouroBin, args...)
	cmd.Env = w.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		w.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	ch := make(chan ouro.Event, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var ev ouro.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				ch <- ev
			}
		}
	}()
	w.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, ch, &stderr
}

// waitFor reads events until one matches.
func waitFor(t *testing.T, ch <-chan ouro.Event, match func(ouro.Event) bool) ouro.Event {
	t.Helper()
	for ev := range ch {
		if match(ev) {
			return ev
		}
	}
	t.Fatal("the process ended before the awaited event")
	return ouro.Event{}
}

// interrupted lists the runs once none shows as running: after a kill -9
// a run's lease is free when the last process holding it has exited, and
// the sandbox's processes die with ouro, but not in the same instant. It
// gives up after two seconds.
func (w *world) interrupted(n int) []ouro.Run {
	w.t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		rs := w.runs()
		running := 0
		for _, r := range rs {
			if r.Status == ouro.StatusRunning {
				running++
			}
		}
		if (running == 0 && len(rs) == n) || time.Now().After(deadline) {
			return rs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (w *world) runs() []ouro.Run {
	w.t.Helper()
	code, out, errs := w.ouro("runs", "--json")
	if code != 0 {
		w.t.Fatalf("runs: %d %s", code, errs)
	}
	var rs []ouro.Run
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		w.t.Fatalf("runs --json: %v\n%s", err, out)
	}
	return rs
}

const fixScript = `{"text": "Running the tests.", "tool_calls": [{"name": "bash", "input": {"command": "go test ./..."}}]}
{"expect": "FAIL", "tool_calls": [{"name": "read_file", "input": {"path": "calc.go"}}]}
{"expect": "a - b", "tool_calls": [{"name": "edit_file", "input": {"path": "calc.go", "old": "return a - b", "new": "return a + b"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "go test ./..."}}]}
{"expect": "ok", "tool_calls": [{"name": "finish", "input": {"summary": "Add added wrongly; fixed"}}]}
`

func TestRunEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	statusBefore := w.git("status", "--porcelain")
	headBefore := w.git("rev-parse", "HEAD")
	code, out, errs := w.ouro("run", "--repo", w.repo, "--model", "script:"+w.script("fix.jsonl", fixScript), "fix the failing test")
	if code != exitOK {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	rs := w.runs()
	if len(rs) != 1 {
		t.Fatalf("runs = %+v", rs)
	}
	r := rs[0]
	if r.Status != ouro.StatusFinished || r.Branch != "ouro/"+r.ID || r.Task != "fix the failing test" || r.Agent != "coder" || r.ToolCalls != 5 {
		t.Fatalf("run = %+v", r)
	}
	// The branch holds the fix; the user's tree, index and HEAD do not.
	if got := w.git("show", r.Branch+":calc.go"); !strings.Contains(got, "return a + b") {
		t.Fatalf("branch calc.go = %s", got)
	}
	msg := w.git("log", "-1", "--format=%B", r.Branch)
	for _, want := range []string{"Ouro-Run: " + r.ID, "Co-Authored-By: ", "noreply@ouro.invalid", "fix the failing test"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(w.repo, "calc.go")); !strings.Contains(string(b), "a - b") {
		t.Error("the user's calc.go changed")
	}
	if w.git("status", "--porcelain") != statusBefore || w.git("rev-parse", "HEAD") != headBefore {
		t.Error("the user's working tree or HEAD changed")
	}
	// The transcript, both ways.
	code, out, _ = w.ouro("log", r.ID)
	if code != 0 || !strings.Contains(out, "edit_file") || !strings.Contains(out, "+\treturn a + b") {
		t.Errorf("log:\n%s", out)
	}
	code, out, _ = w.ouro("log", "--json", r.ID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first, last ouro.Event
	json.Unmarshal([]byte(lines[0]), &first)
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if code != 0 || first.Type != ouro.EventRunStarted || last.Type != ouro.EventRunFinished {
		t.Errorf("log --json: first %s last %s", first.Type, last.Type)
	}
	if code, out, _ := w.ouro("verify"); code != 0 || !strings.Contains(out, "intact") {
		t.Fatalf("verify: %d %s", code, out)
	}
}

// TestVerifyNamesTampering edits the stored journal behind ouro's back.
func TestVerifyNamesTampering(t *testing.T) {
	cases := []struct {
		name  string
		stmts []string
		want  string
	}{
		{"flip a byte", []string{`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), 'a - b', 'a + b') AS BLOB) WHERE seq = (SELECT min(seq) FROM events WHERE type = 'tool.result' AND CAST(data AS TEXT) LIKE '%a - b%')`}, "event"},
		{"delete one", []string{`DELETE FROM events WHERE seq = 5`}, "5"},
		{"swap two", []string{`UPDATE events SET seq = -1 WHERE seq = 3`, `UPDATE events SET seq = 3 WHERE seq = 4`, `UPDATE events SET seq = 4 WHERE seq = -1`}, "3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.fixture()
			if code, _, errs := w.ouro("run", "--repo", w.repo, "--model", "script:"+w.script("fix.jsonl", fixScript), "fix"); code != 0 {
				t.Fatalf("run: %s", errs)
			}
			db, err := sql.Open("sqlite", filepath.Join(w.home, "journal.db"))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.stmts {
				res, err := db.Exec(s)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("%s touched %d rows", s, n)
				}
			}
			db.Close()
			code, out, _ := w.ouro("verify")
			if code != exitFail || !strings.Contains(out, "TAMPERED") || !strings.Contains(out, c.want) {
				t.Fatalf("verify after %s: exit %d\n%s", c.name, code, out)
			}
		})
	}
}

// countingScript appends each step's name to steps.txt; step three blocks
// until the test kills ouro.
const crashScript = `{"tool_calls": [{"name": "bash", "input": {"command": "echo one >> steps.txt"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "echo two >> steps.txt"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "echo three >> steps.txt; exec sleep 600"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "echo four >> steps.txt"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "cat steps.txt"}}]}
{"expect": "four", "tool_calls": [{"name": "finish", "input": {"summary": "all steps"}}]}
`

func TestKill9ThenResume(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	cmd, events, stderr := w.start("run", "--json", "--repo", w.repo, "--model", "script:"+w.script("crash.jsonl", crashScript), "count")
	var id string
	waitFor(t, events, func(ev ouro.Event) bool {
		id = ev.RunID
		if ev.Type != ouro.EventToolCall {
			return false
		}
		var d ouro.ToolCalled
		json.Unmarshal(ev.Data, &d)
		return strings.Contains(string(d.Call.Input), "three")
	})
	_ = stderr
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	rs := w.interrupted(1)
	if len(rs) != 1 || rs[0].Status != ouro.StatusInterrupted {
		t.Fatalf("after kill -9: %+v", rs)
	}
	if code, out, _ := w.ouro("verify"); code != 0 {
		t.Fatalf("verify after kill -9: %s", out)
	}
	code, out, errs := w.ouro("resume", id)
	if code != 0 {
		t.Fatalf("resume: %d\n%s\n%s", code, out, errs)
	}
	steps := w.git("show", "ouro/"+id+":steps.txt")
	// The kill lands after step three's call was journaled, before or
	// after its command started: it ran at most once, and was not rerun.
	if steps != "one\ntwo\nthree\nfour\n" && steps != "one\ntwo\nfour\n" {
		t.Fatalf("steps.txt = %q: a tool call was repeated or lost", steps)
	}
	// Every tool call id has exactly one tool.call and one tool.result.
	calls, results := map[string]int{}, map[string]int{}
	_, out, _ = w.ouro("log", "--json", id)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev ouro.Event
		json.Unmarshal([]byte(line), &ev)
		switch ev.Type {
		case ouro.EventToolCall:
			var d ouro.ToolCalled
			json.Unmarshal(ev.Data, &d)
			calls[d.Call.ID]++
		case ouro.EventToolResult:
			var d ouro.ToolReturned
			json.Unmarshal(ev.Data, &d)
			results[d.Result.CallID]++
		}
	}
	for id, n := range calls {
		if n != 1 || results[id] != 1 {
			t.Errorf("call %s: %d tool.call, %d tool.result events", id, n, results[id])
		}
	}
	if len(calls) != 6 {
		t.Errorf("%d tool calls, want 6", len(calls))
	}
	if code, out, _ := w.ouro("verify"); code != 0 {
		t.Fatalf("verify after resume: %s", out)
	}
	if rs := w.runs(); rs[0].Status != ouro.StatusFinished {
		t.Fatalf("after resume: %+v", rs[0])
	}
}

const blockScript = `{"tool_calls": [{"name": "bash", "input": {"command": "echo started; exec sleep 600"}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "never"}}]}
`

func TestStopAndInterrupt(t *testing.T) {
	cases := []struct {
		name   string
		stop   func(w *world, cmd *exec.Cmd, id string)
		status ouro.RunStatus
	}{
		{"ouro stop from another terminal", func(w *world, _ *exec.Cmd, id string) {
			if code, out, errs := w.ouro("stop", id); code != 0 {
				t.Errorf("stop: %s %s", out, errs)
			}
		}, ouro.StatusStopped},
		{"ctrl-c", func(_ *world, cmd *exec.Cmd, _ string) { cmd.Process.Signal(os.Interrupt) }, ouro.StatusCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.fixture()
			cmd, events, _ := w.start("run", "--json", "--repo", w.repo, "--model", "script:"+w.script("block.jsonl", blockScript), "block")
			ev := waitFor(t, events, func(ev ouro.Event) bool { return ev.Type == ouro.EventToolCall })
			c.stop(w, cmd, ev.RunID)
			end := waitFor(t, events, func(ev ouro.Event) bool { return ev.Type == ouro.EventRunFinished })
			var d ouro.RunFinished
			json.Unmarshal(end.Data, &d)
			err := cmd.Wait()
			if d.Status != c.status {
				t.Fatalf("status %s, want %s", d.Status, c.status)
			}
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFail {
				t.Fatalf("exit: %v, want %d", err, exitFail)
			}
			// The worktree is kept.
			rs := w.runs()
			if _, err := os.Stat(rs[0].Worktree); err != nil {
				t.Errorf("worktree gone: %v", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	script := w.script("fix.jsonl", fixScript)
	notRepo := t.TempDir()
	bare := filepath.Join(t.TempDir(), "bare.git")
	exec.Command("git", "init", "-q", "--bare", bare).Run()
	dirty := newWorld(t)
	dirty.fixture()
	os.WriteFile(filepath.Join(dirty.repo, "calc.go"), []byte("package calc\n"), 0o644)
	badCfg := newWorld(t)
	badCfg.fixture()
	os.MkdirAll(filepath.Join(badCfg.repo, ".ouro"), 0o755)
	os.WriteFile(filepath.Join(badCfg.repo, ".ouro", "config.yaml"), []byte("modle: x\n"), 0o644)
	badCfg.git("add", "-A")
	badCfg.git("-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "cfg")

	cases := []struct {
		name string
		w    *world
		args []string
		code int
		want string
	}{
		{"no task", w, []string{"run", "--repo", w.repo}, exitUsage, "task is required"},
		{"not a repo", w, []string{"run", "--repo", notRepo, "--model", "script:" + script, "x"}, exitUsage, "not inside a git repository"},
		{"bare repo", w, []string{"run", "--repo", bare, "--model", "script:" + script, "x"}, exitUsage, "bare"},
		{"dirty repo", dirty, []string{"run", "--repo", dirty.repo, "--model", "script:" + script, "x"}, exitUsage, "calc.go"},
		{"unknown agent", w, []string{"run", "--repo", w.repo, "--agent", "nobody", "--model", "script:" + script, "x"}, exitUsage, "nobody"},
		{"bad config key", badCfg, []string{"run", "--repo", badCfg.repo, "x"}, exitUsage, "modle"},
		{"missing script", w, []string{"run", "--repo", w.repo, "--model", "script:/nonexistent.jsonl", "x"}, exitUsage, "nonexistent"},
		{"unknown command", w, []string{"fly"}, exitUsage, "unknown command"},
		{"log unknown run", w, []string{"log", "rnothere"}, exitUsage, "rnothere"},
		{"resume unknown run", w, []string{"resume", "rnothere"}, exitUsage, "rnothere"},
		{"unsafe without flag", w, []string{"run", "--repo", w.repo, "--sandbox", "none", "x"}, exitUsage, "--unsafe-no-sandbox"},
		{"help", w, []string{"run", "--help"}, exitOK, "Usage: ouro run"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := c.w.ouro(c.args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", code, c.code, c.want, out, errs)
			}
		})
	}
	if rs := w.runs(); len(rs) != 0 {
		t.Errorf("bad input left runs behind: %+v", rs)
	}
}

// TestSecretsStayHidden runs commands that look for the user's secrets
// and the journal; none is visible in the sandbox.
func TestSecretsStayHidden(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	w.env = append(w.env, "AWS_SECRET_ACCESS_KEY=CANARY-ENV-SECRET", "GITHUB_TOKEN=CANARY-TOKEN")
	script := `{"tool_calls": [{"name": "bash", "input": {"command": "cat ~/.ssh/id_ed25519 ` + w.user + `/.ssh/id_ed25519 2>&1; env; ls -a $HOME; ls ` + w.home + ` 2>&1; echo done"}}]}
{"expect": "done", "tool_calls": [{"name": "finish", "input": {"summary": "looked"}}]}
`
	// The monitors may well stop this run; either way nothing leaks.
	code, _, errs := w.ouro("run", "--repo", w.repo, "--model", "script:"+w.script("s.jsonl", script), "look around")
	if code == exitUsage {
		t.Fatalf("run: %s", errs)
	}
	rs := w.runs()
	_, out, _ := w.ouro("log", "--json", rs[0].ID)
	for _, canary := range []string{"CANARY-SECRET-KEY", "CANARY-ENV-SECRET", "CANARY-TOKEN", "journal.db"} {
		if strings.Contains(out, canary) {
			t.Errorf("the sandbox showed %s", canary)
		}
	}
}

// TestDemo runs the README's first command in-process.
func TestDemo(t *testing.T) {
	w := newWorld(t)
	code, out, errs := w.ouro("demo", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("demo: %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"denied by policy", "delegated to", "merged", "journal intact"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	rs := w.runs()
	if len(rs) != 2 {
		t.Fatalf("demo runs: %+v", rs)
	}
}

// TestKill9MidTreeThenResume kills ouro while three children are each
// running a command, then resumes the root: every run finishes, no
// command runs twice, and finished work is not redone.
func TestKill9MidTreeThenResume(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	var calls []string
	for _, name := range []string{"a", "b", "c"} {
		child := w.script(name+".jsonl", fmt.Sprintf(`{"tool_calls": [{"name": "write_file", "input": {"path": "%s.txt", "content": "%s\n"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "echo ran >> %s.log; exec sleep 600"}}]}
{"tool_calls": [{"name": "bash", "input": {"command": "cat %s.log"}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "child %s done"}}]}
`, name, name, name, name, name))
		calls = append(calls, fmt.Sprintf(`{"name": "delegate", "input": {"task": "child %s", "model": "script:%s"}}`, name, child))
	}
	parent := w.script("parent.jsonl", `{"tool_calls": [`+strings.Join(calls, ", ")+`]}
{"tool_calls": [{"name": "bash", "input": {"command": "cat a.txt b.txt c.txt"}}]}
{"expect": "c", "tool_calls": [{"name": "finish", "input": {"summary": "tree done"}}]}
`)
	cmd, events, _ := w.start("run", "--json", "--repo", w.repo, "--model", "script:"+parent, "a tree")
	var root string
	sleeping := map[string]bool{}
	waitFor(t, events, func(ev ouro.Event) bool {
		if ev.Type == ouro.EventRunStarted && root == "" {
			root = ev.RunID
		}
		if ev.Type == ouro.EventToolCall && strings.Contains(string(ev.Data), "sleep 600") {
			sleeping[ev.RunID] = true
		}
		return len(sleeping) == 3
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	for _, r := range w.interrupted(4) {
		if r.Status != ouro.StatusInterrupted {
			t.Fatalf("after kill -9, run %s is %s", r.ID, r.Status)
		}
	}
	code, out, errs := w.ouro("resume", root)
	if code != 0 {
		t.Fatalf("resume: %d\n%s\n%s", code, out, errs)
	}
	rs := w.runs()
	if len(rs) != 4 {
		t.Fatalf("runs after resume: %d", len(rs))
	}
	for _, r := range rs {
		if r.Status != ouro.StatusFinished {
			t.Errorf("run %s (%s) is %s: %s", r.ID, r.Task, r.Status, r.Error)
		}
		if r.ParentID == "" {
			continue
		}
		name := strings.TrimPrefix(r.Task, "child ")
		// The kill may land before or after the command started; either
		// way it ran at most once.
		got, _ := exec.Command("git", "-C", w.repo, "show", r.Branch+":"+name+".log").Output()
		if n := strings.Count(string(got), "ran"); n > 1 {
			t.Errorf("child %s ran its interrupted command %d times", name, n)
		}
	}
	if got := w.git("show", "ouro/"+root+":c.txt"); got != "c\n" {
		t.Errorf("merged c.txt = %q", got)
	}
	if code, out, _ := w.ouro("verify"); code != 0 {
		t.Fatalf("verify: %s", out)
	}
	if code, out, _ := w.ouro("tree", root); code != 0 || strings.Count(out, "finished") != 4 {
		t.Errorf("tree:\n%s", out)
	}
}

// TestApprovalsFromAnotherTerminal: a run waits on `git push`; a person
// lists it with `ouro approvals` and answers with `ouro deny`; the reason
// reaches the model and the run goes on.
func TestApprovalsFromAnotherTerminal(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	script := w.script("push.jsonl", `{"tool_calls": [{"name": "bash", "input": {"command": "git push origin main"}}]}
{"expect": "denied by a person: not from a run", "tool_calls": [{"name": "finish", "input": {"summary": "did not push"}}]}
`)
	cmd, events, _ := w.start("run", "--json", "--repo", w.repo, "--model", "script:"+script, "push it")
	ev := waitFor(t, events, func(ev ouro.Event) bool { return ev.Type == ouro.EventApprovalRequested })
	var req ouro.ApprovalRequested
	json.Unmarshal(ev.Data, &req)
	code, out, _ := w.ouro("approvals")
	if code != 0 || !strings.Contains(out, req.ID) || !strings.Contains(out, "git push") {
		t.Fatalf("approvals:\n%s", out)
	}
	if code, out, errs := w.ouro("deny", "--why", "not from a run", req.ID); code != 0 {
		t.Fatalf("deny: %s %s", out, errs)
	}
	end := waitFor(t, events, func(ev ouro.Event) bool { return ev.Type == ouro.EventRunFinished })
	var d ouro.RunFinished
	json.Unmarshal(end.Data, &d)
	if d.Status != ouro.StatusFinished {
		t.Fatalf("run ended %s: %s", d.Status, d.Error)
	}
	cmd.Wait()
	if code, _, _ := w.ouro("deny", req.ID); code != exitFail {
		t.Errorf("answering twice: exit %d, want %d", code, exitFail)
	}
	if code, _, _ := w.ouro("approve", "ap-nothere"); code != exitUsage {
		t.Errorf("unknown id: exit %d, want %d", code, exitUsage)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	w := newWorld(t)
	w.fixture()
	os.MkdirAll(filepath.Join(w.repo, ".ouro"), 0o755)
	os.WriteFile(filepath.Join(w.repo, ".ouro", "policy_test.yaml"), []byte(`- name: pushing asks
  action: {tool: bash, command: "git push origin main"}
  want: ask
- name: writing the policy is denied
  action: {tool: write_file, paths: [.ouro/policy.yaml], writes: true}
  want: deny
`), 0o644)
	code, out, errs := w.ouro("policy", "test", "--repo", w.repo)
	if code != 0 || !strings.Contains(out, "2 examples, 0 failed") {
		t.Fatalf("policy test: %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	os.WriteFile(filepath.Join(w.repo, ".ouro", "policy_test.yaml"), []byte(`- name: wrong on purpose
  action: {tool: bash, command: "ls"}
  want: deny
`), 0o644)
	if code, out, _ := w.ouro("policy", "test", "--repo", w.repo); code != exitFail || !strings.Contains(out, "FAIL") {
		t.Fatalf("failing example: %d\n%s", code, out)
	}
}
