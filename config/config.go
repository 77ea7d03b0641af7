// Package config provides ouro's settings, read from the repository's
// .ouro/config.yaml and the user's ouro/config.yaml, overridden by the
// environment, and checked before anything runs.
//
// Precedence, strongest first: flags (applied by the caller, see Merge),
// environment (OURO_MODEL, OURO_AGENT, OURO_MAX_AGENTS, OURO_SANDBOX), the
// repository file, the user file, Default. Files merge key by key: a key
// set in the repository file wins, a key it leaves out falls through to the
// user file, at every level of nesting (providers.openai.base_url can come
// from one file and providers.openai.max_tokens from the other). The accel
// section is opaque and is taken whole from the strongest file that has it.
//
// An example file:
//
//	model: anthropic:claude-sonnet-4-5
//	agent: coder
//	providers:
//	  openai:
//	    base_url: http://localhost:11434/v1   # any OpenAI-compatible server
//	    api_key_env: OLLAMA_KEY
//	    prices: {llama3: {input: 0, output: 0}}
//	budget: {cost_usd: 5, wall_time: 30m, tool_calls: 500}
//	max_agents: 4
//	max_depth: 3
//	max_children: 8
//	monitor: {model: anthropic:claude-haiku-4-5, prompt: monitor.md}
//	approval: {timeout: 30m}
//	sandbox:
//	  mode: auto
//	  limits: {cpu_time: 10m, timeout: 15m, memory: 2GiB, file_size: 512MiB, procs: 256, output: 1MiB}
//
// Durations are Go duration strings ("30m", "1h30m"); sizes are a number of
// bytes or a number with a unit (KB, MB, GB as powers of 1000; K, KiB, M,
// MiB, G, GiB, T, TiB as powers of 1024).
package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/agentdef"
	"github.com/ouro-run/ouro/model"
)

// Where configuration files live: RepoFile relative to a repository root,
// UserFile relative to the user's configuration directory (UserConfigDir).
const (
	RepoFile = ".ouro/config.yaml"
	UserFile = "ouro/config.yaml"
)

// Environment variables Load reads.
const (
	EnvModel     = "OURO_MODEL"      // overrides model
	EnvAgent     = "OURO_AGENT"      // overrides agent
	EnvMaxAgents = "OURO_MAX_AGENTS" // overrides max_agents
	EnvSandbox   = "OURO_SANDBOX"    // overrides sandbox.mode
	EnvHome      = "OURO_HOME"       // the state directory (StateDir)
)

// Sandbox modes.
const (
	SandboxAuto     = "auto"     // bubblewrap, else Landlock and seccomp, else refuse
	SandboxBwrap    = "bwrap"    // bubblewrap only
	SandboxLandlock = "landlock" // Landlock and seccomp only
	SandboxNone     = "none"     // no sandbox; honoured only with the unsafe flag
)

// SandboxModes lists the valid sandbox modes.
func SandboxModes() []string {
	return []string{SandboxAuto, SandboxBwrap, SandboxLandlock, SandboxNone}
}

// maxFileSize bounds a configuration file.
const maxFileSize = 1 << 20

// Config is ouro's configuration. Zero fields of Budget and Sandbox.Limits
// mean no limit or the component's default.
type Config struct {
	Model       string              `yaml:"model"`        // model spec: "anthropic:NAME", "openai:NAME" or "script:FILE"
	Agent       string              `yaml:"agent"`        // agent definition name; default "coder"
	Providers   map[string]Provider `yaml:"providers"`    // by provider: "anthropic", "openai"
	Budget      ouro.Budget         `yaml:"budget"`       // limits per run
	MaxAgents   int                 `yaml:"max_agents"`   // runs at once across the process; default 4
	MaxDepth    int                 `yaml:"max_depth"`    // deepest delegation; default 3 (0 forbids delegation)
	MaxChildren int                 `yaml:"max_children"` // children per run; default 8
	Monitor     Monitor             `yaml:"monitor"`
	Approval    Approval            `yaml:"approval"`
	Sandbox     Sandbox             `yaml:"sandbox"`
	// Accel is the accel command's own section, left undecoded; AccelSource
	// is the file it came from, for that command's error messages.
	Accel       yaml.Node `yaml:"accel" json:"-"`
	AccelSource string    `yaml:"-" json:"-"`
}

