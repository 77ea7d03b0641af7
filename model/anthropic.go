package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"

	"github.com/ouro-run/ouro"
)

const (
	anthropicKeyEnv      = "ANTHROPIC_API_KEY"
	anthropicDefaultURL  = "https://api.anthropic.com"
	anthropicDefaultCap  = 8192 // output tokens when neither request nor config sets a cap
	anthropicSmallCap    = 4096 // for the older models whose output limit is lower
	anthropicProviderTag = "anthropic"
)

// anthropicProvider talks to the Messages API, streaming.
type anthropicProvider struct {
	model   string
	baseURL string
	cfg     Config
	client  anthropic.Client
	retry   *retrier
}

func newAnthropic(name string, cfg Config, o options) (*anthropicProvider, error) {
	if err := checkBaseURL(anthropicProviderTag, cfg.BaseURL); err != nil {
		return nil, err
	}
	key := cfg.APIKey
	if key == "" {
		key = o.getenv(anthropicKeyEnv)
	}
	if key == "" && cfg.BaseURL == "" {
		return nil, &Error{Kind: KindAuth, Provider: anthropicProviderTag,
			Message: "no API key; set " + anthropicKeyEnv + " or api_key in the model configuration"}
	}
	opts := []option.RequestOption{
		// ouro resolves the key and base URL itself; the SDK reads nothing
		// from the environment or from profile files on disk.
		option.WithoutEnvironmentDefaults(),
		option.WithHTTPClient(o.httpClient),
		option.WithMaxRetries(0), // the retrier is the only one that retries
	}
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	}
	base := anthropicDefaultURL
	if cfg.BaseURL != "" {
		base = strings.TrimRight(cfg.BaseURL, "/")
		opts = append(opts, option.WithBaseURL(cfg.BaseURL))
	}
	return &anthropicProvider{
		model:   name,
		baseURL: base,
		cfg:     cfg,
		client:  anthropic.NewClient(opts...),
		retry:   newRetrier(anthropicProviderTag, cfg, o),
	}, nil
}

// Name returns "anthropic:MODEL".
func (p *anthropicProvider) Name() string { return anthropicProviderTag + ":" + p.model }

// ContextWindow returns the configured or known window of the model.
func (p *anthropicProvider) ContextWindow() int {
	return windowFor(p.model, p.cfg.ContextWindow, false)
}

// Complete streams one Messages API call, retrying transient failures. If
// a retry happens after text was streamed, onText sees the new reply from
// its start.
func (p *anthropicProvider) Complete(ctx context.Context, req *Request, onText func(string)) (*Response, error) {
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	return p.retry.run(ctx, func(ctx context.Context) (*Response, error) {
		return p.attempt(ctx, params, onText)
	})
}

func (p *anthropicProvider) maxTokens(req *Request) int64 {
	switch {
	case req.MaxTokens > 0:
		return int64(req.MaxTokens)
	case p.cfg.MaxTokens > 0:
		return int64(p.cfg.MaxTokens)
	case strings.HasPrefix(p.model, "claude-3-haiku") || strings.HasPrefix(p.model, "claude-3-opus"):
		return anthropicSmallCap
	}
	return anthropicDefaultCap
}

// params builds the request body. The system prompt, the last tool and the
// last content block of the conversation each carry a cache breakpoint, so
// an agent loop pays full price for the growing prefix only once.
func (p *anthropicProvider) params(req *Request) (anthropic.MessageNewParams, error) {
	params := anthropic.MessageNewParams{
		Model:     p.model,
		MaxTokens: p.maxTokens(req),
	}
	if req.System != "" {
		params.System = []anthropic.TextBlockParam{{Text: req.System, CacheControl: anthropic.NewCacheControlEphemeralParam()}}
	}
	for i, t := range req.Tools {
		schema, err := anthropicSchema(t)
		if err != nil {
			return params, err
		}
		tp := &anthropic.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tp.Description = anthropic.String(t.Description)
		}
		if i == len(req.Tools)-1 {
			tp.CacheControl = anthropic.NewCacheControlEphemeralParam()
		}
		params.Tools = append(params.Tools, anthropic.ToolUnionParam{OfTool: tp})
	}
	for _, m := range req.Messages {
		blocks := anthropicBlocks(m)
		if len(blocks) == 0 {
			continue // the API refuses empty messages
		}
		if m.Role == ouro.RoleAssistant {
			params.Messages = append(params.Messages, anthropic.NewAssistantMessage(blocks...))
		} else {
			params.Messages = append(params.Messages, anthropic.NewUserMessage(blocks...))
		}
	}
	if n := len(params.Messages); n > 0 {
		last := params.Messages[n-1]
		var blocks []anthropic.ContentBlockParamUnion
		if last.OfUser != nil {
			blocks = last.OfUser.Content
		} else if last.OfAssistant != nil {
			blocks = last.OfAssistant.Content
		}
		if len(blocks) > 0 {
			if cc := blocks[len(blocks)-1].GetCacheControl(); cc != nil {
				*cc = anthropic.NewCacheControlEphemeralParam()
			}
		}
	}
	return params, nil
}

