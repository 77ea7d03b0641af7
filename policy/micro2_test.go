package policy

import (
	"testing"
	"time"

	"cel.dev/cel-go/interpreter"

	"github.com/ouro-run/ouro"
)

func TestPerRuleCost(t *testing.T) {
	p := benchPolicy(&testing.B{})
	a := &ouro.Action{RunID: "r1", Agent: "coder", Tool: "write_file", Depth: 1,
		Args:   map[string]any{"path": "internal/server/handler.go", "content": "package server\n"},
		Paths:  []string{"internal/server/handler.go"},
		Writes: true}
	act := &activation{a: a}
	frame, _ := interpreter.NewExecutionFrame(act)
	for i := range p.rules {
		r := &p.rules[i]
		r.prg.Eval(frame)
		t0 := time.Now()
		for j := 0; j < 2000; j++ {
			r.prg.Eval(frame)
		}
		t.Logf("%6d ns  %s: %.60s", time.Since(t0).Nanoseconds()/2000, r.Name, r.When)
	}
}
