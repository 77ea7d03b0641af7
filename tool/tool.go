// Package tool provides the tools an agent calls (reading, writing and
// editing files, listing and searching them, running shell commands, and
// finishing), each confined to one workspace directory.
package tool

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ouro-run/ouro"
)

// Output is what one tool call produced.
type Output struct {
	Content  string // what the model sees
	IsError  bool   // the call failed in a way the model should correct
	Diff     string // unified diff of a file change; "" otherwise
	Finished bool   // the finish tool was called
	Summary  string // the finish tool's summary
}

// Tool is one tool an agent can call.
type Tool interface {
	// Spec describes the tool to a model: name, description and the JSON
	// schema of its input.
	Spec() ouro.ToolSpec
	// Describe parses and validates input and fills the parts of a that
	// oversight reasons about: Args, Paths, Writes, Command, Argv, Hosts.
	// Bad input is an error whose message tells the model what to fix.
	Describe(input json.RawMessage, a *ouro.Action) error
	// Call runs the tool. The error is for internal failures only; bad
	// input, missing files and refused paths are an Output with IsError.
	Call(ctx context.Context, input json.RawMessage) (Output, error)
}

// Runner runs a command in the run's sandbox.
type Runner interface {
	Run(ctx context.Context, c ouro.Command) (ouro.CommandResult, error)
}

// Workspace is the directory the tools work in and their limits.
type Workspace struct {
	// Root is the absolute workspace directory.
	Root string
	// Protected reports whether a workspace-relative path must never be
	// written (for example .ouro/**, .git/hooks/**, paths the policy
	// names). It is asked about the path and each of its parent
	// directories, before and after symlinks are resolved. Nil means
	// none; any path with a .git component is always protected.
	Protected func(rel string) bool
	// Runner runs the bash tool's commands.
	Runner Runner
	// MaxOutput caps the characters of tool output returned to the model
	// (default 30000); longer output keeps its head and tail.
	MaxOutput int
	// MaxRead is read_file's default line limit (default 2000).
	MaxRead int
	// DefaultTimeout is the bash tool's timeout when the model gives none
	// (default 120s). A requested timeout_s is capped at MaxTimeout.
	DefaultTimeout time.Duration

	// noOpenat2 makes path resolution use the openat walk that stands in
	// for openat2 on kernels without it; tests set it.
	noOpenat2 bool
}

// Limits that are not configurable.
const (
	// MaxTimeout is the longest timeout_s the bash tool accepts.
	MaxTimeout = 600 * time.Second
	// MaxFileSize is the largest file the file tools read, write or search.
	MaxFileSize = 32 << 20

	defaultMaxOutput = 30000
	defaultMaxRead   = 2000
	defaultTimeout   = 120 * time.Second
	sniffLen         = 8 << 10 // bytes checked for NUL to spot binary files
	maxLineLen       = 2000    // read_file line length before cutting
	maxGrepLine      = 400     // grep text length before cutting
	maxGrepMatches   = 1000
	maxListEntries   = 2000
	maxWalkEntries   = 200000 // entries visited by one list_files or grep
	maxDiffLen       = 1 << 20
)

// Tool names, in the order Names returns them.
const (
	NameReadFile  = "read_file"
	NameWriteFile = "write_file"
	NameEditFile  = "edit_file"
	NameListFiles = "list_files"
	NameGrep      = "grep"
	NameBash      = "bash"
	NameFinish    = "finish"
)

// Names returns the names of the tools New makes.
func Names() []string {
	return []string{NameReadFile, NameWriteFile, NameEditFile, NameListFiles, NameGrep, NameBash, NameFinish}
}

// env is the configuration every tool of one New shares. It is read-only
// after New.
type env struct {
	ws Workspace
	fs fsys
}

// New returns the tools working in ws, by name. Zero limits in ws take
// their defaults; ws is copied, so later changes to it have no effect.
func New(ws *Workspace) map[string]Tool {
	e := &env{ws: *ws}
	if e.ws.MaxOutput <= 0 {
		e.ws.MaxOutput = defaultMaxOutput
	}
	if e.ws.MaxRead <= 0 {
		e.ws.MaxRead = defaultMaxRead
	}
	if e.ws.DefaultTimeout <= 0 {
		e.ws.DefaultTimeout = defaultTimeout
	}
	if e.ws.DefaultTimeout > MaxTimeout {
		e.ws.DefaultTimeout = MaxTimeout
	}
	if abs, err := filepath.Abs(e.ws.Root); err == nil {
		e.ws.Root = abs
	}
	e.fs = fsys{root: e.ws.Root, noOpenat2: e.ws.noOpenat2}
	return map[string]Tool{
		NameReadFile:  &readFile{e: e},
		NameWriteFile: &writeFile{e: e},
		NameEditFile:  &editFile{e: e},
		NameListFiles: &listFiles{e: e},
		NameGrep:      &grepTool{e: e},
		NameBash:      &bashTool{e: e},
		NameFinish:    &finishTool{},
	}
}

// protected reports whether rel (workspace-relative, cleaned) must not be
// written: it has a .git component, or the workspace's Protected says so
// of it or one of its parents.
func (e *env) protected(rel string) bool {
	for _, c := range strings.Split(rel, "/") {
		if strings.EqualFold(c, ".git") {
			return true
		}
	}
	if e.ws.Protected == nil {
		return false
	}
	for p := rel; p != "." && p != "/" && p != ""; p = filepath.Dir(p) {
		if e.ws.Protected(p) {
			return true
		}
	}
	return false
}

// failf is an Output reporting a problem the model should fix.
func failf(format string, args ...any) Output {
	return Output{Content: fmt.Sprintf(format, args...), IsError: true}
}

// fail is an Output reporting err to the model.
func fail(err error) Output {
	return Output{Content: err.Error(), IsError: true}
}

// truncate caps s at max bytes, keeping its head and tail and putting a
// marker saying how much was cut between them. Cuts fall on UTF-8
// boundaries. The marker is not counted against max.
func truncate(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	head := max / 2
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	tail := len(s) - (max - head)
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	cut := tail - head
	return s[:head] + fmt.Sprintf("\n\n[... %d characters cut from the middle of this output ...]\n\n", cut) + s[tail:]
}
