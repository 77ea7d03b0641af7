package ouro

import "time"

// The payloads below are the Data of the journal events named after them.
// Projections (the run list, pending approvals) decode them, so their JSON
// names are part of the journal format.

// RunStarted is the payload of EventRunStarted.
type RunStarted struct {
	Task       string `json:"task"`
	Agent      string `json:"agent"`
	AgentHash  string `json:"agent_hash"`
	Model      string `json:"model"`
	ConfigHash string `json:"config_hash"`
	PolicyHash string `json:"policy_hash,omitempty"`
	Repo       string `json:"repo"`
	Worktree   string `json:"worktree"`
	Branch     string `json:"branch"`
	BaseCommit string `json:"base_commit"`
	ParentID   string `json:"parent_id,omitempty"`
	Depth      int    `json:"depth"`
	Budget     Budget `json:"budget"`
	Sandbox    string `json:"sandbox"`
	Unsafe     bool   `json:"unsafe_no_sandbox,omitempty"`
	// Definition is the agent definition file's full text, so a run can be
	// reproduced from the journal alone.
	Definition string `json:"definition,omitempty"`
}

// RunFinished is the payload of EventRunFinished.
type RunFinished struct {
	Status  RunStatus `json:"status"`
	Summary string    `json:"summary,omitempty"`
	Error   string    `json:"error,omitempty"`
	Commit  string    `json:"commit,omitempty"`
}

// ModelResponse is the payload of EventModelResponse.
type ModelResponse struct {
	Turn       int     `json:"turn"`
	Message    Message `json:"message"`
	Usage      Usage   `json:"usage"`
	StopReason string  `json:"stop_reason,omitempty"`
	Model      string  `json:"model,omitempty"`
	LatencyMS  float64 `json:"latency_ms"`
}

// ModelRequest is the payload of EventModelRequest. The full conversation is
// not repeated: it is the sum of earlier events.
type ModelRequest struct {
	Turn     int    `json:"turn"`
	Messages int    `json:"messages"`
	Purpose  string `json:"purpose,omitempty"`
}

// ToolCalled is the payload of EventToolCall: written before the tool runs.
type ToolCalled struct {
	Turn   int      `json:"turn"`
	Call   ToolCall `json:"call"`
	Action *Action  `json:"action,omitempty"`
}

// ToolReturned is the payload of EventToolResult.
type ToolReturned struct {
	Turn       int            `json:"turn"`
	Result     ToolResult     `json:"result"`
	DurationMS float64        `json:"duration_ms"`
	Command    *CommandResult `json:"command,omitempty"`
	Finished   bool           `json:"finished,omitempty"`
}

// FileDiff is the payload of EventFileDiff.
type FileDiff struct {
	Path string `json:"path"`
	Diff string `json:"diff"`
}

// UsageRecorded is the payload of EventUsage: one model call's usage.
type UsageRecorded struct {
	Model string `json:"model"`
	Usage Usage  `json:"usage"`
	// Rollup is true when the usage was spent by a descendant run and is
	// being added to this ancestor's totals.
	Rollup bool   `json:"rollup,omitempty"`
	From   string `json:"from,omitempty"`
}

// ErrorRecorded is the payload of EventError.
type ErrorRecorded struct {
	Where   string `json:"where"`
	Message string `json:"message"`
}

// Compacted is the payload of EventCompaction.
type Compacted struct {
	Turn          int    `json:"turn"`
	DroppedTurns  int    `json:"dropped_messages"`
	Summary       string `json:"summary"`
	TokensBefore  int64  `json:"tokens_before"`
	ContextWindow int    `json:"context_window"`
}

// PolicyDecided is the payload of EventPolicyDecision.
type PolicyDecided struct {
	CallID   string   `json:"call_id"`
	Decision Decision `json:"decision"`
	Rule     string   `json:"rule,omitempty"`
	Message  string   `json:"message,omitempty"`
	Hits     []string `json:"hits,omitempty"`
}

// MonitorScored is the payload of EventMonitorScore.
type MonitorScored struct {
	CallID string         `json:"call_id"`
	Stage  string         `json:"stage"` // action or result
	Score  int            `json:"score"`
	Reason string         `json:"reason"`
	Scores []MonitorScore `json:"scores,omitempty"`
}

// MonitorScore is one monitor's score of an action or result.
type MonitorScore struct {
	Monitor  string `json:"monitor"`
	Category string `json:"category,omitempty"`
	Score    int    `json:"score"`
	Reason   string `json:"reason"`
}

// ApprovalRequested is the payload of EventApprovalRequested.
type ApprovalRequested struct {
	ID         string    `json:"id"`
	CallID     string    `json:"call_id"`
	ActionHash string    `json:"action_hash"`
	Action     Action    `json:"action"`
	Why        string    `json:"why"` // policy ask, or monitor score
	Score      int       `json:"score"`
	Reasons    []string  `json:"reasons,omitempty"`
	Lineage    []string  `json:"lineage,omitempty"` // run ids, root first
	Deadline   time.Time `json:"deadline,omitzero"`
}

// ApprovalAnswered is the payload of EventApprovalAnswered.
type ApprovalAnswered struct {
	ID         string `json:"id"`
	ActionHash string `json:"action_hash"`
	Approved   bool   `json:"approved"`
	By         string `json:"by"`
	Why        string `json:"why,omitempty"`
}

// StopRequested is the payload of EventStopRequested.
type StopRequested struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// BudgetExceeded is the payload of EventBudgetExceeded.
type BudgetExceeded struct {
	Limit string `json:"limit"`
	Used  string `json:"used"`
	Max   string `json:"max"`
}

// Delegated is the payload of EventDelegated (in the parent's run).
type Delegated struct {
	CallID  string `json:"call_id"`
	ChildID string `json:"child_id"`
	Task    string `json:"task"`
	Agent   string `json:"agent"`
	Model   string `json:"model"`
	Budget  Budget `json:"budget"`
}

// DelegateReturned is the payload of EventDelegateReturned.
type DelegateReturned struct {
	CallID   string    `json:"call_id"`
	ChildID  string    `json:"child_id"`
	Status   RunStatus `json:"status"`
	Summary  string    `json:"summary,omitempty"`
	Branch   string    `json:"branch,omitempty"`
	Merged   bool      `json:"merged"`
	Conflict string    `json:"conflict,omitempty"`
}

// Committed is the payload of EventCommit.
type Committed struct {
	Commit  string `json:"commit"`
	Branch  string `json:"branch"`
	Message string `json:"message"`
	Files   int    `json:"files"`
}

// Checkpoint is the payload of EventCheckpoint: a Merkle tree head over the
// first Size events of the journal.
type Checkpoint struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}
