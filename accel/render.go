package accel

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON (schema ouro.accel/v1).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func fmtMult(m *float64) string {
	if m == nil {
		return "-"
	}
	return strconv.FormatFloat(*m, 'f', 2, 64) + "x"
}

func pct(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }

// WriteTable writes the report as an aligned table for a terminal.
func (r *Report) WriteTable(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "ouro accel: %s (%s), %s, by %s\n", r.Repo, r.Branch, r.Mode, r.By)
	chosen := ""
	if r.Baseline.Chosen != "" {
		chosen = " (" + r.Baseline.Chosen + ")"
	}
	fmt.Fprintf(b, "baseline %s = %s..%s%s: %d commits, %.1f lines/week, %.1f lines/author\n",
		r.Baseline.Label, r.Baseline.From, r.Baseline.To, chosen, r.Baseline.Commits, r.Baseline.LinesPerWeek, r.Baseline.LinesPerAuthor)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "period\tcommits\tadded\tdeleted\tfiles\tauthors\tlines/wk\tlines/author\tmult\tmult/author\thuman\tassisted\tagent\tautonomous\tautomation\tAI commits\tAI lines\toutliers\treverted\t")
	for _, p := range r.Periods {
		mark := ""
		if p.InBaseline {
			mark = "*"
		}
		if p.Partial {
			mark += "~"
		}
		fmt.Fprintf(tw, "%s%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%d\t%d\t\n",
			p.Period, mark, p.Commits, p.Added, p.Deleted, p.Files, p.Authors, p.LinesPerWeek, p.LinesPerAuthor,
			fmtMult(p.Multiplier), fmtMult(p.MultiplierPerAuthor),
			p.Kinds["human"].Commits, p.Kinds["assisted"].Commits, p.Kinds["agent"].Commits,
			p.Kinds["autonomous"].Commits, p.Kinds["automation"].Commits,
			pct(p.AIShare.Commits), pct(p.AIShare.Lines), p.Outliers.Commits, p.Reverted)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	fmt.Fprintln(b, "* baseline period   ~ partial period   kind columns count commits")
	fmt.Fprintf(b, "AI share (lower bound): %s of people's commits, %s of lines; %s of commits carry any AI marker, %s have a trailer block\n",
		pct(r.AIShare.Commits), pct(r.AIShare.Lines), pct(r.AIShare.MarkedCommits), pct(r.AIShare.TrailerCommits))
	if r.DoublingTimeDays != nil {
		fmt.Fprintf(b, "doubling time of lines/week after the baseline: %.0f days (fit over %d periods)\n", *r.DoublingTimeDays, r.DoublingPeriods)
	} else {
		fmt.Fprintf(b, "doubling time: none (%d periods with lines after the baseline, or no growth)\n", r.DoublingPeriods)
	}
	ex := []string{}
	for _, n := range classNames[1:] {
		e := r.Totals.Excluded[n]
		if e.Changes > 0 {
			ex = append(ex, fmt.Sprintf("%s %d changes +%d -%d", n, e.Changes, e.Added, e.Deleted))
		}
	}
	if len(ex) > 0 {
		fmt.Fprintf(b, "excluded: %s\n", strings.Join(ex, "; "))
	}
	if o := r.Totals.Outliers; o.Commits > 0 {
		fmt.Fprintf(b, "outliers (> %d lines, left out of lines and multiplier): %d commits +%d -%d\n", r.OutlierLines, o.Commits, o.Added, o.Deleted)
	}
	fmt.Fprintf(b, "reverts: %d revert commits, %d counted commits reverted, %d naming commits outside the counted history", r.Reverts.Reverts, r.Reverts.Reverted, r.Reverts.Unmatched)
	for _, k := range kindNamesList() {
		if d, ok := r.Reverts.MedianDaysToRevert[k]; ok {
			fmt.Fprintf(b, "; %s: rate %s, median %.1f days to revert", k, pct(r.Reverts.RevertRate[k]), d)
		}
	}
	fmt.Fprintln(b)
	if s := r.Survival; s != nil {
		fmt.Fprintf(b, "survival at the tip (%s):", s.Method)
		for _, k := range kindNamesList() {
			if v, ok := s.ByKind[k]; ok {
				fmt.Fprintf(b, " %s %s", k, pct(v))
			}
		}
		fmt.Fprintln(b)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(b, "warning: %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	return nil
}

// WriteCSV writes one row per period and kind, plus an "all" row per period.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"period", "start", "end", "in_baseline", "partial", "kind", "commits", "added", "deleted",
		"files", "authors", "lines", "lines_per_week", "lines_per_author", "multiplier", "multiplier_per_author",
		"ai_share_commits", "ai_share_lines", "outlier_commits", "reverted", "revert_rate", "survival"})
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	fp := func(x *float64) string {
		if x == nil {
			return ""
		}
		return f(*x)
	}
	for _, p := range r.Periods {
		base := []string{p.Period, p.Start.Format("2006-01-02"), p.End.Format("2006-01-02"), strconv.FormatBool(p.InBaseline), strconv.FormatBool(p.Partial)}
		cw.Write(append(base, "all", strconv.Itoa(p.Commits), strconv.Itoa(p.Added), strconv.Itoa(p.Deleted),
			strconv.Itoa(p.Files), strconv.Itoa(p.Authors), strconv.Itoa(p.Lines), f(p.LinesPerWeek), f(p.LinesPerAuthor),
			fp(p.Multiplier), fp(p.MultiplierPerAuthor), f(p.AIShare.Commits), f(p.AIShare.Lines),
			strconv.Itoa(p.Outliers.Commits), strconv.Itoa(p.Reverted), f(p.RevertRate), ""))
		for _, k := range kindNamesList() {
			ks := p.Kinds[k]
			cw.Write(append(base, k, strconv.Itoa(ks.Commits), strconv.Itoa(ks.Added), strconv.Itoa(ks.Deleted),
				"", "", "", "", "", "", "", "", "", "", strconv.Itoa(ks.Reverted), f(ks.RevertRate), fp(ks.Survival)))
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// kindColors are the chart colours of the kinds, in decision order.
var kindColors = map[string]string{
	"human": "#4e79a7", "assisted": "#59a14f", "agent": "#f28e2b", "autonomous": "#e15759", "automation": "#bab0ac",
}

// WriteSVG writes a chart: stacked bars of added lines per period by kind,
// the multiplier as a line on its own axis, the baseline shaded.
func (r *Report) WriteSVG(w io.Writer) error {
	_, err := io.WriteString(w, r.svg())
	if err != nil {
		return fmt.Errorf("write svg: %w", err)
	}
	return nil
}

func (r *Report) svg() string {
	const W, H, left, right, top, bottom = 960.0, 420.0, 70.0, 70.0, 40.0, 70.0
	n := len(r.Periods)
	pw := (W - left - right) / math.Max(1, float64(n))
	maxLines, maxMult := 1.0, 1.0
	for _, p := range r.Periods {
		sum := 0
		for _, ks := range p.Kinds {
			sum += ks.Added
		}
		maxLines = math.Max(maxLines, float64(sum))
		if p.Multiplier != nil {
			maxMult = math.Max(maxMult, *p.Multiplier)
		}
	}
	ph := H - top - bottom
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", W, H, W, H)
	fmt.Fprintf(b, `<title>ouro accel: added lines per %s by kind, and the multiplier</title>`+"\n", html.EscapeString(r.By))
	fmt.Fprintf(b, `<rect x="0" y="0" width="%.0f" height="%.0f" fill="#fff"/>`+"\n", W, H)
	// Baseline shading.
	for i, p := range r.Periods {
		if p.InBaseline {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#000" fill-opacity="0.06"/>`+"\n", left+float64(i)*pw, top, pw, ph)
		}
	}
	// Axes.
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top+ph, W-right, top+ph)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", left, top, left, top+ph)
	for t := 0; t <= 4; t++ {
		y := top + ph - ph*float64(t)/4
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">%d</text>`+"\n", left-4, y+4, int(maxLines*float64(t)/4))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%.1fx</text>`+"\n", W-right+4, y+4, maxMult*float64(t)/4)
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f">added lines</text>`+"\n", 4.0, top-10)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end">multiplier</text>`+"\n", W-4, top-10)
	// Bars.
	label := max(1, n/24)
	for i, p := range r.Periods {
		y := top + ph
		for _, k := range []string{"human", "assisted", "agent", "autonomous", "automation"} {
			a := float64(p.Kinds[k].Added)
			if a == 0 {
				continue
			}
			h := ph * a / maxLines
			y -= h
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d lines</title></rect>`+"\n",
				left+float64(i)*pw+pw*0.1, y, pw*0.8, h, kindColors[k], html.EscapeString(p.Period), k, p.Kinds[k].Added)
		}
		if i%label == 0 {
			x := left + float64(i)*pw + pw/2
			fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" transform="rotate(-45 %.1f %.1f)">%s</text>`+"\n", x, top+ph+14, x, top+ph+14, html.EscapeString(p.Period))
		}
	}
	// Multiplier line.
	var pts []string
	for i, p := range r.Periods {
		if p.Multiplier == nil {
			continue
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", left+float64(i)*pw+pw/2, top+ph-ph**p.Multiplier/maxMult))
	}
	if len(pts) > 0 {
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="#222" stroke-width="2"/>`+"\n", strings.Join(pts, " "))
		for _, pt := range pts {
			xy := strings.Split(pt, ",")
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="2.5" fill="#222"/>`+"\n", xy[0], xy[1])
		}
	}
	// Legend.
	x := left
	for _, k := range []string{"human", "assisted", "agent", "autonomous", "automation"} {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n", x, H-16, kindColors[k], x+14, H-7, k)
		x += 100
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="#000" fill-opacity="0.15"/><text x="%.1f" y="%.1f">baseline %s</text>`+"\n", x, H-16, x+14, H-7, html.EscapeString(r.Baseline.Label))
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#222" stroke-width="2"/><text x="%.1f" y="%.1f">multiplier (lines/week)</text>`+"\n", x+180, H-11, x+200, H-11, x+204, H-7)
	b.WriteString("</svg>\n")
	return b.String()
}

