// Package policy decides whether an agent's proposed action is allowed,
// denied or needs a person, by evaluating CEL rules from a built-in
// default policy and a repository's .ouro/policy.yaml.
//
// # Files
//
// A policy file is YAML:
//
//	version: 1
//	thresholds: {pause: 60, kill: 90}
//	protected: [".ouro/**", ".git/hooks/**"]
//	network: {allow: ["proxy.golang.org"]}
//	rules:
//	  - name: no-escape
//	    when: 'paths.exists(p, p.startsWith("/") || p.startsWith("../"))'
//	    decision: deny
//	    message: "paths outside the workspace are not allowed"
//
// thresholds are the monitor scores above which an action goes to the
// approval gate (pause) and the run is stopped (kill). protected lists glob
// patterns (see [Match]) of workspace files no action may write; the
// sandbox and the file tools enforce them as well. network.allow names the
// hosts an action may reach without asking: exact names, or "*.example.com"
// for the subdomains of example.com.
//
// # Combining files
//
// [Load] compiles the built-in default together with the repository's
// file; [Compile] does the same for any list of files. All their rules are
// evaluated and the strongest matching decision wins, so a file can only
// add restrictions to the others: a repository rule that allows an action
// cannot lift a default rule's deny or ask. protected patterns and allowed
// hosts are the union of the files' lists. Each threshold is the lowest any
// file sets, so a repository can lower the thresholds but never raise
// them. Rule names must be unique across the files.
//
// # Rules
//
// A rule's when is a CEL expression of type bool over these variables:
//
//	tool       string                the tool called ("bash", "write_file", ...)
//	args       map(string, dyn)      the tool's parsed JSON arguments
//	paths      list(string)          workspace-relative paths the action touches;
//	                                 one outside the workspace starts with "/" or "../"
//	writes     bool                  the action modifies paths
//	command    string                shell text, for bash
//	argv       list(list(string))    simple commands found in command, as given
//	cmds       list(list(string))    argv and the commands parsed from command,
//	                                 unwrapped (see below)
//	redirects  list(string)          files written by output redirections in command
//	programs   list(string)          the distinct programs of cmds (each c[0])
//	written    list(string)          files the action's commands write, as far as
//	                                 the policy can tell: redirects, and the targets
//	                                 of well-known commands (rm, mv, cp, ln, tee,
//	                                 touch, chmod, install, sed -i, perl -i, dd of=,
//	                                 curl -o, wget -O, go build -o, find -delete,
//	                                 tar -x, unzip, git config)
//	hosts      list(string)          network hosts the action names
//	agent      string                the agent's name
//	depth      int                   the run's delegation depth (0 for a top-level run)
//	task       string                the run's task
//	budget     map(string, dyn)      used so far: input_tokens, output_tokens,
//	                                 tool_calls (int), cost_usd, wall_time_s (double)
//
// Paths in redirects and written follow earlier cd and pushd commands:
// "cd .git && echo x > config" writes ".git/config". After a cd whose
// destination is unknown (cd ~, cd $DIR) they start with "/?".
//
// In cmds each command's program is its base name ("/usr/bin/git" is
// "git"), prefix assignments ("FOO=1 git push") are dropped, and the
// command behind a wrapper (env, sudo, timeout, nice, xargs, python -m,
// npx, uv run, find -exec ...) or inside shell text (sh -c, eval, $(...),
// backticks, a here document fed to a shell) is listed as its own entry
// too.
//
// Besides CEL's standard functions and macros (exists, all, filter, map,
// matches, ...) and the strings, lists and sets extensions, rules can call:
//
//	glob(pattern, path) bool       the matcher of protected patterns, see [Match]
//	protected(path) bool           path matches one of the policy's protected patterns
//	allowed_host(host) bool        host is allowed by network.allow
//	clean(path) string             path cleaned lexically: "./.git/" is ".git"
//	subcommand(cmd) string         the first operand after a command's global
//	                               options: "push" for ["git","-C","x","push"]
//
// Comprehensions (exists, all, ...) are the expensive part of a rule;
// a cheap test first, such as "git" in programs, keeps a policy fast.
//
// Deny wins over ask and ask over allow; an action no rule matches is
// allowed. A rule that fails to evaluate (say it reads a missing key of
// args without has()) counts as a matching deny: policy fails closed.
package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
	"go.yaml.in/yaml/v3"

	"github.com/ouro-run/ouro"
)

