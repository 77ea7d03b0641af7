// Package render provides the human-readable and JSON forms of journal
// events and runs: the live view of `ouro run`, the transcript of `ouro
// log`, and the tables of `ouro runs` and `ouro tree`.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ouro-run/ouro"
)

// Printer writes events as readable text. Live mode (a terminal) streams
// model text as it arrives and shows running totals; otherwise the output
// is plain and quiet: one line per tool call and the run's end.
type Printer struct {
	W       io.Writer
	Live    bool // a terminal: stream text and show totals
	Verbose bool // show tool output and diffs in full (ouro log)
	Color   bool

	mu       sync.Mutex
	inText   bool
	usage    map[string]ouro.Usage
	names    map[string]string // call id -> tool name
	multiRun bool
	lastRun  string
}

// MaxShown is how much of a tool result the non-verbose view shows.
const MaxShown = 400

func (p *Printer) color(code, s string) string {
	if !p.Color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Text streams a delta of model text.
func (p *Printer) Text(runID, delta string) {
	if !p.Live {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.runPrefix(runID)
	if !p.inText {
		p.inText = true
	}
	io.WriteString(p.W, delta)
}

func (p *Printer) endText() {
	if p.inText {
		io.WriteString(p.W, "\n")
		p.inText = false
	}
}

func (p *Printer) runPrefix(runID string) {
	if p.lastRun != "" && p.lastRun != runID {
		p.multiRun = true
	}
	if p.multiRun && p.lastRun != runID {
		p.endText()
		fmt.Fprintf(p.W, "%s\n", p.color("2", "── run "+short(runID)))
	}
	p.lastRun = runID
}

// Event prints one event.
func (p *Printer) Event(ev *ouro.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.usage == nil {
		p.usage = map[string]ouro.Usage{}
		p.names = map[string]string{}
	}
	switch ev.Type {
	case ouro.EventModelRequest, ouro.EventCheckpoint, ouro.EventUsage:
		if ev.Type == ouro.EventUsage {
			var d ouro.UsageRecorded
			if json.Unmarshal(ev.Data, &d) == nil {
				p.usage[ev.RunID] = p.usage[ev.RunID].Add(d.Usage)
			}
		}
		return
	}
	p.runPrefix(ev.RunID)
	p.endText()
	w := p.W
	switch ev.Type {
	case ouro.EventRunStarted:
		var d ouro.RunStarted
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "%s %s  agent %s  model %s\n", p.color("1", "run "+ev.RunID), "", d.Agent, d.Model)
		fmt.Fprintf(w, "  task: %s\n", oneLine(d.Task, 200))
		if d.Worktree != "" {
			fmt.Fprintf(w, "  worktree: %s (branch %s)\n", d.Worktree, d.Branch)
		}
		if d.Sandbox != "" || d.Unsafe {
			sb := d.Sandbox
			if d.Unsafe {
				sb = p.color("31", "NONE (--unsafe-no-sandbox)")
			}
			fmt.Fprintf(w, "  sandbox: %s\n", sb)
		}
	case ouro.EventRunResumed:
		fmt.Fprintf(w, "%s\n", p.color("1", "resumed run "+ev.RunID))
	case ouro.EventModelResponse:
		var d ouro.ModelResponse
		json.Unmarshal(ev.Data, &d)
		if (!p.Live || p.Verbose) && strings.TrimSpace(d.Message.Text) != "" {
			fmt.Fprintf(w, "%s %s\n", p.color("36", "agent:"), indent(strings.TrimSpace(d.Message.Text)))
		}
		for _, c := range d.Message.ToolCalls {
			p.names[c.ID] = c.Name
		}
	case ouro.EventToolCall:
		var d ouro.ToolCalled
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "%s %s %s\n", p.color("33", "→"), d.Call.Name, oneLine(describeInput(d.Call), 160))
	case ouro.EventPolicyDecision:
		var d ouro.PolicyDecided
		json.Unmarshal(ev.Data, &d)
		if d.Decision != ouro.Allow {
			fmt.Fprintf(w, "  %s %s %s\n", p.color("31", "policy"), d.Decision, oneLine(d.Rule+": "+d.Message, 200))
		}
	case ouro.EventMonitorScore:
		var d ouro.MonitorScored
		json.Unmarshal(ev.Data, &d)
		if d.Score > 0 {
			fmt.Fprintf(w, "  %s %d (%s) %s\n", p.color("35", "monitor"), d.Score, d.Stage, oneLine(d.Reason, 200))
		}
	case ouro.EventApprovalRequested:
		var d ouro.ApprovalRequested
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "  %s %s: %s\n    answer with: ouro approve %s   or: ouro deny %s --why \"...\"\n",
			p.color("1;33", "waiting for approval"), d.ID, oneLine(d.Why, 200), d.ID, d.ID)
	case ouro.EventApprovalAnswered:
		var d ouro.ApprovalAnswered
		json.Unmarshal(ev.Data, &d)
		verdict := "approved"
		if !d.Approved {
			verdict = "denied"
		}
		fmt.Fprintf(w, "  %s %s by %s %s\n", d.ID, verdict, d.By, d.Why)
	case ouro.EventToolResult:
		var d ouro.ToolReturned
		json.Unmarshal(ev.Data, &d)
		mark := p.color("32", "✓")
		if d.Result.IsError {
			mark = p.color("31", "✗")
		}
		content := d.Result.Content
		if !p.Verbose {
			content = clip(content, MaxShown)
		}
		if p.Verbose || d.Result.IsError || p.Live {
			fmt.Fprintf(w, "  %s %s\n", mark, indent(strings.TrimRight(content, "\n")))
		} else {
			fmt.Fprintf(w, "  %s %s\n", mark, oneLine(content, 120))
		}
	case ouro.EventFileDiff:
		var d ouro.FileDiff
		json.Unmarshal(ev.Data, &d)
		if p.Verbose {
			fmt.Fprintf(w, "%s\n", indent(strings.TrimRight(d.Diff, "\n")))
		} else {
			add, del := diffCounts(d.Diff)
			fmt.Fprintf(w, "  %s %s +%d -%d\n", p.color("2", "diff"), d.Path, add, del)
		}
	case ouro.EventCompaction:
		var d ouro.Compacted
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "  %s %d messages summarised (%d tokens of %d)\n", p.color("2", "compacted"), d.DroppedTurns, d.TokensBefore, d.ContextWindow)
	case ouro.EventError:
		var d ouro.ErrorRecorded
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "%s %s\n", p.color("31", "error:"), d.Message)
	case ouro.EventBudgetExceeded:
		var d ouro.BudgetExceeded
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "%s %s used %s of %s\n", p.color("31", "budget exceeded:"), d.Limit, d.Used, d.Max)
	case ouro.EventStopRequested:
		var d ouro.StopRequested
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "%s by %s %s\n", p.color("31", "stop requested"), d.By, d.Reason)
	case ouro.EventDelegated:
		var d ouro.Delegated
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "  %s %s (%s): %s\n", p.color("34", "delegated to"), d.ChildID, d.Agent, oneLine(d.Task, 120))
	case ouro.EventDelegateReturned:
		var d ouro.DelegateReturned
		json.Unmarshal(ev.Data, &d)
		merged := "merged"
		if !d.Merged {
			merged = "not merged"
		}
		if d.Conflict != "" {
			merged = "conflict"
		}
		fmt.Fprintf(w, "  %s %s %s, %s\n", p.color("34", "child returned"), d.ChildID, d.Status, merged)
	case ouro.EventCommit:
		var d ouro.Committed
		json.Unmarshal(ev.Data, &d)
		fmt.Fprintf(w, "  %s %s on %s (%d files)\n", p.color("32", "committed"), short(d.Commit), d.Branch, d.Files)
	case ouro.EventRunFinished:
		var d ouro.RunFinished
		json.Unmarshal(ev.Data, &d)
		u := p.usage[ev.RunID]
		line := fmt.Sprintf("run %s %s", ev.RunID, d.Status)
		code := "32"
		if d.Status != ouro.StatusFinished {
			code = "31"
		}
		fmt.Fprintf(w, "%s  tokens in %d out %d  cost $%.4f\n", p.color("1;"+code, line), u.InputTokens, u.OutputTokens, u.CostUSD)
		if d.Summary != "" {
			fmt.Fprintf(w, "  summary: %s\n", indent(d.Summary))
		}
		if d.Error != "" {
			fmt.Fprintf(w, "  reason: %s\n", d.Error)
		}
	}
}

