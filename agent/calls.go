package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/tool"
)

// approved is a call that passed oversight and may run.
type approved struct {
	idx    int
	call   ouro.ToolCall
	action *ouro.Action
	tool   tool.Tool
}

// calls takes a turn's tool calls through the oversight path and runs the
// ones that pass, in order; delegate calls run concurrently. known holds
// results already journaled (on resume) and calls to treat specially.
func (l *Loop) calls(ctx context.Context, calls []ouro.ToolCall, known *openTurn) []ouro.ToolResult {
	results := make([]ouro.ToolResult, len(calls))
	var delegates []approved
	for i, c := range calls {
		if known != nil {
			if r, ok := known.results[c.ID]; ok {
				results[i] = r
				continue
			}
			if w := known.waiting[c.ID]; w != nil {
				a := w.Action
				res, ok := l.awaitAndRun(ctx, i, c, &a, w, &delegates)
				if ok {
					results[i] = res
				}
				continue
			}
			if a := known.started[c.ID]; a != nil && c.Name == ToolDelegate && l.cfg.Delegator != nil {
				// A delegate call that was running: its child is in the
				// journal, and the delegator resumes or collects it.
				delegates = append(delegates, approved{idx: i, call: c, action: a})
				continue
			}
			if known.started[c.ID] != nil {
				results[i] = ouro.ToolResult{CallID: c.ID, Name: c.Name, Content: interruptedText, IsError: true}
				l.enqueue(ouro.EventToolResult, ouro.ToolReturned{Turn: l.turn, Result: results[i]})
				continue
			}
		}
		if err := context.Cause(ctx); err != nil {
			results[i] = l.refuse(c, "not run: the run is stopping ("+err.Error()+")")
			continue
		}
		res, ok := l.oversee(ctx, i, c, &delegates)
		if ok {
			results[i] = res
		}
	}
	if len(delegates) > 0 {
		if err := l.flush(ctx); err != nil {
			for _, d := range delegates {
				results[d.idx] = l.refuse(d.call, "not run: "+err.Error())
			}
			return results
		}
		var wg sync.WaitGroup
		for _, d := range delegates {
			wg.Go(func() {
				results[d.idx] = l.execute(ctx, d)
			})
		}
		wg.Wait()
	}
	return results
}

// refuse records a result for a call that did not run.
func (l *Loop) refuse(c ouro.ToolCall, msg string) ouro.ToolResult {
	r := ouro.ToolResult{CallID: c.ID, Name: c.Name, Content: msg, IsError: true}
	l.enqueue(ouro.EventToolResult, ouro.ToolReturned{Turn: l.turn, Result: r})
	return r
}