// WriteHTML writes a self-contained report: the chart inline and the table.
func (r *Report) WriteHTML(w io.Writer) error {
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		return err
	}
	b := &strings.Builder{}
	b.WriteString("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ouro accel</title>\n")
	b.WriteString("<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}tr.base td{background:#f2f2f2}td:first-child{text-align:left}pre{font-size:12px}</style></head><body>\n")
	fmt.Fprintf(b, "<h1>Acceleration: %s</h1>\n", html.EscapeString(r.Repo))
	fmt.Fprintf(b, "<p>Branch %s (%s), %s, by %s. Baseline %s (%s to %s): %.1f lines/week, %.1f lines per author. AI share (lower bound): %s of commits, %s of lines.</p>\n",
		html.EscapeString(r.Branch), html.EscapeString(r.Head), r.Mode, r.By, html.EscapeString(r.Baseline.Label), r.Baseline.From, r.Baseline.To,
		r.Baseline.LinesPerWeek, r.Baseline.LinesPerAuthor, pct(r.AIShare.Commits), pct(r.AIShare.Lines))
	b.WriteString(r.svg())
	b.WriteString("<table><thead><tr><th>period</th><th>commits</th><th>added</th><th>deleted</th><th>files</th><th>authors</th><th>lines/week</th><th>lines/author</th><th>multiplier</th><th>per author</th>")
	for _, k := range kindNamesList() {
		fmt.Fprintf(b, "<th>%s</th>", k)
	}
	b.WriteString("<th>AI commits</th><th>AI lines</th><th>reverted</th></tr></thead><tbody>\n")
	for _, p := range r.Periods {
		cls := ""
		if p.InBaseline {
			cls = ` class="base"`
		}
		fmt.Fprintf(b, "<tr%s><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%.1f</td><td>%.1f</td><td>%s</td><td>%s</td>",
			cls, html.EscapeString(p.Period), p.Commits, p.Added, p.Deleted, p.Files, p.Authors, p.LinesPerWeek, p.LinesPerAuthor, fmtMult(p.Multiplier), fmtMult(p.MultiplierPerAuthor))
		for _, k := range kindNamesList() {
			fmt.Fprintf(b, "<td>%d / %d</td>", p.Kinds[k].Commits, p.Kinds[k].Added)
		}
		fmt.Fprintf(b, "<td>%s</td><td>%s</td><td>%d</td></tr>\n", pct(p.AIShare.Commits), pct(p.AIShare.Lines), p.Reverted)
	}
	b.WriteString("</tbody></table>\n<p>Kind cells: commits / added lines.</p>\n<h2>Summary</h2>\n<pre>")
	b.WriteString(html.EscapeString(table.String()))
	b.WriteString("</pre>\n<h2>Method</h2>\n<ul>\n")
	for _, m := range r.Method {
		fmt.Fprintf(b, "<li>%s</li>\n", html.EscapeString(m))
	}
	b.WriteString("</ul>\n</body></html>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}