// RepoFile is where a repository keeps its policy, relative to its root.
const RepoFile = ".ouro/policy.yaml"

// RepoExamples is where a repository keeps the examples its policy is
// tested against, relative to its root.
const RepoExamples = ".ouro/policy_test.yaml"

// DefaultName is the name the built-in policy goes by in errors.
const DefaultName = "built-in default"

// EscalateParent is the Rule.Escalate value that sends an ask to the
// parent agent of a delegated run before a person.
const EscalateParent = "parent"

//go:embed default.yaml
var defaultYAML []byte

// File is one parsed policy file.
type File struct {
	// Name says where the file came from; errors are prefixed with it.
	Name       string     `yaml:"-"`
	Version    int        `yaml:"version"`
	Thresholds Thresholds `yaml:"thresholds"`
	Protected  []string   `yaml:"protected"`
	Network    Network    `yaml:"network"`
	Rules      []Rule     `yaml:"rules"`
}

// Thresholds are monitor scores (0-100). A score above Pause sends the
// action to the approval gate; a score above Kill stops the run. A nil
// field is not set by the file.
type Thresholds struct {
	Pause *int `yaml:"pause"`
	Kill  *int `yaml:"kill"`
}

// Network lists what an action may reach without asking.
type Network struct {
	Allow []string `yaml:"allow"` // host names; "*.example.com" allows subdomains
}

// Rule is one named CEL condition and the decision it makes.
type Rule struct {
	Name     string        `yaml:"name"`
	When     string        `yaml:"when"`
	Decision ouro.Decision `yaml:"decision"`
	Message  string        `yaml:"message"`
	// Escalate is "parent" to send an ask from a delegated run to the
	// parent agent first, or "" for a person.
	Escalate string `yaml:"escalate"`
	// Line is the rule's line in its file, 0 when unknown.
	Line int `yaml:"-"`
}

// Default returns the built-in default policy, parsed afresh.
func Default() *File {
	f, err := Parse(DefaultName, defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("built-in policy does not parse: %v", err))
	}
	return f
}

// Parse reads a policy file. name is used in error messages, which say the
// line at fault.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("policy %s: file is empty; it needs at least \"version: 1\"", name)
		}
		return nil, fmt.Errorf("policy %s: %s", name, yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("policy %s: line %d: a second YAML document; a policy file holds one", name, extra.Line)
	}
	// A second pass over the node tree finds each rule's line.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err == nil && len(doc.Content) == 1 {
		root := doc.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "rules" || root.Content[i+1].Kind != yaml.SequenceNode {
				continue
			}
			for j, n := range root.Content[i+1].Content {
				if j < len(f.Rules) {
					f.Rules[j].Line = n.Line
				}
			}
		}
	}
	return f, nil
}

// yamlMessage makes a YAML error one line without the library's prefix.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	lines := strings.Split(msg, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}

// Load compiles the built-in default policy together with the repository's
// .ouro/policy.yaml, if it has one. A repository file can add rules,
// protected patterns and allowed hosts and lower the thresholds; it cannot
// remove or weaken anything the default sets (see the package comment).
// repoDir is the repository the user controls, not an agent's worktree.
func Load(ctx context.Context, repoDir string) (*Policy, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	files := []*File{Default()}
	data, err := os.ReadFile(filepath.Join(repoDir, filepath.FromSlash(RepoFile)))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read policy %s: %w", RepoFile, err)
	default:
		f, err := Parse(RepoFile, data)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return Compile(files...)
}

// Policy is a compiled set of policy files, ready to evaluate actions. It
// is safe for concurrent use.
type Policy struct {
	rules     []compiledRule
	prefixes  []string // the literal start of each protected pattern
	pause     int
	kill      int
	protected []string
	hosts     []string
	hash      string
}

type compiledRule struct {
	Rule
	file string
	prg  cel.Program
}

