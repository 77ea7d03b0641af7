package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/agent"
	"github.com/ouro-run/ouro/tool"
	"github.com/ouro-run/ouro/workspace"
)

// delegateTool describes the delegate tool to the model and to oversight;
// the loop hands its calls to the run's Delegate method.
type delegateTool struct{}

// delegateArgs is the delegate tool's input.
type delegateArgs struct {
	Task         string          `json:"task"`
	Agent        string          `json:"agent,omitempty"`
	Model        string          `json:"model,omitempty"`
	Budget       *budgetArgs     `json:"budget,omitempty"`
	ResultSchema json.RawMessage `json:"result_schema,omitempty"`
}

type budgetArgs struct {
	InputTokens  int64   `json:"input_tokens,omitempty"`
	OutputTokens int64   `json:"output_tokens,omitempty"`
	CostUSD      float64 `json:"cost_usd,omitempty"`
	WallTime     string  `json:"wall_time,omitempty"`
	ToolCalls    int64   `json:"tool_calls,omitempty"`
}

const delegateSchema = `{
  "type": "object",
  "properties": {
    "task": {"type": "string", "description": "what the child agent must do, self-contained"},
    "agent": {"type": "string", "description": "agent definition for the child; default: yours"},
    "model": {"type": "string", "description": "model spec for the child; default: yours"},
    "budget": {"type": "object", "description": "the child's limits, carved out of your remaining budget",
      "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
        "cost_usd": {"type": "number"}, "wall_time": {"type": "string", "description": "Go duration such as 10m"},
        "tool_calls": {"type": "integer"}}},
    "result_schema": {"type": "object", "description": "JSON schema the child's result must satisfy"}
  },
  "required": ["task"]
}`

func (delegateTool) Spec() ouro.ToolSpec {
	return ouro.ToolSpec{Name: agent.ToolDelegate,
		Description: "Hand a self-contained subtask to a child agent working in its own worktree and branch, created from your current work. Several delegate calls in one turn run in parallel. Returns when the child ends, with its summary, status, branch, diffstat and usage; its branch is merged into your worktree (a conflict is reported instead, leaving your worktree clean).",
		Schema:      json.RawMessage(delegateSchema)}
}

func parseDelegate(input json.RawMessage) (delegateArgs, ouro.Budget, error) {
	var a delegateArgs
	dec := json.NewDecoder(bytes.NewReader(input))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return a, ouro.Budget{}, fmt.Errorf("delegate: invalid arguments: %v; expected {\"task\": string, \"agent\"?: string, \"model\"?: string, \"budget\"?: object, \"result_schema\"?: object}", err)
	}
	if strings.TrimSpace(a.Task) == "" {
		return a, ouro.Budget{}, errors.New("delegate: invalid arguments: \"task\" is required and must not be empty")
	}
	var b ouro.Budget
	if a.Budget != nil {
		b = ouro.Budget{InputTokens: a.Budget.InputTokens, OutputTokens: a.Budget.OutputTokens, CostUSD: a.Budget.CostUSD, ToolCalls: a.Budget.ToolCalls}
		if a.Budget.WallTime != "" {
			d, err := time.ParseDuration(a.Budget.WallTime)
			if err != nil || d <= 0 {
				return a, b, fmt.Errorf("delegate: invalid arguments: budget.wall_time %q is not a positive duration such as \"10m\"", a.Budget.WallTime)
			}
			b.WallTime = d
		}
		if b.InputTokens < 0 || b.OutputTokens < 0 || b.CostUSD < 0 || b.ToolCalls < 0 {
			return a, b, errors.New("delegate: invalid arguments: budget fields must not be negative")
		}
	}
	if len(a.ResultSchema) > 0 {
		if _, err := compileSchema(a.ResultSchema); err != nil {
			return a, b, fmt.Errorf("delegate: invalid arguments: result_schema: %v", err)
		}
	}
	return a, b, nil
}

