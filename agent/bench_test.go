package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/model"
	"github.com/ouro-run/ouro/policy"
	"github.com/ouro-run/ouro/tool"
)

// noopTool does nothing, so a step's time is the loop's own.
type noopTool struct{}

func (noopTool) Spec() ouro.ToolSpec {
	return ouro.ToolSpec{Name: "noop", Description: "does nothing", Schema: json.RawMessage(`{"type":"object"}`)}
}
func (noopTool) Describe(_ json.RawMessage, a *ouro.Action) error {
	a.Args = map[string]any{}
	return nil
}
func (noopTool) Call(context.Context, json.RawMessage) (tool.Output, error) {
	return tool.Output{Content: "ok"}, nil
}

// clockedProvider notes when each model call starts.
type clockedProvider struct {
	model.Provider
	starts []time.Time
}

func (p *clockedProvider) Complete(ctx context.Context, req *model.Request, onText func(string)) (*model.Response, error) {
	p.starts = append(p.starts, time.Now())
	return p.Provider.Complete(ctx, req, onText)
}

// BenchmarkStep measures the loop's own time per agent step: a scripted
// model that answers at once, one no-op tool call per turn, the default
// policy, the real journal with its write-ahead commit before each call.
// Runs are 100 steps long, as a conversation between compactions might
// be, so the script provider's scan of the conversation stays small. It
// reports the median and 99th percentile of the time from one model call
// to the next.
func BenchmarkStep(b *testing.B) {
	const perRun = 100
	dir := b.TempDir()
	var s strings.Builder
	for range perRun {
		s.WriteString(`{"tool_calls": [{"name": "noop", "input": {}}]}` + "\n")
	}
	s.WriteString(`{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}` + "\n")
	sf := filepath.Join(dir, "s.jsonl")
	if err := os.WriteFile(sf, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	prov, err := model.Open("script:"+sf, model.Config{})
	if err != nil {
		b.Fatal(err)
	}
	jr, err := journal.Open(context.Background(), filepath.Join(dir, "j.db"), journal.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer jr.Close()
	pol, err := policy.Compile(policy.Default())
	if err != nil {
		b.Fatal(err)
	}
	tools := tool.New(&tool.Workspace{Root: dir})
	tools["noop"] = noopTool{}
	var steps []time.Duration
	b.ResetTimer()
	for run := 0; run*perRun < b.N; run++ {
		cp := &clockedProvider{Provider: prov}
		l, err := New(Config{RunID: fmt.Sprintf("bench%d", run), Task: "bench", Agent: "coder", Provider: cp, Policy: pol, Journal: jr,
			Tools: tools, MaxTurns: perRun + 10})
		if err != nil {
			b.Fatal(err)
		}
		out, err := l.Start(context.Background())
		if err != nil || out.Status != ouro.StatusFinished {
			b.Fatalf("run: %+v %v", out, err)
		}
		for i := 1; i < len(cp.starts); i++ {
			steps = append(steps, cp.starts[i].Sub(cp.starts[i-1]))
		}
	}
	b.StopTimer()
	if len(steps) > 0 {
		slices.Sort(steps)
		b.ReportMetric(float64(steps[len(steps)/2].Microseconds()), "p50-µs/step")
		b.ReportMetric(float64(steps[len(steps)*99/100].Microseconds()), "p99-µs/step")
	}
}
