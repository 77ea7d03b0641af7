package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/ouro-run/ouro"
)

const (
	openaiKeyEnv      = "OPENAI_API_KEY"
	openaiDefaultURL  = "https://api.openai.com/v1"
	openaiProviderTag = "openai"
)

// openaiProvider talks to Chat Completions on OpenAI or any compatible
// server (vLLM, Ollama, llama.cpp), streaming.
type openaiProvider struct {
	model   string
	baseURL string
	local   bool // a base URL override: some other server than OpenAI's
	cfg     Config
	client  openai.Client
	retry   *retrier
}

func newOpenAI(name string, cfg Config, o options) (*openaiProvider, error) {
	if err := checkBaseURL(openaiProviderTag, cfg.BaseURL); err != nil {
		return nil, err
	}
	key := cfg.APIKey
	if key == "" {
		key = o.getenv(openaiKeyEnv)
	}
	if key == "" && cfg.BaseURL == "" {
		return nil, &Error{Kind: KindAuth, Provider: openaiProviderTag,
			Message: "no API key; set " + openaiKeyEnv + " or api_key in the model configuration (a local server set with base_url needs none)"}
	}
	base := openaiDefaultURL
	if cfg.BaseURL != "" {
		base = strings.TrimRight(cfg.BaseURL, "/")
	}
	opts := []option.RequestOption{
		option.WithHTTPClient(o.httpClient),
		option.WithBaseURL(base),
		option.WithMaxRetries(0), // the retrier is the only one that retries
		option.WithAPIKey(key),   // explicit, even when empty, so the environment's key is not used behind our back
	}
	return &openaiProvider{
		model:   name,
		baseURL: base,
		local:   cfg.BaseURL != "",
		cfg:     cfg,
		client:  openai.NewClient(opts...),
		retry:   newRetrier(openaiProviderTag, cfg, o),
	}, nil
}

// Name returns "openai:MODEL".
func (p *openaiProvider) Name() string { return openaiProviderTag + ":" + p.model }

// ContextWindow returns the configured or known window of the model.
func (p *openaiProvider) ContextWindow() int {
	return windowFor(p.model, p.cfg.ContextWindow, p.local)
}

// Complete streams one chat completion, retrying transient failures. If a
// retry happens after text was streamed, onText sees the new reply from
// its start.
func (p *openaiProvider) Complete(ctx context.Context, req *Request, onText func(string)) (*Response, error) {
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	return p.retry.run(ctx, func(ctx context.Context) (*Response, error) {
		return p.attempt(ctx, params, req, onText)
	})
}

func (p *openaiProvider) params(req *Request) (openai.ChatCompletionNewParams, error) {
	params := openai.ChatCompletionNewParams{
		Model:         p.model,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	if n := req.MaxTokens; n > 0 || p.cfg.MaxTokens > 0 {
		if n <= 0 {
			n = p.cfg.MaxTokens
		}
		// OpenAI's own reasoning models refuse max_tokens; the compatible
		// servers do not all know max_completion_tokens.
		if p.local {
			params.MaxTokens = openai.Int(int64(n))
		} else {
			params.MaxCompletionTokens = openai.Int(int64(n))
		}
	}
	if req.System != "" {
		params.Messages = append(params.Messages, openai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		params.Messages = append(params.Messages, openaiMessages(m)...)
	}
	for _, t := range req.Tools {
		fn := openai.FunctionDefinitionParam{Name: t.Name}
		if t.Description != "" {
			fn.Description = openai.String(t.Description)
		}
		if len(bytes.TrimSpace(t.Schema)) > 0 {
			var schema map[string]any
			if err := json.Unmarshal(t.Schema, &schema); err != nil {
				return params, &Error{Kind: KindBadRequest, Provider: openaiProviderTag,
					Message: fmt.Sprintf("tool %q: input schema is not a JSON object: %v", t.Name, err)}
			}
			fn.Parameters = schema
		} else {
			fn.Parameters = openai.FunctionParameters{"type": "object", "properties": map[string]any{}}
		}
		params.Tools = append(params.Tools, openai.ChatCompletionFunctionTool(fn))
	}
	return params, nil
}

// openaiMessages converts one message. Tool results become "tool" messages
// that name the call they answer; text that came with them follows as a
// user message.
func openaiMessages(m ouro.Message) []openai.ChatCompletionMessageParamUnion {
	if m.Role == ouro.RoleAssistant {
		a := &openai.ChatCompletionAssistantMessageParam{}
		if m.Text != "" {
			a.Content.OfString = openai.String(m.Text)
		}
		for _, c := range m.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       c.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: openaiArguments(c.Input)},
				},
			})
		}
		return []openai.ChatCompletionMessageParamUnion{{OfAssistant: a}}
	}
	var out []openai.ChatCompletionMessageParamUnion
	for _, r := range m.ToolResults {
		content := r.Content
		if r.IsError && !strings.HasPrefix(strings.ToLower(content), "error") {
			content = "error: " + content // the wire format has no error flag
		}
		out = append(out, openai.ToolMessage(content, r.CallID))
	}
	if m.Text != "" || len(m.ToolResults) == 0 {
		out = append(out, openai.UserMessage(m.Text))
	}
	return out
}

// openaiArguments gives a call's input back in the form it came in: the
// model's JSON, or, for arguments that were not JSON and so were kept as a
// JSON string, that string.
func openaiArguments(input json.RawMessage) string {
	var s string
	if json.Unmarshal(input, &s) == nil {
		return s
	}
	if len(bytes.TrimSpace(input)) == 0 {
		return "{}"
	}
	return string(input)
}