// Compile checks and compiles files into one policy. Every rule's
// expression is compiled once here; an expression that does not parse or
// type-check, is not of type bool, or a rule with an unknown decision, is
// an error naming the file, the rule and the position:
//
//	policy .ouro/policy.yaml: rule "x": 1:12: undeclared reference to 'pahts'
func Compile(files ...*File) (*Policy, error) {
	if len(files) == 0 {
		return nil, errors.New("compile policy: no policy files")
	}
	p := &Policy{pause: -1, kill: -1}
	names := map[string]string{}
	for _, f := range files {
		if f == nil {
			return nil, errors.New("compile policy: nil policy file")
		}
		if err := p.merge(f, names); err != nil {
			return nil, err
		}
	}
	if p.pause < 0 || p.kill < 0 {
		d := Default()
		if p.pause < 0 {
			p.pause = *d.Thresholds.Pause
		}
		if p.kill < 0 {
			p.kill = *d.Thresholds.Kill
		}
	}
	// Lowering kill below pause leaves nothing between them to gate.
	p.pause = min(p.pause, p.kill)

	env, err := p.env()
	if err != nil {
		return nil, fmt.Errorf("compile policy: build CEL environment: %w", err)
	}
	for i := range p.rules {
		r := &p.rules[i]
		checked, iss := env.Compile(r.When)
		if iss.Err() != nil {
			return nil, r.exprError(celIssues(iss))
		}
		if !checked.OutputType().IsExactType(types.BoolType) {
			return nil, r.exprError(fmt.Sprintf("1:1: expression has type %s, want bool (compare explicitly, e.g. args.force == true)", checked.OutputType()))
		}
		prg, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			return nil, r.errorf("build program: %v", err)
		}
		r.prg = prg
	}
	p.hash = p.computeHash()
	return p, nil
}

// merge checks one file and adds it to the policy.
func (p *Policy) merge(f *File, names map[string]string) error {
	name := f.Name
	if name == "" {
		name = "(unnamed)"
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("policy %s: "+format, append([]any{name}, args...)...)
	}
	if f.Version != 1 {
		if f.Version == 0 {
			return fail("version is missing; add \"version: 1\"")
		}
		return fail("version %d is not supported; use version: 1", f.Version)
	}
	for _, t := range []struct {
		name string
		v    *int
		dst  *int
	}{{"pause", f.Thresholds.Pause, &p.pause}, {"kill", f.Thresholds.Kill, &p.kill}} {
		if t.v == nil {
			continue
		}
		if *t.v < 0 || *t.v > 100 {
			return fail("thresholds.%s is %d; it must be a score from 0 to 100", t.name, *t.v)
		}
		if *t.dst < 0 || *t.v < *t.dst {
			*t.dst = *t.v
		}
	}
	if f.Thresholds.Pause != nil && f.Thresholds.Kill != nil && *f.Thresholds.Pause > *f.Thresholds.Kill {
		return fail("thresholds.pause (%d) is above thresholds.kill (%d)", *f.Thresholds.Pause, *f.Thresholds.Kill)
	}
	for _, pat := range f.Protected {
		c, err := validPattern(pat)
		if err != nil {
			return fail("protected: %v", err)
		}
		if !slices.Contains(p.protected, c) {
			p.protected = append(p.protected, c)
			lit := c[:strings.IndexAny(c+"*?", "*?")]
			if strings.ContainsAny(c, "*?") {
				// Cut back to the directory above the first wildcard
				// segment: ".ouro/**" matches ".ouro" itself.
				lit = lit[:max(0, strings.LastIndexByte(lit, '/'))]
			}
			p.prefixes = append(p.prefixes, lit)
		}
	}
	for _, h := range f.Network.Allow {
		c, err := validHostPattern(h)
		if err != nil {
			return fail("network.allow: %v", err)
		}
		if !slices.Contains(p.hosts, c) {
			p.hosts = append(p.hosts, c)
		}
	}
	for i, r := range f.Rules {
		cr := compiledRule{Rule: r, file: name}
		if strings.TrimSpace(r.Name) == "" {
			cr.Name = fmt.Sprintf("#%d", i+1)
			return cr.errorf("the rule has no name; give it one (name: ...)")
		}
		if prev, dup := names[r.Name]; dup {
			return cr.errorf("the name is already used by a rule in %s; rule names must be unique", prev)
		}
		names[r.Name] = name
		switch r.Decision {
		case ouro.Allow, ouro.Ask, ouro.Deny:
		case "":
			return cr.errorf("no decision; set decision: allow, ask or deny")
		default:
			return cr.errorf("unknown decision %q; use allow, ask or deny", r.Decision)
		}
		switch r.Escalate {
		case "", EscalateParent:
		default:
			return cr.errorf("unknown escalate %q; use \"parent\" or leave it out", r.Escalate)
		}
		if strings.TrimSpace(r.When) == "" {
			return cr.errorf("no condition; set when: to a CEL expression")
		}
		if cr.Message == "" {
			cr.Message = fmt.Sprintf("%s by policy rule %q", verb(r.Decision), r.Name)
		}
		p.rules = append(p.rules, cr)
	}
	return nil
}

