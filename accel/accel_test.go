package accel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

var may2024 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

func mustWindow(t *testing.T, s string) *Window {
	t.Helper()
	w, err := ParseWindow(s)
	if err != nil {
		t.Fatal(err)
	}
	return &w
}

func fmtp(p *float64) string {
	if p == nil {
		return "nil"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func findPeriod(t *testing.T, r *Report, name string) *PeriodReport {
	t.Helper()
	for i := range r.Periods {
		if r.Periods[i].Period == name {
			return &r.Periods[i]
		}
	}
	t.Fatalf("no period %s in report", name)
	return nil
}

func TestAnalyzeStory(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, Baseline: mustWindow(t, "2024-01..2024-02")})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(rep.Periods); got != 4 {
		t.Fatalf("periods = %d, want 4 (2024-01..2024-04)", got)
	}
	// Worked out by hand from the comments in buildStory.
	type kindWant struct{ commits, added, deleted int }
	type want struct {
		commits, added, deleted, files, authors, lines int
		weeks                                          float64
		kinds                                          map[string]kindWant
		outliers                                       int
		reverted                                       int
	}
	wants := map[string]want{
		"2024-01": {commits: 2, added: 161, deleted: 0, files: 5, authors: 2, lines: 161, weeks: 31.0 / 7,
			kinds: map[string]kindWant{"human": {2, 161, 0}}},
		"2024-02": {commits: 4, added: 70, files: 4, authors: 3, lines: 70, weeks: 29.0 / 7,
			kinds: map[string]kindWant{"human": {4, 70, 0}}},
		// automation c7 (+1 -1 in go.mod); assisted c8 40, c13 5; agent c9
		// 60, c10 25, c12 15; autonomous c11 35; human c14 8, c15 -60,
		// merge 12, c17 outlier.
		"2024-03": {commits: 11, added: 1 + 45 + 100 + 35 + 20, deleted: 1 + 60, files: 10, authors: 3, lines: 200, weeks: 31.0 / 7,
			kinds:    map[string]kindWant{"automation": {1, 1, 1}, "assisted": {2, 45, 0}, "agent": {3, 100, 0}, "autonomous": {1, 35, 0}, "human": {4, 20, 60}},
			outliers: 1, reverted: 1},
		"2024-04": {commits: 4, added: 501, deleted: 1, files: 4, authors: 2, lines: 500, weeks: 30.0 / 7,
			kinds: map[string]kindWant{"automation": {1, 1, 1}, "assisted": {1, 300, 0}, "agent": {1, 100, 0}, "human": {1, 100, 0}}},
	}
	for name, w := range wants {
		p := findPeriod(t, rep, name)
		if p.Commits != w.commits || p.Added != w.added || p.Deleted != w.deleted || p.Files != w.files || p.Authors != w.authors || p.Lines != w.lines {
			t.Errorf("%s: commits/added/deleted/files/authors/lines = %d/%d/%d/%d/%d/%d, want %d/%d/%d/%d/%d/%d", name,
				p.Commits, p.Added, p.Deleted, p.Files, p.Authors, p.Lines, w.commits, w.added, w.deleted, w.files, w.authors, w.lines)
		}
		if !near(p.Weeks, w.weeks) {
			t.Errorf("%s: weeks = %v, want %v", name, p.Weeks, w.weeks)
		}
		for _, k := range kindNamesList() {
			got := p.Kinds[k]
			kw := w.kinds[k]
			if got.Commits != kw.commits || got.Added != kw.added || got.Deleted != kw.deleted {
				t.Errorf("%s %s: %d commits +%d -%d, want %d +%d -%d", name, k, got.Commits, got.Added, got.Deleted, kw.commits, kw.added, kw.deleted)
			}
		}
		if p.Outliers.Commits != w.outliers || p.Reverted != w.reverted {
			t.Errorf("%s: outliers %d reverted %d, want %d %d", name, p.Outliers.Commits, p.Reverted, w.outliers, w.reverted)
		}
	}
	if o := findPeriod(t, rep, "2024-03").Outliers; o.Added != 6000 {
		t.Errorf("outlier lines = %d, want 6000", o.Added)
	}
	// Baseline: (161+70) lines over 60 days; per author mean(161/2, 70/3).
	bLPW := 231.0 / (60.0 / 7)
	bLPA := (161.0/2 + 70.0/3) / 2
	if !near(rep.Baseline.LinesPerWeek, bLPW) || !near(rep.Baseline.LinesPerAuthor, bLPA) {
		t.Errorf("baseline = %v lines/week, %v lines/author; want %v, %v", rep.Baseline.LinesPerWeek, rep.Baseline.LinesPerAuthor, bLPW, bLPA)
	}
	if rep.Baseline.Commits != 6 || strings.Join(rep.Baseline.Periods, ",") != "2024-01,2024-02" {
		t.Errorf("baseline commits %d periods %v, want 6 and 2024-01,2024-02", rep.Baseline.Commits, rep.Baseline.Periods)
	}
	mar, apr := findPeriod(t, rep, "2024-03"), findPeriod(t, rep, "2024-04")
	marLPW, aprLPW := 200.0/(31.0/7), 500.0/(30.0/7)
	if mar.Multiplier == nil || !near(*mar.Multiplier, marLPW/bLPW) {
		t.Errorf("March multiplier = %v, want %v", fmtp(mar.Multiplier), marLPW/bLPW)
	}
	if apr.Multiplier == nil || !near(*apr.Multiplier, aprLPW/bLPW) {
		t.Errorf("April multiplier = %v, want %v", fmtp(apr.Multiplier), aprLPW/bLPW)
	}
	if mar.MultiplierPerAuthor == nil || !near(*mar.MultiplierPerAuthor, (200.0/3)/bLPA) {
		t.Errorf("March per-author multiplier = %v, want %v", fmtp(mar.MultiplierPerAuthor), (200.0/3)/bLPA)
	}
	// AI share: March 6 of 10 people's commits, 180 of 200 lines; c14 is
	// marked but human, so 7 of 10 carry a marker.
	if !near(mar.AIShare.Commits, 0.6) || !near(mar.AIShare.Lines, 0.9) || !near(mar.AIShare.MarkedCommits, 0.7) {
		t.Errorf("March AI share = %+v, want 0.6 commits, 0.9 lines, 0.7 marked", mar.AIShare)
	}
	// Whole history: AI commits 6 (March) + 2 (April) of 6+10+3 people's
	// commits; AI lines 180+400 of 161+70+200+500.
	if !near(rep.AIShare.Commits, 8.0/19) || !near(rep.AIShare.Lines, 580.0/931) {
		t.Errorf("AI share = %+v, want %v commits, %v lines", rep.AIShare, 8.0/19, 580.0/931)
	}
	// Doubling time: two points after the baseline, mid-March and mid-April,
	// 30.5 days apart.
	wantDoubling := 30.5 / math.Log2(aprLPW/marLPW)
	if rep.DoublingTimeDays == nil || math.Abs(*rep.DoublingTimeDays-wantDoubling) > 1e-6 || rep.DoublingPeriods != 2 {
		t.Errorf("doubling = %v over %d periods, want %v over 2", rep.DoublingTimeDays, rep.DoublingPeriods, wantDoubling)
	}
	// Excluded lines, by reason.
	ex := rep.Totals.Excluded
	if e := ex["lock"]; e.Changes != 2 || e.Added != 52 || e.Deleted != 1 {
		t.Errorf("lock = %+v, want 2 changes +52 -1", *e)
	}
	if e := ex["vendored"]; e.Changes != 2 || e.Added != 32 {
		t.Errorf("vendored = %+v, want 2 changes +32", *e)
	}
	if e := ex["generated"]; e.Changes != 2 || e.Added != 30 {
		t.Errorf("generated = %+v, want 2 changes +30", *e)
	}
	if e := ex["minified"]; e.Changes != 1 || e.Added != 5 {
		t.Errorf("minified = %+v, want 1 change +5", *e)
	}
	if e := ex["binary"]; e.Changes != 1 {
		t.Errorf("binary = %+v, want 1 change", *e)
	}
	// Reverts: c9 (agent) reverted after 20 days.
	if rep.Reverts.Reverts != 1 || rep.Reverts.Reverted != 1 || rep.Reverts.Unmatched != 0 {
		t.Errorf("reverts = %+v, want 1 revert matching 1 commit", rep.Reverts)
	}
	if d := rep.Reverts.MedianDaysToRevert["agent"]; !near(d, 20) {
		t.Errorf("days to revert = %v, want 20", d)
	}
	if r := rep.Reverts.RevertRate["agent"]; !near(r, 1.0/4) {
		t.Errorf("agent revert rate = %v, want 1/4", r)
	}
	if rep.Totals.Authors != 3 {
		t.Errorf("distinct authors = %d, want 3 (alice, bob, dave)", rep.Totals.Authors)
	}
	if len(rep.Warnings) != 0 {
		t.Errorf("warnings: %v", rep.Warnings)
	}
}

