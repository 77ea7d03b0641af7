// Package agentdef provides agent definitions: Markdown files with YAML
// front matter (name, description, model, tools, limits) whose body is the
// agent's system prompt, found in a repository, in the user's configuration
// or built into the binary.
//
// A definition file looks like this:
//
//	---
//	name: coder
//	description: Makes a change and runs the tests.
//	model: anthropic:claude-sonnet-4-5   # optional; overrides the configuration
//	tools: [read_file, edit_file, bash, finish]   # optional; empty means the default tools
//	limits: {tool_calls: 200, wall_time: 30m}     # optional per-run limits
//	max_turns: 50                                 # optional
//	---
//	You are a careful software engineer...
//
// A definition is self-contained: everything that shapes the agent is in
// its one file, and Hash identifies it by the file's exact bytes.
package agentdef

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ouro-run/ouro"
)

// SourceBuiltin is the Source of a definition embedded in the binary.
const SourceBuiltin = "builtin"

// DefaultAgent is the name of the built-in agent used when none is named.
const DefaultAgent = "coder"

// MaxFileSize is the largest definition file read, in bytes.
const MaxFileSize = 1 << 20

// Dir is where agent definitions live, relative to a repository root; under
// the user's configuration directory they are in ouro/agents.
const Dir = ".ouro/agents"

//go:embed builtin/*.md
var builtinFS embed.FS

// Definition is one agent: its settings and its system prompt.
type Definition struct {
	Name        string      // matches [a-z0-9][a-z0-9_-]*
	Description string      // one line for listings
	Model       string      // optional model spec ("provider:name"); overrides the configuration when set
	Tools       []string    // names of the tools the agent may call; empty means all default tools
	Limits      ouro.Budget // per-run limits; a zero field means the configuration's limit applies
	MaxTurns    int         // optional cap on model turns; 0 means none
	Prompt      string      // the body: the system prompt
	Source      string      // SourceBuiltin, or the file's path
	Raw         []byte      // the file's exact bytes
}

// frontMatter is the YAML part of a definition file.
type frontMatter struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Model       string      `yaml:"model"`
	Tools       []string    `yaml:"tools"`
	Limits      ouro.Budget `yaml:"limits"`
	MaxTurns    int         `yaml:"max_turns"`
}