func verb(d ouro.Decision) string {
	switch d {
	case ouro.Deny:
		return "denied"
	case ouro.Ask:
		return "needs approval"
	}
	return "allowed"
}

// errorf formats an error about a rule, with the rule's line when known.
func (r *compiledRule) errorf(format string, args ...any) error {
	at := ""
	if r.Line > 0 {
		at = fmt.Sprintf("line %d: ", r.Line)
	}
	return fmt.Errorf("policy %s: rule %q: %s%s", r.file, r.Name, at, fmt.Sprintf(format, args...))
}

// exprError formats an error in a rule's expression; msg starts with the
// line:column within the expression.
func (r *compiledRule) exprError(msg string) error {
	return fmt.Errorf("policy %s: rule %q: %s", r.file, r.Name, msg)
}

// celIssues renders CEL errors as "line:column: message", one after the
// other on one line.
func celIssues(iss *cel.Issues) string {
	var parts []string
	for _, e := range iss.Errors() {
		msg := strings.ReplaceAll(e.Message, "\n", " ")
		parts = append(parts, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, msg))
	}
	if len(parts) == 0 {
		return strings.ReplaceAll(iss.String(), "\n", " ")
	}
	return strings.Join(parts, "; ")
}

// env builds the CEL environment rules are compiled in; its functions see
// this policy's protected patterns and allowed hosts.
func (p *Policy) env() (*cel.Env, error) {
	str := cel.StringType
	strList := cel.ListType(cel.StringType)
	return cel.NewEnv(
		cel.Variable("tool", str),
		cel.Variable("args", cel.MapType(str, cel.DynType)),
		cel.Variable("paths", strList),
		cel.Variable("writes", cel.BoolType),
		cel.Variable("command", str),
		cel.Variable("argv", cel.ListType(strList)),
		cel.Variable("cmds", cel.ListType(strList)),
		cel.Variable("redirects", strList),
		cel.Variable("programs", strList),
		cel.Variable("written", strList),
		cel.Variable("hosts", strList),
		cel.Variable("agent", str),
		cel.Variable("depth", cel.IntType),
		cel.Variable("task", str),
		cel.Variable("budget", cel.MapType(str, cel.DynType)),
		cel.CrossTypeNumericComparisons(true),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		// Singleton bindings skip CEL's runtime argument checks, which for
		// a list walk every element; the functions check for themselves.
		cel.Function("glob",
			cel.Overload("glob_string_string", []*cel.Type{str, str}, cel.BoolType),
			cel.SingletonBinaryBinding(func(pat, p ref.Val) ref.Val {
				ps, ok1 := pat.(types.String)
				s, ok2 := p.(types.String)
				if !ok1 || !ok2 {
					return types.NewErr("glob: want (string, string)")
				}
				return types.Bool(Match(string(ps), string(s)))
			})),
		cel.Function("protected",
			cel.Overload("protected_string", []*cel.Type{str}, cel.BoolType),
			cel.SingletonUnaryBinding(func(v ref.Val) ref.Val {
				s, ok := v.(types.String)
				if !ok {
					return types.NewErr("protected: want a string")
				}
				return types.Bool(p.IsProtected(string(s)))
			})),
		cel.Function("allowed_host",
			cel.Overload("allowed_host_string", []*cel.Type{str}, cel.BoolType),
			cel.SingletonUnaryBinding(func(v ref.Val) ref.Val {
				s, ok := v.(types.String)
				if !ok {
					return types.NewErr("allowed_host: want a string")
				}
				return types.Bool(p.HostAllowed(string(s)))
			})),
		cel.Function("clean",
			cel.Overload("clean_string", []*cel.Type{str}, str),
			cel.SingletonUnaryBinding(func(v ref.Val) ref.Val {
				s, ok := v.(types.String)
				if !ok {
					return types.NewErr("clean: want a string")
				}
				if c := cleanRel(string(s)); c != string(s) {
					return types.String(c)
				}
				return v
			})),
		cel.Function("subcommand",
			cel.Overload("subcommand_list_string", []*cel.Type{strList}, str),
			cel.SingletonUnaryBinding(func(v ref.Val) ref.Val {
				c, err := stringSlice(v)
				if err != nil {
					return types.NewErr("subcommand: %v", err)
				}
				return types.String(subcommand(c))
			})),
	)
}