// Provider is the configuration of one model provider.
type Provider struct {
	BaseURL       string                 `yaml:"base_url"`       // endpoint override, e.g. a local OpenAI-compatible server
	APIKeyEnv     string                 `yaml:"api_key_env"`    // variable holding the key; default ANTHROPIC_API_KEY or OPENAI_API_KEY
	MaxTokens     int                    `yaml:"max_tokens"`     // default output cap per call
	ContextWindow int                    `yaml:"context_window"` // overrides the model's known window
	Timeout       time.Duration          `yaml:"timeout"`        // per request; default 10m
	MaxRetries    *int                   `yaml:"max_retries"`    // nil: the provider's default; 0: no retries
	Prices        map[string]model.Price `yaml:"prices"`         // US dollars per million tokens, by model name
}

// Monitor configures the model monitor. An empty Model turns it off (the
// rule monitors always run).
type Monitor struct {
	Model  string `yaml:"model"`  // trusted model spec
	Prompt string `yaml:"prompt"` // file holding the monitor's prompt; relative to the file that sets it; "" is the built-in prompt
}

// Approval configures the gate.
type Approval struct {
	Timeout time.Duration `yaml:"timeout"` // an unanswered request is denied after this; default 30m
}

// Sandbox configures command isolation.
type Sandbox struct {
	Mode   string        `yaml:"mode"` // one of SandboxModes; default auto
	Limits SandboxLimits `yaml:"limits"`
}

// SandboxLimits are the resource limits of one sandboxed command. A zero
// field means the sandbox's default.
type SandboxLimits struct {
	CPUTime  time.Duration `yaml:"cpu_time"`  // CPU time of the process tree
	Timeout  time.Duration `yaml:"timeout"`   // wall clock; kills the whole tree
	Memory   ByteSize      `yaml:"memory"`    // address space per process
	FileSize ByteSize      `yaml:"file_size"` // largest file written
	Procs    int           `yaml:"procs"`     // processes
	Output   ByteSize      `yaml:"output"`    // output kept (head and tail)
	// MemoryTotal caps the memory of all of a run's commands together.
	MemoryTotal ByteSize `yaml:"memory_total"`
	// TmpSize caps the private /tmp (which holds the empty home).
	TmpSize ByteSize `yaml:"tmp_size"`
	// DiskGrowth caps how much a command may fill the workspace's disk.
	DiskGrowth ByteSize `yaml:"disk_growth"`
}

// Default returns the configuration used when no file or variable sets
// anything.
func Default() Config {
	return Config{
		Model:       "anthropic:claude-sonnet-4-5",
		Agent:       agentdef.DefaultAgent,
		MaxAgents:   4,
		MaxDepth:    3,
		MaxChildren: 8,
		Approval:    Approval{Timeout: 30 * time.Minute},
		Sandbox:     Sandbox{Mode: SandboxAuto},
	}
}

// StateDir is where ouro keeps its state (journal, worktrees): $OURO_HOME,
// else $XDG_STATE_HOME/ouro, else $HOME/.local/state/ouro. A relative
// OURO_HOME is made absolute; a relative XDG_STATE_HOME is ignored, as the
// XDG specification says.
func StateDir(getenv func(string) string) (string, error) {
	if h := getenv(EnvHome); h != "" {
		abs, err := filepath.Abs(h)
		if err != nil {
			return "", fmt.Errorf("state directory from %s=%q: %w", EnvHome, h, err)
		}
		return abs, nil
	}
	if x := getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "ouro"), nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "state", "ouro"), nil
	}
	return "", fmt.Errorf("no state directory: set %s (or XDG_STATE_HOME, or HOME) to an absolute path", EnvHome)
}

// UserConfigDir is the user's configuration directory, which holds
// ouro/config.yaml and ouro/agents/: $XDG_CONFIG_HOME if absolute, else
// $HOME/.config.
func UserConfigDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return x, nil
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".config"), nil
	}
	return "", errors.New("no user configuration directory: set XDG_CONFIG_HOME or HOME to an absolute path")
}

