package tool

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ouro-run/ouro"
)

// benchSource is a 2000-line Go-like file.
func benchSource() string {
	var b strings.Builder
	b.WriteString("package bench\n\n")
	for i := 0; b.Len() < 1<<20 && i < 666; i++ {
		fmt.Fprintf(&b, "func f%d(x int) int {\n\treturn x * %d // line %d\n}\n", i, i, i)
	}
	return b.String()
}

func benchTools(b *testing.B) (map[string]Tool, string) {
	root := b.TempDir()
	if err := os.WriteFile(filepath.Join(root, "big.go"), []byte(benchSource()), 0o644); err != nil {
		b.Fatal(err)
	}
	return New(&Workspace{Root: root}), root
}

func BenchmarkReadFile(b *testing.B) {
	tools, _ := benchTools(b)
	input := json.RawMessage(`{"path":"big.go"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		out, err := tools[NameReadFile].Call(ctx, input)
		if err != nil || out.IsError {
			b.Fatal(err, out.Content)
		}
	}
}

func BenchmarkEditFile(b *testing.B) {
	tools, _ := benchTools(b)
	inputs := []json.RawMessage{
		json.RawMessage(`{"path":"big.go","old":"return x * 333 // line 333","new":"return x + 333 // line 333"}`),
		json.RawMessage(`{"path":"big.go","old":"return x + 333 // line 333","new":"return x * 333 // line 333"}`),
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		out, err := tools[NameEditFile].Call(ctx, inputs[i%2])
		if err != nil || out.IsError || out.Diff == "" {
			b.Fatal(err, out.Content)
		}
		i++
	}
}

func BenchmarkDescribeBash(b *testing.B) {
	tools := New(&Workspace{Root: b.TempDir()})
	input := json.RawMessage(js(map[string]string{
		"command": `cd pkg && FOO=1 go test -run 'TestX|TestY' ./... 2>&1 | tail -n 50; git status --short && curl -s https://proxy.golang.org/x/@v/list`,
	}))
	b.ReportAllocs()
	for b.Loop() {
		var a ouro.Action
		if err := tools[NameBash].Describe(input, &a); err != nil {
			b.Fatal(err)
		}
	}
}