// stringSlice reads a CEL list of strings, without copying when it wraps
// a Go slice.
func stringSlice(v ref.Val) ([]string, error) {
	if w, ok := v.(stringListVal); ok {
		return w.s, nil
	}
	l, ok := v.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("want a list of strings, got %s", v.Type())
	}
	n, ok := l.Size().(types.Int)
	if !ok {
		return nil, errors.New("list has no size")
	}
	out := make([]string, 0, int(n))
	for i := types.Int(0); i < n; i++ {
		s, ok := l.Get(i).(types.String)
		if !ok {
			return nil, errors.New("want a list of strings")
		}
		out = append(out, string(s))
	}
	return out, nil
}

// Result is the outcome of evaluating an action.
type Result struct {
	Decision ouro.Decision `json:"decision"`
	// Rule and Message are those of the first rule, in file order, that
	// made the decision; both are empty when no rule matched.
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message,omitempty"`
	// Escalate is "parent" when every rule that asked allows the parent
	// agent of a delegated run to answer first.
	Escalate string `json:"escalate,omitempty"`
	Hits     []Hit  `json:"hits,omitempty"` // every rule that matched, in order
}

// Hit is one rule that matched an action.
type Hit struct {
	Rule     string        `json:"rule"`
	Decision ouro.Decision `json:"decision"`
	Message  string        `json:"message"`
}

func rank(d ouro.Decision) int {
	switch d {
	case ouro.Deny:
		return 2
	case ouro.Ask:
		return 1
	}
	return 0
}

// Evaluate decides an action: deny wins over ask, ask over allow, and an
// action no rule matches is allowed. A rule that fails to evaluate is a
// deny hit whose message is the error; Evaluate then returns that deny
// Result together with an error naming the rules at fault, so the caller
// can journal both and must not run the action.
func (p *Policy) Evaluate(a *ouro.Action) (Result, error) {
	if a == nil {
		err := errors.New("evaluate policy: no action")
		return Result{Decision: ouro.Deny, Message: err.Error()}, err
	}
	act := &activation{a: a}
	// One execution frame serves every rule: the programs track no cost
	// and no context, so nothing in it is specific to one program.
	frame, err := interpreter.NewExecutionFrame(act)
	if err != nil {
		err = fmt.Errorf("evaluate policy: %w", err)
		return Result{Decision: ouro.Deny, Message: err.Error()}, err
	}
	defer frame.Close()
	var (
		res      = Result{Decision: ouro.Allow}
		errs     []error
		best     = -1
		toParent = true // every ask so far escalates to the parent
	)
	for i := range p.rules {
		r := &p.rules[i]
		out, _, err := r.prg.Eval(frame)
		hit := Hit{Rule: r.Name, Decision: r.Decision, Message: r.Message}
		if err == nil {
			b, ok := out.(types.Bool)
			if !ok {
				err = fmt.Errorf("result is %s, want bool", out.Type())
			} else if !b {
				continue
			}
		}
		if err != nil {
			err = fmt.Errorf("rule %q (%s): %w", r.Name, r.file, err)
			errs = append(errs, err)
			hit.Decision = ouro.Deny
			hit.Message = "policy could not be evaluated, so the action is denied: " + err.Error()
		}
		res.Hits = append(res.Hits, hit)
		if hit.Decision == ouro.Ask && r.Escalate != EscalateParent {
			toParent = false
		}
		if k := rank(hit.Decision); k > best {
			best = k
			res.Decision, res.Rule, res.Message = hit.Decision, hit.Rule, hit.Message
		}
	}
	if res.Decision == ouro.Ask && toParent {
		res.Escalate = EscalateParent
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return res, fmt.Errorf("evaluate policy: %s", strings.Join(msgs, "; "))
	}
	return res, nil
}

