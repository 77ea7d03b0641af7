package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/config"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/policy"
	"github.com/ouro-run/ouro/render"
)

// withJournal opens the journal for a read or an answer.
func withJournal(ctx context.Context, e *env, name string, fn func(*journal.Journal) int) int {
	_, jr, err := openJournal(ctx, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro %s: %v\n", name, err)
		return exitUsage
	}
	defer jr.Close()
	return fn(jr)
}

func printJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(e.stderr, "ouro: write JSON: %v\n", err)
		return exitFail
	}
	return exitOK
}

func cmdRuns(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "runs", "[--json]", "List runs, newest first: id, status, parent, agent, model, tokens, cost, duration, task and branch.\nA run marked UNSAFE ran without a sandbox. Exit code 0, or 2 if the journal cannot be opened.")
	asJSON := fs.Bool("json", false, "a JSON array of run objects")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withJournal(ctx, e, "runs", func(jr *journal.Journal) int {
		runs, err := jr.Runs(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro runs: %v\n", err)
			return exitFail
		}
		if *asJSON {
			if runs == nil {
				runs = []ouro.Run{}
			}
			return printJSON(e, runs)
		}
		if len(runs) == 0 {
			fmt.Fprintln(e.stdout, "no runs yet; start one with: ouro run --repo DIR \"TASK\" (or try ouro demo)")
			return exitOK
		}
		render.Runs(e.stdout, runs, time.Now())
		return exitOK
	})
}

func cmdLog(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "log", "[--json] RUN", "Show a run's transcript: model text, tool calls, results, diffs and decisions.\nExit code 0, or 2 for an unknown run.")
	asJSON := fs.Bool("json", false, "the run's events as JSON lines")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "ouro log: give one run id (see ouro runs)")
		return exitUsage
	}
	return withJournal(ctx, e, "log", func(jr *journal.Journal) int {
		r, err := jr.Run(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro log: %v\n", err)
			return exitUsage
		}
		var obs interface{ Event(*ouro.Event) }
		if *asJSON {
			obs = &render.JSON{W: e.stdout}
		} else {
			obs = &render.Printer{W: e.stdout, Verbose: true}
		}
		if err := jr.Events(ctx, r.ID, 0, func(ev *ouro.Event) error { obs.Event(ev); return nil }); err != nil {
			fmt.Fprintf(e.stderr, "ouro log: %v\n", err)
			return exitFail
		}
		return exitOK
	})
}

func cmdTree(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "tree", "[--json] RUN", "Show the delegation tree under RUN: each run's status, agent, cost, tokens, duration, branch and task.\nExit code 0, or 2 for an unknown run.")
	asJSON := fs.Bool("json", false, "the tree as nested JSON objects")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "ouro tree: give one run id (see ouro runs)")
		return exitUsage
	}
	return withJournal(ctx, e, "tree", func(jr *journal.Journal) int {
		root, err := jr.Run(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro tree: %v\n", err)
			return exitUsage
		}
		children := func(id string) []ouro.Run {
			kids, _ := jr.Children(ctx, id)
			return kids
		}
		if *asJSON {
			type node struct {
				ouro.Run
				Children []any `json:"children"`
			}
			var build func(r ouro.Run) node
			build = func(r ouro.Run) node {
				n := node{Run: r, Children: []any{}}
				for _, k := range children(r.ID) {
					n.Children = append(n.Children, build(k))
				}
				return n
			}
			return printJSON(e, build(root))
		}
		render.Tree(e.stdout, root, children, time.Now())
		return exitOK
	})
}

func cmdVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "verify", "[--head SIZE:ROOT] [--json]", `Check the whole journal: every event's hash chain, every Merkle checkpoint and
published tree head. With --head, also prove that a tree head kept earlier is a
prefix of today's log. Exit codes: 0 intact, 1 tampered (the first bad event is
named), 2 the journal cannot be opened.`)
	head := fs.String("head", "", "a tree head kept earlier (ouro verify prints one), to prove the log only grew")
	asJSON := fs.Bool("json", false, "the report as JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	home, err := configStateDir(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro verify: %v\n", err)
		return exitUsage
	}
	if _, err := os.Stat(home + "/journal.db"); err != nil {
		fmt.Fprintf(e.stderr, "ouro verify: no journal at %s/journal.db (set OURO_HOME?)\n", home)
		return exitUsage
	}
	return withJournal(ctx, e, "verify", func(jr *journal.Journal) int {
		rep, err := jr.Verify(ctx)
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro verify: %v\n", err)
			return exitFail
		}
		if *asJSON {
			printJSON(e, rep)
		}
		if rep.Problem != nil {
			fmt.Fprintf(e.stdout, "journal TAMPERED: %v\n", rep.Problem)
			return exitFail
		}
		if *head != "" {
			old, err := journal.ParseTreeHead(*head)
			if err != nil {
				fmt.Fprintf(e.stderr, "ouro verify: --head: %v\n", err)
				return exitUsage
			}
			if _, _, err := jr.Consistency(ctx, old); err != nil {
				fmt.Fprintf(e.stdout, "journal TAMPERED: the kept head %s is not a prefix of the log: %v\n", *head, err)
				return exitFail
			}
		}
		if !*asJSON {
			fmt.Fprintf(e.stdout, "journal intact: %d events, %d checkpoints, %d published heads\ntree head: %s\n", rep.Events, rep.Checkpoints, rep.Published, rep.Head)
		}
		return exitOK
	})
}

func configStateDir(e *env) (string, error) {
	return config.StateDir(e.getenv)
}

func cmdStop(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "stop", "[--why TEXT] RUN", "Stop a run and its whole subtree, from any terminal. The runs' processes see the\nrequest within about a second and kill their sandboxed commands. Exit code 0, or 2 for an unknown run.")
	why := fs.String("why", "", "reason, journaled")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.stderr, "ouro stop: give one run id (see ouro runs)")
		return exitUsage
	}
	return withJournal(ctx, e, "stop", func(jr *journal.Journal) int {
		root, err := jr.Run(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro stop: %v\n", err)
			return exitUsage
		}
		var recs []journal.Record
		var walk func(r ouro.Run)
		walk = func(r ouro.Run) {
			if !r.Status.Ended() {
				recs = append(recs, journal.Record{RunID: r.ID, Type: ouro.EventStopRequested, Data: ouro.StopRequested{By: user(e), Reason: *why}})
			}
			kids, _ := jr.Children(ctx, r.ID)
			for _, k := range kids {
				walk(k)
			}
		}
		walk(root)
		if len(recs) == 0 {
			fmt.Fprintf(e.stdout, "run %s and its subtree already ended\n", root.ID)
			return exitOK
		}
		if _, err := jr.Append(ctx, recs...); err != nil {
			fmt.Fprintf(e.stderr, "ouro stop: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(e.stdout, "stop requested for %d run(s)\n", len(recs))
		return exitOK
	})
}

func user(e *env) string {
	if u := e.getenv("USER"); u != "" {
		return u
	}
	return "user"
}

func cmdApprovals(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "approvals", "[--all] [--json]", "List actions waiting for a person, with the full action, scores, reasons and the run's lineage.\nExit code 0.")
	all := fs.Bool("all", false, "include answered and expired requests")
	asJSON := fs.Bool("json", false, "JSON output")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	return withJournal(ctx, e, "approvals", func(jr *journal.Journal) int {
		status := journal.ApprovalPending
		if *all {
			status = ""
		}
		aps, err := jr.Approvals(ctx, status)
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro approvals: %v\n", err)
			return exitFail
		}
		if *asJSON {
			if aps == nil {
				aps = []journal.Approval{}
			}
			return printJSON(e, aps)
		}
		if len(aps) == 0 {
			fmt.Fprintln(e.stdout, "nothing is waiting for approval")
			return exitOK
		}
		for _, a := range aps {
			act, _ := json.MarshalIndent(a.Action, "    ", "  ")
			fmt.Fprintf(e.stdout, "%s  %s  run %s  lineage %s\n  why: %s (score %d)\n", a.ID, a.Status, a.RunID, strings.Join(a.Lineage, " > "), a.Why, a.Score)
			for _, r := range a.Reasons {
				fmt.Fprintf(e.stdout, "  - %s\n", r)
			}
			if !a.Deadline.IsZero() && a.Status == journal.ApprovalPending {
				fmt.Fprintf(e.stdout, "  denied automatically at %s\n", since(a.Deadline))
			}
			fmt.Fprintf(e.stdout, "  action: %s\n  hash: %s\n\n", act, a.ActionHash)
		}
		return exitOK
	})
}