func (delegateTool) Describe(input json.RawMessage, a *ouro.Action) error {
	args, _, err := parseDelegate(input)
	if err != nil {
		return err
	}
	var m map[string]any
	json.Unmarshal(input, &m)
	a.Args = m
	_ = args
	return nil
}

func (delegateTool) Call(context.Context, json.RawMessage) (tool.Output, error) {
	return tool.Output{}, errors.New("delegate: runs through the fleet, not directly")
}

func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("result.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("result.json")
}

// delegateResult is what the parent model sees when a child returns.
type delegateResult struct {
	Child    string          `json:"child"`
	Status   ouro.RunStatus  `json:"status"`
	Summary  string          `json:"summary,omitempty"`
	Error    string          `json:"error,omitempty"`
	Branch   string          `json:"branch"`
	Merged   bool            `json:"merged"`
	Diffstat string          `json:"diffstat,omitempty"`
	Usage    ouro.Usage      `json:"usage"`
	Result   json.RawMessage `json:"result,omitempty"`
	Conflict []conflictInfo  `json:"conflicts,omitempty"`
}

type conflictInfo struct {
	Path  string   `json:"path"`
	Hunks []string `json:"hunks"`
}

// RollUp adds a descendant's model usage to every ancestor.
func (r *run) RollUp(child *agent.Loop, modelName string, u ouro.Usage) {
	for p := r.parent; p != nil; p = p.parent {
		p.loop.AddChildUsage(r.loop.ID(), modelName, u)
	}
}

// Delegate starts (or, on resume, finds) the child run for a delegate call,
// waits for it, merges its branch and reports to the parent model.
func (r *run) Delegate(ctx context.Context, parent *agent.Loop, call ouro.ToolCall, a *ouro.Action) (tool.Output, error) {
	f := r.f
	args, budget, err := parseDelegate(call.Input)
	if err != nil {
		return tool.Output{Content: err.Error(), IsError: true}, nil
	}
	depth := parent.Config().Depth + 1
	if max := f.opts.Config.MaxDepth; depth > max {
		return tool.Output{Content: fmt.Sprintf("delegate: refused: a child here would be at depth %d, past the limit of %d (max_depth); do the work yourself", depth, max), IsError: true}, nil
	}

	child, out, err := r.childFor(ctx, call)
	if err != nil {
		return tool.Output{}, err
	}
	if child == nil && out == nil {
		// A new child.
		r.mu.Lock()
		if max := f.opts.Config.MaxChildren; max > 0 && r.children >= max {
			r.mu.Unlock()
			return tool.Output{Content: fmt.Sprintf("delegate: refused: this run already delegated %d times, the limit (max_children)", max), IsError: true}, nil
		}
		r.children++
		r.mu.Unlock()

		// The child starts from the parent's current work.
		r.mu.Lock()
		_, cerr := r.commit(ctx, "ouro: checkpoint before delegating", "Work so far, committed so that a child run starts from it.")
		r.mu.Unlock()
		if cerr != nil {
			return tool.Output{}, fmt.Errorf("delegate: commit the parent's work: %w", cerr)
		}
		wt, err := r.worktree(ctx)
		if err != nil {
			return tool.Output{}, err
		}
		base, err := wt.Head(ctx)
		if err != nil {
			return tool.Output{}, fmt.Errorf("delegate: read the parent's HEAD: %w", err)
		}
		budget = carve(budget, parent.Remaining())
		task := args.Task
		if len(args.ResultSchema) > 0 {
			task += "\n\nWhen you are done, call finish with a summary that is only a JSON value valid against this JSON schema:\n" + string(args.ResultSchema)
		}
		c, err := f.prepare(ctx, Task{Task: task, Agent: args.Agent, Model: args.Model, Budget: budget}, r, base, depth)
		if err != nil {
			return tool.Output{Content: "delegate: could not start the child: " + err.Error(), IsError: true}, nil
		}
		child = c
		parent.Enqueue(ouro.EventDelegated, ouro.Delegated{CallID: call.ID, ChildID: c.loop.ID(), Task: task, Agent: c.def.Name, Model: c.model, Budget: budget})
		if err := parent.Flush(ctx); err != nil {
			c.close()
			return tool.Output{}, err
		}
	}
	var res agent.Outcome
	if child != nil {
		release := parent.Hold(child.loop.Config().Budget)
		defer release()
		res, err = r.runChild(ctx, child, out != nil)
		child.close()
		if err != nil {
			return tool.Output{}, err
		}
	} else {
		res = *out
	}
	return r.collect(ctx, parent, call, args, res, child)
}

