// Command ouro is the command line of the ouro control plane. It only wires
// the packages together: flags and configuration in, exit codes out.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/ouro-run/ouro/sandbox"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0 // the run finished, the journal is intact, the command did what was asked
	exitFail  = 1 // the run failed or was stopped; verify found tampering
	exitUsage = 2 // bad usage or configuration
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what a subcommand may touch of the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	interrupts     <-chan os.Signal
}

func commands() map[string]command {
	return map[string]command{
		"accel":     {"measure code shipped per period by humans and agents", cmdAccel},
		"run":       {"run an agent on a task in its own worktree", cmdRun},
		"resume":    {"continue an interrupted run (and its tree)", cmdResume},
		"demo":      {"the whole loop offline, on a bundled sample repo", cmdDemo},
		"runs":      {"list runs", cmdRuns},
		"log":       {"show a run's transcript", cmdLog},
		"tree":      {"show a run's delegation tree", cmdTree},
		"verify":    {"check the journal's hash chain and tree heads", cmdVerify},
		"stop":      {"stop a run and its subtree", cmdStop},
		"approvals": {"list actions waiting for a person", cmdApprovals},
		"approve":   {"approve a pending action", cmdApprove},
		"deny":      {"deny a pending action", cmdDeny},
		"policy":    {"test a policy against its examples", cmdPolicy},
		"redteam":   {"run the red-team and honest suites against the oversight path", cmdRedteam},
	}
}

func main() {
	// A re-executed copy of ouro that is the inside of a sandbox runs
	// there and never returns.
	sandbox.Init()
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, interrupts: sigs}
	return dispatch(context.Background(), e, args)
}

func dispatch(ctx context.Context, e *env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stdout, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "ouro: unknown command %q; run 'ouro help' for the list\n", args[0])
		return exitUsage
	}
	return c.run(ctx, e, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "ouro: a control plane for autonomous software agents")
	fmt.Fprintln(w, "\nUsage: ouro COMMAND [flags]; ouro COMMAND --help for one command\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 the run failed or was stopped (verify: tampered), 2 bad usage or configuration.")
}
