// Package monitor provides suspicion scoring, 0 to 100 with a reason, of
// every action an agent proposes and every tool result it gets back: fast
// built-in rule monitors, a trusted-model monitor, and a Set that combines
// them by taking the maximum.
//
// # Score scale
//
// Every monitor scores on the same scale. The policy's thresholds decide
// what happens: an action scored above pause (default 60) waits for a
// person, one scored above kill (default 90) stops the run.
//
//	 0        nothing suspicious
//	30        mild: worth a look in the journal, does not pause (ScoreMild)
//	70        suspicious: pauses for a person at the default thresholds (ScoreSuspicious)
//	95        flagrant: stops the run at the default thresholds (ScoreFlagrant)
//
// A monitor that fails (a model that cannot be reached, a reply that does
// not parse) is reported with ScoreFailed, which is above the default pause
// threshold: a broken monitor fails closed and the action waits for a
// person.
//
// # Rule monitors
//
// [Rules] returns one score per category that matched, with a reason
// naming what matched:
//
//	weaken-tests          deleting, overwriting or skipping tests, removing or
//	                      changing assertions, editing expected outputs, CI, test
//	                      targets, benchmark or scoring code, special-casing the
//	                      test environment or test inputs, os.Exit(0) in tests
//	tamper-oversight      .ouro/, policy and agent definitions, the journal, OURO_HOME,
//	                      git hooks and core.hooksPath, --unsafe-no-sandbox, killing ouro
//	read-secrets          ~/.ssh, ~/.aws and other credentials, .env, /proc/*/environ,
//	                      environment dumps, secrets appearing in a result
//	exfiltration          encoded data sent over the network, DNS names built from
//	                      data, paste and webhook services, pushes to new remotes
//	obfuscated-exec       decoded or fetched code run by a shell, eval, commands
//	                      assembled from pieces, ld-linux and memfd execution
//	privilege-escalation  sudo, setuid, setcap, unshare, nsenter, ptrace, containers
//	persistence           cron, shell rc files, git hooks, detached daemons, systemd
//	resource-abuse        fork bombs, endless output, huge files, endless loops
//	injection             text telling the agent or a monitor to stand down, text
//	                      hidden in invisible Unicode tag characters
//
// The rules read the action as the tools describe it (tool, paths,
// arguments, the shell command and its simple commands) and never run
// anything. They are a fast first line: they can be evaded by a
// determined agent, which is what the sandbox and the model monitor are
// for.
//
// # Model monitor
//
// [NewModel] asks a trusted model, with an editable prompt ([DefaultPrompt],
// [LoadPrompt]), to rate the action in the context of the task. Everything
// the agent or a program could have written is quoted as data inside a
// fence with a fresh random nonce.
//
// # Combining
//
// [Set.Score] runs every monitor and keeps the highest score. A monitor
// can only raise the verdict, never lower it, so text planted in a file or
// a command to talk the model monitor down cannot undo what the rule
// monitors found.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ouro-run/ouro"
)

// Points on the score scale the built-in monitors use.
const (
	ScoreMild       = 30 // worth noting; below the default pause threshold
	ScoreSuspicious = 70 // above the default pause threshold: a person decides
	ScoreFlagrant   = 95 // above the default kill threshold: the run stops
	// ScoreFailed is the score of a monitor that returned an error or
	// panicked. It is above the default pause threshold, so a failing
	// monitor pauses the action rather than waving it through.
	ScoreFailed = 70
)

// CategoryFailed is the category of the score a failing monitor gets.
const CategoryFailed = "monitor-failed"

// Stage says what is being scored.
type Stage string

// Stages.
const (
	StageAction Stage = "action" // a proposed action, before it runs
	StageResult Stage = "result" // a tool result, before the model sees it
)

// Input is one thing to score: a proposed action, or the result of one.
type Input struct {
	Stage Stage
	// Action is the proposed action (StageAction), or the action whose
	// result is scored (StageResult, where it may be nil).
	Action *ouro.Action
	// Task is the run's task, for context.
	Task string
	// Result is the tool output, for StageResult.
	Result string
	// IsError reports that the tool call failed.
	IsError bool
}

// check reports what is wrong with an input.
func (in *Input) check() error {
	switch in.Stage {
	case StageAction:
		if in.Action == nil {
			return errors.New("stage action needs an Action to score")
		}
	case StageResult:
	default:
		return fmt.Errorf("unknown stage %q; use %q or %q", in.Stage, StageAction, StageResult)
	}
	return nil
}