// carve limits a requested child budget to what the parent has left.
func carve(req, left ouro.Budget) ouro.Budget {
	pick := func(r, l int64) int64 {
		switch {
		case l == 0:
			return r
		case r == 0 || r > l:
			return l
		}
		return r
	}
	b := ouro.Budget{InputTokens: pick(req.InputTokens, left.InputTokens), OutputTokens: pick(req.OutputTokens, left.OutputTokens), ToolCalls: pick(req.ToolCalls, left.ToolCalls)}
	b.CostUSD = req.CostUSD
	if left.CostUSD > 0 && (b.CostUSD == 0 || b.CostUSD > left.CostUSD) {
		b.CostUSD = left.CostUSD
	}
	b.WallTime = req.WallTime
	if left.WallTime > 0 && (b.WallTime == 0 || b.WallTime > left.WallTime) {
		b.WallTime = left.WallTime
	}
	return b
}

// runChild drives a child to its end. The parent's slot is given up while
// it waits, so that nested delegation cannot deadlock on --max-agents.
func (r *run) runChild(ctx context.Context, child *run, resume bool) (agent.Outcome, error) {
	f := r.f
	f.releaseSlot()
	defer f.acquire(context.WithoutCancel(ctx))
	if err := f.acquire(ctx); err != nil {
		return agent.Outcome{}, err
	}
	defer f.releaseSlot()
	if resume {
		return child.loop.Resume(ctx)
	}
	return child.loop.Start(ctx)
}

// childFor finds the child a delegate call already started, on resume: it
// returns the child ready to resume, or its outcome if it ended, or
// neither if the call never started one.
func (r *run) childFor(ctx context.Context, call ouro.ToolCall) (*run, *agent.Outcome, error) {
	f := r.f
	var childID string
	err := f.opts.Journal.Events(ctx, r.loop.ID(), 0, func(ev *ouro.Event) error {
		if ev.Type == ouro.EventDelegated {
			var d ouro.Delegated
			if json.Unmarshal(ev.Data, &d) == nil && d.CallID == call.ID {
				childID = d.ChildID
			}
		}
		return nil
	})
	if err != nil || childID == "" {
		return nil, nil, err
	}
	cr, err := f.opts.Journal.Run(ctx, childID)
	if err != nil {
		return nil, nil, fmt.Errorf("delegate: find child %s: %w", childID, err)
	}
	if cr.Status.Ended() {
		out := &agent.Outcome{Status: cr.Status, Summary: cr.Summary, Error: cr.Error,
			Usage: ouro.Usage{InputTokens: cr.InputTokens, OutputTokens: cr.OutputTokens, CostUSD: cr.CostUSD}}
		return nil, out, nil
	}
	c, err := f.reopen(ctx, cr, r)
	if err != nil {
		return nil, nil, err
	}
	return c, &agent.Outcome{}, nil
}

