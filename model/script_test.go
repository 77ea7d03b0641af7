package model

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ouro-run/ouro"
)

const testScript = `# a scripted agent
{"text": "Running the tests first.", "tool_calls": [{"name": "bash", "input": {"command": "go test ./..."}}]}

// the tests must have failed
{"expect": "FAIL", "text": "Fixing.", "tool_calls": [{"name": "write_file", "input": {"path": "a.go", "content": "package a"}}, {"name": "bash", "input": {"command": "go test ./..."}}], "usage": {"input_tokens": 1000, "output_tokens": 20}}
{"expect": "ok", "tool_calls": [{"name": "finish", "input": {"summary": "fixed"}}]}
{"purpose": "monitor", "text": "{\"score\":10,\"reason\":\"looks fine\"}"}
`

func writeScript(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "turns.jsonl")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func openTestScript(t *testing.T, content string, cfg Config) (Provider, string) {
	t.Helper()
	path := writeScript(t, content)
	p, err := Open("script:"+path, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return p, path
}

// conversation builds the messages an agent would have sent after the
// given assistant turns, each answered with the given tool output.
func conversation(task string, turns []*Response, outputs []string) []ouro.Message {
	msgs := []ouro.Message{{Role: ouro.RoleUser, Text: task}}
	for i, r := range turns {
		msgs = append(msgs, r.Message)
		var results []ouro.ToolResult
		for _, c := range r.Message.ToolCalls {
			results = append(results, ouro.ToolResult{CallID: c.ID, Name: c.Name, Content: outputs[i]})
		}
		msgs = append(msgs, ouro.Message{Role: ouro.RoleUser, ToolResults: results})
	}
	return msgs
}

func TestScriptPlaysTurns(t *testing.T) {
	p, _ := openTestScript(t, testScript, Config{})
	ctx := context.Background()
	var turns []*Response
	outputs := []string{"--- FAIL: TestX", "ok  \tx\t0.1s"}

	var streamed textCollector
	r1, err := p.Complete(ctx, &Request{System: "sys", Messages: conversation("fix it", nil, nil)}, streamed.add)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Message.Text != "Running the tests first." || streamed.text() != r1.Message.Text || len(streamed.chunks) != 3 {
		t.Errorf("turn 1 text %q streamed as %q", r1.Message.Text, streamed.chunks)
	}
	if len(r1.Message.ToolCalls) != 1 || r1.Message.ToolCalls[0].ID != "call_1_1" || string(r1.Message.ToolCalls[0].Input) != `{"command":"go test ./..."}` {
		t.Errorf("turn 1 calls = %+v", r1.Message.ToolCalls)
	}
	if r1.StopReason != "tool_use" {
		t.Errorf("stop = %q", r1.StopReason)
	}
	// Estimated usage: "sys" + "fix it" = 9 chars -> 2 tokens; the reply
	// is 24 chars of text + "bash" + 27 chars of input = 55 -> 13 tokens.
	if r1.Usage.InputTokens != 2 || r1.Usage.OutputTokens != 13 {
		t.Errorf("turn 1 usage = %+v", r1.Usage)
	}
	turns = append(turns, r1)

	r2, err := p.Complete(ctx, &Request{Messages: conversation("fix it", turns, outputs)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ids := []string{r2.Message.ToolCalls[0].ID, r2.Message.ToolCalls[1].ID}; ids[0] != "call_2_1" || ids[1] != "call_2_2" {
		t.Errorf("turn 2 ids = %v", ids)
	}
	if r2.Usage.InputTokens != 1000 || r2.Usage.OutputTokens != 20 {
		t.Errorf("turn 2 usage = %+v, want the line's", r2.Usage)
	}
	turns = append(turns, r2)

	r3, err := p.Complete(ctx, &Request{Messages: conversation("fix it", turns, outputs)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r3.Message.ToolCalls[0].Name != "finish" || r3.Message.Text != "" {
		t.Errorf("turn 3 = %+v", r3.Message)
	}
	turns = append(turns, r3)

	_, err = p.Complete(ctx, &Request{Messages: conversation("fix it", turns, append(outputs, "finished"))}, nil)
	e := asError(t, err)
	path := strings.TrimPrefix(p.Name(), "script:")
	if e.Kind != KindScript || err.Error() != "script "+path+": out of turns after 3 turns without a finish call" {
		t.Errorf("past the end: %v", err)
	}
}

func TestScriptStateless(t *testing.T) {
	p, _ := openTestScript(t, testScript, Config{})
	first, err := p.Complete(context.Background(), &Request{Messages: conversation("task", nil, nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Messages: conversation("task", []*Response{first}, []string{"FAIL"})}
	a, err := p.Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) || a.Message.Text != "Fixing." {
		t.Errorf("same request, different replies:\n%s\n%s", ja, jb)
	}
	// A second provider on the same file, as after a restart, plays the same turn.
	p2, err := Open(p.Name(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p2.Complete(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if jc, _ := json.Marshal(c); string(jc) != string(ja) {
		t.Errorf("resumed provider replied %s", jc)
	}
}

func TestScriptExpect(t *testing.T) {
	p, path := openTestScript(t, testScript, Config{})
	first, err := p.Complete(context.Background(), &Request{Messages: conversation("task", nil, nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := "ok " + strings.Repeat("x", 300)
	_, err = p.Complete(context.Background(), &Request{Messages: conversation("task", []*Response{first}, []string{long})}, nil)
	e := asError(t, err)
	want := `script ` + path + ` line 5: expected the last tool result to contain "FAIL"; it was "ok ` + strings.Repeat("x", 197) + `..."`
	if e.Kind != KindScript || err.Error() != want {
		t.Errorf("error = %q\n   want %q", err, want)
	}
	checkOneLine(t, err)
}

func TestScriptHousekeeping(t *testing.T) {
	p, _ := openTestScript(t, testScript, Config{})
	ctx := context.Background()
	first, err := p.Complete(ctx, &Request{Messages: conversation("task", nil, nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgs := conversation("task", []*Response{first}, []string{"FAIL"})

	mon, err := p.Complete(ctx, &Request{Purpose: PurposeMonitor, Messages: msgs}, nil)
	if err != nil || mon.Message.Text != `{"score":10,"reason":"looks fine"}` {
		t.Errorf("monitor = %+v, %v", mon, err)
	}
	sum, err := p.Complete(ctx, &Request{Purpose: PurposeCompact, Messages: msgs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `Scripted summary of 3 messages. Tool calls: bash {"command":"go test ./..."}. [script: 1 turns played]`
	if sum.Message.Text != want {
		t.Errorf("summary = %q\n    want %q", sum.Message.Text, want)
	}
	// Neither used up a turn: the next turn is still line 5.
	next, err := p.Complete(ctx, &Request{Messages: msgs}, nil)
	if err != nil || next.Message.Text != "Fixing." {
		t.Fatalf("after housekeeping: %+v, %v", next, err)
	}
	// After compaction the agent keeps the summary instead of the old
	// messages; the marker keeps the count.
	compacted := []ouro.Message{
		{Role: ouro.RoleUser, Text: sum.Message.Text},
		next.Message,
		{Role: ouro.RoleUser, ToolResults: []ouro.ToolResult{{CallID: "call_2_1", Content: "ok"}}},
	}
	last, err := p.Complete(ctx, &Request{Messages: compacted}, nil)
	if err != nil || last.Message.ToolCalls[0].Name != "finish" {
		t.Errorf("after compaction: %+v, %v", last, err)
	}

	// Without monitor lines, the monitor answer is a neutral score.
	plain, _ := openTestScript(t, `{"text":"hi"}`, Config{})
	mon, err = plain.Complete(ctx, &Request{Purpose: PurposeMonitor}, nil)
	if err != nil || mon.Message.Text != `{"score":0,"reason":"scripted"}` {
		t.Errorf("default monitor = %+v, %v", mon, err)
	}
}

func TestScriptBadFiles(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"not JSON", "{\"text\": \"a\"}\n\n{text: b}\n", "line 3: not a valid turn: invalid character 't' looking for beginning of object key string"},
		{"unknown field", `{"txt": "a"}`, `line 1: not a valid turn: json: unknown field "txt"`},
		{"two values", `{"text": "a"} {"text": "b"}`, "line 1: more than one JSON value on the line"},
		{"nameless call", `{"tool_calls": [{"input": {}}]}`, "line 1: tool call 1 has no name"},
		{"input not object", `{"tool_calls": [{"name": "bash", "input": "ls"}]}`, "line 1: tool call 1 (bash): input must be a JSON object"},
		{"bad purpose", `{"purpose": "judge"}`, `line 1: unknown purpose "judge"; use turn, monitor or compact`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeScript(t, tt.content)
			_, err := Open("script:"+path, Config{})
			if err == nil {
				t.Fatal("no error")
			}
			checkOneLine(t, errors.New(strings.ReplaceAll(err.Error(), `{"`, ""))) // the hint shows an example object
			if !strings.HasPrefix(err.Error(), "script "+path+" "+tt.want) {
				t.Errorf("error = %q\nwant prefix %q", err, "script "+path+" "+tt.want)
			}
			if e := asError(t, err); e.Kind != KindScript {
				t.Errorf("kind = %s", e.Kind)
			}
		})
	}
	_, err := Open("script:"+filepath.Join(t.TempDir(), "missing.jsonl"), Config{})
	if err == nil || !strings.HasSuffix(err.Error(), "missing.jsonl: cannot read the script: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

func TestScriptRelativePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "child.jsonl"), []byte(`{"text":"child"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	p, err := Open("script:child.jsonl", Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Complete(context.Background(), &Request{}, nil)
	if err != nil || r.Message.Text != "child" {
		t.Errorf("relative script: %+v, %v", r, err)
	}
}

func TestResolveScript(t *testing.T) {
	tests := []struct{ spec, base, want string }{
		{"script:child.jsonl", "/runs/parent", "script:/runs/parent/child.jsonl"},
		{"script:sub/../child.jsonl", "/runs/parent", "script:/runs/parent/child.jsonl"},
		{"script:/abs/child.jsonl", "/runs/parent", "script:/abs/child.jsonl"},
		{"anthropic:claude-sonnet-4-5", "/runs/parent", "anthropic:claude-sonnet-4-5"},
		{"script:child.jsonl", "", "script:child.jsonl"},
		{"script:", "/runs", "script:"},
	}
	for _, tt := range tests {
		if got := ResolveScript(tt.spec, tt.base); got != tt.want {
			t.Errorf("ResolveScript(%q, %q) = %q, want %q", tt.spec, tt.base, got, tt.want)
		}
	}
}

func TestScriptCost(t *testing.T) {
	p, path := openTestScript(t, `{"text":"a","usage":{"input_tokens":1000000,"output_tokens":2000000}}
{"text":"b","usage":{"input_tokens":1,"output_tokens":1,"cost_usd":0.25}}`, Config{})
	_ = path
	withPrice, err := Open(p.Name(), Config{Prices: map[string]Price{"script": {Input: 1, Output: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := withPrice.Complete(context.Background(), &Request{}, nil)
	if err != nil || !near(r.Usage.CostUSD, 1*1+2*3) {
		t.Errorf("priced turn: %+v, %v", r, err)
	}
	r, err = withPrice.Complete(context.Background(), &Request{Messages: []ouro.Message{{Role: ouro.RoleAssistant, Text: "a"}}}, nil)
	if err != nil || !near(r.Usage.CostUSD, 0.25) {
		t.Errorf("turn with its own cost: %+v, %v", r, err)
	}
	if p.ContextWindow() != 200_000 {
		t.Errorf("window = %d", p.ContextWindow())
	}
}

func BenchmarkScriptComplete(b *testing.B) {
	var lines []string
	for i := 0; i < 50; i++ {
		lines = append(lines, `{"text": "step", "tool_calls": [{"name": "bash", "input": {"command": "go test ./..."}}]}`)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := Open("script:"+path, Config{})
	if err != nil {
		b.Fatal(err)
	}
	// A conversation 40 turns in, as the agent would send it.
	msgs := []ouro.Message{{Role: ouro.RoleUser, Text: "fix the build"}}
	for i := 0; i < 40; i++ {
		msgs = append(msgs,
			ouro.Message{Role: ouro.RoleAssistant, Text: "step", ToolCalls: []ouro.ToolCall{{ID: "c", Name: "bash", Input: json.RawMessage(`{"command":"go test ./..."}`)}}},
			ouro.Message{Role: ouro.RoleUser, ToolResults: []ouro.ToolResult{{CallID: "c", Content: strings.Repeat("ok\n", 100)}}})
	}
	req := &Request{System: "You are a coding agent.", Messages: msgs}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Complete(ctx, req, nil); err != nil {
			b.Fatal(err)
		}
	}
}
