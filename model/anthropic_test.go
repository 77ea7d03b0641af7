package model

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

const testClaude = "claude-sonnet-4-5"

// A turn as the Messages API streams it: text, then a tool call whose
// input arrives in four pieces, with pings in between.
var anthropicToolTurn = []sseEvent{
	{"message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":1200,"cache_creation_input_tokens":3000,"cache_read_input_tokens":50000,"output_tokens":1}}}`},
	{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
	{"ping", `{"type": "ping"}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Running "}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"the tests."}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":0}`},
	{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01A","name":"bash","input":{}}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"comm"}}`},
	{"ping", `{"type": "ping"}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"and\": \"go te"}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"st ./...\"}"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":1}`},
	{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":87}}`},
	{"message_stop", `{"type":"message_stop"}`},
}

// A short text-only turn.
var anthropicTextTurn = []sseEvent{
	{"message_start", `{"type":"message_start","message":{"id":"msg_02","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}`},
	{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`},
	{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"done"}}`},
	{"content_block_stop", `{"type":"content_block_stop","index":0}`},
	{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`},
	{"message_stop", `{"type":"message_stop"}`},
}

func openAnthropic(t *testing.T, f *fakeServer, cfg Config, s *sleeps) Provider {
	t.Helper()
	cfg.BaseURL = f.srv.URL
	if cfg.APIKey == "" {
		cfg.APIKey = "sk-ant-test"
	}
	p, err := open("anthropic:"+testClaude, cfg, testOptions(nil, s))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return p
}

func simpleRequest() *Request {
	return &Request{System: "You are a coding agent.", Messages: []ouro.Message{{Role: ouro.RoleUser, Text: "run the tests"}}}
}

func TestAnthropicStreamsToolCall(t *testing.T) {
	f := newFake(t, streamHandler(anthropicToolTurn...))
	p := openAnthropic(t, f, Config{}, nil)
	var got textCollector
	resp, err := p.Complete(context.Background(), simpleRequest(), got.add)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Text != "Running the tests." || got.text() != "Running the tests." || len(got.chunks) != 2 {
		t.Errorf("text %q, streamed %q in %d chunks; want the two deltas", resp.Message.Text, got.chunks, len(got.chunks))
	}
	if len(resp.Message.ToolCalls) != 1 {
		t.Fatalf("tool calls = %+v, want 1", resp.Message.ToolCalls)
	}
	c := resp.Message.ToolCalls[0]
	if c.ID != "toolu_01A" || c.Name != "bash" || string(c.Input) != `{"command":"go test ./..."}` {
		t.Errorf("tool call = %s %s %s", c.ID, c.Name, c.Input)
	}
	if resp.StopReason != "tool_use" || resp.Model != "claude-sonnet-4-5-20250929" || resp.Message.Role != ouro.RoleAssistant {
		t.Errorf("stop %q model %q role %q", resp.StopReason, resp.Model, resp.Message.Role)
	}
	// Usage: 1200 plain + 3000 written + 50000 read input tokens, 87 out.
	// At $3 / $3.75 / $0.30 / $15 per million:
	// 1200*3 + 3000*3.75 + 50000*0.30 + 87*15 = 3600 + 11250 + 15000 + 1305 = 31155 micro-dollars.
	want := ouro.Usage{InputTokens: 54200, OutputTokens: 87, CacheReadTokens: 50000, CacheWriteTokens: 3000, CostUSD: 0.031155}
	if u := resp.Usage; u.InputTokens != want.InputTokens || u.OutputTokens != want.OutputTokens ||
		u.CacheReadTokens != want.CacheReadTokens || u.CacheWriteTokens != want.CacheWriteTokens || !near(u.CostUSD, want.CostUSD) {
		t.Errorf("usage = %+v, want %+v", u, want)
	}
	if f.paths[0] != "/v1/messages" {
		t.Errorf("path = %s", f.paths[0])
	}
	if h := f.headers[0]; h.Get("Authorization") != "Bearer sk-ant-test" && h.Get("X-Api-Key") != "sk-ant-test" {
		t.Errorf("key not sent: %v", h)
	}
}

func TestAnthropicTwoToolCalls(t *testing.T) {
	f := newFake(t, streamHandler(
		sseEvent{"message_start", `{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":5,"output_tokens":1}}}`},
		sseEvent{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"read_file","input":{}}}`},
		sseEvent{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"path\": \"go"}}`},
		sseEvent{"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":".mod\"}"}}`},
		sseEvent{"content_block_stop", `{"type":"content_block_stop","index":0}`},
		sseEvent{"content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"grep","input":{}}}`},
		sseEvent{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"pattern\":"}}`},
		sseEvent{"content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"func main\"}"}}`},
		sseEvent{"content_block_stop", `{"type":"content_block_stop","index":1}`},
		sseEvent{"content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_3","name":"finish","input":{}}}`},
		sseEvent{"content_block_stop", `{"type":"content_block_stop","index":2}`},
		sseEvent{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40}}`},
		sseEvent{"message_stop", `{"type":"message_stop"}`},
	))
	p := openAnthropic(t, f, Config{}, nil)
	resp, err := p.Complete(context.Background(), simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ouro.ToolCall{
		{ID: "toolu_1", Name: "read_file", Input: json.RawMessage(`{"path":"go.mod"}`)},
		{ID: "toolu_2", Name: "grep", Input: json.RawMessage(`{"pattern":"func main"}`)},
		{ID: "toolu_3", Name: "finish", Input: json.RawMessage(`{}`)},
	}
	if len(resp.Message.ToolCalls) != len(want) {
		t.Fatalf("tool calls = %+v", resp.Message.ToolCalls)
	}
	for i, w := range want {
		g := resp.Message.ToolCalls[i]
		if g.ID != w.ID || g.Name != w.Name || string(g.Input) != string(w.Input) {
			t.Errorf("call %d = %s %s %s, want %s %s %s", i, g.ID, g.Name, g.Input, w.ID, w.Name, w.Input)
		}
	}
}

