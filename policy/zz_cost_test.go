package policy

import (
	"sort"
	"testing"
	"time"

	"cel.dev/cel-go/interpreter"
	"github.com/ouro-run/ouro"
)

func TestZZRuleCost(t *testing.T) {
	p := benchPolicy(&testing.B{})
	for _, a := range []*ouro.Action{
		{RunID: "r1", Agent: "coder", Tool: "bash", Depth: 1,
			Args:    map[string]any{"command": "go test ./... 2>&1 | tail -n 50"},
			Command: "go test ./... 2>&1 | tail -n 50",
			Argv:    [][]string{{"go", "test", "./..."}, {"tail", "-n", "50"}},
			Budget:  ouro.Budget{InputTokens: 120000, OutputTokens: 9000, CostUSD: 0.42, ToolCalls: 31}},
		{RunID: "r1", Agent: "coder", Tool: "write_file", Depth: 1,
			Args:   map[string]any{"path": "internal/server/handler.go", "content": "package server\n"},
			Paths:  []string{"internal/server/handler.go"},
			Writes: true},
	} {
		act := &activation{a: a}
		frame, _ := interpreter.NewExecutionFrame(act)
		best := make([]time.Duration, len(p.rules))
		for round := 0; round < 15; round++ {
			for i := range p.rules {
				t0 := time.Now()
				for j := 0; j < 300; j++ {
					p.rules[i].prg.Eval(frame)
				}
				d := time.Since(t0) / 300
				if round == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
		idx := make([]int, len(best))
		var total time.Duration
		for i := range idx {
			idx[i] = i
			total += best[i]
		}
		sort.Slice(idx, func(x, y int) bool { return best[idx[x]] > best[idx[y]] })
		t.Logf("%s total %v", a.Tool, total)
		for _, i := range idx[:15] {
			t.Logf("%6d ns  %s: %.70s", best[i].Nanoseconds(), p.rules[i].Name, p.rules[i].When)
		}
		// whole Evaluate, min of batches
		var bestE time.Duration
		for round := 0; round < 30; round++ {
			t0 := time.Now()
			for j := 0; j < 100; j++ {
				p.Evaluate(a)
			}
			d := time.Since(t0) / 100
			if round == 0 || d < bestE {
				bestE = d
			}
		}
		t.Logf("Evaluate min-batch %v", bestE)
	}
}

func TestZZSetupCost(t *testing.T) {
	p := benchPolicy(&testing.B{})
	a := &ouro.Action{RunID: "r1", Agent: "coder", Tool: "write_file", Depth: 1,
		Args:   map[string]any{"path": "internal/server/handler.go", "content": "package server\n"},
		Paths:  []string{"internal/server/handler.go"},
		Writes: true}
	cached := &activation{a: a}
	for round := 0; round < 5; round++ {
		var e, c, s time.Duration
		for k := 0; k < 20; k++ {
			t0 := time.Now()
			for j := 0; j < 100; j++ {
				p.Evaluate(a)
			}
			d := time.Since(t0) / 100
			if k == 0 || d < e {
				e = d
			}
			t0 = time.Now()
			for j := 0; j < 100; j++ {
				frame, _ := interpreter.NewExecutionFrame(cached)
				for i := range p.rules {
					p.rules[i].prg.Eval(frame)
				}
				frame.Close()
			}
			d = time.Since(t0) / 100
			if k == 0 || d < c {
				c = d
			}
			t0 = time.Now()
			for j := 0; j < 100; j++ {
				act := &activation{a: a}
				for slot := 0; slot < numVars; slot++ {
					act.compute(slot)
				}
			}
			d = time.Since(t0) / 100
			if k == 0 || d < s {
				s = d
			}
		}
		t.Logf("Evaluate %v, rules with cached vars %v, computing all vars %v", e, c, s)
	}
}