// Load reads REPO/.ouro/config.yaml and USERCONFIG/ouro/config.yaml (the
// repository's keys win), applies the environment, and validates the
// result. It returns the files it read, strongest first. A missing file
// is skipped; a file that does not parse, has an unknown key or a bad value
// is an error naming the file and line. An empty repoDir skips the
// repository file; no HOME or XDG_CONFIG_HOME skips the user file.
func Load(ctx context.Context, repoDir string, getenv func(string) string) (Config, []string, error) {
	var paths []string
	if repoDir != "" {
		paths = append(paths, filepath.Join(repoDir, filepath.FromSlash(RepoFile)))
	}
	if dir, err := UserConfigDir(getenv); err == nil {
		paths = append(paths, filepath.Join(dir, filepath.FromSlash(UserFile)))
	}
	var (
		read   []string
		merged *yaml.Node
		accel  string
	)
	// Weakest first, so that each file's keys overwrite what came before.
	for i := len(paths) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return Config{}, nil, fmt.Errorf("load config: %w", err)
		}
		root, err := readFile(paths[i])
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Config{}, nil, err
		}
		read = append([]string{paths[i]}, read...)
		if root == nil {
			continue
		}
		if repoDir != "" && i == 0 {
			if err := checkRepoProviders(paths[i], root); err != nil {
				return Config{}, nil, err
			}
		}
		if _, ok := lookup(root, "accel"); ok {
			accel = paths[i]
		}
		if merged == nil {
			merged = root
		} else {
			mergeNode(merged, root, "")
		}
	}
	cfg := Default()
	if merged != nil {
		if err := merged.Decode(&cfg); err != nil {
			return Config{}, nil, fmt.Errorf("config: %s", yamlMessage(err))
		}
		cfg.AccelSource = accel
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return Config{}, nil, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, err
	}
	return cfg, read, nil
}

// readFile reads, parses and checks one configuration file on its own, so
// that every error names it. It returns nil for a file with no content.
// checkRepoProviders refuses the provider keys that decide where the
// user's API key is sent. A repository is not necessarily the user's own
// (a clone, a pull request under review), and its file would otherwise be
// able to point a provider at another host and collect the key from the
// user's environment. Those keys belong in the user's file.
func checkRepoProviders(name string, root *yaml.Node) error {
	provs, ok := lookup(root, "providers")
	if !ok || provs.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(provs.Content); i += 2 {
		p := provs.Content[i+1]
		for _, key := range []string{"base_url", "api_key_env"} {
			if n, ok := lookup(p, key); ok {
				return fmt.Errorf("%s", at(fmt.Sprintf("%s:%d", name, n.Line),
					fmt.Sprintf("providers.%s.%s may not be set in a repository's config: it decides where your API key is sent; set it in your own ~/.config/ouro/config.yaml", provs.Content[i].Value, key)))
			}
		}
	}
	return nil
}

func readFile(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxFileSize)
	}
	root, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	return root, nil
}

// Parse checks the text of one configuration file, named name in errors:
// its YAML, its keys, the types of its values and the values themselves.
// It returns the file's top-level mapping, or nil when the file holds no
// document. A relative monitor.prompt is made relative to name's directory. Load uses it; so can a command that checks a file.
func Parse(name string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("config %s", at(name, yamlMessage(err)))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("config %s:%d: a second YAML document (after '---'); a config file holds one", name, extra.Line)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config %s:%d: the file must be a YAML mapping of keys (model: ..., budget: ...)", name, root.Line)
	}
	if err := checkKeys(root, reflect.TypeFor[Config](), ""); err != nil {
		return nil, fmt.Errorf("config %s:%w", name, err)
	}
	resolvePrompt(root, filepath.Dir(name))
	scratch := Default()
	if err := root.Decode(&scratch); err != nil {
		return nil, fmt.Errorf("config %s", at(name, yamlMessage(err)))
	}
	if ps := scratch.problems(); len(ps) > 0 {
		errs := make([]error, len(ps))
		for i, p := range ps {
			line := root.Line
			if n, ok := lookupPath(root, p.key); ok {
				line = n.Line
			}
			errs[i] = fmt.Errorf("config %s:%d: %s", name, line, p.msg)
		}
		return nil, errors.Join(errs...)
	}
	return root, nil
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

