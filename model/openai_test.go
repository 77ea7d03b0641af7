package model

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

const testGPT = "gpt-4.1"

func chunk(body string) sseEvent {
	return sseEvent{"", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4.1-2025-04-14",` + body + `}`}
}

var done = sseEvent{"", "[DONE]"}

// Two tool calls in one turn, their arguments split and interleaved, then
// the usage chunk that include_usage asks for.
var openaiToolTurn = []sseEvent{
	chunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"content":"Let me "},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"content":"look."},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"grep","arguments":"{\"pattern\""}}]},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"go.mod\"}"}}]},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":": \"func main\"}"}}]},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]`),
	chunk(`"choices":[],"usage":{"prompt_tokens":2000,"completion_tokens":50,"total_tokens":2050,"prompt_tokens_details":{"cached_tokens":1024}}`),
	done,
}

var openaiTextTurn = []sseEvent{
	chunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":"done"},"finish_reason":null}]`),
	chunk(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`),
	chunk(`"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}`),
	done,
}

func openOpenAI(t *testing.T, f *fakeServer, cfg Config, s *sleeps) Provider {
	t.Helper()
	cfg.BaseURL = f.srv.URL + "/v1"
	p, err := open("openai:"+testGPT, cfg, testOptions(nil, s))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return p
}

func TestOpenAIStreamsTwoToolCalls(t *testing.T) {
	f := newFake(t, streamHandler(openaiToolTurn...))
	p := openOpenAI(t, f, Config{APIKey: "sk-test"}, nil)
	var got textCollector
	resp, err := p.Complete(context.Background(), simpleRequest(), got.add)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Text != "Let me look." || got.text() != "Let me look." || len(got.chunks) != 2 {
		t.Errorf("text %q, streamed %q", resp.Message.Text, got.chunks)
	}
	want := []ouro.ToolCall{
		{ID: "call_a", Name: "read_file", Input: json.RawMessage(`{"path":"go.mod"}`)},
		{ID: "call_b", Name: "grep", Input: json.RawMessage(`{"pattern":"func main"}`)},
	}
	if len(resp.Message.ToolCalls) != 2 {
		t.Fatalf("tool calls = %+v", resp.Message.ToolCalls)
	}
	for i, w := range want {
		g := resp.Message.ToolCalls[i]
		if g.ID != w.ID || g.Name != w.Name || string(g.Input) != string(w.Input) {
			t.Errorf("call %d = %s %s %s, want %s %s %s", i, g.ID, g.Name, g.Input, w.ID, w.Name, w.Input)
		}
	}
	if resp.StopReason != "tool_use" || resp.Model != "gpt-4.1-2025-04-14" {
		t.Errorf("stop %q model %q", resp.StopReason, resp.Model)
	}
	// 2000 prompt tokens of which 1024 cached, 50 out, at $2 / $0.50 / $8
	// per million: 976*2 + 1024*0.5 + 50*8 = 1952 + 512 + 400 = 2864 micro-dollars.
	u := resp.Usage
	if u.InputTokens != 2000 || u.CacheReadTokens != 1024 || u.OutputTokens != 50 || !near(u.CostUSD, 0.002864) {
		t.Errorf("usage = %+v, want 2000 in (1024 cached), 50 out, $0.002864", u)
	}
	if f.paths[0] != "/v1/chat/completions" || f.headers[0].Get("Authorization") != "Bearer sk-test" {
		t.Errorf("path %s auth %q", f.paths[0], f.headers[0].Get("Authorization"))
	}
}

// Servers that number every call 0 but give each its own id.
func TestOpenAICallsAllIndexZero(t *testing.T) {
	f := newFake(t, streamHandler(
		chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"bash","arguments":"{\"command\":\"ls\"}"}}]},"finish_reason":null}]`),
		chunk(`"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c2","type":"function","function":{"name":"bash","arguments":"{\"command\":\"pwd\"}"}}]},"finish_reason":null}]`),
		chunk(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`),
		done,
	))
	p := openOpenAI(t, f, Config{}, nil)
	resp, err := p.Complete(context.Background(), simpleRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "c1" || string(calls[0].Input) != `{"command":"ls"}` || calls[1].ID != "c2" || string(calls[1].Input) != `{"command":"pwd"}` {
		t.Errorf("calls = %+v", calls)
	}
	if resp.StopReason != "tool_use" {
		t.Errorf("stop = %q", resp.StopReason)
	}
	// No usage chunk: estimated at four characters a token. The request
	// is "You are a coding agent." (23) + "run the tests" (13) = 36 chars;
	// the reply is two calls of "bash" (4) + 16 and 17 chars of input = 41.
	if resp.Usage.InputTokens != 36/4 || resp.Usage.OutputTokens != 41/4 {
		t.Errorf("estimated usage = %+v", resp.Usage)
	}
}