var (
	frontKeys  = []string{"name", "description", "model", "tools", "limits", "max_turns"}
	limitKeys  = []string{"input_tokens", "output_tokens", "cost_usd", "wall_time", "tool_calls"}
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	toolNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// maxNameLen bounds a name so that it stays usable as a file and branch name.
const maxNameLen = 64

// ValidName reports, as an error that says how to fix it, whether name can
// name an agent: lower-case letters, digits, '-' and '_', starting with a
// letter or digit, at most 64 characters. Anything that could be read as a
// path (a '/', a '.', "..") is refused.
func ValidName(name string) error {
	switch {
	case name == "":
		return errors.New("agent name is empty; use lower-case letters, digits, '-' and '_', for example \"coder\"")
	case len(name) > maxNameLen:
		return fmt.Errorf("agent name %q is longer than %d characters", name, maxNameLen)
	case !nameRE.MatchString(name):
		return fmt.Errorf("agent name %q is not allowed; use lower-case letters, digits, '-' and '_', starting with a letter or digit (no paths), for example \"coder\"", name)
	}
	return nil
}

// Parse reads a definition file. source names it in errors (a path, or
// "builtin"), and every error names the line at fault.
func Parse(source string, data []byte) (*Definition, error) {
	front, frontLine, body, err := split(source, data)
	if err != nil {
		return nil, err
	}
	fm, err := decodeFront(source, front, frontLine)
	if err != nil {
		return nil, err
	}
	d := &Definition{
		Name:        fm.Name,
		Description: strings.TrimSpace(fm.Description),
		Model:       strings.TrimSpace(fm.Model),
		Tools:       fm.Tools,
		Limits:      fm.Limits,
		MaxTurns:    fm.MaxTurns,
		Prompt:      strings.TrimSpace(body),
		Source:      source,
		Raw:         slices.Clone(data),
	}
	if d.Prompt == "" {
		return nil, fmt.Errorf("agent %s: the system prompt is empty; write it below the closing '---' line", source)
	}
	return d, nil
}

// split cuts a file into its front matter and body. frontLine is the line
// number of the first front-matter line.
func split(source string, data []byte) (front []byte, frontLine int, body string, err error) {
	text := string(bytes.TrimPrefix(data, []byte("\uFEFF")))
	const hint = "a definition begins with a line '---', then YAML keys (name: ...), then a line '---', then the system prompt"
	first, rest, _ := strings.Cut(text, "\n")
	if strings.TrimRight(first, " \t\r") != "---" {
		return nil, 0, "", fmt.Errorf("agent %s:1: no front matter; %s", source, hint)
	}
	var fm strings.Builder
	for rest != "" {
		var cur string
		cur, rest, _ = strings.Cut(rest, "\n")
		if strings.TrimRight(cur, " \t\r") == "---" {
			return []byte(fm.String()), 2, rest, nil
		}
		fm.WriteString(cur)
		fm.WriteByte('\n')
	}
	return nil, 0, "", fmt.Errorf("agent %s:1: the front matter opened here is never closed; %s", source, hint)
}

// decodeFront decodes and checks the front matter. Line numbers from the
// YAML parser are shifted by frontLine-1 to be lines of the whole file.
func decodeFront(source string, front []byte, frontLine int) (*frontMatter, error) {
	at := func(line int) string { return fmt.Sprintf("agent %s:%d", source, line+frontLine-1) }
	var doc yaml.Node
	if err := yaml.Unmarshal(front, &doc); err != nil {
		return nil, fmt.Errorf("agent %s:%s", source, yamlError(err, frontLine-1))
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("agent %s:%d: the front matter is empty; it needs at least \"name: NAME\"", source, frontLine)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the front matter must be YAML keys and values (name: ..., description: ...)", at(root.Line))
	}
	if err := checkKeys(root, frontKeys, "", at); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "limits" {
			if v := root.Content[i+1]; v.Kind == yaml.MappingNode {
				if err := checkKeys(v, limitKeys, "limits.", at); err != nil {
					return nil, err
				}
			}
		}
	}
	var fm frontMatter
	if err := root.Decode(&fm); err != nil {
		return nil, fmt.Errorf("agent %s:%s", source, yamlError(err, frontLine-1))
	}
	line := func(key string) int {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				return root.Content[i].Line
			}
		}
		return root.Line
	}
	if _, ok := keyNode(root, "name"); !ok {
		return nil, fmt.Errorf("%s: the front matter has no name; add \"name: NAME\"", at(root.Line))
	}
	if err := ValidName(fm.Name); err != nil {
		return nil, fmt.Errorf("%s: %w", at(line("name")), err)
	}
	if fm.Model != "" {
		kind, name, ok := strings.Cut(strings.TrimSpace(fm.Model), ":")
		kind = strings.TrimSpace(kind)
		if !ok || (kind != "anthropic" && kind != "openai" && kind != "script") || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%s: model %q is not of the form provider:name; write for example anthropic:claude-sonnet-4-5, openai:gpt-4.1 or script:turns.jsonl", at(line("model")), fm.Model)
		}
	}
	seen := map[string]bool{}
	for _, t := range fm.Tools {
		if !toolNameRE.MatchString(t) {
			return nil, fmt.Errorf("%s: tool name %q is not valid; tool names are lower-case words joined by '_', for example read_file", at(line("tools")), t)
		}
		if seen[t] {
			return nil, fmt.Errorf("%s: tool %q is listed twice", at(line("tools")), t)
		}
		seen[t] = true
	}
	if err := checkBudget(fm.Limits); err != nil {
		return nil, fmt.Errorf("%s: %w", at(line("limits")), err)
	}
	if fm.MaxTurns < 0 {
		return nil, fmt.Errorf("%s: max_turns is %d; use a positive number, or leave it out for no limit", at(line("max_turns")), fm.MaxTurns)
	}
	return &fm, nil
}