// at turns "line N: msg" into "name:N: msg", or prefixes "name: ".
func at(name, msg string) string {
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		return name + ":" + m[1] + ": " + msg[len(m[0]):]
	}
	return name + ": " + msg
}

// yamlMessage makes a YAML library error one line without its prefix, and
// explains durations and sizes.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	parts := strings.Split(msg, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	msg = strings.Join(parts, "; ")
	if _, ok := err.(*yaml.TypeError); !ok && parserError(msg) {
		// The library gives parser (not scanner) errors a zero-based line.
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			msg = fmt.Sprintf("line %d: %s", n+1, msg[len(m[0]):])
		} else {
			msg = "line 1: " + msg
		}
	}
	if strings.Contains(msg, "time.Duration") {
		msg += " (write durations like 30m, 90s or 1h30m)"
	}
	return msg
}

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

// checkKeys refuses keys that t does not have, recursively, naming the
// line and the keys that are allowed there.
func checkKeys(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[yaml.Node]() || t == reflect.TypeFor[time.Duration]() ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the decoder reports the type mismatch
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			f, ok := fields[k.Value]
			if !ok {
				where := "at the top level"
				if path != "" {
					where = "in " + path
				}
				return fmt.Errorf("%d: unknown key %q %s; the keys there are %s", k.Line, k.Value, where, strings.Join(fieldNames(t), ", "))
			}
			if err := checkKeys(n.Content[i+1], f.Type, join(path, k.Value)); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for _, c := range n.Content {
			if err := checkKeys(c, t.Elem(), path); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML keys of a struct to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name != "" {
			out[name] = f
		}
	}
	return out
}

// fieldNames lists the YAML keys of a struct in declaration order.
func fieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out = append(out, name)
		}
	}
	return out
}

// yamlName is the key the YAML library uses for a field, or "" for none.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch tag {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return tag
}

// lookup finds a key's value in a mapping node.
func lookup(m *yaml.Node, key string) (*yaml.Node, bool) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1], true
		}
	}
	return nil, false
}

// lookupPath finds the key node (for its line) at a dotted path, or the
// deepest node found on the way.
func lookupPath(m *yaml.Node, path string) (*yaml.Node, bool) {
	var found *yaml.Node
	cur := m
	for _, key := range strings.Split(path, ".") {
		if cur == nil || cur.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(cur.Content); i += 2 {
			if cur.Content[i].Value == key {
				found, next = cur.Content[i], cur.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		cur = next
	}
	return found, found != nil
}

// mergeNode overwrites dst's keys with src's: mappings merge key by key,
// anything else (and the opaque accel section) is replaced whole.
func mergeNode(dst, src *yaml.Node, path string) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		p := join(path, k.Value)
		replaced := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value != k.Value {
				continue
			}
			old := dst.Content[j+1]
			if p != "accel" && old.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode {
				mergeNode(old, v, p)
			} else {
				dst.Content[j+1] = v
			}
			replaced = true
			break
		}
		if !replaced {
			dst.Content = append(dst.Content, k, v)
		}
	}
}

// resolvePrompt makes a relative monitor.prompt path relative to dir.
func resolvePrompt(root *yaml.Node, dir string) {
	mon, ok := lookup(root, "monitor")
	if !ok {
		return
	}
	p, ok := lookup(mon, "prompt")
	if !ok || p.Kind != yaml.ScalarNode || p.Value == "" || filepath.IsAbs(p.Value) {
		return
	}
	p.Value = filepath.Join(dir, p.Value)
}

