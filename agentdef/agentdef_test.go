package agentdef

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

const good = `---
name: fixer
description: Fixes failing tests.
model: openai:gpt-4.1
tools: [read_file, edit_file, bash, finish]
limits:
  cost_usd: 1.5
  wall_time: 20m
  tool_calls: 50
max_turns: 30
---

You fix failing tests.
Run them first.
`

func TestParse(t *testing.T) {
	d, err := Parse("fixer.md", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := &Definition{
		Name:        "fixer",
		Description: "Fixes failing tests.",
		Model:       "openai:gpt-4.1",
		Tools:       []string{"read_file", "edit_file", "bash", "finish"},
		Limits:      ouro.Budget{CostUSD: 1.5, WallTime: 20 * time.Minute, ToolCalls: 50},
		MaxTurns:    30,
		Prompt:      "You fix failing tests.\nRun them first.",
		Source:      "fixer.md",
		Raw:         []byte(good),
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", d, want)
	}
}

func TestParseVariants(t *testing.T) {
	tests := []struct {
		name, text string
		prompt     string
	}{
		{"minimal", "---\nname: a\n---\nhello\n", "hello"},
		{"CRLF", "---\r\nname: a\r\n---\r\nhello\r\n", "hello"},
		{"byte order mark", "\uFEFF---\nname: a\n---\nhello", "hello"},
		{"dashes inside the body stay", "---\nname: a\n---\nintro\n---\nmore\n", "intro\n---\nmore"},
		{"digit first, dash and underscore", "---\nname: 9to5_agent-x\n---\np\n", "p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("x.md", []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if d.Prompt != tt.prompt {
				t.Errorf("Prompt = %q, want %q", d.Prompt, tt.prompt)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"no front matter", "You are an agent.\n", []string{"x.md:1:", "no front matter", "'---'"}},
		{"unclosed front matter", "---\nname: a\nprompt\n", []string{"x.md:1:", "never closed"}},
		{"unknown key with its line", "---\nname: a\ndescription: d\ntemperature: 0.2\n---\np\n",
			[]string{"x.md:4:", `unknown key "temperature"`, "name, description, model, tools, limits, max_turns"}},
		{"unknown limit key", "---\nname: a\nlimits:\n  tokens: 5\n---\np\n",
			[]string{"x.md:4:", `unknown key "limits.tokens"`, "limits.wall_time"}},
		{"missing name", "---\ndescription: d\n---\np\n", []string{"x.md:2:", "no name"}},
		{"empty front matter", "---\n---\np\n", []string{"x.md:2:", "front matter is empty"}},
		{"path traversal name", "---\nname: ../x\n---\np\n", []string{"x.md:2:", `"../x" is not allowed`}},
		{"upper-case name", "---\nname: Coder\n---\np\n", []string{"x.md:2:", "not allowed"}},
		{"name with slash", "---\nname: a/b\n---\np\n", []string{"not allowed"}},
		{"name starting with dash", "---\nname: -a\n---\np\n", []string{"not allowed"}},
		{"long name", "---\nname: " + strings.Repeat("a", 65) + "\n---\np\n", []string{"longer than 64"}},
		{"empty prompt", "---\nname: a\n---\n\n  \n", []string{"x.md", "system prompt is empty"}},
		{"bad duration", "---\nname: a\nlimits:\n  wall_time: 20 minutes\n---\np\n", []string{"x.md:4:", "30m"}},
		{"negative limit", "---\nname: a\nlimits:\n  cost_usd: -1\n---\np\n", []string{"x.md:3:", "limits.cost_usd", "positive"}},
		{"negative max_turns", "---\nname: a\nmax_turns: -1\n---\np\n", []string{"x.md:3:", "max_turns"}},
		{"bad model spec", "---\nname: a\nmodel: gpt-4.1\n---\np\n", []string{"x.md:3:", "provider:name"}},
		{"unknown model provider", "---\nname: a\nmodel: gemini:pro\n---\np\n", []string{"x.md:3:", "anthropic:claude-sonnet-4-5"}},
		{"bad tool name", "---\nname: a\ntools: [Read File]\n---\np\n", []string{"x.md:3:", `tool name "Read File"`}},
		{"duplicate tool", "---\nname: a\ntools: [bash, bash]\n---\np\n", []string{"x.md:3:", "listed twice"}},
		{"duplicate key", "---\nname: a\nname: b\n---\np\n", []string{"x.md:3:", "already defined at line 2"}},
		{"broken YAML", "---\nname: a\ntools: [bash\n---\np\n", []string{"x.md:3:", "did not find expected"}},
		{"front matter not a mapping", "---\n- name: a\n---\np\n", []string{"x.md:2:", "keys and values"}},
		{"wrong type", "---\nname: a\ntools: bash\n---\np\n", []string{"x.md:3:", "cannot unmarshal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.md", []byte(tt.text))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestHash(t *testing.T) {
	d, err := Parse("a.md", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(good))
	if want := "sha256:" + hex.EncodeToString(sum[:]); d.Hash() != want {
		t.Errorf("Hash() = %s, want %s", d.Hash(), want)
	}
	again, _ := Parse("elsewhere.md", []byte(good))
	if again.Hash() != d.Hash() {
		t.Error("the hash depends on the source name; it must depend on the bytes only")
	}
	changed, err := Parse("a.md", []byte(strings.Replace(good, "Run them first.", "Run them first!", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if changed.Hash() == d.Hash() {
		t.Error("changing the prompt did not change the hash")
	}
	data := []byte(good)
	d2, _ := Parse("a.md", data)
	data[5] = 'X'
	if d2.Hash() != d.Hash() {
		t.Error("Definition.Raw aliases the caller's buffer")
	}
}

func TestBuiltins(t *testing.T) {
	for _, name := range builtinNames() {
		d, err := Builtin(name)
		if err != nil {
			t.Fatalf("Builtin(%q): %v", name, err)
		}
		if d.Name != name || d.Source != SourceBuiltin || d.Description == "" || len(d.Prompt) < 200 {
			t.Errorf("Builtin(%q) = name %q source %q description %q, %d-byte prompt", name, d.Name, d.Source, d.Description, len(d.Prompt))
		}
	}
	coder, err := Builtin(DefaultAgent)
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"read_file", "write_file", "edit_file", "list_files", "grep", "bash", "finish", "delegate"} {
		if !slices.Contains(coder.Tools, tool) {
			t.Errorf("coder lacks tool %s", tool)
		}
	}
	for _, phrase := range []string{"finish", "tests", "oversight"} {
		if !strings.Contains(coder.Prompt, phrase) {
			t.Errorf("coder prompt does not mention %q", phrase)
		}
	}
	if _, err := Builtin("nosuch"); err == nil || !strings.Contains(err.Error(), "coder") {
		t.Errorf("Builtin(nosuch) = %v, want an error listing the built-ins", err)
	}
	if _, err := Builtin("../coder"); err == nil {
		t.Error("Builtin accepted a path")
	}
}

// tree writes agent files under a repository and a user configuration
// directory and returns both.
func tree(t *testing.T, repoAgents, userAgents map[string]string) (repo, user string) {
	t.Helper()
	root := t.TempDir()
	repo, user = filepath.Join(root, "repo"), filepath.Join(root, "config")
	for dir, files := range map[string]map[string]string{
		filepath.Join(repo, ".ouro", "agents"): repoAgents,
		filepath.Join(user, "ouro", "agents"):  userAgents,
	} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return repo, user
}

func agent(name, prompt string) string {
	return "---\nname: " + name + "\n---\n" + prompt + "\n"
}

func TestFind(t *testing.T) {
	repoAgents := map[string]string{
		"coder.md":  agent("coder", "repo coder"),
		"both.md":   agent("both", "repo both"),
		"broken.md": "---\nname: broken\nbogus: 1\n---\np\n",
		"liar.md":   agent("truth", "p"),
	}
	userAgents := map[string]string{
		"both.md":     agent("both", "user both"),
		"useronly.md": agent("useronly", "user only"),
	}
	repo, user := tree(t, repoAgents, userAgents)
	tests := []struct {
		name, repo, user string
		want             string // prompt, or "builtin"
		source           string // "repo", "user" or "builtin"
		err              []string
	}{
		{name: "coder", repo: repo, user: user, want: "repo coder", source: "repo"},
		{name: "both", repo: repo, user: user, want: "repo both", source: "repo"},
		{name: "useronly", repo: repo, user: user, want: "user only", source: "user"},
		{name: "reviewer", repo: repo, user: user, source: "builtin"},
		{name: "coder", repo: "", user: user, source: "builtin"},
		{name: "both", repo: "", user: user, want: "user both", source: "user"},
		{name: "broken", repo: repo, user: user, err: []string{"broken.md:3:", `unknown key "bogus"`}},
		{name: "liar", repo: repo, user: user, err: []string{"liar.md", `defines agent "truth"`}},
		{name: "nosuch", repo: repo, user: user, err: []string{
			`no agent "nosuch"`, filepath.Join(repo, ".ouro", "agents", "nosuch.md"),
			filepath.Join(user, "ouro", "agents", "nosuch.md"), "built-in",
			"available agents: both, broken, coder, liar, reviewer, useronly"}},
		{name: "../coder", repo: repo, user: user, err: []string{"not allowed"}},
		{name: "..", repo: repo, user: user, err: []string{"not allowed"}},
		{name: "", repo: repo, user: user, err: []string{"empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.source, func(t *testing.T) {
			d, err := Find(context.Background(), tt.name, tt.repo, tt.user)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("Find = %+v, want an error", d)
				}
				for _, w := range tt.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\ndoes not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var src string
			switch tt.source {
			case "repo":
				src = filepath.Join(tt.repo, ".ouro", "agents", tt.name+".md")
			case "user":
				src = filepath.Join(tt.user, "ouro", "agents", tt.name+".md")
			default:
				src = SourceBuiltin
			}
			if d.Source != src || d.Name != tt.name {
				t.Errorf("Find = %s from %s, want %s from %s", d.Name, d.Source, tt.name, src)
			}
			if tt.want != "" && d.Prompt != tt.want {
				t.Errorf("Prompt = %q, want %q", d.Prompt, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Find(ctx, "coder", repo, user); err == nil {
		t.Error("Find with a cancelled context succeeded")
	}
}

func TestFindRefusesDirectoriesAndHugeFiles(t *testing.T) {
	repo, user := tree(t, map[string]string{"huge.md": agent("huge", strings.Repeat("x", MaxFileSize))}, nil)
	if err := os.Mkdir(filepath.Join(repo, ".ouro", "agents", "dir.md"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(context.Background(), "dir", repo, user); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find(dir) = %v, want not a regular file", err)
	}
	if _, err := Find(context.Background(), "huge", repo, user); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Find(huge) = %v, want too large", err)
	}
}

func TestList(t *testing.T) {
	repo, user := tree(t,
		map[string]string{"coder.md": agent("coder", "repo coder"), "notes.txt": "ignored", "Bad Name.md": "ignored"},
		map[string]string{"coder.md": agent("coder", "user coder"), "helper.md": agent("helper", "user helper")})
	defs, err := List(context.Background(), repo, user)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs {
		got = append(got, d.Name+" "+d.Source+" "+d.Prompt[:min(len(d.Prompt), 11)])
	}
	want := []string{
		"coder " + filepath.Join(repo, ".ouro", "agents", "coder.md") + " repo coder",
		"helper " + filepath.Join(user, "ouro", "agents", "helper.md") + " user helper",
		"reviewer builtin You are a c",
	}
	if !slices.Equal(got, want) {
		t.Errorf("List =\n%q\nwant\n%q", got, want)
	}

	repo2, user2 := tree(t, map[string]string{"bad.md": "no front matter"}, nil)
	if _, err := List(context.Background(), repo2, user2); err == nil || !strings.Contains(err.Error(), "bad.md") {
		t.Errorf("List with a broken file = %v, want an error naming it", err)
	}
	defs, err = List(context.Background(), "", "")
	if err != nil || len(defs) != len(builtinNames()) {
		t.Errorf("List with no directories = %d definitions, %v; want the %d built-ins", len(defs), err, len(builtinNames()))
	}
}

func TestBudget(t *testing.T) {
	tests := []struct {
		def, cfg, want ouro.Budget
	}{
		{ouro.Budget{}, ouro.Budget{CostUSD: 5}, ouro.Budget{CostUSD: 5}},
		{ouro.Budget{CostUSD: 2}, ouro.Budget{}, ouro.Budget{CostUSD: 2}},
		{ouro.Budget{CostUSD: 2, ToolCalls: 500}, ouro.Budget{CostUSD: 5, ToolCalls: 100}, ouro.Budget{CostUSD: 2, ToolCalls: 100}},
		{ouro.Budget{WallTime: time.Hour, InputTokens: 10}, ouro.Budget{WallTime: 30 * time.Minute, OutputTokens: 7},
			ouro.Budget{WallTime: 30 * time.Minute, InputTokens: 10, OutputTokens: 7}},
	}
	for _, tt := range tests {
		d := &Definition{Limits: tt.def}
		if got := d.Budget(tt.cfg); got != tt.want {
			t.Errorf("Budget(def %+v, cfg %+v) = %+v, want %+v", tt.def, tt.cfg, got, tt.want)
		}
	}
}
