package model

import (
	"strings"

	"github.com/ouro-run/ouro"
)

// builtinPrices are list prices in US dollars per million tokens. A dated
// or tagged model name (claude-sonnet-4-5-20250929, gpt-4o-2024-08-06)
// takes the price of its longest listed prefix.
var builtinPrices = map[string]Price{
	// Anthropic: cache writes (5 minute TTL) cost 1.25x input, reads 0.1x.
	"claude-opus-4-5":   {Input: 5, Output: 25, CacheRead: 0.50, CacheWrite: 6.25},
	"claude-opus-4-1":   {Input: 15, Output: 75, CacheRead: 1.50, CacheWrite: 18.75},
	"claude-opus-4":     {Input: 15, Output: 75, CacheRead: 1.50, CacheWrite: 18.75},
	"claude-sonnet-4-5": {Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75},
	"claude-sonnet-4":   {Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75},
	"claude-3-7-sonnet": {Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75},
	"claude-3-5-sonnet": {Input: 3, Output: 15, CacheRead: 0.30, CacheWrite: 3.75},
	"claude-haiku-4-5":  {Input: 1, Output: 5, CacheRead: 0.10, CacheWrite: 1.25},
	"claude-3-5-haiku":  {Input: 0.80, Output: 4, CacheRead: 0.08, CacheWrite: 1},
	"claude-3-opus":     {Input: 15, Output: 75, CacheRead: 1.50, CacheWrite: 18.75},
	"claude-3-haiku":    {Input: 0.25, Output: 1.25, CacheRead: 0.03, CacheWrite: 0.30},

	// OpenAI: cached input is discounted, writing the cache costs nothing extra.
	"gpt-5":        {Input: 1.25, Output: 10, CacheRead: 0.125, CacheWrite: 1.25},
	"gpt-5-mini":   {Input: 0.25, Output: 2, CacheRead: 0.025, CacheWrite: 0.25},
	"gpt-5-nano":   {Input: 0.05, Output: 0.40, CacheRead: 0.005, CacheWrite: 0.05},
	"gpt-4.1":      {Input: 2, Output: 8, CacheRead: 0.50, CacheWrite: 2},
	"gpt-4.1-mini": {Input: 0.40, Output: 1.60, CacheRead: 0.10, CacheWrite: 0.40},
	"gpt-4.1-nano": {Input: 0.10, Output: 0.40, CacheRead: 0.025, CacheWrite: 0.10},
	"gpt-4o":       {Input: 2.50, Output: 10, CacheRead: 1.25, CacheWrite: 2.50},
	"gpt-4o-mini":  {Input: 0.15, Output: 0.60, CacheRead: 0.075, CacheWrite: 0.15},
	"o3":           {Input: 2, Output: 8, CacheRead: 0.50, CacheWrite: 2},
	"o3-mini":      {Input: 1.10, Output: 4.40, CacheRead: 0.55, CacheWrite: 1.10},
	"o4-mini":      {Input: 1.10, Output: 4.40, CacheRead: 0.275, CacheWrite: 1.10},
}

// builtinWindows are context windows in tokens, matched like prices.
var builtinWindows = map[string]int{
	"claude":       200_000,
	"gpt-5":        400_000,
	"gpt-4.1":      1_047_576,
	"gpt-4o":       128_000,
	"o3":           200_000,
	"o3-mini":      200_000,
	"o4-mini":      200_000,
	"gpt-4-turbo":  128_000,
	"gpt-3.5":      16_385,
	"gpt-4o-mini":  128_000,
	"gpt-4.1-mini": 1_047_576,
	"gpt-4.1-nano": 1_047_576,
}

// Default context windows for models the table does not know: a hosted
// API's models are large; a model on a local server is often run small.
const (
	defaultWindowHosted = 128_000
	defaultWindowLocal  = 32_768
)

// lookup finds name in table: exactly, or by the longest key that is a
// prefix of name ending at a "-", "@" or ":" (so gpt-4o-mini never takes
// gpt-4o's entry, and gpt-4.1 never takes gpt-4's). A routing prefix such
// as "openai/" is ignored.
func lookup[V any](table map[string]V, name string) (V, bool) {
	if v, ok := table[name]; ok {
		return v, true
	}
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
		if v, ok := table[name]; ok {
			return v, true
		}
	}
	var best V
	bestLen := 0
	for k, v := range table {
		if len(k) > bestLen && len(name) > len(k) && strings.HasPrefix(name, k) && strings.ContainsRune("-@:", rune(name[len(k)])) {
			best, bestLen = v, len(k)
		}
	}
	return best, bestLen > 0
}

// priceFor returns the price of model: cfg.Prices first, then the built-in
// table. ok is false when neither knows it.
func priceFor(model string, overrides map[string]Price) (Price, bool) {
	if p, ok := lookup(overrides, model); ok {
		return p, true
	}
	return lookup(builtinPrices, model)
}

// Cost returns what u costs at price p. InputTokens counts every input token,
// cached or not; CacheReadTokens and CacheWriteTokens are the parts of it
// that were read from or written to the prompt cache, and the rest is
// charged at the plain input price.
func Cost(p Price, u ouro.Usage) float64 {
	plain := max(u.InputTokens-u.CacheReadTokens-u.CacheWriteTokens, 0)
	return (float64(plain)*p.Input +
		float64(u.CacheReadTokens)*p.CacheRead +
		float64(u.CacheWriteTokens)*p.CacheWrite +
		float64(u.OutputTokens)*p.Output) / 1e6
}

// windowFor returns the context window of model: the override, the table,
// or a default that depends on whether a local server is in use.
func windowFor(model string, override int, local bool) int {
	if override > 0 {
		return override
	}
	if w, ok := lookup(builtinWindows, model); ok {
		return w
	}
	if local {
		return defaultWindowLocal
	}
	return defaultWindowHosted
}