// applyEnv applies the environment overrides.
func applyEnv(c *Config, getenv func(string) string) error {
	if v := strings.TrimSpace(getenv(EnvModel)); v != "" {
		if err := checkSpec(v); err != nil {
			return fmt.Errorf("%s: %w", EnvModel, err)
		}
		c.Model = v
	}
	if v := strings.TrimSpace(getenv(EnvAgent)); v != "" {
		if err := agentdef.ValidName(v); err != nil {
			return fmt.Errorf("%s: %w", EnvAgent, err)
		}
		c.Agent = v
	}
	if v := strings.TrimSpace(getenv(EnvMaxAgents)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("%s=%q: use a whole number of at least 1", EnvMaxAgents, v)
		}
		c.MaxAgents = n
	}
	if v := strings.TrimSpace(getenv(EnvSandbox)); v != "" {
		if err := checkMode(v); err != nil {
			return fmt.Errorf("%s: %w", EnvSandbox, err)
		}
		c.Sandbox.Mode = v
	}
	return nil
}

// problem is one invalid value, with the dotted key that holds it.
type problem struct{ key, msg string }

// Validate checks the whole configuration: model specs, names, limits,
// modes and providers. Call it again after applying flags.
func (c Config) Validate() error {
	ps := c.problems()
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = errors.New("config: " + p.msg)
	}
	return errors.Join(errs...)
}