func TestAnalyzeAllNonMerge(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, All: true, Baseline: mustWindow(t, "2024-01..2024-02")})
	if err != nil {
		t.Fatal(err)
	}
	mar := findPeriod(t, rep, "2024-03")
	// The merge drops out and Eve's commit (12 lines, human) comes in.
	if mar.Commits != 11 || mar.Authors != 4 || mar.Kinds["human"].Added != 20 || mar.Kinds["human"].Commits != 4 {
		t.Errorf("March in --all: %d commits, %d authors, human %+v; want 11, 4, 4 commits +20", mar.Commits, mar.Authors, mar.Kinds["human"].Stats)
	}
	if rep.Mode != "all-non-merge" {
		t.Errorf("mode = %q", rep.Mode)
	}
}

func TestAnalyzeQuarterDefaultBaseline(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, Now: may2024})
	if err != nil {
		t.Fatal(err)
	}
	// 2024Q1 and 2024Q2 (April only, cut at Now); the default baseline is
	// the first four quarters, which holds both.
	if len(rep.Periods) != 2 || rep.Periods[0].Period != "2024Q1" || rep.Periods[1].Period != "2024Q2" {
		t.Fatalf("periods: %+v", rep.Periods)
	}
	q1 := rep.Periods[0]
	if q1.Commits != 17 || q1.Lines != 431 || q1.Authors != 3 {
		t.Errorf("2024Q1: %d commits, %d lines, %d authors; want 17, 431, 3", q1.Commits, q1.Lines, q1.Authors)
	}
	if !rep.Periods[1].Partial || !near(rep.Periods[1].Weeks, 30.0/7) {
		t.Errorf("2024Q2 should be partial, 30 days: %+v", rep.Periods[1])
	}
	if rep.Baseline.Label != "2024Q1..2024Q4" || rep.Baseline.Chosen == "" {
		t.Errorf("default baseline = %q (%q)", rep.Baseline.Label, rep.Baseline.Chosen)
	}
	// Baseline: 931 lines over 91 + 30 days.
	if want := 931.0 / (121.0 / 7); !near(rep.Baseline.LinesPerWeek, want) {
		t.Errorf("baseline lines/week = %v, want %v", rep.Baseline.LinesPerWeek, want)
	}
}