func cmdApprove(ctx context.Context, e *env, args []string) int {
	return answer(ctx, e, "approve", true, args)
}

func cmdDeny(ctx context.Context, e *env, args []string) int {
	return answer(ctx, e, "deny", false, args)
}

// answer journals a person's answer to an approval request. It binds to
// the request's action hash, so it cannot approve a different action.
func answer(ctx context.Context, e *env, name string, approve bool, args []string) int {
	doc := "Approve a pending action: the run carries on and runs it."
	if !approve {
		doc = "Deny a pending action: the reason goes back to the model as the tool's result."
	}
	fs := newFlagSet(e, name, "[--why TEXT] ID", doc+"\nExit codes: 0 answered, 1 no longer pending, 2 unknown id.")
	why := fs.String("why", "", "the reason, journaled (and shown to the model on deny)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(e.stderr, "ouro %s: give one approval id (see ouro approvals)\n", name)
		return exitUsage
	}
	return withJournal(ctx, e, name, func(jr *journal.Journal) int {
		ap, err := jr.Approval(ctx, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro %s: %v\n", name, err)
			if errors.Is(err, journal.ErrNotFound) {
				return exitUsage
			}
			return exitFail
		}
		if ap.Status != journal.ApprovalPending {
			fmt.Fprintf(e.stderr, "ouro %s: %s is already %s\n", name, ap.ID, ap.Status)
			return exitFail
		}
		_, err = jr.Append(ctx, journal.Record{RunID: ap.RunID, Type: ouro.EventApprovalAnswered,
			Data: ouro.ApprovalAnswered{ID: ap.ID, ActionHash: ap.ActionHash, Approved: approve, By: user(e), Why: *why}})
		if err != nil {
			fmt.Fprintf(e.stderr, "ouro %s: %v\n", name, err)
			return exitFail
		}
		verb := "approved"
		if !approve {
			verb = "denied"
		}
		fmt.Fprintf(e.stdout, "%s %s\n", ap.ID, verb)
		return exitOK
	})
}

func cmdPolicy(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "policy", "test [--repo DIR]", `Evaluate the repository's policy (the built-in default plus .ouro/policy.yaml)
against the example actions in .ouro/policy_test.yaml and report each one.
Exit codes: 0 every example passed, 1 one failed, 2 the policy or examples do not parse.`)
	repo := fs.String("repo", ".", "the repository")
	if len(args) == 0 || args[0] != "test" {
		if code, ok := parseFlags(fs, args); !ok {
			return code
		}
		fs.Usage()
		return exitUsage
	}
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	pol, err := policy.Load(ctx, *repo)
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro policy test: %v\n", err)
		return exitUsage
	}
	exs, err := policy.LoadExamples(filepath.Join(*repo, policy.RepoExamples))
	if err != nil {
		fmt.Fprintf(e.stderr, "ouro policy test: %v\n", err)
		return exitUsage
	}
	if len(exs) == 0 {
		fmt.Fprintf(e.stderr, "ouro policy test: no examples; write them in %s\n", policy.RepoExamples)
		return exitUsage
	}
	failed := 0
	for _, r := range pol.Test(exs) {
		mark := "ok  "
		if !r.Pass {
			mark = "FAIL"
			failed++
		}
		detail := string(r.Got.Decision)
		if r.Got.Rule != "" {
			detail += " by rule " + r.Got.Rule
		}
		if !r.Pass {
			detail = r.Why
		}
		fmt.Fprintf(e.stdout, "%s %s: %s\n", mark, r.Name, detail)
	}
	fmt.Fprintf(e.stdout, "%d examples, %d failed\n", len(exs), failed)
	if failed > 0 {
		return exitFail
	}
	return exitOK
}