func (c Config) problems() []problem {
	var ps []problem
	add := func(key, format string, args ...any) {
		ps = append(ps, problem{key, key + ": " + fmt.Sprintf(format, args...)})
	}
	if err := checkSpec(c.Model); err != nil {
		add("model", "%v", err)
	}
	if err := agentdef.ValidName(c.Agent); err != nil {
		add("agent", "%v", err)
	}
	for key, v := range map[string]float64{
		"budget.input_tokens": float64(c.Budget.InputTokens), "budget.output_tokens": float64(c.Budget.OutputTokens),
		"budget.cost_usd": c.Budget.CostUSD, "budget.wall_time": float64(c.Budget.WallTime), "budget.tool_calls": float64(c.Budget.ToolCalls),
		"sandbox.limits.cpu_time": float64(c.Sandbox.Limits.CPUTime), "sandbox.limits.timeout": float64(c.Sandbox.Limits.Timeout),
		"sandbox.limits.memory": float64(c.Sandbox.Limits.Memory), "sandbox.limits.file_size": float64(c.Sandbox.Limits.FileSize),
		"sandbox.limits.procs": float64(c.Sandbox.Limits.Procs), "sandbox.limits.output": float64(c.Sandbox.Limits.Output),
		"sandbox.limits.memory_total": float64(c.Sandbox.Limits.MemoryTotal), "sandbox.limits.tmp_size": float64(c.Sandbox.Limits.TmpSize),
		"sandbox.limits.disk_growth": float64(c.Sandbox.Limits.DiskGrowth),
		"max_depth":                  float64(c.MaxDepth), "max_children": float64(c.MaxChildren),
	} {
		if v < 0 {
			add(key, "is negative; use a positive value, or 0 (or leave it out) for no limit or the default")
		}
	}
	if c.MaxAgents < 1 {
		add("max_agents", "is %d; at least 1 run must be allowed at once (default 4)", c.MaxAgents)
	}
	if c.Monitor.Model != "" {
		if err := checkSpec(c.Monitor.Model); err != nil {
			add("monitor.model", "%v", err)
		}
	}
	if c.Monitor.Prompt != "" {
		if fi, err := os.Stat(c.Monitor.Prompt); err != nil || !fi.Mode().IsRegular() {
			add("monitor.prompt", "%q is not a readable file; give the path of the monitor prompt (relative to the config file), or leave it out for the built-in prompt", c.Monitor.Prompt)
		}
	}
	if c.Approval.Timeout <= 0 {
		add("approval.timeout", "is %s; use a positive duration such as 30m (unanswered requests are denied after it)", c.Approval.Timeout)
	}
	if err := checkMode(c.Sandbox.Mode); err != nil {
		add("sandbox.mode", "%v", err)
	}
	for name, p := range c.Providers {
		key := "providers." + name
		if name != "anthropic" && name != "openai" {
			add(key, "unknown provider; the providers are anthropic and openai (configure any OpenAI-compatible server as openai with base_url)")
			continue
		}
		if p.BaseURL != "" {
			u, err := url.Parse(p.BaseURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(key+".base_url", "%q is not an http:// or https:// URL", p.BaseURL)
			}
		}
		if p.APIKeyEnv != "" && !envNameRE.MatchString(p.APIKeyEnv) {
			add(key+".api_key_env", "%q is not an environment variable name; give the variable's name (such as MY_KEY), never the key itself", p.APIKeyEnv)
		}
		if p.MaxTokens < 0 {
			add(key+".max_tokens", "is negative; use a positive number, or leave it out for the default")
		}
		if p.ContextWindow < 0 {
			add(key+".context_window", "is negative; use a positive number, or leave it out for the model's own")
		}
		if p.Timeout < 0 {
			add(key+".timeout", "is negative; use a positive duration such as 5m, or leave it out for the default")
		}
		if p.MaxRetries != nil && *p.MaxRetries < 0 {
			add(key+".max_retries", "is negative; use 0 for no retries, or leave it out for the default")
		}
		for m, pr := range p.Prices {
			if pr.Input < 0 || pr.Output < 0 || pr.CacheRead < 0 || pr.CacheWrite < 0 {
				add(key+".prices."+m, "has a negative price; prices are US dollars per million tokens")
			}
		}
	}
	slices.SortFunc(ps, func(a, b problem) int { return strings.Compare(a.key, b.key) })
	return ps
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkSpec checks the form of a model spec.
func checkSpec(spec string) error {
	const forms = "write it as anthropic:MODEL, openai:MODEL or script:FILE, for example anthropic:claude-sonnet-4-5"
	kind, name, ok := strings.Cut(strings.TrimSpace(spec), ":")
	switch {
	case spec == "":
		return errors.New("no model; " + forms)
	case !ok:
		return fmt.Errorf("%q names no provider; %s", spec, forms)
	case kind != "anthropic" && kind != "openai" && kind != "script":
		return fmt.Errorf("unknown provider %q in %q; %s", kind, spec, forms)
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("%q has no model name; %s", spec, forms)
	case kind != "script" && strings.ContainsAny(strings.TrimSpace(name), " \t\r\n"):
		return fmt.Errorf("model name in %q contains white space", spec)
	}
	return nil
}

// checkMode checks a sandbox mode.
func checkMode(mode string) error {
	if slices.Contains(SandboxModes(), mode) {
		return nil
	}
	return fmt.Errorf("unknown sandbox mode %q; use one of %s", mode, strings.Join(SandboxModes(), ", "))
}

// Merge returns base with every non-zero field of over applied on top: the
// way a caller lays flags over a loaded configuration. Maps merge by key
// (a provider field by field); a zero field of over leaves base's value,
// so over cannot set a value back to zero.
func Merge(base, over Config) Config {
	out := base
	setStr(&out.Model, over.Model)
	setStr(&out.Agent, over.Agent)
	if len(over.Providers) > 0 {
		ps := make(map[string]Provider, len(base.Providers)+len(over.Providers))
		for k, v := range base.Providers {
			ps[k] = v
		}
		for k, v := range over.Providers {
			ps[k] = mergeProvider(ps[k], v)
		}
		out.Providers = ps
	}
	out.Budget = over.Budget.Or(base.Budget)
	setNum(&out.MaxAgents, over.MaxAgents)
	setNum(&out.MaxDepth, over.MaxDepth)
	setNum(&out.MaxChildren, over.MaxChildren)
	setStr(&out.Monitor.Model, over.Monitor.Model)
	setStr(&out.Monitor.Prompt, over.Monitor.Prompt)
	setNum(&out.Approval.Timeout, over.Approval.Timeout)
	setStr(&out.Sandbox.Mode, over.Sandbox.Mode)
	l, o := &out.Sandbox.Limits, over.Sandbox.Limits
	setNum(&l.CPUTime, o.CPUTime)
	setNum(&l.Timeout, o.Timeout)
	setNum(&l.Memory, o.Memory)
	setNum(&l.FileSize, o.FileSize)
	setNum(&l.Procs, o.Procs)
	setNum(&l.Output, o.Output)
	setNum(&l.MemoryTotal, o.MemoryTotal)
	setNum(&l.TmpSize, o.TmpSize)
	setNum(&l.DiskGrowth, o.DiskGrowth)
	if over.Accel.Kind != 0 {
		out.Accel, out.AccelSource = over.Accel, over.AccelSource
	}
	return out
}

func mergeProvider(base, over Provider) Provider {
	out := base
	setStr(&out.BaseURL, over.BaseURL)
	setStr(&out.APIKeyEnv, over.APIKeyEnv)
	setNum(&out.MaxTokens, over.MaxTokens)
	setNum(&out.ContextWindow, over.ContextWindow)
	setNum(&out.Timeout, over.Timeout)
	if over.MaxRetries != nil {
		out.MaxRetries = over.MaxRetries
	}
	if len(over.Prices) > 0 {
		prices := make(map[string]model.Price, len(base.Prices)+len(over.Prices))
		for k, v := range base.Prices {
			prices[k] = v
		}
		for k, v := range over.Prices {
			prices[k] = v
		}
		out.Prices = prices
	}
	return out
}

func setStr(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func setNum[T int | int64 | float64 | time.Duration | ByteSize](dst *T, v T) {
	if v != 0 {
		*dst = v
	}
}

// ModelConfig builds what model.Open needs for spec from the provider's
// section: base URL, API key (read through getenv from api_key_env, or
// ANTHROPIC_API_KEY / OPENAI_API_KEY), limits, retries and prices. A
// script: spec or a provider with no section gets a zero Config, which
// means the provider's defaults.
func (c Config) ModelConfig(spec string, getenv func(string) string) model.Config {
	kind, _, _ := strings.Cut(strings.TrimSpace(spec), ":")
	var mc model.Config
	p, ok := c.Providers[kind]
	if ok {
		mc = model.Config{
			BaseURL:       p.BaseURL,
			MaxTokens:     p.MaxTokens,
			ContextWindow: p.ContextWindow,
			Timeout:       p.Timeout,
			Prices:        p.Prices,
		}
		if p.MaxRetries != nil {
			mc.MaxRetries = *p.MaxRetries
			if mc.MaxRetries == 0 {
				mc.MaxRetries = -1 // model: negative means none, zero the default
			}
		}
	}
	env := p.APIKeyEnv
	if env == "" {
		switch kind {
		case "anthropic":
			env = "ANTHROPIC_API_KEY"
		case "openai":
			env = "OPENAI_API_KEY"
		}
	}
	if env != "" && getenv != nil {
		mc.APIKey = getenv(env)
	}
	return mc
}

// Hash identifies the configuration as "sha256:HEX" over a canonical
// encoding: independent of key order, comments and layout, and without
// secrets (user info in a base URL is dropped; API keys are never in a
// Config). The monitor prompt counts by its path.
func (c Config) Hash() string {
	h := c
	if len(c.Providers) > 0 {
		h.Providers = make(map[string]Provider, len(c.Providers))
		for k, p := range c.Providers {
			if u, err := url.Parse(p.BaseURL); err == nil && u.User != nil {
				u.User = nil
				p.BaseURL = u.String()
			}
			h.Providers[k] = p
		}
	}
	data, err := json.Marshal(struct {
		V      int    `json:"v"`
		Config Config `json:"config"`
		Accel  any    `json:"accel"`
	}{1, h, canonicalNode(&c.Accel)})
	if err != nil {
		// Every field is plain data; this cannot happen.
		panic(fmt.Sprintf("config hash: %v", err))
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// canonicalNode turns a node into plain data for hashing: mappings as
// key-sorted pairs, scalars as tag and value, without comments or lines.
func canonicalNode(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return canonicalNode(n.Content[0])
		}
	case yaml.AliasNode:
		if n.Alias != nil {
			return canonicalNode(n.Alias)
		}
	case yaml.ScalarNode:
		return []string{n.ShortTag(), n.Value}
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			out[i] = canonicalNode(c)
		}
		return out
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = canonicalNode(n.Content[i+1])
		}
		return m // encoding/json sorts map keys
	}
	return nil
}