// checkBudget refuses negative limits.
func checkBudget(b ouro.Budget) error {
	switch {
	case b.InputTokens < 0:
		return fmt.Errorf("limits.input_tokens is %d; use a positive number, or leave it out for no limit", b.InputTokens)
	case b.OutputTokens < 0:
		return fmt.Errorf("limits.output_tokens is %d; use a positive number, or leave it out for no limit", b.OutputTokens)
	case b.CostUSD < 0:
		return fmt.Errorf("limits.cost_usd is %g; use a positive amount, or leave it out for no limit", b.CostUSD)
	case b.WallTime < 0:
		return fmt.Errorf("limits.wall_time is %s; use a positive duration such as 30m, or leave it out for no limit", b.WallTime)
	case b.ToolCalls < 0:
		return fmt.Errorf("limits.tool_calls is %d; use a positive number, or leave it out for no limit", b.ToolCalls)
	}
	return nil
}

// keyNode finds a key of a mapping node.
func keyNode(m *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], true
		}
	}
	return nil, false
}

// checkKeys refuses a key of m that is not in known, naming its line.
func checkKeys(m *yaml.Node, known []string, prefix string, at func(int) string) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if !slices.Contains(known, k.Value) {
			return fmt.Errorf("%s: unknown key %q; the keys are %s", at(k.Line), prefix+k.Value, prefix+strings.Join(known, ", "+prefix))
		}
	}
	return nil
}

var (
	yamlLineRE = regexp.MustCompile(`line (\d+)`)
	leadLineRE = regexp.MustCompile(`^line (\d+): `)
)

// yamlError makes a YAML library error one line, without its prefix, with
// line numbers shifted by offset and durations explained. A message with a
// leading line comes back as "N: ...", otherwise as " ...", to follow
// "source:".
func yamlError(err error, offset int) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	parts := strings.Split(msg, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	msg = strings.Join(parts, "; ")
	if _, ok := err.(*yaml.TypeError); !ok && parserError(msg) {
		// The library gives parser (not scanner) errors a zero-based line.
		if !yamlLineRE.MatchString(msg) {
			msg = "line 0: " + msg
		}
		offset++
	}
	msg = yamlLineRE.ReplaceAllStringFunc(msg, func(s string) string {
		var n int
		fmt.Sscanf(s, "line %d", &n)
		return fmt.Sprintf("line %d", n+offset)
	})
	if m := leadLineRE.FindStringSubmatch(msg); m != nil {
		msg = m[1] + ": " + msg[len(m[0]):]
	}
	if strings.Contains(msg, "time.Duration") {
		msg += " (write durations like 30m, 90s or 1h30m)"
	}
	if m := leadNumRE.FindString(msg); m == "" {
		msg = " " + msg
	}
	return msg
}

var leadNumRE = regexp.MustCompile(`^\d+: `)

// parserErrors are the YAML parser's messages whose line is zero-based.
var parserErrors = []string{
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected node content",
}

func parserError(msg string) bool {
	for _, p := range parserErrors {
		if strings.HasSuffix(msg, p) {
			return true
		}
	}
	return false
}

