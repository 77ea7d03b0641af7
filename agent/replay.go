package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ouro-run/ouro"
)

// ErrEnded is returned by Resume for a run that already ended.
var ErrEnded = errors.New("the run already ended")

// replay rebuilds the loop's state from the run's journaled events and
// returns the unfinished last turn, if any.
func (l *Loop) replay(ctx context.Context) (*openTurn, error) {
	var (
		open     *openTurn
		started  bool
		ended    ouro.RunStatus
		segStart = ouro.Event{}
		last     ouro.Event
	)
	closeTurn := func() {
		if open == nil {
			return
		}
		if len(open.calls) == 0 {
			l.msgs = append(l.msgs, ouro.Message{Role: "user", Text: nudgeText})
			l.nudges++
		} else {
			l.nudges = 0
			rs := make([]ouro.ToolResult, len(open.calls))
			for i, c := range open.calls {
				r, ok := open.results[c.ID]
				if !ok {
					r = ouro.ToolResult{CallID: c.ID, Name: c.Name, Content: interruptedText, IsError: true}
				}
				rs[i] = r
			}
			l.msgs = append(l.msgs, ouro.Message{Role: "user", ToolResults: rs})
		}
		open = nil
	}
	err := l.cfg.Journal.Events(ctx, l.cfg.RunID, 0, func(ev *ouro.Event) error {
		if !segStart.Time.IsZero() && (ev.Type == ouro.EventRunResumed) {
			l.active += last.Time.Sub(segStart.Time)
			segStart = *ev
		}
		last = *ev
		switch ev.Type {
		case ouro.EventRunStarted:
			var d ouro.RunStarted
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			started, segStart = true, *ev
			l.msgs = []ouro.Message{{Role: "user", Text: firstMessage(d.Task, "")}}
		case ouro.EventRunResumed:
			ended = ""
		case ouro.EventRunFinished:
			var d ouro.RunFinished
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			ended = d.Status
		case ouro.EventModelResponse:
			closeTurn()
			var d ouro.ModelResponse
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			l.turn = d.Turn
			l.lastInput = d.Usage.InputTokens + d.Usage.CacheReadTokens + d.Usage.CacheWriteTokens
			d.Message.Role = "assistant"
			l.msgs = append(l.msgs, d.Message)
			open = &openTurn{calls: d.Message.ToolCalls, results: map[string]ouro.ToolResult{},
				started: map[string]*ouro.Action{}, waiting: map[string]*ouro.ApprovalRequested{}}
		case ouro.EventUsage:
			var d ouro.UsageRecorded
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			l.used = l.used.Add(d.Usage)
		case ouro.EventToolCall:
			var d ouro.ToolCalled
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			l.toolCalls++
			if d.Call.Name == "finish" {
				var in struct {
					Summary string `json:"summary"`
				}
				if json.Unmarshal(d.Call.Input, &in) == nil {
					l.summary = in.Summary
				}
			}
			if open != nil {
				a := d.Action
				if a == nil {
					a = &ouro.Action{RunID: l.cfg.RunID, Tool: d.Call.Name}
				}
				open.started[d.Call.ID] = a
			}
		case ouro.EventToolResult:
			var d ouro.ToolReturned
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			if open != nil {
				open.results[d.Result.CallID] = d.Result
				delete(open.waiting, d.Result.CallID)
			}
			if d.Finished {
				l.finished = true
			}
		case ouro.EventApprovalRequested:
			var d ouro.ApprovalRequested
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			if open != nil {
				open.waiting[d.CallID] = &d
			}
		case ouro.EventCompaction:
			var d ouro.Compacted
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				return err
			}
			// Compaction happens before a model call, after the last
			// turn's results went into the conversation.
			closeTurn()
			l.applyCompaction(d.DroppedTurns, d.Summary)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay run %s: %w", l.cfg.RunID, err)
	}
	if !started {
		return nil, fmt.Errorf("replay run %s: no run.started event in the journal", l.cfg.RunID)
	}
	if ended != "" {
		return nil, fmt.Errorf("resume run %s: %w (%s)", l.cfg.RunID, ErrEnded, ended)
	}
	if !segStart.Time.IsZero() {
		l.active += last.Time.Sub(segStart.Time)
	}
	if open == nil {
		return nil, nil
	}
	if len(open.calls) == 0 {
		closeTurn()
		return nil, nil
	}
	if len(open.results) == len(open.calls) {
		closeTurn()
		return nil, nil
	}
	return open, nil
}
