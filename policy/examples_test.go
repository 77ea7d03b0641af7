package policy

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

func TestDefaultExamples(t *testing.T) {
	examples, err := LoadExamples(filepath.Join("testdata", "default_examples.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) != 11 {
		t.Fatalf("loaded %d examples, want 11", len(examples))
	}
	for _, r := range compileDefault(t).Test(examples) {
		if !r.Pass {
			t.Errorf("line %d %q: %s", r.Line, r.Name, r.Why)
		}
	}
}

func TestExamplesRunner(t *testing.T) {
	p, err := Compile(Default(), parseRepo(t, `
version: 1
rules:
  - name: no-friday-deploys
    when: 'task.contains("deploy")'
    decision: deny
  - name: big-spender
    when: 'budget.cost_usd > 2.5 && budget.wall_time_s > 60.0'
    decision: ask
`))
	if err != nil {
		t.Fatal(err)
	}
	src := `
- name: passes
  action: {tool: bash, command: "git push"}
  want: ask
  rule: ask-git-push
- name: wrong decision
  action: {tool: bash, command: "git status"}
  want: deny
- name: right decision, wrong rule
  action: {tool: bash, command: "rm -rf .ouro"}
  want: deny
  rule: no-escape
- name: rule among several deny hits
  action: {tool: bash, task: "deploy it", command: "rm -rf .ouro"}
  want: deny
  rule: no-friday-deploys
- name: rule matched but did not decide
  action: {tool: write_file, task: "deploy", paths: [x]}
  want: deny
  rule: ask-git-push
- name: budget fields
  action: {tool: bash, budget: {cost_usd: 3, wall_time: 2m}}
  want: ask
  rule: big-spender
- name: numbers in args
  action: {tool: x, args: {n: 3, nested: {list: [1, two]}}, depth: 2, agent: a, run_id: r1}
  want: allow
`
	examples, err := ParseExamples("policy_test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := examples[6].Action.Args["n"]; got != float64(3) {
		t.Fatalf("args.n = %#v, want float64(3) as JSON would give", got)
	}
	if got := examples[5].Action.Budget.WallTime; got != 2*time.Minute {
		t.Fatalf("wall_time = %v", got)
	}
	if examples[6].Action.Depth != 2 || examples[6].Action.Agent != "a" || examples[6].Action.RunID != "r1" {
		t.Fatalf("action = %+v", examples[6].Action)
	}
	if examples[0].Line != 2 || examples[1].Line != 6 {
		t.Fatalf("lines = %d, %d", examples[0].Line, examples[1].Line)
	}
	want := []struct {
		pass bool
		why  string
	}{
		{true, ""},
		{false, "got allow, want deny"},
		{false, `got deny as wanted, but not by rule "no-escape" (decided by rule "no-protected-command")`},
		{true, ""},
		{false, `got deny as wanted, but not by rule "ask-git-push" (decided by rule "no-friday-deploys")`},
		{true, ""},
		{true, ""},
	}
	results := p.Test(examples)
	if len(results) != len(want) {
		t.Fatalf("%d results, want %d", len(results), len(want))
	}
	for i, r := range results {
		if r.Pass != want[i].pass || r.Why != want[i].why {
			t.Errorf("%q: pass=%v why=%q; want pass=%v why=%q", r.Name, r.Pass, r.Why, want[i].pass, want[i].why)
		}
	}
	if results[1].Got.Decision != ouro.Allow {
		t.Errorf("Got = %+v", results[1].Got)
	}
}

func TestExamplesEvaluationError(t *testing.T) {
	p, err := Compile(&File{Name: "t", Version: 1, Rules: []Rule{{Name: "needs-path", When: `args.path == "x"`, Decision: ouro.Allow}}})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := ParseExamples("e", []byte("- {name: missing key, action: {tool: x}, want: allow}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Test(ex)[0]
	if r.Pass || r.Err == nil || r.Got.Decision != ouro.Deny || !strings.Contains(r.Why, "got deny, want allow") {
		t.Fatalf("result = %+v", r)
	}
}

func TestParseExamplesErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"bad want", "- name: a\n  action: {tool: x}\n  want: maybe\n", `policy examples e.yaml:1: example "a": want is "maybe"; use allow, ask or deny`},
		{"no want", "- name: a\n  action: {tool: x}\n", `policy examples e.yaml:1: example "a": want is ""; use allow, ask or deny`},
		{"no name", "- action: {tool: x}\n  want: allow\n", `policy examples e.yaml:1: the example has no name`},
		{"unknown field", "- name: a\n  acton: {tool: x}\n  want: allow\n", `policy examples e.yaml: line 2: field acton not found`},
		{"unknown action field", "- name: a\n  action: {tol: x}\n  want: allow\n", `policy examples e.yaml: line 2: field tol not found`},
		{"not a list", "name: a\n", `policy examples e.yaml: line 1: cannot unmarshal`},
		{"empty", "", `policy examples e.yaml: file is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExamples("e.yaml", []byte(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error\n got %v\nwant prefix %q", err, tt.want)
			}
		})
	}
	if _, err := LoadExamples(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.HasPrefix(err.Error(), "read policy examples: ") {
		t.Fatalf("missing file: %v", err)
	}
}