// Hash identifies the definition by the SHA-256 of its exact bytes, as
// "sha256:HEX".
func (d *Definition) Hash() string {
	sum := sha256.Sum256(d.Raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Builtin returns the built-in definition of that name.
func Builtin(name string) (*Definition, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	data, err := builtinFS.ReadFile("builtin/" + name + ".md")
	if err != nil {
		return nil, fmt.Errorf("no built-in agent %q; the built-in agents are %s", name, strings.Join(builtinNames(), ", "))
	}
	d, err := Parse(SourceBuiltin, data)
	if err != nil {
		return nil, fmt.Errorf("built-in agent %s: %w", name, err)
	}
	return d, nil
}

// builtinNames lists the built-in agents, sorted.
func builtinNames() []string {
	entries, _ := builtinFS.ReadDir("builtin")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".md"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// dirs are the directories searched, in order, for definition files. An
// empty repoDir or userConfigDir is skipped.
func dirs(repoDir, userConfigDir string) []string {
	var out []string
	if repoDir != "" {
		out = append(out, filepath.Join(repoDir, filepath.FromSlash(Dir)))
	}
	if userConfigDir != "" {
		out = append(out, filepath.Join(userConfigDir, "ouro", "agents"))
	}
	return out
}

// Find returns the agent called name: REPO/.ouro/agents/NAME.md if it
// exists, else USERCONFIG/ouro/agents/NAME.md, else the built-in one. A file
// that exists but does not parse is an error, never skipped. When no
// definition has that name, the error lists where it looked and the agents
// that are available.
func Find(ctx context.Context, name, repoDir, userConfigDir string) (*Definition, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("find agent %s: %w", name, err)
	}
	if err := ValidName(name); err != nil {
		return nil, err
	}
	var looked []string
	for _, dir := range dirs(repoDir, userConfigDir) {
		path := filepath.Join(dir, name+".md")
		looked = append(looked, path)
		d, err := readFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if d.Name != name {
			return nil, fmt.Errorf("agent %s: the file defines agent %q but is named %s.md; make the name and the file name agree", path, d.Name, name)
		}
		return d, nil
	}
	if slices.Contains(builtinNames(), name) {
		return Builtin(name)
	}
	looked = append(looked, "the built-in agents")
	return nil, fmt.Errorf("no agent %q: looked in %s; available agents: %s",
		name, strings.Join(looked, ", "), strings.Join(availableNames(repoDir, userConfigDir), ", "))
}

// readFile reads and parses one definition file, refusing anything larger
// than MaxFileSize and anything that is not a regular file.
func readFile(path string) (*Definition, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read agent %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read agent %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read agent %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read agent %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read agent %s: larger than %d bytes; an agent definition is a prompt, keep it short", path, MaxFileSize)
	}
	return Parse(path, data)
}

// fileNames lists the NAME of each NAME.md in dir with a valid name.
func fileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list agents in %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		n, ok := strings.CutSuffix(e.Name(), ".md")
		if !ok || e.IsDir() || ValidName(n) != nil {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

// availableNames is every agent name that Find could return, sorted, for
// error messages; unreadable directories are left out.
func availableNames(repoDir, userConfigDir string) []string {
	names := builtinNames()
	for _, dir := range dirs(repoDir, userConfigDir) {
		more, _ := fileNames(dir)
		names = append(names, more...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// List returns every agent Find could return, one per name, sorted by
// name: a repository definition shadows a user one, and both shadow a
// built-in one. A definition file that does not parse is an error.
func List(ctx context.Context, repoDir, userConfigDir string) ([]*Definition, error) {
	seen := map[string]bool{}
	var out []*Definition
	for _, dir := range dirs(repoDir, userConfigDir) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("list agents: %w", err)
		}
		names, err := fileNames(dir)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if seen[n] {
				continue
			}
			path := filepath.Join(dir, n+".md")
			d, err := readFile(path)
			if err != nil {
				return nil, err
			}
			if d.Name != n {
				return nil, fmt.Errorf("agent %s: the file defines agent %q but is named %s.md; make the name and the file name agree", path, d.Name, n)
			}
			seen[n] = true
			out = append(out, d)
		}
	}
	for _, n := range builtinNames() {
		if seen[n] {
			continue
		}
		d, err := Builtin(n)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *Definition) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Budget returns the limits a run of this agent gets when the
// configuration's limits are cfg: for each field the tighter of the two
// (a zero field is no limit). A definition can narrow the configured
// budget but never widen it, so an evolved definition cannot buy itself
// more.
func (d *Definition) Budget(cfg ouro.Budget) ouro.Budget {
	return ouro.Budget{
		InputTokens:  tighter(d.Limits.InputTokens, cfg.InputTokens),
		OutputTokens: tighter(d.Limits.OutputTokens, cfg.OutputTokens),
		CostUSD:      tighter(d.Limits.CostUSD, cfg.CostUSD),
		WallTime:     tighter(d.Limits.WallTime, cfg.WallTime),
		ToolCalls:    tighter(d.Limits.ToolCalls, cfg.ToolCalls),
	}
}

// tighter is the smaller of two limits where zero means none.
func tighter[T int64 | float64 | time.Duration](a, b T) T {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