func (p *openaiProvider) attempt(ctx context.Context, params openai.ChatCompletionNewParams, req *Request, onText func(string)) (*Response, error) {
	x := &exchange{}
	stream := p.client.Chat.Completions.NewStreaming(ctx, params, option.WithMiddleware(x.middleware))
	defer func() { _ = stream.Close() }()
	acc := openaiAcc{calls: map[int64]*openaiCall{}}
	for stream.Next() {
		acc.add(stream.Current(), onText)
	}
	if err := stream.Err(); err != nil {
		return nil, p.classify(err, x)
	}
	if acc.finish == "" {
		return nil, &Error{Kind: KindUnreachable, Provider: openaiProviderTag, Status: x.status, retryable: true,
			Message: "the reply ended without a finish_reason; the connection dropped mid-reply"}
	}
	return acc.response(p.model, p.cfg.Prices, req), nil
}

func (p *openaiProvider) classify(err error, x *exchange) *Error {
	if x.status >= 400 {
		return httpError(openaiProviderTag, p.model, openaiKeyEnv, x)
	}
	var serr *ssestream.StreamError
	if errors.As(err, &serr) {
		// An error object in the middle of a 200 stream.
		typ, code, msg, _ := apiMessage(serr.Event.Data)
		status := 500
		switch {
		case code == "rate_limit_exceeded" || typ == "rate_limit_exceeded" || typ == "requests":
			status = 429
		case typ == "invalid_request_error":
			status = 400
		}
		body, _ := json.Marshal(map[string]any{"error": map[string]string{"type": typ, "code": code, "message": msg}})
		return httpError(openaiProviderTag, p.model, openaiKeyEnv, &exchange{url: x.url, status: status, header: x.header, body: body})
	}
	return transportError(openaiProviderTag, p.baseURL, err, x)
}

// openaiAcc assembles a streamed completion.
type openaiAcc struct {
	model  string
	text   strings.Builder
	calls  map[int64]*openaiCall
	order  []*openaiCall
	finish string
	usage  *openai.CompletionUsage
}

type openaiCall struct {
	index    int64
	id, name string
	args     strings.Builder
}

func (a *openaiAcc) add(ch openai.ChatCompletionChunk, onText func(string)) {
	if ch.Model != "" {
		a.model = ch.Model
	}
	if ch.JSON.Usage.Valid() && ch.Usage.PromptTokens+ch.Usage.CompletionTokens > 0 {
		u := ch.Usage
		a.usage = &u
	}
	for _, c := range ch.Choices {
		if c.Index != 0 {
			continue // one reply was asked for
		}
		if d := c.Delta.Content; d != "" {
			a.text.WriteString(d)
			if onText != nil {
				onText(d)
			}
		}
		for _, tc := range c.Delta.ToolCalls {
			call := a.calls[tc.Index]
			// Some servers give every call index 0; a new id is a new call.
			if call == nil || (tc.ID != "" && call.id != "" && tc.ID != call.id) {
				call = &openaiCall{index: tc.Index}
				a.calls[tc.Index] = call
				a.order = append(a.order, call)
			}
			if tc.ID != "" {
				call.id = tc.ID
			}
			if call.name == "" {
				call.name = tc.Function.Name
			}
			call.args.WriteString(tc.Function.Arguments)
		}
		if c.FinishReason != "" {
			a.finish = c.FinishReason
		}
	}
}

// openaiStop maps finish reasons onto the names Response.StopReason uses.
func openaiStop(finish string, calls int) string {
	switch finish {
	case "tool_calls", "function_call":
		return "tool_use"
	case "length":
		return "max_tokens"
	case "stop":
		if calls > 0 {
			return "tool_use" // some servers say stop even when they called tools
		}
		return "end_turn"
	}
	return finish
}

func (a *openaiAcc) response(model string, prices map[string]Price, req *Request) *Response {
	msg := ouro.Message{Role: ouro.RoleAssistant, Text: a.text.String()}
	sort.SliceStable(a.order, func(i, j int) bool { return a.order[i].index < a.order[j].index })
	for i, c := range a.order {
		id := c.id
		if id == "" {
			id = fmt.Sprintf("call_%d", i) // a server that gives no ids still needs distinct ones
		}
		msg.ToolCalls = append(msg.ToolCalls, ouro.ToolCall{ID: id, Name: c.name, Input: toolInput(c.args.String())})
	}
	var u ouro.Usage
	if a.usage != nil {
		u = ouro.Usage{
			InputTokens:      a.usage.PromptTokens,
			OutputTokens:     a.usage.CompletionTokens,
			CacheReadTokens:  a.usage.PromptTokensDetails.CachedTokens,
			CacheWriteTokens: a.usage.PromptTokensDetails.CacheWriteTokens,
		}
	} else {
		// A server that ignores include_usage: estimate, so budgets still count.
		u = ouro.Usage{InputTokens: estimateTokens(requestChars(req)), OutputTokens: estimateTokens(messageChars(msg))}
	}
	if p, ok := priceFor(model, prices); ok {
		u.CostUSD = Cost(p, u)
	}
	name := a.model
	if name == "" {
		name = model
	}
	return &Response{Message: msg, Usage: u, StopReason: openaiStop(a.finish, len(msg.ToolCalls)), Model: name}
}

// toolInput keeps a model's arguments as JSON. Arguments that are not JSON
// are kept as a JSON string, so the tool layer can tell the model what was
// wrong instead of the whole turn failing.
func toolInput(args string) json.RawMessage {
	if strings.TrimSpace(args) == "" {
		return json.RawMessage(`{}`)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(args)) == nil {
		return buf.Bytes()
	}
	s, _ := json.Marshal(args)
	return s
}
