package tool

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestNames(t *testing.T) {
	tools := New(&Workspace{Root: t.TempDir()})
	names := Names()
	if want := []string{"read_file", "write_file", "edit_file", "list_files", "grep", "bash", "finish"}; !slices.Equal(names, want) {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	if len(tools) != len(names) {
		t.Fatalf("New made %d tools, Names lists %d", len(tools), len(names))
	}
	for _, n := range names {
		tool, ok := tools[n]
		if !ok {
			t.Fatalf("New lacks %s", n)
		}
		if s := tool.Spec(); s.Name != n || s.Description == "" {
			t.Fatalf("spec of %s: %+v", n, s)
		}
	}
}

// TestBadArguments gives every tool malformed input: Describe and Call
// must both refuse it with the same one-line message naming the problem.
func TestBadArguments(t *testing.T) {
	f := newFixture(t, false, func(w *Workspace) { w.Runner = &fakeRunner{} })
	cases := []struct {
		tool, input, want string
	}{
		{NameBash, `{}`, `bash: invalid arguments: missing "command"; expected {"command": string, "timeout_s"?: integer}`},
		{NameBash, `{"command": ["ls"]}`, `bash: invalid arguments: "command" must be a string, got array`},
		{NameBash, `{"command": "ls", "timeout_s": "10"}`, `bash: invalid arguments: "timeout_s" must be an integer, got string`},
		{NameBash, `{"command": "ls", "timeout_s": 1.5}`, `bash: invalid arguments: "timeout_s" must be an integer, got 1.5`},
		{NameBash, `{"command": "ls", "timeout_s": 0}`, `bash: invalid arguments: "timeout_s" must be at least 1, got 0`},
		{NameBash, `{"command": "ls", "cwd": "/"}`, `bash: invalid arguments: unknown field "cwd"`},
		{NameBash, `{"command": "   "}`, `bash: invalid arguments: "command" must not be empty`},
		{NameBash, `{"command": null}`, `bash: invalid arguments: "command" must be a string, got null`},
		{NameBash, `{"command": "ls"`, `bash: invalid arguments: not valid JSON (it ends too early)`},
		{NameBash, `{"command": "ls"} {}`, `bash: invalid arguments: not valid JSON (data after the closing brace)`},
		{NameBash, `"ls"`, `bash: invalid arguments: arguments must be a JSON object, got string`},
		{NameBash, `{"command": "ls", "command": "rm -rf /"}`, `bash: invalid arguments: field "command" given twice`},
		{NameBash, `{command: "ls"}`, `bash: invalid arguments: not valid JSON (invalid character 'c')`},
		{NameReadFile, `{"path": 3}`, `read_file: invalid arguments: "path" must be a string, got number`},
		{NameReadFile, `{"path": "a", "offset": -1}`, `read_file: invalid arguments: "offset" must be at least 0, got -1`},
		{NameReadFile, `{"path": "a", "limit": 0}`, `read_file: invalid arguments: "limit" must be at least 1, got 0`},
		{NameReadFile, `{"path": "a", "limit": true}`, `read_file: invalid arguments: "limit" must be an integer, got boolean`},
		{NameReadFile, `{"path": "a\u0000b"}`, `read_file: invalid arguments: "path" contains a NUL byte`},
		{NameReadFile, `{"file": "a"}`, `read_file: invalid arguments: unknown field "file"`},
		{NameWriteFile, `{"path": "a"}`, `write_file: invalid arguments: missing "content"`},
		{NameWriteFile, `{"path": "a", "content": {"x": 1}}`, `write_file: invalid arguments: "content" must be a string, got object`},
		{NameEditFile, `{"path": "a", "old": "x"}`, `edit_file: invalid arguments: missing "new"`},
		{NameEditFile, `{"path": "a", "old": "x", "new": "y", "count": 2}`, `edit_file: invalid arguments: unknown field "count"`},
		{NameListFiles, `{"path": 1}`, `list_files: invalid arguments: "path" must be a string, got number`},
		{NameListFiles, `{"glob": "*"}`, `list_files: invalid arguments: unknown field "glob"`},
		{NameGrep, `{"path": "."}`, `grep: invalid arguments: missing "pattern"`},
		{NameGrep, `{"pattern": "("}`, "grep: invalid arguments: \"pattern\" is not a valid regular expression: error parsing regexp: missing closing ): `(`"},
		{NameGrep, `{"pattern": ""}`, `grep: invalid arguments: "pattern" must not be empty`},
		{NameFinish, `{}`, `finish: invalid arguments: missing "summary"`},
		{NameFinish, `{"summary": ""}`, `finish: invalid arguments: "summary" must not be empty`},
		{NameFinish, `{"summary": 7}`, `finish: invalid arguments: "summary" must be a string, got number`},
	}
	for _, c := range cases {
		t.Run(c.tool+" "+c.input, func(t *testing.T) {
			_, err := f.describe(c.tool, c.input)
			if err == nil {
				t.Fatal("Describe accepted it")
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Describe: %q\nwant prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("message is not one line: %q", err)
			}
			out := f.call(c.tool, c.input)
			if !out.IsError || out.Content != err.Error() {
				t.Fatalf("Call: %+v; want the Describe message", out)
			}
		})
	}
}

func TestGoodArguments(t *testing.T) {
	f := newFixture(t, false)
	cases := []struct {
		tool, input string
		args        map[string]any
	}{
		{NameReadFile, `{"path": "a", "offset": 3, "limit": 10}`, map[string]any{"path": "a", "offset": int64(3), "limit": int64(10)}},
		{NameReadFile, `{"path": "a", "offset": null}`, map[string]any{"path": "a"}},
		{NameReadFile, `  {"path": "a", "limit": 1e2}  `, map[string]any{"path": "a", "limit": int64(100)}},
		{NameListFiles, ``, map[string]any{}},
		{NameListFiles, `{}`, map[string]any{}},
		{NameBash, `{"command": "ls", "timeout_s": 5}`, map[string]any{"command": "ls", "timeout_s": int64(5)}},
		{NameFinish, `{"summary": "done"}`, map[string]any{"summary": "done"}},
	}
	for _, c := range cases {
		a, err := f.describe(c.tool, c.input)
		if err != nil {
			t.Fatalf("%s %s: %v", c.tool, c.input, err)
		}
		if js(a.Args) != js(c.args) {
			t.Errorf("%s %s: args %s, want %s", c.tool, c.input, js(a.Args), js(c.args))
		}
	}
}

// TestSchemasAgreeWithParser compiles every tool's schema as draft
// 2020-12 and checks that it accepts and rejects the same type-level
// inputs as the tool's own parser.
func TestSchemasAgreeWithParser(t *testing.T) {
	inputs := map[string][]string{
		NameReadFile:  {`{"path":"a"}`, `{"path":"a","offset":0,"limit":5}`, `{}`, `{"path":1}`, `{"path":"a","x":1}`, `{"path":"a","limit":0}`, `{"path":"a","offset":-1}`, `{"path":"a","offset":"1"}`, `[]`},
		NameWriteFile: {`{"path":"a","content":""}`, `{"path":"a"}`, `{"content":"x"}`, `{"path":"a","content":1}`, `{"path":"a","content":"","mode":1}`},
		NameEditFile:  {`{"path":"a","old":"x","new":"y"}`, `{"path":"a","old":"x"}`, `{"path":"a","old":1,"new":"y"}`, `{"path":"a","old":"x","new":"y","z":0}`},
		NameListFiles: {`{}`, `{"path":"a"}`, `{"pattern":"*.go"}`, `{"path":true}`, `{"depth":1}`},
		NameGrep:      {`{"pattern":"x"}`, `{"pattern":"x","path":"a"}`, `{"path":"a"}`, `{"pattern":1}`, `{"pattern":"x","i":true}`},
		NameBash:      {`{"command":"ls"}`, `{"command":"ls","timeout_s":1}`, `{"command":"ls","timeout_s":0}`, `{"command":"ls","timeout_s":2.5}`, `{}`, `{"command":"ls","env":{}}`},
		NameFinish:    {`{"summary":"s"}`, `{}`, `{"summary":["s"]}`},
	}
	tools := New(&Workspace{Root: t.TempDir()})
	for name, tool := range tools {
		spec := tool.Spec()
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec.Schema))
		if err != nil {
			t.Fatalf("%s schema: %v", name, err)
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource("mem://"+name, doc); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("mem://" + name)
		if err != nil {
			t.Fatalf("%s schema does not compile: %v", name, err)
		}
		var raw map[string]any
		if err := json.Unmarshal(spec.Schema, &raw); err != nil || raw["additionalProperties"] != false || raw["type"] != "object" {
			t.Fatalf("%s schema is not a closed object schema: %s", name, spec.Schema)
		}
		p := map[string]*params{NameReadFile: &readParams, NameWriteFile: &writeParams, NameEditFile: &editParams,
			NameListFiles: &listParams, NameGrep: &grepParams, NameBash: &bashParams, NameFinish: &finishParams}[name]
		for _, in := range inputs[name] {
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			schemaOK := sch.Validate(v) == nil
			_, perr := p.parse(json.RawMessage(in))
			if schemaOK != (perr == nil) {
				t.Errorf("%s %s: schema says ok=%v, parser says %v", name, in, schemaOK, perr)
			}
		}
	}
}
