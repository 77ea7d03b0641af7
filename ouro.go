// Package ouro holds the domain types shared by every part of the control
// plane: runs, journal events, model messages, tool calls and actions.
//
// The packages below it each provide one part: journal (the hash-chained
// event log), model (providers), tool (what an agent can call), sandbox
// (isolated execution) and netproxy (its only way out), policy and monitor
// (oversight), agent (the loop), fleet (runs and their delegated
// children), workspace (git worktrees), config (settings), agentdef (agent
// definitions), render (views of events), redteam (attacks on the
// oversight path) and accel (acceleration metrics). cmd/ouro wires them
// into the command line.
package ouro

import (
	"encoding/json"
	"time"
)

// RunStatus is the lifecycle state of a run.
type RunStatus string

// Run states. A run that was running when its process died is shown as
// interrupted until it is resumed.
const (
	StatusRunning     RunStatus = "running"
	StatusFinished    RunStatus = "finished"
	StatusFailed      RunStatus = "failed"
	StatusCancelled   RunStatus = "cancelled"
	StatusStopped     RunStatus = "stopped"
	StatusInterrupted RunStatus = "interrupted"
)

// Ended reports whether the status is terminal.
func (s RunStatus) Ended() bool {
	switch s {
	case StatusFinished, StatusFailed, StatusCancelled, StatusStopped:
		return true
	}
	return false
}

// Run is one agent working on one task in its own worktree and branch.
// It is a projection of the journal.
type Run struct {
	ID           string    `json:"id"`
	ParentID     string    `json:"parent_id,omitempty"`
	Depth        int       `json:"depth"`
	Status       RunStatus `json:"status"`
	Task         string    `json:"task"`
	Agent        string    `json:"agent"`
	AgentHash    string    `json:"agent_hash,omitempty"`
	Model        string    `json:"model"`
	Repo         string    `json:"repo"`
	Worktree     string    `json:"worktree"`
	Branch       string    `json:"branch"`
	BaseCommit   string    `json:"base_commit,omitempty"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	CostUSD      float64   `json:"cost_usd"`
	ToolCalls    int64     `json:"tool_calls"`
	StartedAt    time.Time `json:"started_at"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	Summary      string    `json:"summary,omitempty"`
	Error        string    `json:"error,omitempty"`
	Unsafe       bool      `json:"unsafe_no_sandbox,omitempty"`
}

// EventType names what an event records.
type EventType string

// Event types. The payload of each is a JSON object; the types in this
// package named after the event (RunStarted, ModelCalled, ...) document it.
const (
	EventRunStarted        EventType = "run.started"
	EventRunResumed        EventType = "run.resumed"
	EventRunFinished       EventType = "run.finished"
	EventModelRequest      EventType = "model.request"
	EventModelResponse     EventType = "model.response"
	EventToolCall          EventType = "tool.call"
	EventToolResult        EventType = "tool.result"
	EventFileDiff          EventType = "file.diff"
	EventUsage             EventType = "usage"
	EventError             EventType = "error"
	EventCompaction        EventType = "compaction"
	EventPolicyDecision    EventType = "policy.decision"
	EventMonitorScore      EventType = "monitor.score"
	EventApprovalRequested EventType = "approval.requested"
	EventApprovalAnswered  EventType = "approval.answered"
	EventStopRequested     EventType = "stop.requested"
	EventBudgetExceeded    EventType = "budget.exceeded"
	EventDelegated         EventType = "delegate.started"
	EventDelegateReturned  EventType = "delegate.returned"
	EventCommit            EventType = "workspace.commit"
	EventCheckpoint        EventType = "journal.checkpoint"
)

// Event is one entry of the journal. Hash covers every other field and the
// previous event's hash, so the journal is a chain.
type Event struct {
	Seq   int64           `json:"seq"`
	RunID string          `json:"run_id"`
	Type  EventType       `json:"type"`
	Time  time.Time       `json:"time"`
	Data  json.RawMessage `json:"data"`
	Prev  string          `json:"prev"`
	Hash  string          `json:"hash"`
}

