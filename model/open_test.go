package model

import (
	"testing"

	"github.com/ouro-run/ouro"
)

func TestOpenRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		spec string
		cfg  Config
		env  map[string]string
		kind Kind
		msg  string
	}{
		{"gemini:pro", Config{}, nil, KindConfig,
			`model: unknown provider "gemini" in "gemini:pro"; use anthropic:MODEL, openai:MODEL or script:FILE`},
		{"claude-sonnet-4-5", Config{}, nil, KindConfig,
			`model: "claude-sonnet-4-5" names no provider; use anthropic:MODEL, openai:MODEL or script:FILE`},
		{"anthropic:", Config{APIKey: "k"}, nil, KindConfig,
			`model: "anthropic:" has no model name; write it as anthropic:claude-sonnet-4-5`},
		{"openai:  ", Config{}, nil, KindConfig,
			`model: "openai:" has no model name; write it as openai:gpt-4.1`},
		{"script:", Config{}, nil, KindConfig,
			`model: "script:" has no file; write it as script:turns.jsonl`},
		{"anthropic:claude sonnet", Config{APIKey: "k"}, nil, KindConfig,
			`anthropic: model name "claude sonnet" contains white space`},
		{"anthropic:claude-sonnet-4-5", Config{}, nil, KindAuth,
			"anthropic: no API key; set ANTHROPIC_API_KEY or api_key in the model configuration"},
		{"openai:gpt-4.1", Config{}, nil, KindAuth,
			"openai: no API key; set OPENAI_API_KEY or api_key in the model configuration (a local server set with base_url needs none)"},
		{"openai:llama3", Config{BaseURL: "localhost:11434/v1"}, nil, KindConfig,
			`openai: base_url "localhost:11434/v1" is not an http:// or https:// URL`},
		{"anthropic:claude-sonnet-4-5", Config{BaseURL: "ftp://x"}, map[string]string{"ANTHROPIC_API_KEY": "k"}, KindConfig,
			`anthropic: base_url "ftp://x" is not an http:// or https:// URL`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			p, err := open(tt.spec, tt.cfg, testOptions(tt.env, nil))
			if err == nil {
				t.Fatalf("opened %s", p.Name())
			}
			checkOneLine(t, err)
			if e := asError(t, err); e.Kind != tt.kind {
				t.Errorf("kind = %s, want %s", e.Kind, tt.kind)
			}
			if err.Error() != tt.msg {
				t.Errorf("error = %q\n   want %q", err, tt.msg)
			}
		})
	}
}

func TestOpenAccepts(t *testing.T) {
	tests := []struct {
		spec   string
		cfg    Config
		env    map[string]string
		name   string
		window int
	}{
		{"anthropic:claude-opus-4-5", Config{}, map[string]string{"ANTHROPIC_API_KEY": "k"}, "anthropic:claude-opus-4-5", 200_000},
		{" openai:gpt-4o ", Config{APIKey: "k"}, nil, "openai:gpt-4o", 128_000},
		{"openai:gpt-5-mini", Config{}, map[string]string{"OPENAI_API_KEY": "k"}, "openai:gpt-5-mini", 400_000},
		{"openai:qwen2.5-coder:32b", Config{BaseURL: "http://127.0.0.1:11434/v1"}, nil, "openai:qwen2.5-coder:32b", 32_768},
		{"openai:qwen2.5-coder:32b", Config{BaseURL: "http://127.0.0.1:11434/v1", ContextWindow: 65536}, nil, "openai:qwen2.5-coder:32b", 65536},
		{"anthropic:claude-sonnet-4-5", Config{BaseURL: "http://proxy.internal"}, nil, "anthropic:claude-sonnet-4-5", 200_000},
	}
	for _, tt := range tests {
		p, err := open(tt.spec, tt.cfg, testOptions(tt.env, nil))
		if err != nil {
			t.Errorf("open(%q): %v", tt.spec, err)
			continue
		}
		if p.Name() != tt.name || p.ContextWindow() != tt.window {
			t.Errorf("open(%q) = %s with window %d, want %s with %d", tt.spec, p.Name(), p.ContextWindow(), tt.name, tt.window)
		}
	}
}

func TestPriceLookup(t *testing.T) {
	sonnet := Price{Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75}
	mini := Price{Input: 0.15, Output: 0.60, CacheRead: 0.075, CacheWrite: 0.15}
	custom := Price{Input: 0.5, Output: 1}
	tests := []struct {
		model     string
		overrides map[string]Price
		want      Price
		ok        bool
	}{
		{"claude-sonnet-4-5", nil, sonnet, true},
		{"claude-sonnet-4-5-20250929", nil, sonnet, true},
		{"claude-3-5-sonnet-latest", nil, sonnet, true},
		{"claude-opus-4-1-20250805", nil, Price{Input: 15, Output: 75, CacheRead: 1.5, CacheWrite: 18.75}, true},
		{"gpt-4o-mini-2024-07-18", nil, mini, true},
		{"openai/gpt-4o-mini", nil, mini, true},
		{"gpt-4.1-nano", nil, Price{Input: 0.10, Output: 0.40, CacheRead: 0.025, CacheWrite: 0.10}, true},
		{"gpt-4", nil, Price{}, false},   // not gpt-4o, not gpt-4.1
		{"gpt-4oo", nil, Price{}, false}, // a prefix must end at a separator
		{"llama3", nil, Price{}, false},
		{"llama3", map[string]Price{"llama3": custom}, custom, true},
		{"claude-sonnet-4-5", map[string]Price{"claude-sonnet-4-5": custom}, custom, true},
	}
	for _, tt := range tests {
		got, ok := priceFor(tt.model, tt.overrides)
		if got != tt.want || ok != tt.ok {
			t.Errorf("priceFor(%q) = %+v, %v; want %+v, %v", tt.model, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCost(t *testing.T) {
	p := Price{Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75}
	tests := []struct {
		u    ouro.Usage
		want float64
	}{
		{ouro.Usage{InputTokens: 1_000_000}, 3},
		{ouro.Usage{OutputTokens: 1_000_000}, 15},
		// 100k input of which 60k read and 20k written: 20k plain.
		// 20000*3 + 60000*0.30 + 20000*3.75 + 1000*15 = 60000 + 18000 + 75000 + 15000 = 168000 micro-dollars.
		{ouro.Usage{InputTokens: 100_000, CacheReadTokens: 60_000, CacheWriteTokens: 20_000, OutputTokens: 1000}, 0.168},
		{ouro.Usage{}, 0},
	}
	for _, tt := range tests {
		if got := Cost(p, tt.u); !near(got, tt.want) {
			t.Errorf("Cost(%+v) = %v, want %v", tt.u, got, tt.want)
		}
	}
}