func TestAnalyzeSinceUntil(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024,
		Since: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Periods) != 1 || rep.Periods[0].Commits != 11 {
		t.Fatalf("want only March with 11 commits: %+v", rep.Periods)
	}
	_, err = Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, Since: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.Is(err, ErrNoCommits) {
		t.Errorf("since after the last commit: err = %v, want ErrNoCommits", err)
	}
}

func TestAnalyzeOutlierThreshold(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, OutlierLines: -1})
	if err != nil {
		t.Fatal(err)
	}
	if mar := findPeriod(t, rep, "2024-03"); mar.Outliers.Commits != 0 || mar.Lines != 6200 {
		t.Errorf("outliers disabled: %d outliers, %d lines; want 0, 6200", mar.Outliers.Commits, mar.Lines)
	}
	rep, err = Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, OutlierLines: 99})
	if err != nil {
		t.Fatal(err)
	}
	// Above 99 lines: c1 (111), c17, c18 (300), c19 (100), c21 (100).
	n := 0
	for _, p := range rep.Periods {
		n += p.Outliers.Commits
	}
	if n != 5 {
		t.Errorf("outliers above 99 lines = %d, want 5", n)
	}
}

func TestSurvival(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, Survival: true, SurvivalFiles: 1000})
	if err != nil {
		t.Fatal(err)
	}
	sv := rep.Survival
	if sv == nil || sv.Sampled {
		t.Fatalf("survival = %+v, want every file blamed", sv)
	}
	// Counted files at the tip: a.go .mailmap go.mod vendor/keep/k.go b c
	// d e f h i j k l m big.txt n o p = 19 (img.png is binary).
	if sv.FilesAtTip != 19 {
		t.Errorf("files at tip = %d, want 19", sv.FilesAtTip)
	}
	// March agent: c9's 60 lines were reverted, c10's 25 and c12's 15 stay.
	mar := findPeriod(t, rep, "2024-03")
	if got := mar.Kinds["agent"].Survival; got == nil || !near(*got, 40.0/100) {
		t.Errorf("March agent survival = %v, want 0.4", fmtp(got))
	}
	// January human: 161 lines, one go.mod line replaced by dependabot.
	jan := findPeriod(t, rep, "2024-01")
	if got := jan.Kinds["human"].Survival; got == nil || !near(*got, 160.0/161) {
		t.Errorf("January human survival = %v, want 160/161", fmtp(got))
	}
	// March human: c14's 8 and the merge's 12 all stay.
	if got := mar.Kinds["human"].Survival; got == nil || !near(*got, 1) {
		t.Errorf("March human survival = %v, want 1", fmtp(got))
	}
	// The outlier's 6000 lines are not attributed to any kind.
	if sv.Unattributed != 6000 {
		t.Errorf("unattributed = %d, want 6000", sv.Unattributed)
	}
	rep, err = Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, Survival: true, SurvivalFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Survival.Sampled || rep.Survival.FilesBlamed != 3 || !strings.Contains(rep.Survival.Method, "sample of 3 of the 19") {
		t.Errorf("sampled survival = %+v", rep.Survival)
	}
}