// collect merges a finished child's branch and builds the parent's result.
func (r *run) collect(ctx context.Context, parent *agent.Loop, call ouro.ToolCall, args delegateArgs, res agent.Outcome, child *run) (tool.Output, error) {
	f := r.f
	childID, branch := "", ""
	if child != nil {
		childID, branch = child.loop.ID(), child.wt.Branch
	} else {
		// Ended before this process: find it from the journal.
		var d ouro.Delegated
		f.opts.Journal.Events(ctx, r.loop.ID(), 0, func(ev *ouro.Event) error {
			if ev.Type == ouro.EventDelegated {
				var x ouro.Delegated
				if json.Unmarshal(ev.Data, &x) == nil && x.CallID == call.ID {
					d = x
				}
			}
			return nil
		})
		childID = d.ChildID
		if cr, err := f.opts.Journal.Run(ctx, childID); err == nil {
			branch = cr.Branch
		}
	}
	dr := delegateResult{Child: childID, Status: res.Status, Summary: res.Summary, Error: res.Error, Branch: branch, Usage: res.Usage}
	isErr := res.Status != ouro.StatusFinished
	conflictText := ""
	if res.Status == ouro.StatusFinished && branch != "" {
		r.mu.Lock()
		_, cerr := r.commit(ctx, "ouro: checkpoint before merging "+childID, "")
		if cerr != nil {
			r.mu.Unlock()
			return tool.Output{}, fmt.Errorf("delegate: commit before merging: %w", cerr)
		}
		trailers := mergeTrailers(r, childID)
		wt, err := r.worktree(ctx)
		if err != nil {
			r.mu.Unlock()
			return tool.Output{}, err
		}
		mr, err := wt.Merge(ctx, branch, fmt.Sprintf("ouro: merge child run %s", childID), trailers)
		r.mu.Unlock()
		if err != nil {
			return tool.Output{}, fmt.Errorf("delegate: merge %s: %w", branch, err)
		}
		if len(mr.Conflicts) > 0 {
			isErr = true
			var paths []string
			for _, c := range mr.Conflicts {
				dr.Conflict = append(dr.Conflict, conflictInfo{Path: c.Path, Hunks: c.Hunks})
				paths = append(paths, c.Path)
			}
			conflictText = strings.Join(paths, ", ")
			dr.Error = "merge conflict in " + conflictText + "; the merge was aborted and your worktree is unchanged: resolve it yourself or delegate again"
		} else {
			dr.Merged = true
			dr.Diffstat = fmt.Sprintf("%d files changed, %d insertions(+), %d deletions(-)", mr.Diffstat.Files, mr.Diffstat.Insertions, mr.Diffstat.Deletions)
		}
	}
	if len(args.ResultSchema) > 0 && res.Status == ouro.StatusFinished {
		v, err := validateResult(args.ResultSchema, res.Summary)
		if err != nil {
			isErr = true
			dr.Error = strings.TrimSpace(dr.Error + "; the child's result does not satisfy result_schema: " + err.Error())
		} else {
			dr.Result = v
		}
	}
	parent.Enqueue(ouro.EventDelegateReturned, ouro.DelegateReturned{CallID: call.ID, ChildID: childID, Status: res.Status,
		Summary: res.Summary, Branch: branch, Merged: dr.Merged, Conflict: conflictText})
	if err := parent.Flush(ctx); err != nil {
		return tool.Output{}, err
	}
	b, _ := json.MarshalIndent(dr, "", "  ")
	return tool.Output{Content: string(b), IsError: isErr}, nil
}

func mergeTrailers(r *run, childID string) []workspace.Trailer {
	ts := []workspace.Trailer{{Key: "Ouro-Run", Value: r.loop.ID()}}
	if r.parent != nil {
		ts = append(ts, workspace.Trailer{Key: "Ouro-Parent-Run", Value: r.parent.loop.ID()})
	}
	return ts
}

// validateResult parses the child's summary as JSON (the whole text, or
// the last JSON object in it) and checks it against the schema.
func validateResult(schema json.RawMessage, summary string) (json.RawMessage, error) {
	sch, err := compileSchema(schema)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(summary)
	if !json.Valid([]byte(text)) {
		if i := strings.LastIndex(text, "{"); i >= 0 && json.Valid([]byte(text[i:])) {
			text = text[i:]
		} else {
			return nil, errors.New("the summary is not JSON")
		}
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(inst); err != nil {
		return nil, errors.New(oneLine(err.Error(), 500))
	}
	return json.RawMessage(text), nil
}
