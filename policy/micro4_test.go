package policy

import (
	"fmt"
	"testing"
	"time"

	"cel.dev/cel-go/interpreter"
	"github.com/ouro-run/ouro"
)

func TestAltCost(t *testing.T) {
	exprs := []string{
		`sets.intersects(programs, ["npm", "pnpm", "yarn", "bun", "cargo", "twine", "poetry", "uv", "flit"])`,
		`programs.exists(p, p in ["npm", "pnpm", "yarn", "bun", "cargo", "twine", "poetry", "uv", "flit"])`,
		`has(args.path) && string(args.path).endsWith(".pem2")`,
		`has(args.path)`,
		`tool == "x"`,
		`size(programs) > 0`,
		`paths.exists(p, glob("vendor30/**", p))`,
		`paths.exists(p, p == "x")`,
		`hosts.exists(p, p == "x")`,
	}
	f := &File{Name: "m", Version: 1}
	for i, e := range exprs {
		f.Rules = append(f.Rules, Rule{Name: fmt.Sprint(i), When: e, Decision: ouro.Deny})
	}
	p, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	a := &ouro.Action{Tool: "write_file", Args: map[string]any{"path": "internal/server/handler.go", "content": "x"}, Paths: []string{"internal/server/handler.go"}, Writes: true}
	act := &activation{a: a}
	frame, _ := interpreter.NewExecutionFrame(act)
	best := make([]time.Duration, len(exprs))
	for round := 0; round < 20; round++ {
		for i := range p.rules {
			t0 := time.Now()
			for j := 0; j < 500; j++ {
				p.rules[i].prg.Eval(frame)
			}
			d := time.Since(t0) / 500
			if round == 0 || d < best[i] {
				best[i] = d
			}
		}
	}
	for i, e := range exprs {
		t.Logf("%6d ns  %s", best[i].Nanoseconds(), e)
	}
}