// anthropicBlocks converts one message. Tool results come first in a user
// message, as the API requires; a tool call's input is sent as it came.
func anthropicBlocks(m ouro.Message) []anthropic.ContentBlockParamUnion {
	var blocks []anthropic.ContentBlockParamUnion
	if m.Role == ouro.RoleAssistant {
		if m.Text != "" {
			blocks = append(blocks, anthropic.NewTextBlock(m.Text))
		}
		for _, c := range m.ToolCalls {
			var input any = json.RawMessage(`{}`)
			if len(bytes.TrimSpace(c.Input)) > 0 && bytes.TrimSpace(c.Input)[0] == '{' && json.Valid(c.Input) {
				input = c.Input
			}
			blocks = append(blocks, anthropic.NewToolUseBlock(c.ID, input, c.Name))
		}
		return blocks
	}
	for _, r := range m.ToolResults {
		tr := &anthropic.ToolResultBlockParam{ToolUseID: r.CallID}
		if r.Content != "" { // an empty text block is refused; no content is not
			tr.Content = []anthropic.ToolResultBlockParamContentUnion{{OfText: &anthropic.TextBlockParam{Text: r.Content}}}
		}
		if r.IsError {
			tr.IsError = anthropic.Bool(true)
		}
		blocks = append(blocks, anthropic.ContentBlockParamUnion{OfToolResult: tr})
	}
	if m.Text != "" {
		blocks = append(blocks, anthropic.NewTextBlock(m.Text))
	}
	return blocks
}

// anthropicSchema splits a JSON schema into the SDK's fields.
func anthropicSchema(t ouro.ToolSpec) (anthropic.ToolInputSchemaParam, error) {
	var s anthropic.ToolInputSchemaParam
	if len(bytes.TrimSpace(t.Schema)) == 0 {
		return s, nil
	}
	var m map[string]any
	if err := json.Unmarshal(t.Schema, &m); err != nil {
		return s, &Error{Kind: KindBadRequest, Provider: anthropicProviderTag,
			Message: fmt.Sprintf("tool %q: input schema is not a JSON object: %v", t.Name, err)}
	}
	if props, ok := m["properties"]; ok {
		s.Properties = props
	}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				s.Required = append(s.Required, name)
			}
		}
	}
	for k, v := range m {
		switch k {
		case "type", "properties", "required":
		default:
			if s.ExtraFields == nil {
				s.ExtraFields = map[string]any{}
			}
			s.ExtraFields[k] = v
		}
	}
	return s, nil
}

func (p *anthropicProvider) attempt(ctx context.Context, params anthropic.MessageNewParams, onText func(string)) (*Response, error) {
	x := &exchange{}
	stream := p.client.Messages.NewStreaming(ctx, params, option.WithMiddleware(x.middleware))
	defer func() { _ = stream.Close() }()
	var acc anthropicAcc
	for stream.Next() {
		if err := acc.add(stream.Current(), onText); err != nil {
			return nil, err
		}
	}
	if err := stream.Err(); err != nil {
		return nil, p.classify(err, x)
	}
	if !acc.stopped {
		return nil, &Error{Kind: KindUnreachable, Provider: anthropicProviderTag, Status: x.status, retryable: true,
			Message: "the reply ended before message_stop; the connection dropped mid-reply"}
	}
	return acc.response(p.model, p.cfg.Prices)
}

// classify turns whatever the SDK returned into an *Error.
func (p *anthropicProvider) classify(err error, x *exchange) *Error {
	if x.status >= 400 {
		return httpError(anthropicProviderTag, p.model, anthropicKeyEnv, x)
	}
	var aerr *anthropic.Error
	if errors.As(err, &aerr) {
		// An error event in the middle of a 200 stream, such as
		// overloaded_error: judge it as if it had been the status.
		typ := string(aerr.Type())
		body, _ := json.Marshal(map[string]any{"error": map[string]string{"type": typ, "message": aerr.Message}})
		return httpError(anthropicProviderTag, p.model, anthropicKeyEnv,
			&exchange{url: x.url, status: anthropicStatus(typ), header: x.header, body: body})
	}
	return transportError(anthropicProviderTag, p.baseURL, err, x)
}

// anthropicStatus maps an error type to the status the API gives it.
func anthropicStatus(typ string) int {
	switch typ {
	case "overloaded_error":
		return 529
	case "rate_limit_error":
		return 429
	case "authentication_error":
		return 401
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "invalid_request_error":
		return 400
	case "timeout_error":
		return 504
	}
	return 500
}

