package fleet

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/agent"
	"github.com/ouro-run/ouro/agentdef"
	"github.com/ouro-run/ouro/model"
)

// Resume carries on an interrupted run: it reopens the run's worktree and
// sandbox and replays its journal into the loop. Children the run was
// waiting for are resumed as the run reaches them; children that ended are
// not run again.
func (f *Fleet) Resume(ctx context.Context, id string) (agent.Outcome, error) {
	rec, err := f.opts.Journal.Run(ctx, id)
	if err != nil {
		return agent.Outcome{}, fmt.Errorf("find run %s: %w", id, err)
	}
	if rec.Status.Ended() {
		return agent.Outcome{}, fmt.Errorf("resume run %s: %w (%s)", rec.ID, agent.ErrEnded, rec.Status)
	}
	if rec.ParentID != "" {
		if p, err := f.opts.Journal.Run(ctx, rec.ParentID); err == nil && !p.Status.Ended() {
			return agent.Outcome{}, fmt.Errorf("resume run %s: it is a child of %s, which has not ended; resume the root of the tree instead (ouro resume %s)", rec.ID, p.ID, rootOf(ctx, f, p))
		}
	}
	r, err := f.reopen(ctx, rec, nil)
	if err != nil {
		return agent.Outcome{}, err
	}
	defer r.close()
	if err := f.acquire(ctx); err != nil {
		return agent.Outcome{}, err
	}
	defer f.releaseSlot()
	out, err := r.loop.Resume(ctx)
	f.publish(ctx)
	return out, err
}

func rootOf(ctx context.Context, f *Fleet, r ouro.Run) string {
	for r.ParentID != "" {
		p, err := f.opts.Journal.Run(ctx, r.ParentID)
		if err != nil {
			break
		}
		r = p
	}
	return r.ID
}

// reopen rebuilds a journaled run's parts for resuming it.
func (f *Fleet) reopen(ctx context.Context, rec ouro.Run, parent *run) (*run, error) {
	var st ouro.RunStarted
	found := false
	err := f.opts.Journal.Events(ctx, rec.ID, 0, func(ev *ouro.Event) error {
		if ev.Type == ouro.EventRunStarted && !found {
			found = true
			return json.Unmarshal(ev.Data, &st)
		}
		return nil
	})
	if err != nil || !found {
		return nil, fmt.Errorf("read run %s's start from the journal: %v", rec.ID, err)
	}
	def, err := agentdef.Parse("journal:"+rec.ID, []byte(st.Definition))
	if err != nil {
		return nil, fmt.Errorf("run %s's agent definition: %w", rec.ID, err)
	}
	if got := def.Hash(); got != st.AgentHash {
		return nil, fmt.Errorf("run %s's agent definition in the journal hashes to %s, not the recorded %s", rec.ID, got, st.AgentHash)
	}
	wt, err := f.repo.Attach(ctx, rec.ID, st.Worktree)
	if err != nil {
		return nil, fmt.Errorf("reopen run %s's worktree: %w", rec.ID, err)
	}
	prov, err := model.Open(st.Model, f.opts.Config.ModelConfig(st.Model, f.opts.Getenv))
	if err != nil {
		return nil, err
	}
	if parent == nil && st.ParentID != "" {
		// Resuming a subtree whose parent ended: roll-ups stop here.
		parent = nil
	}
	r := &run{f: f, parent: parent, wt: wt, def: def, model: st.Model, wtReady: make(chan struct{})}
	close(r.wtReady)
	ok := false
	defer func() {
		if !ok {
			r.close()
		}
	}()
	t := Task{Task: st.Task, Budget: st.Budget}
	return r, f.build(ctx, r, rec.ID, t, st.Depth, st.BaseCommit, prov, &ok)
}