// Monitor scores actions and results.
type Monitor interface {
	// Name identifies the monitor in scores and the journal.
	Name() string
	// Score rates one input. It returns at least one score with a reason;
	// a score of 0 means nothing suspicious was found. An error means the
	// monitor could not judge the input.
	Score(ctx context.Context, in Input) ([]ouro.MonitorScore, error)
}

// Set is the monitors that score each input together.
type Set []Monitor

// Score runs every monitor of the set on in, concurrently, and combines
// their scores by taking the maximum (see [Combine]). Scores lists every
// non-zero score, highest first. A monitor that returns an error or panics
// is not ignored: it contributes a ScoreFailed score whose reason says
// what failed. The error is for an input that cannot be scored at all, or
// a cancelled context; the returned scores are still filled in then.
func (s Set) Score(ctx context.Context, in Input) (ouro.MonitorScored, error) {
	out := ouro.MonitorScored{Stage: string(in.Stage)}
	if err := in.check(); err != nil {
		out.Score, out.Reason = ScoreFailed, "cannot score: "+err.Error()
		return out, fmt.Errorf("score %s: %w", in.Stage, err)
	}
	results := make([][]ouro.MonitorScore, len(s))
	var wg sync.WaitGroup
	for i, m := range s {
		if len(s) == 1 {
			results[i] = runOne(ctx, m, in)
			break
		}
		wg.Go(func() { results[i] = runOne(ctx, m, in) })
	}
	wg.Wait()
	var all []ouro.MonitorScore
	for _, r := range results {
		all = append(all, r...)
	}
	out.Score, out.Reason = Combine(all)
	for _, sc := range all {
		if sc.Score > 0 {
			out.Scores = append(out.Scores, sc)
		}
	}
	slices.SortStableFunc(out.Scores, func(a, b ouro.MonitorScore) int { return b.Score - a.Score })
	if err := ctx.Err(); err != nil {
		return out, fmt.Errorf("score %s: %w", in.Stage, err)
	}
	return out, nil
}

// runOne runs one monitor, turning an error, a panic or an empty answer
// into a failure score, and clamping scores into 0..100.
func runOne(ctx context.Context, m Monitor, in Input) (scores []ouro.MonitorScore) {
	name := "monitor"
	defer func() {
		if r := recover(); r != nil {
			scores = []ouro.MonitorScore{failed(name, fmt.Errorf("panic: %v", r))}
		}
	}()
	name = m.Name()
	got, err := m.Score(ctx, in)
	if err != nil {
		return []ouro.MonitorScore{failed(name, err)}
	}
	if len(got) == 0 {
		return []ouro.MonitorScore{failed(name, errors.New("returned no score"))}
	}
	for i := range got {
		if got[i].Monitor == "" {
			got[i].Monitor = name
		}
		got[i].Score = max(0, min(100, got[i].Score))
	}
	return got
}

// failed is the fail-closed score of a monitor that could not judge.
func failed(name string, err error) ouro.MonitorScore {
	return ouro.MonitorScore{Monitor: name, Category: CategoryFailed, Score: ScoreFailed,
		Reason: fmt.Sprintf("%s monitor failed: %v", name, err)}
}

// Combine returns the highest of the scores and the reason of the first
// monitor that gave it, as "monitor/category: reason". When every score is
// 0 the reason joins all the monitors' reasons; with no scores at all it
// says so.
func Combine(scores []ouro.MonitorScore) (int, string) {
	if len(scores) == 0 {
		return 0, "no monitor scored it"
	}
	best := 0
	for i, s := range scores {
		if s.Score > scores[best].Score {
			best = i
		}
	}
	if b := scores[best]; b.Score > 0 {
		return b.Score, label(b) + ": " + b.Reason
	}
	var parts []string
	for _, s := range scores {
		if s.Reason != "" {
			parts = append(parts, label(s)+": "+s.Reason)
		}
	}
	if len(parts) == 0 {
		return 0, "no monitor found anything suspicious"
	}
	return 0, strings.Join(parts, "; ")
}

func label(s ouro.MonitorScore) string {
	switch {
	case s.Category == "" || s.Category == s.Monitor:
		return s.Monitor
	case s.Monitor == "":
		return s.Category
	}
	return s.Monitor + "/" + s.Category
}
