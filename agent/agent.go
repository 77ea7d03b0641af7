// Package agent provides the agent loop: it asks a model for a turn, passes
// every tool call the model proposes through policy, monitors and the
// approval gate, runs it, journals each step, and feeds the results back
// until the agent finishes, fails, is stopped or runs out of budget.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/model"
	"github.com/ouro-run/ouro/policy"
	"github.com/ouro-run/ouro/tool"
)

// Journal is what the loop needs of the event log.
type Journal interface {
	Append(ctx context.Context, recs ...journal.Record) ([]ouro.Event, error)
	Enqueue(ctx context.Context, recs ...journal.Record) (*journal.Pending, error)
	Events(ctx context.Context, runID string, after int64, fn func(*ouro.Event) error) error
	StopRequested(ctx context.Context, id string) (bool, error)
	Approval(ctx context.Context, id string) (journal.Approval, error)
}

// Policy decides on an action.
type Policy interface {
	Evaluate(a *ouro.Action) (policy.Result, error)
	Thresholds() (pause, kill int)
}

// Monitor scores a proposed action (stage "action") or its result (stage
// "result"); the score combines every monitor's by taking the maximum.
type Monitor interface {
	Score(ctx context.Context, stage, task string, a *ouro.Action, result string, isError bool) (ouro.MonitorScored, error)
}

// Observer sees a run as it happens: every event once it is journaled, and
// the model's text as it streams.
type Observer interface {
	Event(ev *ouro.Event)
	Text(runID, delta string)
}

// Delegator starts a child run for the delegate tool and waits for it.
// The loop calls it with the action already approved by the oversight path.
type Delegator interface {
	Delegate(ctx context.Context, parent *Loop, call ouro.ToolCall, a *ouro.Action) (tool.Output, error)
}

// Finisher wraps up a run's workspace when the agent finishes: it commits
// the changes and returns the commit.
type Finisher interface {
	Finish(ctx context.Context, l *Loop, summary string) (commit string, err error)
}

// Config is everything one run's loop needs.
type Config struct {
	RunID    string
	ParentID string
	Lineage  []string // run ids from the root to this run, inclusive
	Depth    int
	Task     string
	Agent    string // agent name
	Prompt   string // system prompt
	Provider model.Provider
	Tools    map[string]tool.Tool
	Policy   Policy
	Monitor  Monitor // nil means no monitors
	Journal  Journal
	Observer Observer // nil means nobody watches
	// Budget limits this run; zero fields are unlimited.
	Budget ouro.Budget
	// MaxTurns caps model turns; zero means 200.
	MaxTurns int
	// MaxTokens is the output cap per model call; zero is the provider's.
	MaxTokens int
	// ApprovalTimeout is how long a request waits for a person before it
	// is denied; zero means 30 minutes.
	ApprovalTimeout time.Duration
	// PollInterval is how often the loop looks for an answer or a stop
	// request written by another process; zero means 200ms.
	PollInterval time.Duration
	// Delegator runs the delegate tool; nil makes it unavailable.
	Delegator Delegator
	// Finisher commits the work on finish; nil skips it.
	Finisher Finisher
	// Escalate, for a delegated run, puts an approval request that a
	// policy rule sends to the parent (escalate: parent) before the parent
	// agent. It journals the parent's answer, or leaves the request pending
	// for a person when the parent asks for one. Nil sends every request
	// to a person.
	Escalate func(ctx context.Context, req *ouro.ApprovalRequested) error
	// Started is the run.started payload for a new run.
	Started ouro.RunStarted
	Logger  *slog.Logger
	Now     func() time.Time
}

// Outcome is how a run ended.
type Outcome struct {
	Status  ouro.RunStatus
	Summary string
	Error   string
	Commit  string
	Usage   ouro.Usage
}

// actionHash is the content hash an approval binds to: the run, the tool
// and its exact arguments.
func actionHash(runID string, call ouro.ToolCall) string {
	h := sha256.New()
	enc := struct {
		Run   string          `json:"run"`
		Tool  string          `json:"tool"`
		Input json.RawMessage `json:"input"`
	}{runID, call.Name, canonicalJSON(call.Input)}
	b, _ := json.Marshal(enc)
	h.Write(b)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON re-encodes a JSON value with sorted keys; invalid JSON is
// returned as a JSON string of its bytes so that it still hashes.
func canonicalJSON(raw json.RawMessage) json.RawMessage {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		b, _ := json.Marshal(string(raw))
		return b
	}
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return raw
	}
	return b
}