// JSON writes each event as one JSON line.
type JSON struct {
	mu sync.Mutex
	W  io.Writer
}

// Event writes ev.
func (j *JSON) Event(ev *ouro.Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, _ := json.Marshal(ev)
	j.W.Write(append(b, '\n'))
}

// Text is ignored: the model's text is in its model.response event.
func (j *JSON) Text(string, string) {}

// Runs writes the run list as a table.
func Runs(w io.Writer, runs []ouro.Run, now time.Time) {
	fmt.Fprintf(w, "%-14s %-12s %-14s %-8s %-22s %8s %8s %8s %8s  %s\n", "ID", "STATUS", "PARENT", "AGENT", "MODEL", "IN", "OUT", "COST", "TIME", "TASK / BRANCH")
	for _, r := range runs {
		status := string(r.Status)
		if r.Unsafe {
			status += " UNSAFE"
		}
		parent := r.ParentID
		if parent == "" {
			parent = "-"
		}
		fmt.Fprintf(w, "%-14s %-12s %-14s %-8s %-22s %8d %8d %8s %8s  %s  [%s]\n", r.ID, status, parent, clip(r.Agent, 8), clip(r.Model, 22),
			r.InputTokens, r.OutputTokens, fmt.Sprintf("$%.3f", r.CostUSD), duration(r, now), oneLine(r.Task, 50), r.Branch)
	}
}