// Thresholds returns the monitor scores above which an action is paused
// for the gate and the run is killed.
func (p *Policy) Thresholds() (pause, kill int) { return p.pause, p.kill }

// Protected returns a copy of the protected glob patterns,
// workspace-relative and cleaned.
func (p *Policy) Protected() []string { return slices.Clone(p.protected) }

// IsProtected reports whether a workspace-relative path matches one of the
// protected patterns (see [Match]).
func (p *Policy) IsProtected(rel string) bool {
	rel = cleanRel(rel)
	if rel == "." || outside(rel) {
		return false
	}
	for i, pat := range p.protected {
		// Whatever matches, rel or a directory above it, starts with the
		// pattern's literal part.
		if strings.HasPrefix(rel, p.prefixes[i]) && matchClean(pat, rel) {
			return true
		}
	}
	return false
}

// AllowedHosts returns the network.allow entries.
func (p *Policy) AllowedHosts() []string { return slices.Clone(p.hosts) }

// HostAllowed reports whether a host, optionally with a port, is allowed
// by network.allow. Names compare case-insensitively and without a
// trailing dot; "*.example.com" allows the subdomains of example.com but
// not example.com itself. A malformed name is never allowed.
func (p *Policy) HostAllowed(host string) bool {
	h, ok := normalizeHost(host)
	if !ok {
		return false
	}
	for _, pat := range p.hosts {
		if suffix, wild := strings.CutPrefix(pat, "*"); wild {
			if strings.HasSuffix(h, suffix) && len(h) > len(suffix) {
				return true
			}
		} else if h == pat {
			return true
		}
	}
	return false
}

// normalizeHost lowercases a host, strips a port, brackets and a trailing
// dot, and rejects anything that is not a plain DNS name or IP literal.
func normalizeHost(host string) (string, bool) {
	h := host
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		rest := h[end+1:]
		if rest != "" && (rest[0] != ':' || !allDigits(rest[1:])) {
			return "", false
		}
		h = h[1:end]
		for i := 0; i < len(h); i++ {
			c := h[i]
			if !(c == ':' || c == '.' || isHex(c)) {
				return "", false
			}
		}
		return strings.ToLower(h), h != ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if strings.Count(h, ":") > 1 || !allDigits(h[i+1:]) {
			return "", false
		}
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "", false
		}
	}
	if strings.Contains(h, "..") || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") {
		return "", false
	}
	return strings.ToLower(h), true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validHostPattern checks a network.allow entry and returns it lowercased.
func validHostPattern(h string) (string, error) {
	name, wild := strings.CutPrefix(h, "*.")
	n, ok := normalizeHost(name)
	if !ok || strings.Contains(name, ":") || n != strings.ToLower(strings.TrimSuffix(name, ".")) {
		return "", fmt.Errorf("%q is not a host name; write a name such as proxy.golang.org or *.example.com, without scheme or port", h)
	}
	if wild {
		return "*." + n, nil
	}
	return n, nil
}

// Hash returns the SHA-256, in hex, of the compiled policy's canonical
// form: thresholds, protected patterns, allowed hosts and every rule in
// order. Two policies with the same hash decide every action alike.
func (p *Policy) Hash() string { return p.hash }

func (p *Policy) computeHash() string {
	type canonRule struct {
		Name     string        `json:"name"`
		When     string        `json:"when"`
		Decision ouro.Decision `json:"decision"`
		Message  string        `json:"message"`
		Escalate string        `json:"escalate"`
	}
	c := struct {
		Version   int         `json:"version"`
		Pause     int         `json:"pause"`
		Kill      int         `json:"kill"`
		Protected []string    `json:"protected"`
		Hosts     []string    `json:"hosts"`
		Rules     []canonRule `json:"rules"`
	}{Version: 1, Pause: p.pause, Kill: p.kill, Protected: p.protected, Hosts: p.hosts}
	for _, r := range p.rules {
		c.Rules = append(c.Rules, canonRule{r.Name, r.When, r.Decision, r.Message, r.Escalate})
	}
	data, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("encode policy for hashing: %v", err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
