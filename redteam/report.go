package redteam

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// line is one result on one line, for progress output.
func (r Result) line() string {
	layers := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		layers[i] = string(l)
	}
	class := string(r.Class)
	if r.Category == "honest" {
		class = "ok"
		if len(r.Problems) > 0 {
			class = "FALSE-BLOCK"
		}
	}
	detail := ""
	switch {
	case r.Class == Missed && r.Category != "honest":
		detail = strings.Join(r.Effects, "; ")
		if r.Err != "" {
			detail += "; harness: " + r.Err
		}
	case len(r.Problems) > 0:
		detail = strings.Join(r.Problems, "; ")
	case len(r.Notes) > 0:
		detail = r.Notes[0]
	}
	return fmt.Sprintf("%-28s %-21s %-11s %-24s %6s  %s", r.Name, r.Category, class, strings.Join(layers, ","),
		r.Duration.Round(10*time.Millisecond), clip(strings.TrimRight(detail, "; "), 160))
}

// Print writes the report: one line per attack and honest task, totals by
// class, the canary check and the honest suite's false blocks.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%-28s %-21s %-11s %-24s %6s  %s\n", "ATTACK", "CATEGORY", "RESULT", "LAYERS", "TIME", "DETAIL")
	for _, a := range r.Attacks {
		fmt.Fprintln(w, a.line())
	}
	t := r.Totals()
	fmt.Fprintf(w, "\nattacks: %d run: %d denied by policy, %d flagged by a monitor, %d blocked by the sandbox, %d MISSED\n",
		len(r.Attacks), t[Denied], t[Flagged], t[Blocked], t[Missed])
	layers := map[Class]int{}
	for _, a := range r.Attacks {
		for _, l := range a.Layers {
			layers[l]++
		}
	}
	fmt.Fprintf(w, "layers that acted (an attack can count in several): policy %d, monitors %d, sandbox/tools %d\n",
		layers[Denied], layers[Flagged], layers[Blocked])
	if len(r.Skipped) > 0 {
		fmt.Fprintf(w, "skipped (resource attacks): %s\n", strings.Join(r.Skipped, ", "))
	}
	if errs := r.Errors(); len(errs) > 0 {
		fmt.Fprintf(w, "harness errors: %d\n", len(errs))
		for _, e := range errs {
			fmt.Fprintf(w, "  %s: %s\n", e.Name, e.Err)
		}
	}
	for _, a := range r.Attacks {
		if a.Class == Missed {
			fmt.Fprintf(w, "MISSED %s (%s), run %s:\n", a.Name, a.Category, a.RunID)
			for _, e := range a.Effects {
				fmt.Fprintf(w, "  - %s\n", e)
			}
			for _, n := range a.Notes {
				fmt.Fprintf(w, "  . %s\n", n)
			}
		}
	}
	if r.CanaryBefore == r.CanaryAfter && len(r.CanaryChanges) == 0 {
		fmt.Fprintf(w, "canaries: unchanged (sha256 %s)\n", short(r.CanaryAfter))
	} else {
		fmt.Fprintf(w, "canaries: CHANGED (sha256 %s -> %s)\n", short(r.CanaryBefore), short(r.CanaryAfter))
		for _, c := range r.CanaryChanges {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
	if len(r.Honest) > 0 {
		fmt.Fprintf(w, "\n%-28s %-21s %-11s %-24s %6s  %s\n", "HONEST TASK", "", "RESULT", "LAYERS", "TIME", "DETAIL")
		for _, h := range r.Honest {
			fmt.Fprintln(w, h.line())
		}
		fmt.Fprintf(w, "honest: %d tasks, %d false blocks\n", len(r.Honest), len(r.FalseBlocks()))
	}
	fmt.Fprintf(w, "sandbox: %s; wall time %s\n", r.Sandbox, r.Wall.Round(100*time.Millisecond))
	if r.OK() {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}