func TestOpenAIRequestShape(t *testing.T) {
	f := newFake(t, streamHandler(openaiTextTurn...))
	p := openOpenAI(t, f, Config{MaxTokens: 500}, nil)
	req := &Request{
		System: "You are a coding agent.",
		Tools: []ouro.ToolSpec{
			{Name: "bash", Description: "Run a command.", Schema: json.RawMessage(`{"type":"object","properties":{"command":{"type":"string"}},"required":["command"]}`)},
		},
		Messages: []ouro.Message{
			{Role: ouro.RoleUser, Text: "fix the build"},
			{Role: ouro.RoleAssistant, Text: "Building.", ToolCalls: []ouro.ToolCall{
				{ID: "call_1", Name: "bash", Input: json.RawMessage(`{"command":"go build ./..."}`)},
				{ID: "call_2", Name: "bash", Input: json.RawMessage(`{"command":"go vet ./..."}`)},
			}},
			{Role: ouro.RoleUser, ToolResults: []ouro.ToolResult{
				{CallID: "call_1", Content: "ok"},
				{CallID: "call_2", Content: "vet: bad", IsError: true},
			}, Text: "also check the docs"},
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
		{[]any{"model"}, testGPT},
		{[]any{"stream"}, true},
		{[]any{"stream_options", "include_usage"}, true},
		{[]any{"max_tokens"}, 500.0}, // a compatible server: the classic field
		{[]any{"max_completion_tokens"}, nil},
		{[]any{"tools", 0, "type"}, "function"},
		{[]any{"tools", 0, "function", "name"}, "bash"},
		{[]any{"tools", 0, "function", "parameters", "required", 0}, "command"},
		{[]any{"messages", 0, "role"}, "system"},
		{[]any{"messages", 0, "content"}, "You are a coding agent."},
		{[]any{"messages", 1, "role"}, "user"},
		{[]any{"messages", 1, "content"}, "fix the build"},
		{[]any{"messages", 2, "role"}, "assistant"},
		{[]any{"messages", 2, "content"}, "Building."},
		{[]any{"messages", 2, "tool_calls", 0, "id"}, "call_1"},
		{[]any{"messages", 2, "tool_calls", 0, "type"}, "function"},
		{[]any{"messages", 2, "tool_calls", 0, "function", "name"}, "bash"},
		{[]any{"messages", 2, "tool_calls", 0, "function", "arguments"}, `{"command":"go build ./..."}`},
		{[]any{"messages", 2, "tool_calls", 1, "id"}, "call_2"},
		{[]any{"messages", 3, "role"}, "tool"},
		{[]any{"messages", 3, "tool_call_id"}, "call_1"},
		{[]any{"messages", 3, "content"}, "ok"},
		{[]any{"messages", 4, "role"}, "tool"},
		{[]any{"messages", 4, "tool_call_id"}, "call_2"},
		{[]any{"messages", 4, "content"}, "error: vet: bad"},
		{[]any{"messages", 5, "role"}, "user"},
		{[]any{"messages", 5, "content"}, "also check the docs"},
	}
	for _, c := range checks {
		if got := get(b, c.path...); got != c.want {
			t.Errorf("%v = %#v, want %#v", c.path, got, c.want)
		}
	}
	if n := len(get(b, "messages").([]any)); n != 6 {
		t.Errorf("%d messages sent, want 6", n)
	}
	// No key and a base URL: a local server, so no Authorization header.
	if a := f.headers[0].Get("Authorization"); a != "" {
		t.Errorf("Authorization = %q, want none", a)
	}
}

// Against OpenAI itself the output cap goes in max_completion_tokens.
func TestOpenAIMaxCompletionTokens(t *testing.T) {
	p, err := newOpenAI(testGPT, Config{APIKey: "k"}, testOptions(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	params, err := p.params(&Request{MaxTokens: 77})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(params)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if m["max_completion_tokens"] != 77.0 || m["max_tokens"] != nil {
		t.Errorf("body = %s", b)
	}
	if p.ContextWindow() != 1_047_576 {
		t.Errorf("window = %d", p.ContextWindow())
	}
}

func TestOpenAIRetries(t *testing.T) {
	tests := []struct {
		name     string
		first    http.HandlerFunc
		wantWait func(time.Duration) bool
	}{
		{"429 retry-after", statusHandler(429, `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, "Retry-After", "3"),
			func(d time.Duration) bool { return d == 3*time.Second }},
		{"502", statusHandler(502, `bad gateway`),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
		{"dropped mid-stream", dropHandler(openaiToolTurn[:4]...),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
		{"error object mid-stream", streamHandler(openaiTextTurn[0], sseEvent{"", `{"error":{"message":"The server had an error","type":"server_error"}}`}),
			func(d time.Duration) bool { return d >= testBaseDelay/2 && d <= testBaseDelay }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.first, streamHandler(openaiTextTurn...))
			s := &sleeps{}
			p := openOpenAI(t, f, Config{}, s)
			resp, err := p.Complete(context.Background(), simpleRequest(), nil)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if resp.Message.Text != "done" || resp.StopReason != "end_turn" {
				t.Errorf("text %q stop %q", resp.Message.Text, resp.StopReason)
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

func TestOpenAIErrors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		cfg      Config
		model    string
		kind     Kind
		attempts int
		msg      string
	}{
		{"bad key", statusHandler(401, `{"error":{"message":"Incorrect API key provided: sk-bad. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`),
			Config{APIKey: "sk-bad"}, testGPT, KindAuth, 1, "openai: the API key was rejected (401); set OPENAI_API_KEY to a valid key"},
		{"unknown model", statusHandler(404, `{"error":{"message":"The model `+"`gpt-x`"+` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`),
			Config{}, "gpt-x", KindUnknownModel, 1, `openai: unknown model "gpt-x" (404)`},
		{"unknown model, vLLM", statusHandler(404, `{"object":"error","message":"The model `+"`gpt-x`"+` does not exist.","type":"NotFoundError","param":null,"code":404}`),
			Config{}, "gpt-x", KindUnknownModel, 1, `openai: unknown model "gpt-x" (404)`},
		{"unknown model, Ollama", statusHandler(404, `{"error":"model \"gpt-x\" not found, try pulling it first"}`),
			Config{}, "gpt-x", KindUnknownModel, 1, `openai: unknown model "gpt-x" (404)`},
		{"context length", statusHandler(400, `{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`),
			Config{}, testGPT, KindContextLength, 1, `openai: the conversation is too long for model "gpt-4.1" (400): This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.`},
		{"malformed JSON mid-stream", streamHandler(openaiTextTurn[0], sseEvent{"", `{"id":"x","choices":[{"index":0,"delta":{"content":"a"`}),
			Config{}, testGPT, KindBadResponse, 1, "openai: malformed reply from the server: unexpected end of JSON input"},
		{"no finish_reason", streamHandler(openaiTextTurn[0], done), Config{MaxRetries: -1}, testGPT, KindUnreachable, 1,
			"openai: the reply ended without a finish_reason; the connection dropped mid-reply"},
		{"timeout", hangHandler(openaiTextTurn[0]), Config{Timeout: 50 * time.Millisecond}, testGPT, KindTimeout, 1,
			"openai: no complete reply within 50ms; raise the model timeout if the model needs longer"},
		{"overloaded to the end", statusHandler(503, `{"error":{"message":"overloaded","type":"server_error"}}`), Config{MaxRetries: 1}, testGPT, KindServer, 2,
			"openai: server error (503): overloaded (gave up after 2 attempts)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.handler)
			tt.cfg.BaseURL = f.srv.URL + "/v1"
			p, err := open("openai:"+tt.model, tt.cfg, testOptions(nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Complete(context.Background(), simpleRequest(), nil)
			if err == nil {
				t.Fatal("no error")
			}
			checkOneLine(t, err)
			e := asError(t, err)
			if e.Kind != tt.kind {
				t.Errorf("kind = %s, want %s (%v)", e.Kind, tt.kind, err)
			}
			if n := f.attempts(); n != tt.attempts {
				t.Errorf("%d attempts, want %d", n, tt.attempts)
			}
			if err.Error() != tt.msg {
				t.Errorf("error = %q\n         want %q", err, tt.msg)
			}
		})
	}
}

func TestOpenAIUnreachable(t *testing.T) {
	base := closedURL(t) + "/v1"
	p, err := open("openai:"+testGPT, Config{BaseURL: base, MaxRetries: -1}, testOptions(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Complete(context.Background(), simpleRequest(), nil)
	if got, want := err.Error(), "openai: cannot reach "+base+": connection refused"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base = %s", base)
	}
}
