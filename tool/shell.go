package tool

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ouro-run/ouro"
)

// ---- bash ----

type bashTool struct{ e *env }

var bashParams = params{tool: NameBash, fields: []field{
	{name: "command", kind: kString, required: true, desc: "Shell script, run by /bin/sh -c in the workspace root inside the sandbox."},
	{name: "timeout_s", kind: kInt, min: 1, desc: "Seconds before the command and everything it started are killed (default 120, at most 600)."},
}}

func (t *bashTool) Spec() ouro.ToolSpec {
	return bashParams.spec("Run a shell command in the workspace, in a sandbox without network access. " +
		"Returns the combined stdout and stderr (long output keeps its head and tail) and the exit code.")
}

func (t *bashTool) parse(input json.RawMessage) (map[string]any, error) {
	args, err := bashParams.parse(input)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(str(args, "command")) == "" {
		return nil, bashParams.errorf(`"command" must not be empty`)
	}
	if strings.IndexByte(str(args, "command"), 0) >= 0 {
		return nil, bashParams.errorf(`"command" contains a NUL byte`)
	}
	return args, nil
}

func (t *bashTool) Describe(input json.RawMessage, a *ouro.Action) error {
	args, err := t.parse(input)
	if err != nil {
		return err
	}
	cmd := str(args, "command")
	a.Tool, a.Args, a.Paths, a.Writes = NameBash, args, nil, false
	a.Command = cmd
	a.Argv = SplitCommand(cmd)
	a.Hosts = extractHosts(cmd, a.Argv)
	return nil
}

// timeout is the command's limit: timeout_s capped at MaxTimeout, or the
// workspace default.
func (t *bashTool) timeout(args map[string]any) time.Duration {
	s := num(args, "timeout_s", 0)
	if s <= 0 {
		return t.e.ws.DefaultTimeout
	}
	if s > int64(MaxTimeout/time.Second) {
		return MaxTimeout
	}
	return time.Duration(s) * time.Second
}

func (t *bashTool) Call(ctx context.Context, input json.RawMessage) (Output, error) {
	args, err := t.parse(input)
	if err != nil {
		return fail(err), nil
	}
	if t.e.ws.Runner == nil {
		return Output{}, fmt.Errorf("bash: no sandbox runner configured")
	}
	timeout := t.timeout(args)
	res, err := t.e.ws.Runner.Run(ctx, ouro.Command{Script: str(args, "command"), Timeout: timeout})
	if err != nil {
		return Output{}, fmt.Errorf("bash: run command in sandbox: %w", err)
	}
	var b strings.Builder
	out := strings.ToValidUTF8(string(res.Output), "\uFFFD")
	if out == "" {
		b.WriteString("(no output)\n")
	} else {
		b.WriteString(truncate(out, t.e.ws.MaxOutput))
		if !strings.HasSuffix(out, "\n") {
			b.WriteByte('\n')
		}
	}
	if res.Truncated {
		b.WriteString("[the sandbox cut the middle of the output at its size limit]\n")
	}
	switch {
	case res.TimedOut:
		fmt.Fprintf(&b, "[timed out after %s; the command and everything it started were killed. Pass a larger timeout_s (at most %d) if it needs longer]\n",
			timeout, int(MaxTimeout/time.Second))
	case res.Limit != "":
		fmt.Fprintf(&b, "[stopped by the sandbox's %s limit]\n", res.Limit)
	case res.Signal != "":
		fmt.Fprintf(&b, "[killed by signal %s]\n", res.Signal)
	}
	fmt.Fprintf(&b, "[exit code %d]", res.ExitCode)
	if requested := num(args, "timeout_s", 0); requested > int64(MaxTimeout/time.Second) {
		fmt.Fprintf(&b, "\n[timeout_s %d was capped at %d]", requested, int(MaxTimeout/time.Second))
	}
	return Output{Content: b.String(), IsError: res.TimedOut || res.ExitCode != 0}, nil
}

// ---- finish ----

type finishTool struct{}

var finishParams = params{tool: NameFinish, fields: []field{
	{name: "summary", kind: kString, required: true, desc: "What was done and how it was checked, for the person who asked."},
}}

func (t *finishTool) Spec() ouro.ToolSpec {
	return finishParams.spec("Finish the task: call once the work is done and checked, with a summary of it. Ends the run.")
}

func (t *finishTool) parse(input json.RawMessage) (map[string]any, error) {
	args, err := finishParams.parse(input)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(str(args, "summary")) == "" {
		return nil, finishParams.errorf(`"summary" must not be empty`)
	}
	return args, nil
}

func (t *finishTool) Describe(input json.RawMessage, a *ouro.Action) error {
	args, err := t.parse(input)
	if err != nil {
		return err
	}
	a.Tool, a.Args, a.Paths, a.Writes, a.Command, a.Argv, a.Hosts = NameFinish, args, nil, false, "", nil, nil
	return nil
}

func (t *finishTool) Call(_ context.Context, input json.RawMessage) (Output, error) {
	args, err := t.parse(input)
	if err != nil {
		return fail(err), nil
	}
	s := str(args, "summary")
	return Output{Content: "finished", Finished: true, Summary: s}, nil
}
