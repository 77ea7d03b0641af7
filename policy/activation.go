package policy

import (
	"slices"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/ouro-run/ouro"
)

// activation supplies an action's variables to every rule of one
// Evaluate. Each value is converted on first use and kept, so fifty rules
// reading tool cost one conversion, and the shell text is parsed at most
// once.
type activation struct {
	a     *ouro.Action
	have  uint32
	vals  [numVars]ref.Val
	shell *shellInfo
}

// shellInfo is what an action's commands do, worked out once.
type shellInfo struct {
	cmds      [][]string
	redirects []string
	programs  []string // distinct cmds[i][0]
	written   []string // redirects, then the write targets of cmds
}

// Variable slots of an activation.
const (
	varTool = iota
	varArgs
	varPaths
	varWrites
	varCommand
	varArgv
	varCmds
	varRedirects
	varHosts
	varAgent
	varDepth
	varTask
	varBudget
	varPrograms
	varWritten
	numVars
)

// slotOf returns the slot of a variable name, or -1.
func slotOf(name string) int {
	switch name {
	case "tool":
		return varTool
	case "args":
		return varArgs
	case "paths":
		return varPaths
	case "writes":
		return varWrites
	case "command":
		return varCommand
	case "argv":
		return varArgv
	case "cmds":
		return varCmds
	case "redirects":
		return varRedirects
	case "hosts":
		return varHosts
	case "agent":
		return varAgent
	case "depth":
		return varDepth
	case "task":
		return varTask
	case "budget":
		return varBudget
	case "programs":
		return varPrograms
	case "written":
		return varWritten
	}
	return -1
}

var _ interpreter.Activation = (*activation)(nil)

// ResolveName returns the value of a policy variable.
func (v *activation) ResolveName(name string) (any, bool) {
	slot := slotOf(name)
	if slot < 0 {
		return nil, false
	}
	if v.have&(1<<slot) == 0 {
		v.vals[slot] = v.compute(slot)
		v.have |= 1 << slot
	}
	return v.vals[slot], true
}

// Parent returns nil: an activation has no parent.
func (v *activation) Parent() interpreter.Activation { return nil }

func (v *activation) compute(slot int) ref.Val {
	a := v.a
	adapter := types.DefaultTypeAdapter
	switch slot {
	case varTool:
		return types.String(a.Tool)
	case varArgs:
		// Converting the top-level values once saves every rule that reads
		// args.x a conversion; nested values convert lazily.
		vals := make(map[string]ref.Val, len(a.Args))
		for k, x := range a.Args {
			vals[k] = adapter.NativeToValue(x)
		}
		return types.NewMap(adapter, vals)
	case varPaths:
		return stringList(a.Paths)
	case varWrites:
		return types.Bool(a.Writes)
	case varCommand:
		return types.String(a.Command)
	case varArgv:
		return commandList(a.Argv)
	case varCmds:
		return commandList(v.analyze().cmds)
	case varRedirects:
		return stringList(v.analyze().redirects)
	case varPrograms:
		return stringList(v.analyze().programs)
	case varWritten:
		return stringList(v.analyze().written)
	case varHosts:
		return stringList(a.Hosts)
	case varAgent:
		return types.String(a.Agent)
	case varDepth:
		return types.Int(a.Depth)
	case varTask:
		return types.String(a.Task)
	case varBudget:
		return types.NewStringInterfaceMap(adapter, map[string]any{
			"input_tokens":  a.Budget.InputTokens,
			"output_tokens": a.Budget.OutputTokens,
			"cost_usd":      a.Budget.CostUSD,
			"tool_calls":    a.Budget.ToolCalls,
			"wall_time_s":   a.Budget.WallTime.Seconds(),
		})
	}
	return types.NewErr("unknown policy variable slot %d", slot)
}

// analyze parses the action's command text and unwraps its commands,
// once.
func (v *activation) analyze() *shellInfo {
	if v.shell != nil {
		return v.shell
	}
	all := v.a.Argv
	var redirects []string
	if v.a.Command != "" {
		s := scanShell(v.a.Command)
		redirects = s.redirects
		if len(s.cmds) > 0 {
			all = append(append(make([][]string, 0, len(all)+len(s.cmds)), all...), s.cmds...)
		}
	}
	cmds, nested := normalizeCommands(all)
	info := &shellInfo{cmds: cmds, redirects: append(redirects, nested...)}
	info.written = append(info.written, info.redirects...)
	dir := ""
	for _, c := range cmds {
		if !slices.Contains(info.programs, c[0]) {
			info.programs = append(info.programs, c[0])
		}
		for _, t := range writeTargets(c) {
			info.written = append(info.written, inDir(dir, t))
		}
		dir = nextDir(dir, c)
	}
	v.shell = info
	return info
}

// stringListVal is a CEL list of strings that keeps the Go slice it wraps,
// so functions such as subcommand read it without copying.
type stringListVal struct {
	foldableList
	s []string
}

// foldableList is a CEL list that comprehensions can fold over directly,
// without wrapping it in an iterator first.
type foldableList interface {
	traits.Lister
	traits.Foldable
}

// refList makes a foldable CEL list of converted values.
func refList(vals []ref.Val) foldableList {
	l := types.NewRefValList(types.DefaultTypeAdapter, vals)
	if f, ok := l.(foldableList); ok {
		return f
	}
	return struct {
		traits.Lister
		traits.Foldable
	}{l, types.ToFoldableList(l)}
}

// emptyList is the value of every empty list variable. CEL values are
// immutable, so one serves every evaluation.
var emptyList ref.Val = stringListVal{foldableList: refList(nil)}

// stringList makes a CEL list of strings whose elements are converted
// once, not on every access.
func stringList(ss []string) ref.Val {
	if len(ss) == 0 {
		return emptyList
	}
	vals := make([]ref.Val, len(ss))
	for i, s := range ss {
		vals[i] = types.String(s)
	}
	return stringListVal{foldableList: refList(vals), s: ss}
}

// commandList turns argv vectors into a CEL list of lists of strings.
// The words are converted to CEL values here, once, rather than on every
// c[0] of every rule.
func commandList(cmds [][]string) ref.Val {
	if len(cmds) == 0 {
		return emptyList
	}
	n := 0
	for _, c := range cmds {
		n += len(c)
	}
	words := make([]ref.Val, 0, n)
	elems := make([]ref.Val, len(cmds))
	for i, c := range cmds {
		start := len(words)
		for _, w := range c {
			words = append(words, types.String(w))
		}
		elems[i] = stringListVal{foldableList: refList(words[start:len(words):len(words)]), s: c}
	}
	return refList(elems)
}
