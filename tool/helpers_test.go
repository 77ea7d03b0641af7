package tool

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ouro-run/ouro"
)

// fixture is a workspace in a temporary directory with a sibling
// directory outside it holding a secret.
type fixture struct {
	t       *testing.T
	root    string // the workspace
	outside string // a directory next to it
	secret  string // a file in outside
	tools   map[string]Tool
}

const secretText = "TOP SECRET\n"

// resolveModes runs f once with openat2 and once with the openat walk
// that replaces it on old kernels.
func resolveModes(t *testing.T, f func(t *testing.T, walk bool)) {
	for _, walk := range []bool{false, true} {
		name := "openat2"
		if walk {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) { f(t, walk) })
	}
}

func newFixture(t *testing.T, walk bool, configure ...func(*Workspace)) *fixture {
	t.Helper()
	base := t.TempDir()
	f := &fixture{t: t, root: filepath.Join(base, "ws"), outside: filepath.Join(base, "outside")}
	for _, d := range []string{f.root, f.outside, filepath.Join(f.root, ".ouro"), filepath.Join(f.root, ".git", "hooks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.secret = filepath.Join(f.outside, "secret")
	f.write(f.secret, secretText)
	f.write(filepath.Join(f.root, ".ouro", "policy.yaml"), "rules: []\n")
	f.write(filepath.Join(f.root, ".git", "config"), "[core]\n")
	ws := &Workspace{
		Root:      f.root,
		noOpenat2: walk,
		Protected: func(rel string) bool {
			return rel == ".ouro" || strings.HasPrefix(rel, ".ouro/") || rel == "policy-named.txt"
		},
	}
	for _, c := range configure {
		c(ws)
	}
	f.tools = New(ws)
	return f
}

// path is the absolute path of a workspace-relative one.
func (f *fixture) path(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

func (f *fixture) write(p, content string) {
	f.t.Helper()
	if !filepath.IsAbs(p) {
		p = f.path(p)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(p string) string {
	f.t.Helper()
	if !filepath.IsAbs(p) {
		p = f.path(p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) symlink(target, rel string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(f.path(rel)), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink(target, f.path(rel)); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) call(name string, input string) Output {
	f.t.Helper()
	out, err := f.tools[name].Call(context.Background(), json.RawMessage(input))
	if err != nil {
		f.t.Fatalf("%s %s: internal error: %v", name, input, err)
	}
	return out
}

func (f *fixture) describe(name string, input string) (*ouro.Action, error) {
	a := &ouro.Action{}
	err := f.tools[name].Describe(json.RawMessage(input), a)
	return a, err
}

// checkSecret fails the test when the file outside was changed.
func (f *fixture) checkSecret() {
	f.t.Helper()
	if got := f.read(f.secret); got != secretText {
		f.t.Fatalf("the file outside the workspace changed: %q", got)
	}
	ents, err := os.ReadDir(f.outside)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		f.t.Fatalf("files appeared outside the workspace: %v", names)
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