// Usage is token use and its cost for one or more model calls.
type Usage struct {
	InputTokens      int64   `json:"input_tokens"`
	OutputTokens     int64   `json:"output_tokens"`
	CacheReadTokens  int64   `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens int64   `json:"cache_write_tokens,omitempty"`
	CostUSD          float64 `json:"cost_usd"`
}

// Add returns the sum of two usages.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:      u.InputTokens + v.InputTokens,
		OutputTokens:     u.OutputTokens + v.OutputTokens,
		CacheReadTokens:  u.CacheReadTokens + v.CacheReadTokens,
		CacheWriteTokens: u.CacheWriteTokens + v.CacheWriteTokens,
		CostUSD:          u.CostUSD + v.CostUSD,
	}
}

// Role is who said a message.
type Role string

// Message roles.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
)

// Message is one turn of a conversation. An assistant message carries text
// and tool calls; a user message carries text or the results of the
// previous turn's tool calls.
type Message struct {
	Role        Role         `json:"role"`
	Text        string       `json:"text,omitempty"`
	ToolCalls   []ToolCall   `json:"tool_calls,omitempty"`
	ToolResults []ToolResult `json:"tool_results,omitempty"`
}

// ToolCall is a model's request to call one tool.
type ToolCall struct {
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// ToolResult is what a tool call returned, as the model will see it.
type ToolResult struct {
	CallID  string `json:"call_id"`
	Name    string `json:"name,omitempty"`
	Content string `json:"content"`
	IsError bool   `json:"is_error,omitempty"`
}

// ToolSpec describes a tool to a model: its name, what it does, and the
// JSON schema of its input.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"input_schema"`
}

// Action is a proposed tool call as oversight sees it: the parsed
// arguments plus everything policy and monitors reason about.
type Action struct {
	RunID   string         `json:"run_id"`
	Agent   string         `json:"agent"`
	Task    string         `json:"task,omitempty"`
	Depth   int            `json:"depth"`
	Tool    string         `json:"tool"`
	Args    map[string]any `json:"args"`
	Paths   []string       `json:"paths,omitempty"`   // workspace-relative paths the action reads or writes
	Writes  bool           `json:"writes,omitempty"`  // the action modifies Paths
	Command string         `json:"command,omitempty"` // shell command text, for bash
	Argv    [][]string     `json:"argv,omitempty"`    // simple commands found in Command
	Hosts   []string       `json:"hosts,omitempty"`   // network hosts the action names
	Budget  Budget         `json:"budget"`            // used so far
}

// Budget is a set of limits, or an amount used against them. A zero field
// means no limit.
type Budget struct {
	InputTokens  int64         `json:"input_tokens,omitempty" yaml:"input_tokens"`
	OutputTokens int64         `json:"output_tokens,omitempty" yaml:"output_tokens"`
	CostUSD      float64       `json:"cost_usd,omitempty" yaml:"cost_usd"`
	WallTime     time.Duration `json:"wall_time,omitempty" yaml:"wall_time"`
	ToolCalls    int64         `json:"tool_calls,omitempty" yaml:"tool_calls"`
}

// Or returns b with each zero field (no limit) taken from def: the way a
// flag overrides a file, and a file the defaults.
func (b Budget) Or(def Budget) Budget {
	if b.InputTokens == 0 {
		b.InputTokens = def.InputTokens
	}
	if b.OutputTokens == 0 {
		b.OutputTokens = def.OutputTokens
	}
	if b.CostUSD == 0 {
		b.CostUSD = def.CostUSD
	}
	if b.WallTime == 0 {
		b.WallTime = def.WallTime
	}
	if b.ToolCalls == 0 {
		b.ToolCalls = def.ToolCalls
	}
	return b
}

// Decision is a policy outcome for an action.
type Decision string

// Policy decisions, from weakest to strongest: deny wins over ask, ask over
// allow.
const (
	Allow Decision = "allow"
	Ask   Decision = "ask"
	Deny  Decision = "deny"
)

// Command is one shell command to run in a run's sandbox.
type Command struct {
	Script  string        // passed to /bin/sh -c
	Dir     string        // workspace-relative working directory; "" is the workspace root
	Env     []string      // extra KEY=VALUE pairs, still filtered by the sandbox's allowlist
	Timeout time.Duration // wall-clock limit for the whole process tree; 0 means the sandbox default
	Stdin   []byte        // optional standard input
}

// CommandResult is what a sandboxed command produced.
type CommandResult struct {
	Output    []byte        `json:"-"`         // stdout and stderr interleaved, capped
	Truncated bool          `json:"truncated"` // Output was cut to the cap (head and tail kept)
	ExitCode  int           `json:"exit_code"` // -1 when killed by a signal
	Signal    string        `json:"signal,omitempty"`
	TimedOut  bool          `json:"timed_out,omitempty"`
	Duration  time.Duration `json:"duration"`
	Limit     string        `json:"limit,omitempty"` // the resource limit that ended it, if any
}
