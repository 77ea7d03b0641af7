package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/agent"
	"github.com/ouro-run/ouro/config"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.Init()
	os.Exit(m.Run())
}

// rig is one test's repository, journal and fleet options.
type rig struct {
	t    testing.TB
	repo string
	home string
	jr   *journal.Journal
	cfg  config.Config
	env  map[string]string
	obs  *events
}

// events is an Observer keeping every event, with an optional hook.
type events struct {
	mu  sync.Mutex
	all []ouro.Event
	on  func(*ouro.Event)
}

func (e *events) Event(ev *ouro.Event) {
	e.mu.Lock()
	e.all = append(e.all, *ev)
	on := e.on
	e.mu.Unlock()
	if on != nil {
		on(ev)
	}
}
func (e *events) Text(string, string) {}

func (e *events) of(t ouro.EventType) []ouro.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []ouro.Event
	for _, ev := range e.all {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

func newRig(t testing.TB, files map[string]string) *rig {
	t.Helper()
	r := &rig{t: t, repo: filepath.Join(t.TempDir(), "repo"), home: t.TempDir(), cfg: config.Default(), obs: &events{}}
	r.env = map[string]string{"HOME": t.TempDir(), "PATH": os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM": "1"}
	os.MkdirAll(r.repo, 0o755)
	for name, body := range files {
		p := filepath.Join(r.repo, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	r.git("init", "-q", "-b", "main")
	r.git("add", "-A")
	r.git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "start")
	jr, err := journal.Open(context.Background(), filepath.Join(r.home, "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { jr.Close() })
	r.jr = jr
	return r
}

func (r *rig) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.repo}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+r.env["HOME"], "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (r *rig) script(name, body string) string {
	p := filepath.Join(r.home, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) fleet() *Fleet {
	r.t.Helper()
	f, err := New(context.Background(), Options{Home: r.home, Journal: r.jr, Config: r.cfg, RepoDir: r.repo,
		Getenv: func(k string) string { return r.env[k] }, Observer: r.obs, PollInterval: 5 * time.Millisecond})
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { f.Close(context.Background()) })
	return f
}

func (r *rig) start(parentScript string) (string, agent.Outcome) {
	r.t.Helper()
	id, out, err := r.fleet().Start(context.Background(), Task{Task: "the parent task", Model: "script:" + parentScript})
	if err != nil {
		r.t.Fatal(err)
	}
	return id, out
}

// childScript writes a child's script: write one file, then finish.
func (r *rig) childScript(name, path, content string) string {
	in, _ := json.Marshal(map[string]string{"path": path, "content": content})
	return r.script(name, fmt.Sprintf(`{"tool_calls": [{"name": "write_file", "input": %s}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "wrote %s"}}]}
`, in, path))
}

func delegateCall(task, script string, extra string) string {
	return fmt.Sprintf(`{"name": "delegate", "input": {"task": %q, "model": "script:%s"%s}}`, task, script, extra)
}

func TestThreeChildrenInParallelMerge(t *testing.T) {
	r := newRig(t, map[string]string{"README.md": "hello\n"})
	a := r.childScript("a.jsonl", "a.txt", "from a\n")
	b := r.childScript("b.jsonl", "b.txt", "from b\n")
	c := r.childScript("c.jsonl", "c.txt", "from c\n")
	parent := r.script("parent.jsonl", `{"tool_calls": [{"name": "write_file", "input": {"path": "p.txt", "content": "from the parent\n"}}]}
{"tool_calls": [`+delegateCall("write a", a, "")+`, `+delegateCall("write b", b, "")+`, `+delegateCall("write c", c, "")+`]}
{"expect": "merged", "tool_calls": [{"name": "bash", "input": {"command": "cat a.txt b.txt c.txt p.txt"}}]}
{"expect": "from c", "tool_calls": [{"name": "finish", "input": {"summary": "all merged"}}]}
`)
	id, out := r.start(parent)
	if out.Status != ouro.StatusFinished {
		t.Fatalf("parent: %+v", out)
	}
	kids, err := r.jr.Children(context.Background(), id)
	if err != nil || len(kids) != 3 {
		t.Fatalf("children: %+v %v", kids, err)
	}
	if starts, returns := r.obs.of(ouro.EventDelegated), r.obs.of(ouro.EventDelegateReturned); len(starts) != 3 || len(returns) != 3 {
		t.Errorf("%d delegated and %d returned events, want 3 each", len(starts), len(returns))
	}
	for _, f := range []string{"a.txt", "b.txt", "c.txt", "p.txt"} {
		if got := r.git("show", "ouro/"+id+":"+f); !strings.HasPrefix(got, "from") {
			t.Errorf("%s on the parent's branch: %q", f, got)
		}
	}
	for _, k := range kids {
		msg := r.git("log", "-1", "--format=%B", k.Branch)
		if !strings.Contains(msg, "Ouro-Run: "+k.ID) || !strings.Contains(msg, "Ouro-Parent-Run: "+id) {
			t.Errorf("child commit trailers:\n%s", msg)
		}
		if k.ParentID != id || k.Depth != 1 || k.Status != ouro.StatusFinished {
			t.Errorf("child run: %+v", k)
		}
	}
	// Usage rolls up: the parent's totals include its children's.
	root, _ := r.jr.Run(context.Background(), id)
	var kidsIn int64
	for _, k := range kids {
		kidsIn += k.InputTokens
	}
	if kidsIn == 0 || root.InputTokens <= kidsIn {
		t.Errorf("roll-up: parent %d input tokens, children %d", root.InputTokens, kidsIn)
	}
	if rep, err := r.jr.Verify(context.Background()); err != nil || rep.Problem != nil {
		t.Fatalf("verify: %+v %v", rep.Problem, err)
	}
	// The user's tree is untouched.
	if st := r.git("status", "--porcelain"); st != "" {
		t.Errorf("user's tree: %s", st)
	}
}

func TestConflictingChildren(t *testing.T) {
	r := newRig(t, map[string]string{"shared.txt": "line one\nline two\n"})
	a := r.childScript("a.jsonl", "shared.txt", "line one\nchanged by a\n")
	b := r.childScript("b.jsonl", "shared.txt", "line one\nchanged by b\n")
	parent := r.script("parent.jsonl", `{"tool_calls": [`+delegateCall("change a", a, "")+`, `+delegateCall("change b", b, "")+`]}
{"tool_calls": [{"name": "bash", "input": {"command": "git status --porcelain; cat shared.txt"}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "kept one"}}]}
`)
	id, out := r.start(parent)
	if out.Status != ouro.StatusFinished {
		t.Fatalf("parent: %+v", out)
	}
	ret := r.obs.of(ouro.EventDelegateReturned)
	if len(ret) != 2 {
		t.Fatalf("returns: %d", len(ret))
	}
	var first, second ouro.DelegateReturned
	json.Unmarshal(ret[0].Data, &first)
	json.Unmarshal(ret[1].Data, &second)
	if !first.Merged || second.Merged || !strings.Contains(second.Conflict, "shared.txt") {
		t.Fatalf("returns: %+v then %+v; want one merged, then one conflict", first, second)
	}
	// The parent's worktree holds the first child's version and is clean.
	want := "line one\nchanged by a\n"
	if strings.Contains(first.Summary, "") && first.Branch != "" {
		if got := r.git("show", first.Branch+":shared.txt"); got != want {
			want = got
		}
	}
	if got := r.git("show", "ouro/"+id+":shared.txt"); got != want {
		t.Errorf("shared.txt = %q, want %q", got, want)
	}
	results := r.obs.of(ouro.EventToolResult)
	var status ouro.ToolReturned
	for _, ev := range results {
		var d ouro.ToolReturned
		json.Unmarshal(ev.Data, &d)
		if d.Result.Name == "bash" {
			status = d
		}
	}
	if strings.Contains(status.Result.Content, "UU") || strings.Contains(status.Result.Content, "<<<<<<<") {
		t.Errorf("the parent's worktree was left half-merged:\n%s", status.Result.Content)
	}
	var res struct {
		Conflicts []struct {
			Path  string   `json:"path"`
			Hunks []string `json:"hunks"`
		} `json:"conflicts"`
	}
	for _, ev := range results {
		var d ouro.ToolReturned
		json.Unmarshal(ev.Data, &d)
		if d.Result.Name == "delegate" && d.Result.IsError {
			json.Unmarshal([]byte(d.Result.Content), &res)
		}
	}
	if len(res.Conflicts) != 1 || res.Conflicts[0].Path != "shared.txt" || len(res.Conflicts[0].Hunks) == 0 {
		t.Errorf("conflict report: %+v", res)
	}
}

func TestDelegationLimits(t *testing.T) {
	cases := []struct {
		name   string
		cfg    func(*config.Config)
		extra  string
		child  string
		expect string
	}{
		{"depth limit", func(c *config.Config) { c.MaxDepth = 0 }, "", "", `unknown tool "delegate"`},
		{"child budget", nil, `, "budget": {"tool_calls": 1}`,
			`{"tool_calls": [{"name": "list_files", "input": {}}]}
{"tool_calls": [{"name": "list_files", "input": {}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "x"}}]}
`, "budget exceeded"},
		{"result schema", nil, `, "result_schema": {"type": "object", "required": ["count"]}`,
			`{"tool_calls": [{"name": "finish", "input": {"summary": "{\"total\": 3}"}}]}
`, "result_schema"},
		{"bad budget", nil, `, "budget": {"wall_time": "soon"}`, "", "wall_time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, map[string]string{"x": "x\n"})
			if c.cfg != nil {
				c.cfg(&r.cfg)
			}
			child := r.script("child.jsonl", c.child)
			if c.child == "" {
				child = r.childScript("child.jsonl", "y", "y\n")
			}
			parent := r.script("parent.jsonl", `{"tool_calls": [`+delegateCall("sub", child, c.extra)+`]}
{"expect": `+fmt.Sprintf("%q", c.expect)+`, "tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
			_, out := r.start(parent)
			if out.Status != ouro.StatusFinished {
				t.Fatalf("parent: %+v", out)
			}
		})
	}
}

func TestNestedDepthLimit(t *testing.T) {
	r := newRig(t, map[string]string{"x": "x\n"})
	r.cfg.MaxDepth = 1
	grandchild := r.childScript("gc.jsonl", "gc.txt", "gc\n")
	child := r.script("child.jsonl", `{"tool_calls": [`+delegateCall("deeper", grandchild, "")+`]}
{"expect": "unknown tool", "tool_calls": [{"name": "finish", "input": {"summary": "could not go deeper"}}]}
`)
	parent := r.script("parent.jsonl", `{"tool_calls": [`+delegateCall("sub", child, "")+`]}
{"expect": "could not go deeper", "tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
	if _, out := r.start(parent); out.Status != ouro.StatusFinished {
		t.Fatalf("parent: %+v", out)
	}
}

// TestChildApprovalDoesNotBlockSiblings: one child's action waits for a
// person; its sibling finishes meanwhile; the answer lets the first go on.
func TestChildApprovalDoesNotBlockSiblings(t *testing.T) {
	r := newRig(t, map[string]string{"x": "x\n"})
	asker := r.script("asker.jsonl", `{"tool_calls": [{"name": "bash", "input": {"command": "echo pushing; git push origin main || true"}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "asked"}}]}
`)
	quick := r.childScript("quick.jsonl", "q.txt", "q\n")
	parent := r.script("parent.jsonl", `{"tool_calls": [`+delegateCall("ask", asker, "")+`, `+delegateCall("quick", quick, "")+`]}
{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
	returned := make(chan struct{})
	var firstReturn, answered sync.Once
	r.obs.on = func(ev *ouro.Event) {
		switch ev.Type {
		case ouro.EventApprovalRequested:
			var d ouro.ApprovalRequested
			json.Unmarshal(ev.Data, &d)
			if len(d.Lineage) != 2 {
				t.Errorf("lineage %v, want root and child", d.Lineage)
			}
			// Answer only once the sibling has returned: the wait did not
			// hold it up.
			go func() {
				<-returned
				answered.Do(func() {
					r.jr.Append(context.Background(), journal.Record{RunID: ev.RunID, Type: ouro.EventApprovalAnswered,
						Data: ouro.ApprovalAnswered{ID: d.ID, ActionHash: d.ActionHash, Approved: false, By: "tester", Why: "no pushing"}})
				})
			}()
		case ouro.EventDelegateReturned:
			firstReturn.Do(func() { close(returned) })
		}
	}
	if _, out := r.start(parent); out.Status != ouro.StatusFinished {
		t.Fatalf("parent: %+v", out)
	}
	aps, _ := r.jr.Approvals(context.Background(), journal.ApprovalDenied)
	if len(aps) != 1 {
		t.Fatalf("denied approvals: %+v", aps)
	}
}

// TestEscalationToParent: a policy rule sends a child's ask to its parent
// agent first; the parent's model decides, and the decision is journaled
// as the parent's. When the parent asks for a person, the request waits.
func TestEscalationToParent(t *testing.T) {
	cases := []struct {
		name, verdict string
		wantRan       bool
		wantBy        string
	}{
		{"parent approves", `{"decision": "approve", "why": "the task needs it"}`, true, "parent:"},
		{"parent denies", `{"decision": "deny", "why": "not needed"}`, false, "parent:"},
		{"parent asks a person", `{"decision": "ask_human", "why": "unsure"}`, false, "person"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, map[string]string{
				".ouro/policy.yaml": "version: 1\nrules:\n  - name: child-make-asks-parent\n    when: 'depth > 0 && argv.exists(c, c.size() > 0 && c[0] == \"make\")'\n    decision: ask\n    escalate: parent\n    message: \"make in a child needs approval\"\n",
			})
			child := r.script("child.jsonl", `{"tool_calls": [{"name": "bash", "input": {"command": "make -v >/dev/null 2>&1; echo ran > ran.txt"}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "child done"}}]}
`)
			verdict, _ := json.Marshal(c.verdict)
			parent := r.script("parent.jsonl", `{"purpose": "monitor", "text": `+string(verdict)+`}
{"tool_calls": [`+delegateCall("build it", child, "")+`]}
{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
			if c.wantBy == "person" {
				r.obs.on = func(ev *ouro.Event) {
					if ev.Type != ouro.EventApprovalRequested {
						return
					}
					var d ouro.ApprovalRequested
					json.Unmarshal(ev.Data, &d)
					go r.jr.Append(context.Background(), journal.Record{RunID: ev.RunID, Type: ouro.EventApprovalAnswered,
						Data: ouro.ApprovalAnswered{ID: d.ID, ActionHash: d.ActionHash, Approved: false, By: "person", Why: "no"}})
				}
			}
			id, out := r.start(parent)
			if out.Status != ouro.StatusFinished {
				t.Fatalf("parent: %+v", out)
			}
			aps, _ := r.jr.Approvals(context.Background(), "")
			if len(aps) != 1 || !strings.HasPrefix(aps[0].By, c.wantBy) || len(aps[0].Lineage) != 2 || aps[0].Lineage[0] != id {
				t.Fatalf("approvals: %+v", aps)
			}
			_, err := exec.Command("git", "-C", r.repo, "show", "ouro/"+id+":ran.txt").Output()
			if ran := err == nil; ran != c.wantRan {
				t.Errorf("the child's command ran = %v, want %v", ran, c.wantRan)
			}
		})
	}
}

// TestProtectedFilesNeverReachTheBranch: an agent that slips a new
// .ouro/config.yaml past policy and monitors (here a person approves
// everything) still does not get it committed.
func TestProtectedFilesNeverReachTheBranch(t *testing.T) {
	r := newRig(t, map[string]string{"a.txt": "a\n"})
	r.obs.on = func(ev *ouro.Event) {
		if ev.Type != ouro.EventApprovalRequested {
			return
		}
		var d ouro.ApprovalRequested
		json.Unmarshal(ev.Data, &d)
		go r.jr.Append(context.Background(), journal.Record{RunID: ev.RunID, Type: ouro.EventApprovalAnswered,
			Data: ouro.ApprovalAnswered{ID: d.ID, ActionHash: d.ActionHash, Approved: true, By: "careless person"}})
	}
	parent := r.script("p.jsonl", `{"tool_calls": [{"name": "bash", "input": {"command": "d=.ou; mkdir -p ${d}ro; echo 'model: openai:evil' > ${d}ro/config.yaml; echo hi > b.txt"}}]}
{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
	id, out := r.start(parent)
	if out.Status != ouro.StatusFinished {
		t.Fatalf("run: %+v", out)
	}
	files := r.git("ls-tree", "-r", "--name-only", "ouro/"+id)
	if strings.Contains(files, ".ouro") || !strings.Contains(files, "b.txt") {
		t.Fatalf("branch files:\n%s", files)
	}
	found := false
	for _, ev := range r.obs.of(ouro.EventError) {
		found = found || strings.Contains(string(ev.Data), ".ouro/config.yaml")
	}
	if !found {
		t.Error("no error event names the left-out path")
	}
}

// TestModelMonitorFromConfig: monitor.model names a trusted model whose
// score sends an action to the gate even where the rules see nothing.
func TestModelMonitorFromConfig(t *testing.T) {
	r := newRig(t, map[string]string{"a.txt": "a\n"})
	r.cfg.Monitor.Model = "script:" + r.script("monitor.jsonl", `{"purpose": "monitor", "text": "{\"score\": 85, \"reason\": \"not what the task asked\"}"}`+"\n")
	var asked []ouro.ApprovalRequested
	r.obs.on = func(ev *ouro.Event) {
		if ev.Type != ouro.EventApprovalRequested {
			return
		}
		var d ouro.ApprovalRequested
		json.Unmarshal(ev.Data, &d)
		asked = append(asked, d)
		ok := d.Action.Tool == "finish"
		go r.jr.Append(context.Background(), journal.Record{RunID: ev.RunID, Type: ouro.EventApprovalAnswered,
			Data: ouro.ApprovalAnswered{ID: d.ID, ActionHash: d.ActionHash, Approved: ok, By: "tester", Why: "agreed"}})
	}
	parent := r.script("p.jsonl", `{"tool_calls": [{"name": "bash", "input": {"command": "ls"}}]}
{"expect": "denied by a person: agreed", "tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
	if _, out := r.start(parent); out.Status != ouro.StatusFinished {
		t.Fatalf("run: %+v", out)
	}
	if len(asked) < 2 || asked[0].Action.Tool != "bash" || asked[0].Score != 85 || !strings.Contains(asked[0].Why, "not what the task asked") {
		t.Fatalf("approval requests: %+v", asked)
	}
}

// TestUnsafeNoSandbox: with Unsafe and mode none commands run without a
// sandbox, and the run says so wherever it is listed.
func TestUnsafeNoSandbox(t *testing.T) {
	r := newRig(t, map[string]string{"a.txt": "a\n"})
	r.cfg.Sandbox.Mode = "none"
	parent := r.script("p.jsonl", `{"tool_calls": [{"name": "bash", "input": {"command": "cat a.txt"}}]}
{"expect": "a", "tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}
`)
	f, err := New(context.Background(), Options{Home: r.home, Journal: r.jr, Config: r.cfg, RepoDir: r.repo,
		Getenv: func(k string) string { return r.env[k] }, Observer: r.obs, Unsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close(context.Background())
	id, out, err := f.Start(context.Background(), Task{Task: "unsafe", Model: "script:" + parent})
	if err != nil || out.Status != ouro.StatusFinished {
		t.Fatalf("run: %+v %v", out, err)
	}
	run, _ := r.jr.Run(context.Background(), id)
	if !run.Unsafe {
		t.Errorf("the run is not marked unsafe: %+v", run)
	}
	f2, _ := New(context.Background(), Options{Home: r.home, Journal: r.jr, Config: r.cfg, RepoDir: r.repo,
		Getenv: func(k string) string { return r.env[k] }})
	if _, _, err := f2.Start(context.Background(), Task{Task: "unsafe", Model: "script:" + parent}); err == nil {
		t.Error("mode none without Unsafe started a run")
	}
}
