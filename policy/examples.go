package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ouro-run/ouro"
)

// Example is one action a policy is tested against and the decision it
// should get. Examples live beside the policy, in .ouro/policy_test.yaml:
//
//   - name: pushing asks
//     action: {tool: bash, command: "git push origin main"}
//     want: ask
//     rule: ask-git-push
//   - name: writing the policy is denied
//     action: {tool: write_file, paths: [.ouro/policy.yaml], writes: true}
//     want: deny
//
// The action takes the fields of [ouro.Action] under their JSON names
// (tool, args, paths, writes, command, argv, hosts, agent, depth, task,
// run_id, budget).
type Example struct {
	Name   string
	Action ouro.Action
	Want   ouro.Decision
	// Rule, when set, names a rule that must be among those making the
	// decision.
	Rule string
	Line int // the example's line in its file, 0 when unknown
}

// ExampleResult is the outcome of one example.
type ExampleResult struct {
	Example
	Got  Result
	Err  error // the evaluation error, if any
	Pass bool
	// Why says what differed when the example failed.
	Why string
}

// exampleAction is an Action as written in an examples file.
type exampleAction struct {
	RunID   string         `yaml:"run_id"`
	Agent   string         `yaml:"agent"`
	Task    string         `yaml:"task"`
	Depth   int            `yaml:"depth"`
	Tool    string         `yaml:"tool"`
	Args    map[string]any `yaml:"args"`
	Paths   []string       `yaml:"paths"`
	Writes  bool           `yaml:"writes"`
	Command string         `yaml:"command"`
	Argv    [][]string     `yaml:"argv"`
	Hosts   []string       `yaml:"hosts"`
	Budget  ouro.Budget    `yaml:"budget"`
}

type exampleEntry struct {
	Name   string        `yaml:"name"`
	Action exampleAction `yaml:"action"`
	Want   ouro.Decision `yaml:"want"`
	Rule   string        `yaml:"rule"`
}

// LoadExamples reads an examples file.
func LoadExamples(path string) ([]Example, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy examples: %w", err)
	}
	return ParseExamples(path, data)
}

// ParseExamples reads examples from YAML; name is used in error messages.
func ParseExamples(name string, data []byte) ([]Example, error) {
	var entries []exampleEntry
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&entries); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("policy examples %s: file is empty; it should be a list of {name, action, want}", name)
		}
		return nil, fmt.Errorf("policy examples %s: %s", name, yamlMessage(err))
	}
	var doc yaml.Node
	var lines []int
	if yaml.Unmarshal(data, &doc) == nil && len(doc.Content) == 1 {
		for _, n := range doc.Content[0].Content {
			lines = append(lines, n.Line)
		}
	}
	out := make([]Example, 0, len(entries))
	for i, e := range entries {
		ex := Example{Name: e.Name, Want: e.Want, Rule: e.Rule}
		if i < len(lines) {
			ex.Line = lines[i]
		}
		where := fmt.Sprintf("policy examples %s: example %d", name, i+1)
		if ex.Line > 0 {
			where = fmt.Sprintf("policy examples %s:%d", name, ex.Line)
		}
		if strings.TrimSpace(e.Name) == "" {
			return nil, fmt.Errorf("%s: the example has no name; give it one (name: ...)", where)
		}
		switch e.Want {
		case ouro.Allow, ouro.Ask, ouro.Deny:
		default:
			return nil, fmt.Errorf("%s: example %q: want is %q; use allow, ask or deny", where, e.Name, e.Want)
		}
		args, err := jsonArgs(e.Action.Args)
		if err != nil {
			return nil, fmt.Errorf("%s: example %q: args: %w", where, e.Name, err)
		}
		a := e.Action
		ex.Action = ouro.Action{
			RunID: a.RunID, Agent: a.Agent, Task: a.Task, Depth: a.Depth, Tool: a.Tool,
			Args: args, Paths: a.Paths, Writes: a.Writes, Command: a.Command,
			Argv: a.Argv, Hosts: a.Hosts, Budget: a.Budget,
		}
		out = append(out, ex)
	}
	return out, nil
}

// jsonArgs gives YAML arguments the shape parsed JSON has (numbers are
// float64), which is what rules see for a real tool call.
func jsonArgs(args map[string]any) (map[string]any, error) {
	if args == nil {
		return nil, nil
	}
	data, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Test evaluates every example and reports which pass. An example passes
// when the decision is the one wanted and, if it names a rule, that rule is
// among the hits making the decision.
func (p *Policy) Test(examples []Example) []ExampleResult {
	out := make([]ExampleResult, 0, len(examples))
	for _, ex := range examples {
		a := ex.Action
		got, err := p.Evaluate(&a)
		r := ExampleResult{Example: ex, Got: got, Err: err}
		switch {
		case got.Decision != ex.Want:
			r.Why = fmt.Sprintf("got %s, want %s", got.Decision, ex.Want)
			if got.Rule != "" {
				r.Why += fmt.Sprintf(" (decided by rule %q: %s)", got.Rule, got.Message)
			}
		case ex.Rule != "" && !decidedBy(got, ex.Rule):
			r.Why = fmt.Sprintf("got %s as wanted, but not by rule %q", got.Decision, ex.Rule)
			if got.Rule != "" {
				r.Why += fmt.Sprintf(" (decided by rule %q)", got.Rule)
			}
		default:
			r.Pass = true
		}
		out = append(out, r)
	}
	return out
}

// decidedBy reports whether the named rule is a hit with the result's
// decision.
func decidedBy(r Result, rule string) bool {
	for _, h := range r.Hits {
		if h.Rule == rule && h.Decision == r.Decision {
			return true
		}
	}
	return false
}