func TestExplain(t *testing.T) {
	s := sharedStory(t)
	cases := []struct {
		commit, kind, fact string
	}{
		{"c1", "human", "no automation, agent or AI marker"},
		{"c2", "human", "Carol <carol@example.com> names a person"},
		{"c3", "human", "is not in the trailer block"},
		{"c5", "human", "Mallory <mallory@example.com> names a person"},
		{"c6", "human", "no automation"},
		{"c7", "automation", "known automation identity"},
		{"c8", "assisted", "noreply@anthropic.com"},
		{"c9", "agent", "coding-agent identity"},
		{"c10", "agent", "Ouro-Run"},
		{"c11", "autonomous", "Ouro-Parent-Run"},
		{"c12", "agent", "(aider)"},
		{"c13", "assisted", "Generated with [Claude Code]"},
		{"c14", "human", "the email decides"},
		{"c18", "assisted", "Claude-Session"},
		{"c19", "human", "names no known AI tool"},
		{"c20", "automation", "*[bot]@users.noreply.github.com"},
		{"c21", "agent", "claude[bot]@users.noreply.github.com"},
	}
	for _, c := range cases {
		ex, err := Explain(context.Background(), Options{Repo: s.dir}, s.c[c.commit])
		if err != nil {
			t.Fatalf("%s: %v", c.commit, err)
		}
		var buf bytes.Buffer
		if err := ex.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		if ex.Kind != c.kind || !strings.Contains(buf.String(), c.fact) {
			t.Errorf("%s: kind %s, want %s with %q in:\n%s", c.commit, ex.Kind, c.kind, c.fact, buf.String())
		}
	}
	ex, err := Explain(context.Background(), Options{Repo: s.dir}, s.c["c1"])
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]string{}
	for _, f := range ex.Files {
		classes[f.Path] = f.Class
	}
	want := map[string]string{"a.go": "counted", "go.sum": "lock", "vendor/lib/x.go": "vendored", "vendor/keep/k.go": "counted", ".gitattributes": "vendored",
		"gen/api.go": "generated", "api/schema.json": "generated", "static/app.min.js": "minified", "img.png": "binary"}
	for p, cl := range want {
		if classes[p] != cl {
			t.Errorf("c1 %s: class %q, want %q", p, classes[p], cl)
		}
	}
	if ex.Counted.Added != 111 {
		t.Errorf("c1 counted +%d, want +111", ex.Counted.Added)
	}
	ex, err = Explain(context.Background(), Options{Repo: s.dir}, s.c["merge"])
	if err != nil {
		t.Fatal(err)
	}
	if ex.Counted.Added != 12 {
		t.Errorf("merge counted +%d, want +12 (its diff against the first parent)", ex.Counted.Added)
	}
}