// transportError classifies a failure that is not an error status: the
// connection, the caller's context, or a reply that could not be parsed.
func transportError(provider, baseURL string, err error, x *exchange) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case contextErr(err):
		return &Error{Kind: KindCancelled, Provider: provider, Message: err.Error(), err: err}
	case errors.As(err, &syn) || errors.As(err, &typ):
		return &Error{Kind: KindBadResponse, Provider: provider, Status: x.status, err: err,
			Message: "malformed reply from the server: " + oneLine(err.Error(), 200)}
	case x.status == 0 && isNetError(err):
		return &Error{Kind: KindUnreachable, Provider: provider, retryable: true, err: err,
			Message: fmt.Sprintf("cannot reach %s: %s", displayURL(baseURL), netReason(err))}
	case isNetError(err):
		return &Error{Kind: KindUnreachable, Provider: provider, Status: x.status, retryable: true, err: err,
			Message: "the connection dropped mid-reply: " + netReason(err)}
	}
	return &Error{Kind: KindBadResponse, Provider: provider, Status: x.status, err: err,
		Message: "request failed: " + oneLine(err.Error(), 200)}
}

// anthropicAcc assembles a streamed message.
type anthropicAcc struct {
	model   string
	text    strings.Builder
	tools   []*streamedCall
	byIndex map[int64]*streamedCall
	usage   ouro.Usage // InputTokens here is the uncached part only
	stop    string
	stopped bool
}

// streamedCall is a tool call whose input arrives in pieces.
type streamedCall struct {
	id, name string
	start    json.RawMessage // input given whole in the start event
	input    strings.Builder // input_json_delta pieces
}

func (a *anthropicAcc) add(ev anthropic.MessageStreamEventUnion, onText func(string)) error {
	switch ev.Type {
	case "message_start":
		a.model = ev.Message.Model
		u := ev.Message.Usage
		a.usage = ouro.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
			CacheReadTokens: u.CacheReadInputTokens, CacheWriteTokens: u.CacheCreationInputTokens}
	case "content_block_start":
		b := ev.ContentBlock
		switch b.Type {
		case "tool_use":
			c := &streamedCall{id: b.ID, name: b.Name}
			if b.Input != nil {
				c.start, _ = json.Marshal(b.Input)
			}
			if a.byIndex == nil {
				a.byIndex = map[int64]*streamedCall{}
			}
			a.byIndex[ev.Index] = c
			a.tools = append(a.tools, c)
		case "text":
			a.emit(b.Text, onText)
		}
	case "content_block_delta":
		switch ev.Delta.Type {
		case "text_delta":
			a.emit(ev.Delta.Text, onText)
		case "input_json_delta":
			c := a.byIndex[ev.Index]
			if c == nil {
				return &Error{Kind: KindBadResponse, Provider: anthropicProviderTag,
					Message: fmt.Sprintf("malformed reply from the server: tool input for block %d, which is not a tool call", ev.Index)}
			}
			c.input.WriteString(ev.Delta.PartialJSON)
		}
	case "message_delta":
		u := ev.Usage
		if u.OutputTokens > 0 {
			a.usage.OutputTokens = u.OutputTokens
		}
		if u.InputTokens > 0 {
			a.usage.InputTokens = u.InputTokens
		}
		if u.CacheReadInputTokens > 0 {
			a.usage.CacheReadTokens = u.CacheReadInputTokens
		}
		if u.CacheCreationInputTokens > 0 {
			a.usage.CacheWriteTokens = u.CacheCreationInputTokens
		}
		if ev.Delta.StopReason != "" {
			a.stop = string(ev.Delta.StopReason)
		}
	case "message_stop":
		a.stopped = true
	}
	return nil
}

func (a *anthropicAcc) emit(s string, onText func(string)) {
	if s == "" {
		return
	}
	a.text.WriteString(s)
	if onText != nil {
		onText(s)
	}
}

func (a *anthropicAcc) response(model string, prices map[string]Price) (*Response, error) {
	msg := ouro.Message{Role: ouro.RoleAssistant, Text: a.text.String()}
	for _, c := range a.tools {
		input, err := c.json()
		if err != nil {
			return nil, &Error{Kind: KindBadResponse, Provider: anthropicProviderTag,
				Message: fmt.Sprintf("malformed reply from the server: input of tool call %s (%s) is not JSON: %v", c.id, c.name, err)}
		}
		msg.ToolCalls = append(msg.ToolCalls, ouro.ToolCall{ID: c.id, Name: c.name, Input: input})
	}
	u := a.usage
	// Report every input token in InputTokens; the API counts the cached
	// ones separately.
	u.InputTokens += u.CacheReadTokens + u.CacheWriteTokens
	if p, ok := priceFor(model, prices); ok {
		u.CostUSD = Cost(p, u)
	}
	name := a.model
	if name == "" {
		name = model
	}
	return &Response{Message: msg, Usage: u, StopReason: a.stop, Model: name}, nil
}

// json returns the assembled input, compacted; "{}" when there was none.
func (c *streamedCall) json() (json.RawMessage, error) {
	raw := []byte(c.input.String())
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = c.start
	}
	if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
		return json.RawMessage(`{}`), nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