// Tree writes a delegation tree: each run and, indented, its children.
func Tree(w io.Writer, root ouro.Run, children func(id string) []ouro.Run, now time.Time) {
	var walk func(r ouro.Run, prefix string, last bool, top bool)
	walk = func(r ouro.Run, prefix string, last bool, top bool) {
		branch, next := "", ""
		if !top {
			if last {
				branch, next = "└─ ", "   "
			} else {
				branch, next = "├─ ", "│  "
			}
		}
		status := string(r.Status)
		if r.Unsafe {
			status += " UNSAFE"
		}
		fmt.Fprintf(w, "%s%s%s %s %s $%.3f in %d out %d %s [%s] %s\n", prefix, branch, r.ID, status, r.Agent, r.CostUSD,
			r.InputTokens, r.OutputTokens, duration(r, now), r.Branch, oneLine(r.Task, 60))
		kids := children(r.ID)
		for i, k := range kids {
			walk(k, prefix+next, i == len(kids)-1, false)
		}
	}
	walk(root, "", true, true)
}

func duration(r ouro.Run, now time.Time) string {
	end := r.EndedAt
	if end.IsZero() {
		end = now
	}
	if r.StartedAt.IsZero() {
		return "-"
	}
	d := end.Sub(r.StartedAt)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}

func describeInput(c ouro.ToolCall) string {
	var m map[string]any
	if json.Unmarshal(c.Input, &m) != nil {
		return string(c.Input)
	}
	for _, k := range []string{"command", "path", "pattern", "task", "summary"} {
		if v, ok := m[k].(string); ok {
			return v
		}
	}
	return string(c.Input)
}

func diffCounts(d string) (add, del int) {
	for _, l := range strings.Split(d, "\n") {
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
		case strings.HasPrefix(l, "+"):
			add++
		case strings.HasPrefix(l, "-"):
			del++
		}
	}
	return add, del
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	return clip(s, n)
}

func indent(s string) string {
	return strings.ReplaceAll(s, "\n", "\n    ")
}
