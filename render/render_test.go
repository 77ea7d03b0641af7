package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

func event(t *testing.T, typ ouro.EventType, data any) *ouro.Event {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return &ouro.Event{Seq: 1, RunID: "r1", Type: typ, Data: b}
}

func TestPrinterEvents(t *testing.T) {
	cases := []struct {
		name    string
		ev      func(t *testing.T) *ouro.Event
		verbose bool
		want    []string
		absent  []string
	}{
		{"run started", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventRunStarted, ouro.RunStarted{Task: "fix it", Agent: "coder", Model: "script:x", Sandbox: "bwrap+landlock+seccomp"})
		}, false, []string{"run r1", "task: fix it", "sandbox: bwrap"}, nil},
		{"unsafe run", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventRunStarted, ouro.RunStarted{Task: "x", Unsafe: true})
		}, false, []string{"--unsafe-no-sandbox"}, nil},
		{"tool call", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventToolCall, ouro.ToolCalled{Call: ouro.ToolCall{Name: "bash", Input: json.RawMessage(`{"command":"go test ./..."}`)}})
		}, false, []string{"bash go test ./..."}, nil},
		{"allow is quiet", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventPolicyDecision, ouro.PolicyDecided{Decision: ouro.Allow})
		}, false, nil, []string{"policy"}},
		{"deny is shown", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventPolicyDecision, ouro.PolicyDecided{Decision: ouro.Deny, Rule: "no-escape", Message: "outside"})
		}, false, []string{"policy deny no-escape: outside"}, nil},
		{"approval tells how to answer", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventApprovalRequested, ouro.ApprovalRequested{ID: "ap-1", Why: "policy asks"})
		}, false, []string{"waiting for approval", "ouro approve ap-1", "ouro deny ap-1"}, nil},
		{"long result clipped", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventToolResult, ouro.ToolReturned{Result: ouro.ToolResult{Content: strings.Repeat("x", 1000) + "TAIL"}})
		}, false, nil, []string{"TAIL"}},
		{"long result in full when verbose", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventToolResult, ouro.ToolReturned{Result: ouro.ToolResult{Content: strings.Repeat("x", 1000) + "TAIL"}})
		}, true, []string{"TAIL"}, nil},
		{"diff counted", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventFileDiff, ouro.FileDiff{Path: "a.go", Diff: "--- a/a.go\n+++ b/a.go\n-old\n+new\n+more\n"})
		}, false, []string{"a.go +2 -1"}, nil},
		{"finish", func(t *testing.T) *ouro.Event {
			return event(t, ouro.EventRunFinished, ouro.RunFinished{Status: ouro.StatusStopped, Error: "budget exceeded"})
		}, false, []string{"run r1 stopped", "reason: budget exceeded"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := &Printer{W: &buf, Verbose: c.verbose}
			p.Event(c.ev(t))
			for _, w := range c.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
			for _, a := range c.absent {
				if strings.Contains(buf.String(), a) {
					t.Errorf("output has %q:\n%s", a, buf.String())
				}
			}
		})
	}
}

func TestPrinterTotals(t *testing.T) {
	var buf bytes.Buffer
	p := &Printer{W: &buf}
	for _, u := range []ouro.Usage{{InputTokens: 100, OutputTokens: 7, CostUSD: 0.25}, {InputTokens: 50, OutputTokens: 3, CostUSD: 0.5}} {
		p.Event(event(t, ouro.EventUsage, ouro.UsageRecorded{Usage: u}))
	}
	p.Event(event(t, ouro.EventRunFinished, ouro.RunFinished{Status: ouro.StatusFinished}))
	if !strings.Contains(buf.String(), "tokens in 150 out 10  cost $0.7500") {
		t.Fatalf("totals:\n%s", buf.String())
	}
}

func TestTree(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	runs := map[string][]ouro.Run{
		"root": {{ID: "a", Status: ouro.StatusFinished}, {ID: "b", Status: ouro.StatusRunning}},
		"a":    {{ID: "a1", Status: ouro.StatusFailed}},
	}
	var buf bytes.Buffer
	Tree(&buf, ouro.Run{ID: "root", Status: ouro.StatusFinished}, func(id string) []ouro.Run { return runs[id] }, now)
	want := []string{"root finished", "├─ a finished", "│  └─ a1 failed", "└─ b running"}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("tree:\n%s", buf.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

func TestJSONLines(t *testing.T) {
	var buf bytes.Buffer
	j := &JSON{W: &buf}
	j.Event(event(t, ouro.EventRunStarted, ouro.RunStarted{Task: "x"}))
	j.Event(event(t, ouro.EventRunFinished, ouro.RunFinished{Status: ouro.StatusFinished}))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", buf.String())
	}
	var ev ouro.Event
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil || ev.Type != ouro.EventRunFinished {
		t.Fatalf("second line %q: %v", lines[1], err)
	}
}
