package policy

import (
	"fmt"
	"testing"

	"github.com/ouro-run/ouro"
)

func BenchmarkMicro(b *testing.B) {
	for _, expr := range []string{"true", `tool == "x%d"`, `paths.exists(p, p == "x%d")`, `cmds.exists(c, c[0] == "x%d")`} {
		f := &File{Name: "m", Version: 1}
		for i := 0; i < 50; i++ {
			e := expr
			if e != "true" {
				e = fmt.Sprintf(expr, i)
			}
			f.Rules = append(f.Rules, Rule{Name: fmt.Sprint(i), When: e, Decision: ouro.Deny})
		}
		p, err := Compile(f)
		if err != nil {
			b.Fatal(err)
		}
		a := bash("go test ./... | tail")
		a.Paths = []string{"a", "b"}
		b.Run(expr, func(b *testing.B) {
			for b.Loop() {
				p.Evaluate(a)
			}
		})
	}
}