func TestConfigIdentities(t *testing.T) {
	s := sharedStory(t)
	extra, err := ParseIdentities([]byte("agent:\n  emails: [bob@example.com]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ids := DefaultIdentities()
	ids.Merge(extra)
	ex, err := Explain(context.Background(), Options{Repo: s.dir, Identities: ids}, s.c["c14"])
	if err != nil {
		t.Fatal(err)
	}
	if ex.Kind != "agent" {
		t.Errorf("with bob as an agent identity, c14 is %s, want agent", ex.Kind)
	}
	if _, err := ParseIdentities([]byte("agent:\n  email: [x]\n")); err == nil {
		t.Error("a misspelt key should be an error")
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	notRepo := t.TempDir()
	if _, err := Analyze(ctx, Options{Repo: notRepo}); !errors.Is(err, ErrNotRepository) {
		t.Errorf("not a repository: err = %v", err)
	}
	if _, err := Analyze(ctx, Options{Repo: notRepo + "/missing"}); !errors.Is(err, ErrNotRepository) {
		t.Errorf("missing directory: err = %v", err)
	}
	empty := newFixture(t)
	if _, err := Analyze(ctx, Options{Repo: empty.dir}); !errors.Is(err, ErrEmptyRepository) {
		t.Errorf("empty repository: err = %v", err)
	}
	s := sharedStory(t)
	if _, err := Analyze(ctx, Options{Repo: s.dir, Branch: "no-such-branch"}); !errors.Is(err, ErrUnknownBranch) {
		t.Errorf("unknown branch: err = %v", err)
	}
	if _, err := Analyze(ctx, Options{Repo: s.dir, Branch: "feature", By: Month, Now: may2024}); err != nil {
		t.Errorf("existing branch: %v", err)
	}
	_, err := Analyze(ctx, Options{Repo: s.dir, By: Month, Now: may2024, Baseline: mustWindow(t, "2021Q1..2021Q4")})
	if !errors.Is(err, ErrEmptyBaseline) || !strings.Contains(err.Error(), "2024-01-10") {
		t.Errorf("empty baseline: err = %v", err)
	}
	if _, err := Analyze(ctx, Options{Repo: s.dir, By: "fortnight"}); err == nil {
		t.Error("bad granularity accepted")
	}
	// A shallow clone warns.
	shallow := t.TempDir()
	cl := &fixture{t: t, dir: shallow}
	cl.git(nil, "clone", "-q", "--depth", "3", "file://"+s.dir, shallow)
	rep, err := Analyze(ctx, Options{Repo: shallow, By: Month, Now: may2024})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Warnings) == 0 || !strings.Contains(rep.Warnings[0], "shallow") {
		t.Errorf("shallow clone: warnings = %v", rep.Warnings)
	}
}

func TestOutputs(t *testing.T) {
	s := sharedStory(t)
	rep, err := Analyze(context.Background(), Options{Repo: s.dir, By: Month, Now: may2024, Baseline: mustWindow(t, "2024-01..2024-02")})
	if err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema   string `json:"schema"`
		By       string `json:"by"`
		Baseline struct {
			From, To     string
			LinesPerWeek float64 `json:"lines_per_week"`
		} `json:"baseline"`
		Periods []struct {
			Period                  string
			Commits, Added, Deleted int
			Authors                 int
			Kinds                   map[string]struct{ Commits, Added, Deleted int }
			Multiplier              *float64
		} `json:"periods"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "ouro.accel/v1" || doc.By != "month" || doc.Baseline.From != "2024-01-01" || doc.Baseline.To != "2024-02-29" {
		t.Errorf("json head: %+v", doc)
	}
	if len(doc.Periods) != 4 || doc.Periods[2].Period != "2024-03" || doc.Periods[2].Kinds["agent"].Added != 100 || len(doc.Periods[2].Kinds) != 5 || doc.Periods[0].Multiplier == nil {
		t.Errorf("json periods: %+v", doc.Periods)
	}
	var csvOut, svg, htmlOut, table bytes.Buffer
	if err := rep.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	// A header, then per period one "all" row and five kind rows.
	if n := strings.Count(csvOut.String(), "\n"); n != 1+4*6 {
		t.Errorf("csv has %d lines, want 25", n)
	}
	if !strings.Contains(csvOut.String(), "2024-03,2024-03-01,2024-04-01,false,false,agent,3,100,0") {
		t.Errorf("csv lacks March agent row:\n%s", csvOut.String())
	}
	if err := rep.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "<polyline") || strings.Count(svg.String(), `fill-opacity="0.06"`) != 2 {
		t.Errorf("svg lacks the chart parts:\n%s", svg.String())
	}
	if err := rep.WriteHTML(&htmlOut); err != nil {
		t.Fatal(err)
	}
	h := htmlOut.String()
	if !strings.Contains(h, "<svg") || !strings.Contains(h, "<table>") || strings.Contains(h, "<script") || strings.Contains(h, "http://") && !strings.Contains(h, "http://www.w3.org/2000/svg") {
		t.Errorf("html is not a self-contained report")
	}
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "2024-03") || !strings.Contains(table.String(), "baseline 2024-01..2024-02") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestMergeTakesBranchKind(t *testing.T) {
	f := newFixture(t)
	f.commit(commitSpec{date: "2024-01-05", author: alice, msg: "Start\n", files: map[string]string{"a.go": lines("a", 10)}})
	f.git(nil, "switch", "-q", "-c", "copilot/fix")
	f.commit(commitSpec{date: "2024-01-10", author: who{"Copilot", "198982749+Copilot@users.noreply.github.com"}, msg: "Fix\n",
		files: map[string]string{"b.go": lines("b", 20)}})
	f.git(nil, "switch", "-q", "main")
	f.git(f.dateEnv("2024-01-12", alice, who{}), "merge", "-q", "--no-ff", "-m", "Merge pull request #1 from copilot/fix", "copilot/fix")
	feb := time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, all := range []bool{false, true} {
		rep, err := Analyze(context.Background(), Options{Repo: f.dir, By: Month, Now: feb, All: all})
		if err != nil {
			t.Fatal(err)
		}
		jan := findPeriod(t, rep, "2024-01")
		if h, a := jan.Kinds["human"], jan.Kinds["agent"]; jan.Commits != 2 || h.Commits != 1 || h.Added != 10 || a.Commits != 1 || a.Added != 20 {
			t.Errorf("all=%v: %d commits, human %+v, agent %+v; want 2, 1 +10, 1 +20", all, jan.Commits, h.Stats, a.Stats)
		}
		// Alice is the one person: she merged, and wrote the first commit.
		if jan.Authors != 1 {
			t.Errorf("all=%v: %d authors, want 1 (Copilot is not a person)", all, jan.Authors)
		}
	}
	ex, err := Explain(context.Background(), Options{Repo: f.dir}, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ex.WriteText(&buf)
	if ex.Kind != "agent" || !strings.Contains(buf.String(), "merged branch's tip") {
		t.Errorf("merge explained as %s:\n%s", ex.Kind, buf.String())
	}
}
