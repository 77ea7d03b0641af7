// Package model provides one interface over model providers: Anthropic,
// OpenAI-compatible servers, and a deterministic scripted provider.
package model

import (
	"context"
	"time"

	"github.com/ouro-run/ouro"
)

// Purposes of a request, so a provider (the scripted one in particular)
// can tell an agent turn from housekeeping.
const (
	PurposeTurn    = ""        // an agent turn
	PurposeCompact = "compact" // summarise older turns of a long conversation
	PurposeMonitor = "monitor" // a trusted model rating an action
)

// Request is one call to a model.
type Request struct {
	System    string          // system prompt (agent instructions)
	Messages  []ouro.Message  // the conversation, oldest first
	Tools     []ouro.ToolSpec // tools the model may call
	MaxTokens int             // output cap; 0 means the provider default
	Purpose   string          // one of the Purpose constants
}

// Response is a model's reply.
type Response struct {
	Message    ouro.Message // role assistant: text and tool calls
	Usage      ouro.Usage   // tokens and cost of this call
	StopReason string       // end_turn, tool_use, max_tokens, ...
	Model      string       // model name as the provider reported it
}

// Provider is a model endpoint. Complete streams text deltas to onText (which
// may be nil) as they arrive and returns the whole reply.
type Provider interface {
	// Name is the provider spec, for example "anthropic:claude-sonnet-4-5".
	Name() string
	// ContextWindow is the model's context window in tokens.
	ContextWindow() int
	// Complete sends one request, retrying transient failures.
	Complete(ctx context.Context, req *Request, onText func(string)) (*Response, error)
}

// Price is what a model charges, in US dollars per million tokens.
type Price struct {
	Input      float64 `yaml:"input" json:"input"`
	Output     float64 `yaml:"output" json:"output"`
	CacheRead  float64 `yaml:"cache_read" json:"cache_read"`
	CacheWrite float64 `yaml:"cache_write" json:"cache_write"`
}

// Config configures a provider. Zero fields take defaults.
type Config struct {
	BaseURL       string           // endpoint override (any OpenAI-compatible server, a test server)
	APIKey        string           // overrides the provider's environment variable
	Timeout       time.Duration    // per request; default 10 minutes
	MaxRetries    int              // on 429, 5xx and overloaded; default 5; negative means none
	MaxTokens     int              // default output cap per call
	ContextWindow int              // overrides the model's known window
	Prices        map[string]Price // per model name; overrides the built-in table
}