// oversee is the path every proposed action takes: describe, policy,
// monitors, gate, then execution. It returns false when the call was queued
// to run later (delegates).
func (l *Loop) oversee(ctx context.Context, idx int, c ouro.ToolCall, delegates *[]approved) (ouro.ToolResult, bool) {
	a := &ouro.Action{RunID: l.cfg.RunID, Agent: l.cfg.Agent, Task: l.cfg.Task, Depth: l.cfg.Depth, Tool: c.Name, Budget: l.Used()}
	t, ok := l.cfg.Tools[c.Name]
	if !ok {
		l.enqueue(ouro.EventToolCall, ouro.ToolCalled{Turn: l.turn, Call: c})
		l.countCall()
		return l.refuse(c, fmt.Sprintf("unknown tool %q; the tools are: %s", c.Name, strings.Join(l.toolNames(), ", "))), true
	}
	if err := t.Describe(c.Input, a); err != nil {
		l.enqueue(ouro.EventToolCall, ouro.ToolCalled{Turn: l.turn, Call: c})
		l.countCall()
		return l.refuse(c, err.Error()), true
	}
	l.enqueue(ouro.EventToolCall, ouro.ToolCalled{Turn: l.turn, Call: c, Action: a})
	l.countCall()

	pr, err := l.cfg.Policy.Evaluate(a)
	if err != nil {
		// Fail closed: an action the policy cannot judge does not run.
		pr.Decision, pr.Message = ouro.Deny, "policy evaluation failed: "+err.Error()
	}
	hits := make([]string, 0, len(pr.Hits))
	for _, h := range pr.Hits {
		hits = append(hits, h.Rule)
	}
	l.enqueue(ouro.EventPolicyDecision, ouro.PolicyDecided{CallID: c.ID, Decision: pr.Decision, Rule: pr.Rule, Message: pr.Message, Hits: hits})
	if pr.Decision == ouro.Deny {
		msg := "denied by policy"
		if pr.Rule != "" {
			msg += " (rule " + pr.Rule + ")"
		}
		if pr.Message != "" {
			msg += ": " + pr.Message
		}
		return l.refuse(c, msg), true
	}

	pause, kill := l.cfg.Policy.Thresholds()
	var ms ouro.MonitorScored
	if l.cfg.Monitor != nil {
		ms, err = l.cfg.Monitor.Score(ctx, "action", l.cfg.Task, a, "", false)
		if err != nil {
			ms = ouro.MonitorScored{Score: 100, Reason: "monitor failed: " + err.Error()}
		}
		ms.CallID, ms.Stage = c.ID, "action"
		l.enqueue(ouro.EventMonitorScore, ms)
	}
	if ms.Score > kill {
		l.Stop(ouro.StatusStopped, fmt.Sprintf("monitor score %d above kill threshold %d: %s", ms.Score, kill, ms.Reason))
		return l.refuse(c, "not run: the run was stopped by a monitor: "+ms.Reason), true
	}
	if pr.Decision == ouro.Ask || ms.Score > pause {
		why := "policy asks"
		if pr.Rule != "" {
			why += " (rule " + pr.Rule + ")"
		}
		if pr.Message != "" {
			why += ": " + pr.Message
		}
		if pr.Decision != ouro.Ask {
			why = fmt.Sprintf("monitor score %d above pause threshold %d: %s", ms.Score, pause, ms.Reason)
		}
		var reasons []string
		for _, s := range ms.Scores {
			reasons = append(reasons, fmt.Sprintf("%s %d: %s", s.Monitor, s.Score, s.Reason))
		}
		req := &ouro.ApprovalRequested{
			ID: approvalID(l.cfg.RunID, c.ID, actionHash(l.cfg.RunID, c)), CallID: c.ID,
			ActionHash: actionHash(l.cfg.RunID, c), Action: *a, Why: why, Score: ms.Score, Reasons: reasons,
			Lineage: l.cfg.Lineage, Deadline: l.cfg.Now().Add(l.cfg.ApprovalTimeout).UTC(),
		}
		l.enqueue(ouro.EventApprovalRequested, req)
		if pr.Decision == ouro.Ask && pr.Escalate == "parent" && ms.Score <= pause && l.cfg.Escalate != nil {
			if err := l.flush(ctx); err != nil {
				return l.refuse(c, "not run: "+err.Error()), true
			}
			if err := l.cfg.Escalate(ctx, req); err != nil {
				// The parent could not decide: a person will.
				l.log.Warn("escalate to the parent agent", "err", err)
			}
		}
		return l.awaitAndRun(ctx, idx, c, a, req, delegates)
	}
	return l.run(ctx, approved{idx: idx, call: c, action: a, tool: t}, delegates)
}

// awaitAndRun waits for a person's answer to req and runs the call if it
// was approved.
func (l *Loop) awaitAndRun(ctx context.Context, idx int, c ouro.ToolCall, a *ouro.Action, req *ouro.ApprovalRequested, delegates *[]approved) (ouro.ToolResult, bool) {
	ok, why, err := l.await(ctx, req)
	if err != nil {
		return l.refuse(c, "not run: "+err.Error()), true
	}
	if !ok {
		msg := "denied by a person"
		if why != "" {
			msg += ": " + why
		}
		return l.refuse(c, msg), true
	}
	t, found := l.cfg.Tools[c.Name]
	if !found {
		return l.refuse(c, fmt.Sprintf("unknown tool %q", c.Name)), true
	}
	return l.run(ctx, approved{idx: idx, call: c, action: a, tool: t}, delegates)
}

// await blocks until the approval request is answered, by a person through
// the journal (from any process) or by its deadline passing.
func (l *Loop) await(ctx context.Context, req *ouro.ApprovalRequested) (bool, string, error) {
	if err := l.flush(ctx); err != nil {
		return false, "", err
	}
	t := time.NewTicker(l.cfg.PollInterval)
	defer t.Stop()
	for {
		ap, err := l.cfg.Journal.Approval(ctx, req.ID)
		if err != nil && !errors.Is(err, journal.ErrNotFound) {
			return false, "", fmt.Errorf("read approval %s: %w", req.ID, err)
		}
		if err == nil && ap.Status != journal.ApprovalPending {
			return ap.Status == journal.ApprovalApproved, ap.Answer, nil
		}
		if !req.Deadline.IsZero() && !l.cfg.Now().Before(req.Deadline) {
			why := fmt.Sprintf("no answer before the deadline %s", req.Deadline.Format(time.RFC3339))
			l.enqueue(ouro.EventApprovalAnswered, ouro.ApprovalAnswered{ID: req.ID, ActionHash: req.ActionHash, Approved: false, By: "timeout", Why: why})
			return false, why, l.flush(ctx)
		}
		select {
		case <-ctx.Done():
			return false, "", context.Cause(ctx)
		case <-t.C:
		}
	}
}

