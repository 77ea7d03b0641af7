package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ouro-run/ouro"
)

// projector keeps the projection tables current, in the same transaction as
// the events it reads, so a projection never disagrees with the log.
type projector struct{ w *writerConn }

// decodeProjected decodes the payload of an event type that has a
// projection, so that malformed data fails before it is queued; other
// types give nil.
func decodeProjected(typ ouro.EventType, data []byte) (any, error) {
	var v any
	switch typ {
	case ouro.EventRunStarted:
		v = new(ouro.RunStarted)
	case ouro.EventRunFinished:
		v = new(ouro.RunFinished)
	case ouro.EventUsage:
		v = new(ouro.UsageRecorded)
	case ouro.EventApprovalRequested:
		v = new(ouro.ApprovalRequested)
	case ouro.EventApprovalAnswered:
		v = new(ouro.ApprovalAnswered)
	default:
		return nil, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return v, nil
}

// apply updates the projections for ev, whose payload decodeProjected
// gave as proj.
func (p projector) apply(ev *ouro.Event, proj any) error {
	t := ev.Time.UnixNano()
	switch ev.Type {
	case ouro.EventRunStarted:
		d := proj.(*ouro.RunStarted)
		return p.w.exec(`INSERT INTO runs(id, parent_id, depth, status, task, agent, agent_hash, model, repo, worktree, branch, base_commit, started_at, unsafe, first_seq, last_seq)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			ev.RunID, d.ParentID, d.Depth, ouro.StatusRunning, d.Task, d.Agent, d.AgentHash, d.Model, d.Repo, d.Worktree, d.Branch, d.BaseCommit, t, d.Unsafe, ev.Seq, ev.Seq)
	case ouro.EventRunResumed:
		return p.w.exec(`UPDATE runs SET status = ?, ended_at = 0, stop = 0 WHERE id = ?`, ouro.StatusRunning, ev.RunID)
	case ouro.EventRunFinished:
		d := proj.(*ouro.RunFinished)
		return p.w.exec(`UPDATE runs SET status = ?, ended_at = ?, summary = ?, error = ?, last_seq = ? WHERE id = ?`,
			d.Status, t, d.Summary, d.Error, ev.Seq, ev.RunID)
	case ouro.EventUsage:
		d := proj.(*ouro.UsageRecorded)
		return p.w.exec(`UPDATE runs SET input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, cost_usd = cost_usd + ? WHERE id = ?`,
			d.Usage.InputTokens, d.Usage.OutputTokens, d.Usage.CostUSD, ev.RunID)
	case ouro.EventToolCall:
		return p.w.exec(`UPDATE runs SET tool_calls = tool_calls + 1 WHERE id = ?`, ev.RunID)
	case ouro.EventStopRequested:
		return p.w.exec(`UPDATE runs SET stop = 1 WHERE id = ?`, ev.RunID)
	case ouro.EventApprovalRequested:
		d := proj.(*ouro.ApprovalRequested)
		var deadline int64
		if !d.Deadline.IsZero() {
			deadline = d.Deadline.UnixNano()
		}
		return p.w.exec(`INSERT INTO approvals(id, run_id, call_id, action_hash, request, status, requested_at, deadline) VALUES (?,?,?,?,?,?,?,?)`,
			d.ID, ev.RunID, d.CallID, d.ActionHash, []byte(ev.Data), ApprovalPending, t, deadline)
	case ouro.EventApprovalAnswered:
		d := proj.(*ouro.ApprovalAnswered)
		status := ApprovalDenied
		if d.Approved {
			status = ApprovalApproved
		}
		if d.By == "timeout" {
			status = ApprovalExpired
		}
		// The answer binds to the exact action: a hash that differs from the
		// request's leaves it pending.
		return p.w.exec(`UPDATE approvals SET status = ?, approved_by = ?, why = ?, answered_at = ? WHERE id = ? AND action_hash = ? AND status = ?`,
			status, d.By, d.Why, t, d.ID, d.ActionHash, ApprovalPending)
	}
	return nil
}

// Approval states.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalDenied   = "denied"
	ApprovalExpired  = "expired"
)

// Approval is a request for a person's decision, as projected.
type Approval struct {
	ouro.ApprovalRequested
	RunID       string    `json:"run_id"`
	Status      string    `json:"status"`
	By          string    `json:"answered_by,omitempty"`
	Answer      string    `json:"answer_why,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
}

// Approvals lists approval requests with the given status ("" for all),
// oldest first.
func (j *Journal) Approvals(ctx context.Context, status string) ([]Approval, error) {
	q := `SELECT run_id, request, status, approved_by, why, requested_at, answered_at FROM approvals`
	var args []any
	if status != "" {
		q += ` WHERE status = ?`
		args = append(args, status)
	}
	rows, err := j.r.QueryContext(ctx, q+` ORDER BY requested_at`, args...)
	if err != nil {
		return nil, fmt.Errorf("list approvals: %w", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		var a Approval
		var req []byte
		var at, ans int64
		if err := rows.Scan(&a.RunID, &req, &a.Status, &a.By, &a.Answer, &at, &ans); err != nil {
			return nil, fmt.Errorf("list approvals: %w", err)
		}
		if err := json.Unmarshal(req, &a.ApprovalRequested); err != nil {
			return nil, fmt.Errorf("list approvals: %w", err)
		}
		a.RequestedAt = time.Unix(0, at).UTC()
		if ans != 0 {
			a.AnsweredAt = time.Unix(0, ans).UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ErrNotFound is returned for an unknown run or approval id.
var ErrNotFound = errors.New("not found")

// Approval returns one approval request by id (a unique prefix will do).
func (j *Journal) Approval(ctx context.Context, id string) (Approval, error) {
	all, err := j.Approvals(ctx, "")
	if err != nil {
		return Approval{}, err
	}
	var found []Approval
	for _, a := range all {
		if a.ID == id {
			return a, nil
		}
		if strings.HasPrefix(a.ID, id) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return Approval{}, fmt.Errorf("approval %q: %w", id, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return Approval{}, fmt.Errorf("approval %q is ambiguous: %d requests start with it", id, len(found))
}

const runColumns = `id, parent_id, depth, status, task, agent, agent_hash, model, repo, worktree, branch, base_commit,
	input_tokens, output_tokens, cost_usd, tool_calls, started_at, ended_at, summary, error, unsafe, stop`

func scanRun(sc interface{ Scan(...any) error }) (ouro.Run, bool, error) {
	var r ouro.Run
	var st string
	var started, ended int64
	var stop bool
	err := sc.Scan(&r.ID, &r.ParentID, &r.Depth, &st, &r.Task, &r.Agent, &r.AgentHash, &r.Model, &r.Repo, &r.Worktree, &r.Branch, &r.BaseCommit,
		&r.InputTokens, &r.OutputTokens, &r.CostUSD, &r.ToolCalls, &started, &ended, &r.Summary, &r.Error, &r.Unsafe, &stop)
	r.Status = ouro.RunStatus(st)
	r.StartedAt = time.Unix(0, started).UTC()
	if ended != 0 {
		r.EndedAt = time.Unix(0, ended).UTC()
	}
	return r, stop, err
}

// Runs lists runs, newest first. A run recorded as running whose process no
// longer holds its lease is reported as interrupted.
func (j *Journal) Runs(ctx context.Context) ([]ouro.Run, error) {
	rows, err := j.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY started_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []ouro.Run
	for rows.Next() {
		r, _, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		j.liveness(&r)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Run returns one run by id (a unique prefix will do).
func (j *Journal) Run(ctx context.Context, id string) (ouro.Run, error) {
	rows, err := j.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ? OR id LIKE ? ORDER BY id = ? DESC LIMIT 2`, id, id+"%", id)
	if err != nil {
		return ouro.Run{}, fmt.Errorf("read run %s: %w", id, err)
	}
	defer rows.Close()
	var found []ouro.Run
	for rows.Next() {
		r, _, err := scanRun(rows)
		if err != nil {
			return ouro.Run{}, fmt.Errorf("read run %s: %w", id, err)
		}
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return ouro.Run{}, err
	}
	switch {
	case len(found) == 0:
		return ouro.Run{}, fmt.Errorf("run %q: %w; 'ouro runs' lists them", id, ErrNotFound)
	case len(found) > 1 && found[0].ID != id:
		return ouro.Run{}, fmt.Errorf("run %q is ambiguous: give more of the id", id)
	}
	r := found[0]
	j.liveness(&r)
	return r, nil
}

// Children lists the runs delegated by a run.
func (j *Journal) Children(ctx context.Context, id string) ([]ouro.Run, error) {
	rows, err := j.r.QueryContext(ctx, `SELECT `+runColumns+` FROM runs WHERE parent_id = ? ORDER BY started_at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("list children of %s: %w", id, err)
	}
	defer rows.Close()
	var out []ouro.Run
	for rows.Next() {
		r, _, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		j.liveness(&r)
		out = append(out, r)
	}
	return out, rows.Err()
}

// StopRequested reports whether someone asked the run to stop.
func (j *Journal) StopRequested(ctx context.Context, id string) (bool, error) {
	var stop bool
	err := j.r.QueryRowContext(ctx, `SELECT stop FROM runs WHERE id = ?`, id).Scan(&stop)
	if err != nil {
		return false, fmt.Errorf("read stop flag of %s: %w", id, err)
	}
	return stop, nil
}

func (j *Journal) liveness(r *ouro.Run) {
	if r.Status == ouro.StatusRunning && !j.leaseHeld(r.ID) {
		r.Status = ouro.StatusInterrupted
	}
}

// Lease marks a run as owned by this process until release is called or the
// process dies (the lock is an flock, which the kernel drops with the
// process). Runs without a live lease are shown as interrupted.
func (j *Journal) Lease(runID string) (release func(), err error) {
	dir := filepath.Join(filepath.Dir(j.path), "leases")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lease run %s: %w", runID, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, runID), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lease run %s: %w", runID, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("run %s is already being driven by another ouro process", runID)
	}
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}

func (j *Journal) leaseHeld(runID string) bool {
	f, err := os.Open(filepath.Join(filepath.Dir(j.path), "leases", runID))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return true
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
