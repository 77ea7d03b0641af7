package config

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/model"
)

// fixture is a home directory and a repository on disk, with the
// environment a test gives Load.
type fixture struct {
	home, repo string
	env        map[string]string
}

func newFixture(t *testing.T, repoFile, userFile string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{home: filepath.Join(root, "home"), repo: filepath.Join(root, "repo")}
	f.env = map[string]string{"HOME": f.home}
	write := func(path, text string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(f.home, 0o755)
	os.MkdirAll(f.repo, 0o755)
	if repoFile != "" {
		write(f.repoPath(), repoFile)
	}
	if userFile != "" {
		write(f.userPath(), userFile)
	}
	return f
}

func (f *fixture) repoPath() string { return filepath.Join(f.repo, ".ouro", "config.yaml") }
func (f *fixture) userPath() string { return filepath.Join(f.home, ".config", "ouro", "config.yaml") }
func (f *fixture) getenv(k string) string {
	return f.env[k]
}

func intp(n int) *int { return &n }

func TestDefault(t *testing.T) {
	d := Default()
	if d.Agent != "coder" || d.MaxAgents != 4 || d.MaxDepth != 3 || d.MaxChildren != 8 ||
		d.Approval.Timeout != 30*time.Minute || d.Sandbox.Mode != "auto" || d.Model == "" {
		t.Errorf("Default() = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default() does not validate: %v", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		repo, user string
		env        map[string]string
		check      func(t *testing.T, c Config)
		files      []string // "repo", "user"
	}{
		{
			name:  "no files: defaults",
			check: func(t *testing.T, c Config) { eq(t, "config", c, Default()) },
		},
		{
			name:  "user file alone",
			user:  "model: openai:gpt-4.1\nmax_depth: 5\n",
			files: []string{"user"},
			check: func(t *testing.T, c Config) {
				eq(t, "model", c.Model, "openai:gpt-4.1")
				eq(t, "max_depth", c.MaxDepth, 5)
				eq(t, "max_children (default)", c.MaxChildren, 8)
			},
		},
		{
			name:  "repo over user, unset keys fall through",
			repo:  "model: script:turns.jsonl\nbudget:\n  cost_usd: 2.5\n",
			user:  "model: openai:gpt-4.1\nagent: reviewer\nbudget:\n  cost_usd: 9\n  wall_time: 45m\n",
			files: []string{"repo", "user"},
			check: func(t *testing.T, c Config) {
				eq(t, "model", c.Model, "script:turns.jsonl")
				eq(t, "agent", c.Agent, "reviewer")
				eq(t, "budget", c.Budget, ouro.Budget{CostUSD: 2.5, WallTime: 45 * time.Minute})
			},
		},
		{
			name:  "providers merge field by field",
			repo:  "providers:\n  openai:\n    max_tokens: 4096\n    prices:\n      local: {input: 0.5}\n",
			user:  "providers:\n  openai:\n    base_url: http://localhost:8000/v1\n    max_tokens: 1000\n    max_retries: 0\n    prices:\n      gpt-4.1: {input: 2, output: 8}\n  anthropic:\n    api_key_env: WORK_KEY\n",
			files: []string{"repo", "user"},
			check: func(t *testing.T, c Config) {
				eq(t, "providers", c.Providers, map[string]Provider{
					"openai": {BaseURL: "http://localhost:8000/v1", MaxTokens: 4096, MaxRetries: intp(0),
						Prices: map[string]model.Price{"local": {Input: 0.5}, "gpt-4.1": {Input: 2, Output: 8}}},
					"anthropic": {APIKeyEnv: "WORK_KEY"},
				})
			},
		},
		{
			name:  "repo sets a value back to zero",
			repo:  "max_depth: 0\n",
			user:  "max_depth: 6\n",
			files: []string{"repo", "user"},
			check: func(t *testing.T, c Config) { eq(t, "max_depth", c.MaxDepth, 0) },
		},
		{
			name:  "environment over both files",
			repo:  "model: openai:gpt-4.1\nsandbox: {mode: bwrap}\n",
			user:  "agent: reviewer\nmax_agents: 2\n",
			env:   map[string]string{"OURO_MODEL": "anthropic:claude-opus-4-1", "OURO_AGENT": "tester", "OURO_MAX_AGENTS": "7", "OURO_SANDBOX": "landlock"},
			files: []string{"repo", "user"},
			check: func(t *testing.T, c Config) {
				eq(t, "model", c.Model, "anthropic:claude-opus-4-1")
				eq(t, "agent", c.Agent, "tester")
				eq(t, "max_agents", c.MaxAgents, 7)
				eq(t, "sandbox.mode", c.Sandbox.Mode, "landlock")
			},
		},
		{
			name:  "XDG_CONFIG_HOME replaces HOME/.config",
			user:  "agent: ignored\n",
			env:   map[string]string{"XDG_CONFIG_HOME": "XDG"},
			repo:  "max_children: 2\n",
			files: []string{"repo", "xdg"},
			check: func(t *testing.T, c Config) {
				eq(t, "agent", c.Agent, "from-xdg")
				eq(t, "max_children", c.MaxChildren, 2)
			},
		},
		{
			name:  "durations and sizes",
			repo:  "approval: {timeout: 1h30m}\nsandbox:\n  limits: {cpu_time: 90s, timeout: 10m, memory: 512MiB, file_size: 1GB, procs: 64, output: 65536}\n",
			files: []string{"repo"},
			check: func(t *testing.T, c Config) {
				eq(t, "approval", c.Approval.Timeout, 90*time.Minute)
				eq(t, "limits", c.Sandbox.Limits, SandboxLimits{CPUTime: 90 * time.Second, Timeout: 10 * time.Minute,
					Memory: 512 * 1024 * 1024, FileSize: 1_000_000_000, Procs: 64, Output: 65536})
			},
		},
		{
			name:  "accel taken whole from the strongest file",
			repo:  "accel:\n  period: week\n",
			user:  "accel:\n  period: day\n  authors: [a]\n",
			files: []string{"repo", "user"},
			check: func(t *testing.T, c Config) {
				var got map[string]any
				if err := c.Accel.Decode(&got); err != nil {
					t.Fatal(err)
				}
				eq(t, "accel", got, map[string]any{"period": "week"})
				if !strings.HasSuffix(c.AccelSource, filepath.Join("repo", ".ouro", "config.yaml")) {
					t.Errorf("AccelSource = %q, want the repository file", c.AccelSource)
				}
			},
		},
		{
			name:  "empty and comment-only files are read and change nothing",
			repo:  "# nothing yet\n",
			user:  "\n",
			files: []string{"repo", "user"},
			check: func(t *testing.T, c Config) { eq(t, "config", c, Default()) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.repo, tt.user)
			var xdg string
			for k, v := range tt.env {
				if k == "XDG_CONFIG_HOME" {
					xdg = filepath.Join(f.home, v)
					v = xdg
					p := filepath.Join(xdg, "ouro", "config.yaml")
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, []byte("agent: from-xdg\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				f.env[k] = v
			}
			c, files, err := Load(context.Background(), f.repo, f.getenv)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			var want []string
			for _, w := range tt.files {
				switch w {
				case "repo":
					want = append(want, f.repoPath())
				case "user":
					want = append(want, f.userPath())
				case "xdg":
					want = append(want, filepath.Join(xdg, "ouro", "config.yaml"))
				}
			}
			eq(t, "files read", files, want)
			tt.check(t, c)
		})
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name       string
		repo, user string
		env        map[string]string
		want       []string // substrings of the error; "REPO" and "USER" stand for the files
	}{
		{"unknown top-level key", "model: openai:gpt-4.1\nmodle: x\n", "", nil,
			[]string{"REPO:2:", `unknown key "modle"`, "model, agent"}},
		{"unknown nested key names the user file", "", "sandbox:\n  mode: auto\n  limits:\n    memroy: 1G\n", nil,
			[]string{"USER:4:", `unknown key "memroy" in sandbox.limits`, "memory"}},
		{"unknown provider key", "providers:\n  anthropic:\n    apikey: sk-x\n", "", nil,
			[]string{"REPO:3:", `unknown key "apikey" in providers.anthropic`, "api_key_env"}},
		{"bad duration", "budget:\n  tool_calls: 3\n  wall_time: 30 minutes\n", "", nil,
			[]string{"REPO:3:", "time.Duration", "30m"}},
		{"duration without unit", "approval:\n  timeout: 30\n", "", nil,
			[]string{"REPO:2:", "durations like 30m"}},
		{"bad size", "sandbox:\n  limits:\n    file_size: huge\n", "", nil,
			[]string{"REPO:3:", `"huge" is not a size`, "512MiB"}},
		{"broken YAML", "", "model: openai:gpt-4.1\nbudget: {cost_usd: 1\nagent: x\n", nil,
			[]string{"USER:2:", "did not find expected ',' or '}'"}},
		{"broken YAML, block", "budget:\n  - 1\n  cost_usd: 1\n", "", nil,
			[]string{"REPO:2:", "did not find expected '-' indicator"}},
		{"unterminated string", "model: openai:x\nagent: 'coder\n", "", nil,
			[]string{"REPO:2:", "unexpected end of stream"}},
		{"tab indentation", "budget:\n\tcost_usd: 1\n", "", nil,
			[]string{"REPO:2:", "tab"}},
		{"wrong type", "max_agents: many\n", "", nil,
			[]string{"REPO:1:", "cannot unmarshal"}},
		{"not a mapping", "- model: x\n", "", nil,
			[]string{"REPO:1:", "mapping of keys"}},
		{"two documents", "model: openai:a\n---\nmodel: openai:b\n", "", nil,
			[]string{"REPO:2:", "second YAML document"}},
		{"model without provider", "model: claude-sonnet-4-5\n", "", nil,
			[]string{"REPO:1:", "model:", "names no provider", "anthropic:MODEL"}},
		{"model with unknown provider", "", "model: gemini:pro\n", nil,
			[]string{"USER:1:", `unknown provider "gemini"`}},
		{"model without name", "model: 'openai:'\n", "", nil,
			[]string{"REPO:1:", "has no model name"}},
		{"negative budget", "budget:\n  input_tokens: 10\n  cost_usd: -1\n", "", nil,
			[]string{"REPO:3:", "budget.cost_usd", "negative"}},
		{"negative wall time", "budget:\n  wall_time: -5m\n", "", nil,
			[]string{"REPO:2:", "budget.wall_time", "negative"}},
		{"unknown sandbox mode", "sandbox:\n  mode: docker\n", "", nil,
			[]string{"REPO:2:", `unknown sandbox mode "docker"`, "auto, bwrap, landlock, none"}},
		{"zero max_agents", "max_agents: 0\n", "", nil,
			[]string{"REPO:1:", "max_agents", "at least 1"}},
		{"negative max_children", "max_children: -2\n", "", nil,
			[]string{"REPO:1:", "max_children", "negative"}},
		{"zero approval timeout", "approval:\n  timeout: 0s\n", "", nil,
			[]string{"REPO:2:", "approval.timeout", "positive duration"}},
		{"unknown provider section", "providers:\n  gemini:\n    base_url: https://x\n", "", nil,
			[]string{"REPO:2:", "providers.gemini", "anthropic and openai"}},
		{"bad base URL", "providers:\n  openai:\n    base_url: localhost:8000\n", "", nil,
			[]string{"REPO:3:", "providers.openai.base_url", "http://"}},
		{"key instead of variable name", "providers:\n  openai:\n    api_key_env: sk-abc123\n", "", nil,
			[]string{"REPO:3:", "api_key_env", "never the key itself"}},
		{"bad monitor model", "monitor:\n  model: haiku\n", "", nil,
			[]string{"REPO:2:", "monitor.model", "names no provider"}},
		{"missing monitor prompt", "monitor:\n  prompt: nowhere.md\n", "", nil,
			[]string{"REPO:2:", "monitor.prompt", "not a readable file"}},
		{"bad agent name", "agent: ../evil\n", "", nil,
			[]string{"REPO:1:", "agent", "not allowed"}},
		{"two problems both reported", "max_agents: 0\nsandbox: {mode: x}\n", "", nil,
			[]string{"REPO:1: max_agents", "REPO:2: sandbox.mode"}},
		{"bad OURO_MAX_AGENTS", "", "", map[string]string{"OURO_MAX_AGENTS": "lots"},
			[]string{"OURO_MAX_AGENTS", "whole number"}},
		{"bad OURO_SANDBOX", "", "", map[string]string{"OURO_SANDBOX": "off"},
			[]string{"OURO_SANDBOX", `unknown sandbox mode "off"`}},
		{"bad OURO_MODEL", "", "", map[string]string{"OURO_MODEL": "gpt-4.1"},
			[]string{"OURO_MODEL", "names no provider"}},
		{"bad OURO_AGENT", "", "", map[string]string{"OURO_AGENT": "a/b"},
			[]string{"OURO_AGENT", "not allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.repo, tt.user)
			for k, v := range tt.env {
				f.env[k] = v
			}
			_, _, err := Load(context.Background(), f.repo, f.getenv)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "REPO", f.repoPath())
				w = strings.ReplaceAll(w, "USER", f.userPath())
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	f := newFixture(t, "", "")
	if err := os.MkdirAll(f.repoPath(), 0o755); err != nil { // a directory where the file should be
		t.Fatal(err)
	}
	_, _, err := Load(context.Background(), f.repo, f.getenv)
	if err == nil || !strings.Contains(err.Error(), "read config "+f.repoPath()) {
		t.Fatalf("Load = %v, want a read error naming the file", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Load(ctx, f.repo, f.getenv); err == nil {
		t.Error("Load with a cancelled context succeeded")
	}
}

func TestMonitorPromptResolved(t *testing.T) {
	f := newFixture(t, "monitor:\n  model: anthropic:claude-haiku-4-5\n  prompt: monitor.md\n", "")
	prompt := filepath.Join(f.repo, ".ouro", "monitor.md")
	if err := os.WriteFile(prompt, []byte("rate this"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(context.Background(), f.repo, f.getenv)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "monitor", c.Monitor, Monitor{Model: "anthropic:claude-haiku-4-5", Prompt: prompt})
}

func TestStateDir(t *testing.T) {
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{"OURO_HOME first", map[string]string{"OURO_HOME": "/o", "XDG_STATE_HOME": "/x", "HOME": "/h"}, "/o", ""},
		{"relative OURO_HOME made absolute", map[string]string{"OURO_HOME": "state", "HOME": "/h"}, filepath.Join(cwd, "state"), ""},
		{"XDG_STATE_HOME next", map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/h"}, "/x/ouro", ""},
		{"relative XDG_STATE_HOME ignored", map[string]string{"XDG_STATE_HOME": "x", "HOME": "/h"}, "/h/.local/state/ouro", ""},
		{"HOME last", map[string]string{"HOME": "/h"}, "/h/.local/state/ouro", ""},
		{"nothing set", map[string]string{}, "", "set OURO_HOME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StateDir(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("StateDir = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("StateDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestUserConfigDir(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
		ok   bool
	}{
		{map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x", true},
		{map[string]string{"XDG_CONFIG_HOME": "rel", "HOME": "/h"}, "/h/.config", true},
		{map[string]string{"HOME": "/h"}, "/h/.config", true},
		{map[string]string{}, "", false},
	}
	for _, tt := range tests {
		got, err := UserConfigDir(func(k string) string { return tt.env[k] })
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("UserConfigDir(%v) = %q, %v; want %q, ok=%v", tt.env, got, err, tt.want, tt.ok)
		}
	}
}

func TestHash(t *testing.T) {
	parse := func(text string) Config {
		t.Helper()
		root, err := Parse("test.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		c := Default()
		if root != nil {
			if err := root.Decode(&c); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	base := "model: openai:gpt-4.1\nbudget: {cost_usd: 2, wall_time: 30m}\nproviders:\n  openai: {base_url: 'http://h:1/v1'}\naccel: {period: week, n: 1}\n"
	h := parse(base).Hash()
	if !strings.HasPrefix(h, "sha256:") || len(h) != len("sha256:")+64 {
		t.Fatalf("Hash() = %q, want sha256:HEX", h)
	}
	same := []string{
		base,
		"# a comment\naccel:\n  n: 1\n  period: week\nproviders:\n  openai:\n    base_url: http://h:1/v1\nbudget:\n  wall_time: 1800s\n  cost_usd: 2.0\nmodel: openai:gpt-4.1\n",
		"model: openai:gpt-4.1\nbudget: {cost_usd: 2, wall_time: 30m}\nproviders:\n  openai: {base_url: 'http://user:secret@h:1/v1'}\naccel: {period: week, n: 1}\n",
	}
	for _, s := range same {
		if got := parse(s).Hash(); got != h {
			t.Errorf("Hash of\n%s= %s, want %s (same configuration)", s, got, h)
		}
	}
	different := []string{
		strings.Replace(base, "cost_usd: 2", "cost_usd: 3", 1),
		strings.Replace(base, "gpt-4.1", "gpt-4o", 1),
		strings.Replace(base, "period: week", "period: day", 1),
		strings.Replace(base, "h:1", "h:2", 1),
		base + "max_depth: 4\n",
	}
	for _, s := range different {
		if got := parse(s).Hash(); got == h {
			t.Errorf("Hash of\n%sequals the base hash; the content differs", s)
		}
	}
	first, second := Default(), Default()
	if first.Hash() != second.Hash() {
		t.Error("Hash is not stable")
	}
}

func TestModelConfig(t *testing.T) {
	env := map[string]string{"ANTHROPIC_API_KEY": "ak", "OPENAI_API_KEY": "ok", "WORK_KEY": "wk"}
	getenv := func(k string) string { return env[k] }
	c := Default()
	c.Providers = map[string]Provider{
		"openai": {BaseURL: "http://localhost:8000/v1", MaxTokens: 1000, ContextWindow: 32000, Timeout: time.Minute,
			MaxRetries: intp(0), Prices: map[string]model.Price{"local": {Input: 1}}},
		"anthropic": {APIKeyEnv: "WORK_KEY", MaxRetries: intp(2)},
	}
	tests := []struct {
		spec string
		cfg  Config
		want model.Config
	}{
		{"openai:local", c, model.Config{BaseURL: "http://localhost:8000/v1", APIKey: "ok", Timeout: time.Minute,
			MaxRetries: -1, MaxTokens: 1000, ContextWindow: 32000, Prices: map[string]model.Price{"local": {Input: 1}}}},
		{"anthropic:claude-sonnet-4-5", c, model.Config{APIKey: "wk", MaxRetries: 2}},
		{"anthropic:claude-sonnet-4-5", Default(), model.Config{APIKey: "ak"}},
		{"openai:gpt-4.1", Default(), model.Config{APIKey: "ok"}},
		{"script:turns.jsonl", c, model.Config{}},
	}
	for _, tt := range tests {
		if got := tt.cfg.ModelConfig(tt.spec, getenv); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ModelConfig(%q) = %+v, want %+v", tt.spec, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	base := Default()
	base.Model = "openai:gpt-4.1"
	base.Budget = ouro.Budget{CostUSD: 5, ToolCalls: 100}
	base.Providers = map[string]Provider{"openai": {BaseURL: "http://a", MaxTokens: 10}}
	over := Config{
		Agent:     "reviewer",
		Budget:    ouro.Budget{WallTime: time.Hour, CostUSD: 1},
		MaxAgents: 9,
		Providers: map[string]Provider{"openai": {MaxTokens: 20}, "anthropic": {APIKeyEnv: "K"}},
		Sandbox:   Sandbox{Limits: SandboxLimits{Memory: 1 << 30}},
	}
	got := Merge(base, over)
	want := base
	want.Agent = "reviewer"
	want.Budget = ouro.Budget{CostUSD: 1, ToolCalls: 100, WallTime: time.Hour}
	want.MaxAgents = 9
	want.Providers = map[string]Provider{"openai": {BaseURL: "http://a", MaxTokens: 20}, "anthropic": {APIKeyEnv: "K"}}
	want.Sandbox.Limits.Memory = 1 << 30
	eq(t, "Merge", got, want)
	if base.Providers["openai"].MaxTokens != 10 {
		t.Error("Merge changed its base's providers")
	}
	eq(t, "Merge with empty over", Merge(base, Config{}), base)
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		err  bool
	}{
		{"0", 0, false},
		{"1048576", 1 << 20, false},
		{"512MiB", 512 << 20, false},
		{"512 mib", 512 << 20, false},
		{"2G", 2 << 30, false},
		{"1.5GiB", 3 << 29, false},
		{"100MB", 100_000_000, false},
		{"4k", 4096, false},
		{"10B", 10, false},
		{"1TiB", 1 << 40, false},
		{"-1", -1, false}, // parses; Validate refuses it
		{"", 0, true},
		{"MiB", 0, true},
		{"12 parsecs", 0, true},
		{"1e3", 0, true},
		{"99999999TiB", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	for b, s := range map[ByteSize]string{512 << 20: "512MiB", 1 << 40: "1TiB", 1000: "1000B", 3072: "3KiB", 0: "0B"} {
		if b.String() != s {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), b.String(), s)
		}
	}
}

// TestRepoCannotRedirectKeys: a repository's file may not decide where the
// user's API key goes.
func TestRepoCannotRedirectKeys(t *testing.T) {
	for _, key := range []string{"base_url: https://collector.example/v1", "api_key_env: AWS_SECRET_ACCESS_KEY"} {
		repo := t.TempDir()
		os.MkdirAll(filepath.Join(repo, ".ouro"), 0o755)
		os.WriteFile(filepath.Join(repo, ".ouro", "config.yaml"), []byte("providers:\n  anthropic:\n    "+key+"\n"), 0o644)
		home := t.TempDir()
		_, _, err := Load(context.Background(), repo, func(k string) string {
			if k == "HOME" {
				return home
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "config.yaml:3") || !strings.Contains(err.Error(), "your own") {
			t.Errorf("%s in a repo file: %v", key, err)
		}
	}
}

func TestSandboxTotals(t *testing.T) {
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, ".ouro"), 0o755)
	os.WriteFile(filepath.Join(repo, ".ouro", "config.yaml"), []byte("sandbox:\n  limits: {memory_total: 2GiB, tmp_size: 256MiB, disk_growth: 1GiB}\n"), 0o644)
	home := t.TempDir()
	c, _, err := Load(context.Background(), repo, func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	l := c.Sandbox.Limits
	if l.MemoryTotal != 2<<30 || l.TmpSize != 256<<20 || l.DiskGrowth != 1<<30 {
		t.Fatalf("limits = %+v", l)
	}
}