// run executes an approved call now, or queues a delegate.
func (l *Loop) run(ctx context.Context, ap approved, delegates *[]approved) (ouro.ToolResult, bool) {
	if ap.call.Name == ToolDelegate && l.cfg.Delegator != nil {
		*delegates = append(*delegates, ap)
		return ouro.ToolResult{}, false
	}
	// Write-ahead: the call and every decision on it are durable before
	// anything it does can happen.
	if err := l.flush(ctx); err != nil {
		return l.refuse(ap.call, "not run: "+err.Error()), true
	}
	return l.execute(ctx, ap), true
}

// execute runs the call and journals the result and the result monitors'
// verdict.
func (l *Loop) execute(ctx context.Context, ap approved) ouro.ToolResult {
	start := time.Now()
	var out tool.Output
	var err error
	if ap.call.Name == ToolDelegate && l.cfg.Delegator != nil {
		out, err = l.cfg.Delegator.Delegate(ctx, l, ap.call, ap.action)
	} else {
		out, err = ap.tool.Call(ctx, ap.call.Input)
	}
	if err != nil {
		out = tool.Output{Content: err.Error(), IsError: true}
		if c := context.Cause(ctx); c != nil {
			out.Content = "interrupted: " + c.Error()
		}
	}
	res := ouro.ToolResult{CallID: ap.call.ID, Name: ap.call.Name, Content: out.Content, IsError: out.IsError}
	l.enqueue(ouro.EventToolResult, ouro.ToolReturned{Turn: l.turn, Result: res,
		DurationMS: float64(time.Since(start).Microseconds()) / 1000, Finished: out.Finished})
	if out.Diff != "" && len(ap.action.Paths) > 0 {
		l.enqueue(ouro.EventFileDiff, ouro.FileDiff{Path: ap.action.Paths[0], Diff: out.Diff})
	}
	if out.Finished {
		l.mu.Lock()
		l.finished, l.summary = true, out.Summary
		l.mu.Unlock()
	}
	if l.cfg.Monitor != nil && ap.call.Name != ToolDelegate {
		ms, merr := l.cfg.Monitor.Score(ctx, "result", l.cfg.Task, ap.action, out.Content, out.IsError)
		if merr != nil {
			ms = ouro.MonitorScored{Score: 100, Reason: "monitor failed: " + merr.Error()}
		}
		ms.CallID, ms.Stage = ap.call.ID, "result"
		l.enqueue(ouro.EventMonitorScore, ms)
		pause, kill := l.cfg.Policy.Thresholds()
		switch {
		case ms.Score > kill:
			l.Stop(ouro.StatusStopped, fmt.Sprintf("monitor score %d on a tool result above kill threshold %d: %s", ms.Score, kill, ms.Reason))
		case ms.Score > pause:
			// What the agent saw is suspicious (planted instructions, a
			// secret): a person decides whether the run goes on with it.
			callID := ap.call.ID + "#result"
			hash := actionHash(l.cfg.RunID, ouro.ToolCall{ID: callID, Name: ap.call.Name, Input: ap.call.Input})
			var reasons []string
			for _, sc := range ms.Scores {
				reasons = append(reasons, fmt.Sprintf("%s %d: %s", sc.Monitor, sc.Score, sc.Reason))
			}
			req := &ouro.ApprovalRequested{ID: approvalID(l.cfg.RunID, callID, hash), CallID: callID, ActionHash: hash,
				Action: *ap.action, Why: fmt.Sprintf("the result of this call scored %d, above pause threshold %d: %s; approve to let the run go on with it", ms.Score, pause, ms.Reason),
				Score: ms.Score, Reasons: reasons, Lineage: l.cfg.Lineage, Deadline: l.cfg.Now().Add(l.cfg.ApprovalTimeout).UTC()}
			l.enqueue(ouro.EventApprovalRequested, req)
			ok, why, err := l.await(ctx, req)
			if err == nil && !ok {
				l.Stop(ouro.StatusStopped, "a person stopped the run after a flagged tool result: "+why)
			}
		}
	}
	return res
}

func (l *Loop) countCall() {
	l.mu.Lock()
	l.toolCalls++
	l.mu.Unlock()
}

func (l *Loop) toolNames() []string {
	names := make([]string, 0, len(l.specs))
	for _, s := range l.specs {
		names = append(names, s.Name)
	}
	return names
}

// finishOpenTurn completes the last turn of a resumed run.
func (l *Loop) finishOpenTurn(ctx context.Context, open *openTurn) error {
	if len(open.calls) == 0 {
		return nil
	}
	results := l.calls(ctx, open.calls, open)
	l.msgs = append(l.msgs, ouro.Message{Role: "user", ToolResults: results})
	return nil
}