// The request on the wire: cache breakpoints, tool results as tool_result
// blocks in a user message, tool calls as tool_use blocks.
func TestAnthropicRequestShape(t *testing.T) {
	f := newFake(t, streamHandler(anthropicTextTurn...))
	p := openAnthropic(t, f, Config{MaxTokens: 1234}, nil)
	req := &Request{
		System: "You are a coding agent.",
		Tools: []ouro.ToolSpec{
			{Name: "read_file", Description: "Read a file.", Schema: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}},"required":["path"],"additionalProperties":false}`)},
			{Name: "bash", Description: "Run a command.", Schema: json.RawMessage(`{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}`)},
		},
		Messages: []ouro.Message{
			{Role: ouro.RoleUser, Text: "fix the build"},
			{Role: ouro.RoleAssistant, Text: "Looking.", ToolCalls: []ouro.ToolCall{
				{ID: "toolu_a", Name: "read_file", Input: json.RawMessage(`{"path":"go.mod"}`)},
				{ID: "toolu_b", Name: "bash", Input: json.RawMessage(`{"command":"go build ./..."}`)},
			}},
			{Role: ouro.RoleUser, ToolResults: []ouro.ToolResult{
				{CallID: "toolu_a", Name: "read_file", Content: "module x"},
				{CallID: "toolu_b", Name: "bash", Content: "exit 1: undefined: foo", IsError: true},
			}},
		},
	}
	if _, err := p.Complete(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	b := f.body(t, 0)
	checks := []struct {
		path []any
		want any
	}{
		{[]any{"model"}, testClaude},
		{[]any{"stream"}, true},
		{[]any{"max_tokens"}, 1234.0},
		{[]any{"system", 0, "text"}, "You are a coding agent."},
		{[]any{"system", 0, "cache_control", "type"}, "ephemeral"},
		{[]any{"tools", 0, "name"}, "read_file"},
		{[]any{"tools", 0, "cache_control"}, nil},
		{[]any{"tools", 0, "input_schema", "type"}, "object"},
		{[]any{"tools", 0, "input_schema", "required", 0}, "path"},
		{[]any{"tools", 0, "input_schema", "additionalProperties"}, false},
		{[]any{"tools", 1, "name"}, "bash"},
		{[]any{"tools", 1, "cache_control", "type"}, "ephemeral"},
		{[]any{"messages", 0, "role"}, "user"},
		{[]any{"messages", 0, "content", 0, "text"}, "fix the build"},
		{[]any{"messages", 1, "role"}, "assistant"},
		{[]any{"messages", 1, "content", 0, "type"}, "text"},
		{[]any{"messages", 1, "content", 1, "type"}, "tool_use"},
		{[]any{"messages", 1, "content", 1, "id"}, "toolu_a"},
		{[]any{"messages", 1, "content", 1, "input", "path"}, "go.mod"},
		{[]any{"messages", 1, "content", 2, "input", "command"}, "go build ./..."},
		{[]any{"messages", 2, "role"}, "user"},
		{[]any{"messages", 2, "content", 0, "type"}, "tool_result"},
		{[]any{"messages", 2, "content", 0, "tool_use_id"}, "toolu_a"},
		{[]any{"messages", 2, "content", 0, "content", 0, "text"}, "module x"},
		{[]any{"messages", 2, "content", 0, "is_error"}, nil},
		{[]any{"messages", 2, "content", 1, "tool_use_id"}, "toolu_b"},
		{[]any{"messages", 2, "content", 1, "is_error"}, true},
		// The last block of the conversation is a breakpoint too.
		{[]any{"messages", 2, "content", 1, "cache_control", "type"}, "ephemeral"},
	}
	for _, c := range checks {
		if got := get(b, c.path...); got != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	if n := len(get(b, "messages").([]any)); n != 3 {
		t.Errorf("%d messages sent, want 3", n)
	}
}

func TestAnthropicRetries(t *testing.T) {
	overloaded := `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	tests := []struct {
		name     string
		first    http.HandlerFunc
		wantWait func(time.Duration) bool
	}{
		{"429 retry-after seconds", statusHandler(429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, "Retry-After", "7"),
			func(d time.Duration) bool { return d == 7*time.Second }},
		{"429 retry-after-ms", statusHandler(429, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`, "Retry-After-Ms", "1500", "Retry-After", "2"),
			func(d time.Duration) bool { return d == 1500*time.Millisecond }},
		{"529 overloaded", statusHandler(529, overloaded),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
		{"500", statusHandler(500, `{"type":"error","error":{"type":"api_error","message":"internal"}}`),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
		{"overloaded_error event mid-stream", streamHandler(anthropicTextTurn[0], sseEvent{"error", overloaded}),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
		{"connection dropped mid-stream", dropHandler(anthropicTextTurn[:3]...),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.first, streamHandler(anthropicTextTurn...))
			s := &sleeps{}
			p := openAnthropic(t, f, Config{}, s)
			resp, err := p.Complete(context.Background(), simpleRequest(), nil)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if resp.Message.Text != "done" {
				t.Errorf("text = %q", resp.Message.Text)
			}
			if n := f.attempts(); n != 2 {
				t.Errorf("%d attempts, want 2", n)
			}
			if w := s.all(); len(w) != 1 || !tt.wantWait(w[0]) {
				t.Errorf("waits = %v", w)
			}
		})
	}
}

func TestAnthropicBackoffGrows(t *testing.T) {
	f := newFake(t, statusHandler(503, `{"type":"error","error":{"type":"api_error","message":"unavailable"}}`))
	s := &sleeps{}
	p := openAnthropic(t, f, Config{MaxRetries: 3}, s)
	_, err := p.Complete(context.Background(), simpleRequest(), nil)
	e := asError(t, err)
	if e.Kind != KindServer || e.Attempts != 4 || f.attempts() != 4 {
		t.Errorf("kind %s attempts %d (server saw %d), want server_error after 4", e.Kind, e.Attempts, f.attempts())
	}
	w := s.all()
	if len(w) != 3 {
		t.Fatalf("waits = %v", w)
	}
	for i, d := range w {
		full := testBaseDelay << i // 100ms, 200ms, 400ms, jittered down to half
		if d < full/2 || d > full {
			t.Errorf("wait %d = %v, want between %v and %v", i, d, full/2, full)
		}
	}
	if got, want := err.Error(), "anthropic: server error (503): unavailable (gave up after 4 attempts)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestAnthropicErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		cfg      Config
		kind     Kind
		attempts int
		msg      string // exact, or a prefix when it ends in "*"
	}{
		{"bad key", statusHandler(401, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`), Config{}, KindAuth, 1,
			"anthropic: the API key was rejected (401); set ANTHROPIC_API_KEY to a valid key"},
		{"unknown model", statusHandler(404, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-sonnet-4-5"}}`), Config{}, KindUnknownModel, 1,
			`anthropic: unknown model "claude-sonnet-4-5" (404)`},
		{"prompt too long", statusHandler(400, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`), Config{}, KindContextLength, 1,
			`anthropic: the conversation is too long for model "claude-sonnet-4-5" (400): prompt is too long: 210000 tokens > 200000 maximum`},
		{"rate limited to the end", statusHandler(429, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`), Config{MaxRetries: 2}, KindRateLimited, 3,
			"anthropic: rate limited (429): Number of request tokens has exceeded your per-minute rate limit (gave up after 3 attempts)"},
		{"malformed JSON mid-stream", streamHandler(anthropicTextTurn[0], sseEvent{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""`}), Config{}, KindBadResponse, 1,
			"anthropic: malformed reply from the server: *"},
		{"dropped every time", dropHandler(anthropicTextTurn[:2]...), Config{MaxRetries: -1}, KindUnreachable, 1,
			"anthropic: the connection dropped mid-reply: unexpected EOF"},
		{"stream ends early", streamHandler(anthropicTextTurn[:3]...), Config{MaxRetries: -1}, KindUnreachable, 1,
			"anthropic: the reply ended before message_stop; the connection dropped mid-reply"},
		{"timeout before headers", hangHandler(), Config{Timeout: 50 * time.Millisecond}, KindTimeout, 1,
			"anthropic: no complete reply within 50ms; raise the model timeout if the model needs longer"},
		{"timeout mid-stream", hangHandler(anthropicTextTurn[:3]...), Config{Timeout: 50 * time.Millisecond}, KindTimeout, 1,
			"anthropic: no complete reply within 50ms; raise the model timeout if the model needs longer"},
		{"not an API", statusHandler(404, `<html>no</html>`), Config{}, KindConfig, 1,
			"anthropic: nothing answers at http://*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.handler)
			p := openAnthropic(t, f, tt.cfg, nil)
			resp, err := p.Complete(context.Background(), simpleRequest(), nil)
			if err == nil {
				t.Fatalf("no error; response %+v", resp)
			}
			checkOneLine(t, err)
			e := asError(t, err)
			if e.Kind != tt.kind {
				t.Errorf("kind = %s, want %s (%v)", e.Kind, tt.kind, err)
			}
			if n := f.attempts(); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			if want, ok := strings.CutSuffix(tt.msg, "*"); ok {
				if !strings.HasPrefix(err.Error(), want) {
					t.Errorf("error = %q, want it to start %q", err, want)
				}
			} else if err.Error() != tt.msg {
				t.Errorf("error = %q\n         want %q", err, tt.msg)
			}
		})
	}
}

func TestAnthropicUnreachable(t *testing.T) {
	base := closedURL(t)
	p, err := open("anthropic:"+testClaude, Config{BaseURL: base, APIKey: "k", MaxRetries: 1}, testOptions(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Complete(context.Background(), simpleRequest(), nil)
	if got, want := err.Error(), "anthropic: cannot reach "+base+": connection refused (gave up after 2 attempts)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if e := asError(t, err); e.Kind != KindUnreachable {
		t.Errorf("kind = %s", e.Kind)
	}
}

func TestAnthropicCancelled(t *testing.T) {
	started := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	p := openAnthropic(t, f, Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := p.Complete(ctx, simpleRequest(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if e := asError(t, err); e.Kind != KindCancelled || f.attempts() != 1 {
		t.Errorf("kind %s after %d attempts", e.Kind, f.attempts())
	}
}

func TestAnthropicKeyFromEnvironment(t *testing.T) {
	f := newFake(t, streamHandler(anthropicTextTurn...))
	p, err := open("anthropic:"+testClaude, Config{BaseURL: f.srv.URL}, testOptions(map[string]string{"ANTHROPIC_API_KEY": "env-key"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Complete(context.Background(), simpleRequest(), nil); err != nil {
		t.Fatal(err)
	}
	if h := f.headers[0]; h.Get("Authorization") != "Bearer env-key" && h.Get("X-Api-Key") != "env-key" {
		t.Errorf("environment key not sent: %v", h)
	}
	if p.ContextWindow() != 200_000 || p.Name() != "anthropic:"+testClaude {
		t.Errorf("window %d name %s", p.ContextWindow(), p.Name())
	}
}

// A credential in the base URL never reaches an error message.
func TestErrorsHideURLCredentials(t *testing.T) {
	base := closedURL(t)
	withCreds := strings.Replace(base, "http://", "http://user:s3cret@", 1) + "/v1?api-key=s3cret"
	p, err := open("openai:"+testGPT, Config{BaseURL: withCreds, MaxRetries: -1}, testOptions(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Complete(context.Background(), simpleRequest(), nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "cannot reach "+base+"/v1:") {
		t.Errorf("error = %v", err)
	}
}

func TestAnthropicToolWithoutSchema(t *testing.T) {
	s, err := anthropicSchema(ouro.ToolSpec{Name: "finish"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if string(b) != `{"type":"object"}` {
		t.Errorf("schema = %s", b)
	}
	if _, err := anthropicSchema(ouro.ToolSpec{Name: "bad", Schema: json.RawMessage(`[1]`)}); err == nil ||
		!strings.HasPrefix(err.Error(), `anthropic: tool "bad": input schema is not a JSON object`) {
		t.Errorf("bad schema: %v", err)
	}
}
