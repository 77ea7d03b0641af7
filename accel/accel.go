// Package accel provides acceleration metrics from git history: code shipped
// per period by humans, assisted humans, agents and autonomous agents, with
// a multiplier against a baseline window, AI share, reverts and survival.
//
// It streams one `git log` over the history (first-parent by default), asks
// one `git check-attr` process for linguist attributes and runs one `git
// grep` over the branch tip for generated-code headers, so memory stays flat
// in the length of history: what grows is one small entry per distinct path
// and per person, and (with survival only) one per commit.
//
// Speed: scripts/accel-bench.sh builds a 50,000-commit repository with git
// fast-import and times a bare `git log --first-parent --numstat` against
// `ouro accel` side by side; on a shared 2-core machine the quietest run gave
// a median ratio of 1.04x (15.9 s against 16.5 s over 5 rounds; busier runs
// ranged from 0.76x to 1.49x), with ouro's own peak RSS at 101 MiB of which
// 91 MiB is the binary at rest (`ouro accel --help`).
// `go test ./accel/ -run XXX -bench Accel` times a 3,000-commit repository.
package accel

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"time"
)

// Schema is the version of the JSON report.
const Schema = "ouro.accel/v1"

// DefaultOutlierLines is the size above which a commit is an outlier.
const DefaultOutlierLines = 5000

// Options say what to measure.
type Options struct {
	// Repo is a directory inside the repository; "" is the current one.
	Repo string
	// Branch is the branch or revision whose history is read; "" is HEAD.
	Branch string
	// By is the period length; "" is Quarter.
	By Granularity
	// Since and Until bound the commits counted, by committer date; zero is
	// unbounded. Until is exclusive.
	Since, Until time.Time
	// Baseline is the window the multiplier divides by; nil is the first
	// four periods of the counted history.
	Baseline *Window
	// All counts every non-merge commit reachable from Branch instead of the
	// first-parent history.
	All bool
	// OutlierLines is the counted size (added+deleted) above which a commit is
	// an outlier; 0 is DefaultOutlierLines, negative disables outliers.
	OutlierLines int
	// Identities is the table of known identities; nil is DefaultIdentities.
	Identities *Identities
	// DelegatedRuns maps ouro run ids to their parent run ids, as ouro's
	// journal records them: a commit whose Ouro-Run trailer names one of
	// these runs is autonomous even without an Ouro-Parent-Run trailer
	// (after a squash, say).
	DelegatedRuns map[string]string
	// Survival computes the share of added lines still present at the tip.
	Survival bool
	// SurvivalFiles caps the files blamed for survival; 0 is
	// DefaultSurvivalFiles.
	SurvivalFiles int
	// SurvivalBudget stops starting new blames after this long; 0 is
	// DefaultSurvivalBudget, negative is no limit. The files blamed are
	// always a uniform random sample, stated in the report.
	SurvivalBudget time.Duration
	// Now ends the last, partial period; zero is the time of the run.
	Now time.Time
	// Git is the git binary; "" finds git on PATH.
	Git string
	// Logger receives progress; nil discards it.
	Logger *slog.Logger
}

// Stats counts commits and lines.
type Stats struct {
	Commits int `json:"commits"`
	Added   int `json:"added"`
	Deleted int `json:"deleted"`
}

// ExcludedStats counts the file changes and lines left out of line counts.
type ExcludedStats struct {
	Changes int `json:"changes"`
	Added   int `json:"added"`
	Deleted int `json:"deleted"`
}

// KindStats is one kind's share of a period.
type KindStats struct {
	Stats
	// Reverted is the number of this kind's commits reverted later.
	Reverted int `json:"reverted"`
	// RevertRate is Reverted / Commits.
	RevertRate float64 `json:"revert_rate"`
	// Survival is the share of added lines still present at the tip, when
	// computed.
	Survival *float64 `json:"survival,omitempty"`
}

// Share is the AI share of a period or of the whole history. It is a lower
// bound: commits without markers count as human.
type Share struct {
	// Commits is AI commits / people's commits (automation left out).
	Commits float64 `json:"commits"`
	// Lines is AI lines / people's lines, outliers left out.
	Lines float64 `json:"lines"`
	// MarkedCommits is the share of people's commits that carry any AI
	// marker at all, decisive or not.
	MarkedCommits float64 `json:"marked_commits"`
	// TrailerCommits is the share of people's commits with a trailer block.
	TrailerCommits float64 `json:"trailer_commits"`
}

// PeriodReport is the figures of one period.
type PeriodReport struct {
	Period string    `json:"period"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Weeks is the period's length in weeks, cut at Now and at the range.
	Weeks float64 `json:"weeks"`
	// Partial marks a period cut short by Now or by the range.
	Partial bool `json:"partial,omitempty"`
	// InBaseline marks the periods of the baseline window.
	InBaseline bool `json:"in_baseline,omitempty"`
	Commits    int  `json:"commits"`
	// Added and Deleted count lines in counted files of every kind, outliers
	// left out.
	Added   int `json:"added"`
	Deleted int `json:"deleted"`
	// Files is the number of distinct counted files touched.
	Files int `json:"files"`
	// Authors is the number of distinct people who authored a commit.
	Authors int `json:"authors"`
	// Lines is the multiplier's basis: added lines of people and agents
	// (automation and outliers left out).
	Lines          int     `json:"lines"`
	LinesPerWeek   float64 `json:"lines_per_week"`
	LinesPerAuthor float64 `json:"lines_per_author"`
	// Kinds holds every kind, by name.
	Kinds map[string]*KindStats `json:"kinds"`
	// Multiplier is LinesPerWeek over the baseline's; nil when the
	// baseline has no lines.
	Multiplier *float64 `json:"multiplier"`
	// MultiplierPerAuthor is LinesPerAuthor over the baseline's.
	MultiplierPerAuthor *float64 `json:"multiplier_per_author"`
	AIShare             Share    `json:"ai_share"`
	// Outliers are commits above the outlier size, in their own bucket.
	Outliers Stats `json:"outliers"`
	// Excluded is the lines left out, by reason (binary, vendored,
	// generated, lock, minified).
	Excluded map[string]*ExcludedStats `json:"excluded"`
	// Reverts is the number of revert commits made in this period.
	Reverts int `json:"reverts"`
	// Reverted is the number of this period's commits reverted later.
	Reverted   int     `json:"reverted"`
	RevertRate float64 `json:"revert_rate"`
}

// BaselineReport is the window the multiplier divides by.
type BaselineReport struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Label string `json:"label"`
	// Chosen says how the window was picked when the user gave none.
	Chosen         string   `json:"chosen,omitempty"`
	Periods        []string `json:"periods"`
	Commits        int      `json:"commits"`
	Lines          int      `json:"lines"`
	LinesPerWeek   float64  `json:"lines_per_week"`
	LinesPerAuthor float64  `json:"lines_per_author"`
}

// RevertReport sums up reverts.
type RevertReport struct {
	// Reverts is the number of revert commits counted.
	Reverts int `json:"reverts"`
	// Reverted is the number of counted commits reverted later.
	Reverted int `json:"reverted"`
	// Unmatched reverts name a commit outside the counted history.
	Unmatched int `json:"unmatched"`
	// MedianDaysToRevert is per kind name, for kinds with reverts.
	MedianDaysToRevert map[string]float64 `json:"median_days_to_revert"`
	// RevertRate is per kind name: reverted / commits.
	RevertRate map[string]float64 `json:"revert_rate"`
}

// Report is the result of Analyze.
type Report struct {
	Schema string `json:"schema"`
	Repo   string `json:"repo"`
	Branch string `json:"branch"`
	Head   string `json:"head"`
	// Mode is "first-parent" or "all-non-merge".
	Mode  string `json:"mode"`
	By    string `json:"by"`
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	Now   string `json:"now"`
	// OutlierLines is the outlier threshold used.
	OutlierLines int            `json:"outlier_lines"`
	Baseline     BaselineReport `json:"baseline"`
	Periods      []PeriodReport `json:"periods"`
	// Totals sums every period.
	Totals struct {
		Commits  int                       `json:"commits"`
		Added    int                       `json:"added"`
		Deleted  int                       `json:"deleted"`
		Authors  int                       `json:"authors"`
		Kinds    map[string]*KindStats     `json:"kinds"`
		Outliers Stats                     `json:"outliers"`
		Excluded map[string]*ExcludedStats `json:"excluded"`
	} `json:"totals"`
	// AIShare is over the whole counted history; a lower bound.
	AIShare Share `json:"ai_share"`
	// DoublingTimeDays is the doubling time of lines per week, fitted by
	// least squares on log2(lines per week) over the periods after the
	// baseline; nil when there are fewer than two such periods with lines or
	// the trend does not grow.
	DoublingTimeDays *float64 `json:"doubling_time_days"`
	// DoublingPeriods is the number of periods the fit used.
	DoublingPeriods int           `json:"doubling_periods"`
	Reverts         RevertReport  `json:"reverts"`
	Survival        *SurvivalInfo `json:"survival,omitempty"`
	Warnings        []string      `json:"warnings,omitempty"`
	// Method states how the figures are made.
	Method []string `json:"method"`
}

// periodAcc accumulates one period while the log streams.
type periodAcc struct {
	commits        int
	kinds          [numKinds]Stats
	reverted       [numKinds]int
	outliers       Stats
	excluded       [numClasses]ExcludedStats
	files, authors map[uint64]struct{}
	nFiles, nAuth  int
	closed         bool
	people         int // non-automation commits
	marked, trail  int
	reverts        int
}

func (p *periodAcc) close() {
	if p.closed {
		return
	}
	p.nFiles += len(p.files)
	p.nAuth += len(p.authors)
	p.files, p.authors, p.closed = nil, nil, true
}

// analyzer holds the state of one Analyze call.
type analyzer struct {
	opts     Options
	by       Granularity
	cls      *classifier
	periods  map[int]*periodAcc
	lowest   int
	authorID map[string]uint64 // people's emails, for distinct counts
	allAuth  map[uint64]struct{}
	// reverts maps a reverted commit id (full or abbreviated) to the time
	// of the revert.
	reverts     map[string]int64
	revertLens  map[int]bool
	matched     int
	nReverts    int
	revertDays  [numKinds][]float64
	survivalMap map[string]int // commit id -> period*16 + outlier*8 + kind
	outlier     int
	first, last int64
	objects     *objectReader // nil in --all mode, which has no merges
}

// mergeKind gives a first-parent merge that its own identity and trailers
// call human the kind of the merged branch's tip commit, so that a branch an
// agent wrote and a person merged counts as the agent's.
func (a *analyzer) mergeKind(c *rawCommit, v verdict, ev *[]Evidence) (verdict, error) {
	return mergeVerdict(a.cls, a.objects, c, v, ev)
}

func mergeVerdict(cls *classifier, objects *objectReader, c *rawCommit, v verdict, ev *[]Evidence) (verdict, error) {
	if v.kind != Human || c.parents < 2 || objects == nil {
		return v, nil
	}
	m, ok, err := objects.commit(c.second)
	if err != nil || !ok {
		return v, err
	}
	var sub []Evidence
	var subp *[]Evidence
	if ev != nil {
		subp = &sub
	}
	v2 := cls.classify(&m, subp)
	if v2.kind == Human {
		if ev != nil {
			*ev = append(*ev, Evidence{Kind: Human, KindName: "human", Fact: fmt.Sprintf("merge: the merged branch's tip %.12s is human too", c.second)})
		}
		return v, nil
	}
	if ev != nil {
		for i := range *ev {
			(*ev)[i].Decisive = false
		}
		for _, e := range sub {
			e.Fact = fmt.Sprintf("merge: the merged branch's tip %.12s: %s", c.second, e.Fact)
			*ev = append(*ev, e)
		}
	}
	v.kind, v.marked = v2.kind, v.marked || v2.marked
	return v, nil
}

func (a *analyzer) period(i int) *periodAcc {
	p, ok := a.periods[i]
	if !ok {
		p = &periodAcc{files: map[uint64]struct{}{}, authors: map[uint64]struct{}{}}
		a.periods[i] = p
	}
	if i < a.lowest {
		// History streams newest first: periods two or more steps above
		// the one being filled are complete, so their sets can go.
		for j, q := range a.periods {
			if j > i+1 {
				q.close()
			}
		}
		a.lowest = i
	}
	return p
}

func (a *analyzer) add(c *rawCommit) error {
	if c.time == 0 {
		return nil
	}
	if !a.opts.Since.IsZero() && c.time < a.opts.Since.Unix() {
		return nil
	}
	if !a.opts.Until.IsZero() && c.time >= a.opts.Until.Unix() {
		return nil
	}
	if a.first == 0 || c.time < a.first {
		a.first = c.time
	}
	if c.time > a.last {
		a.last = c.time
	}
	v, err := a.mergeKind(c, a.cls.classify(&c.meta, nil), nil)
	if err != nil {
		return err
	}
	pi := a.by.index(time.Unix(c.time, 0))
	p := a.period(pi)
	p.commits++
	k := v.kind
	p.kinds[k].Commits++
	for cl := classBinary; cl < numClasses; cl++ {
		p.excluded[cl].Changes += c.changes[cl]
		p.excluded[cl].Added += c.added[cl]
		p.excluded[cl].Deleted += c.deleted[cl]
	}
	isOutlier := a.outlier > 0 && c.countedLines() > a.outlier
	if isOutlier {
		p.outliers.Commits++
		p.outliers.Added += c.added[classCounted]
		p.outliers.Deleted += c.deleted[classCounted]
	} else {
		p.kinds[k].Added += c.added[classCounted]
		p.kinds[k].Deleted += c.deleted[classCounted]
	}
	if k != Automation {
		p.people++
		if v.marked {
			p.marked++
		}
		if v.trailers {
			p.trail++
		}
		if _, agent := a.cls.agent.match(c.meta.authorEmail); !agent && c.meta.authorEmail != "" {
			id, ok := a.authorID[c.meta.authorEmail]
			if !ok {
				id = uint64(len(a.authorID))
				a.authorID[c.meta.authorEmail] = id
			}
			a.allAuth[id] = struct{}{}
			if p.closed {
				p.nAuth++ // a late commit for a closed period: counted, perhaps twice
			} else {
				p.authors[id] = struct{}{}
			}
		}
	}
	if p.closed {
		p.nFiles += len(c.paths)
	} else {
		for _, id := range c.paths {
			p.files[uint64(id)] = struct{}{}
		}
	}
	// Reverts: the revert streams before the commit it reverts.
	for _, h := range revertedBy(c.meta.body) {
		p.reverts++
		a.nReverts++
		if old, ok := a.reverts[h]; !ok || c.time < old {
			a.reverts[h] = c.time
		}
		if len(h) < len(c.hash) {
			a.revertLens[len(h)] = true
		}
	}
	if len(a.reverts) > 0 {
		when, ok := a.reverts[c.hash]
		if !ok {
			for n := range a.revertLens {
				if n < len(c.hash) {
					if when, ok = a.reverts[c.hash[:n]]; ok {
						break
					}
				}
			}
		}
		if ok {
			a.matched++
			p.reverted[k]++
			a.revertDays[k] = append(a.revertDays[k], float64(when-c.time)/86400)
		}
	}
	if a.survivalMap != nil {
		v := pi*16 + int(k)
		if isOutlier {
			v += 8
		}
		a.survivalMap[c.hash] = v
	}
	return nil
}

// logArgs returns the git log arguments that select the counted history.
func (o *Options) logArgs(tip string) []string {
	args := []string{}
	if o.All {
		args = append(args, "--no-merges")
	} else {
		args = append(args, "--first-parent")
	}
	if !o.Since.IsZero() {
		args = append(args, fmt.Sprintf("--since=@%d", o.Since.Unix()))
	}
	if !o.Until.IsZero() {
		args = append(args, fmt.Sprintf("--until=@%d", o.Until.Unix()-1))
	}
	return append(args, tip, "--")
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// prepared is a repository ready to stream.
type prepared struct {
	repo    *repo
	tip     string
	branch  string
	shallow bool
}

func prepare(ctx context.Context, o *Options) (*prepared, error) {
	r, shallow, err := openRepo(ctx, o.Git, o.Repo)
	if err != nil {
		return nil, err
	}
	branch := o.Branch
	if branch == "" {
		branch = "HEAD"
	}
	tip, err := r.resolve(ctx, branch)
	if err != nil {
		return nil, err
	}
	return &prepared{repo: r, tip: tip, branch: branch, shallow: shallow}, nil
}

// Analyze reads the history and computes the report.
func Analyze(ctx context.Context, opts Options) (*Report, error) {
	if opts.By == "" {
		opts.By = Quarter
	}
	if _, err := ParseGranularity(string(opts.By)); err != nil {
		return nil, err
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Until.After(opts.Since) {
		return nil, fmt.Errorf("bad range: --until %s is not after --since %s", opts.Until.Format(time.DateOnly), opts.Since.Format(time.DateOnly))
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	log := opts.logger()
	pr, err := prepare(ctx, &opts)
	if err != nil {
		return nil, err
	}
	r := pr.repo

	genc := make(chan error, 1)
	var generated map[string]bool
	go func() {
		var err error
		generated, err = r.generatedAtTip(ctx, pr.tip)
		genc <- err
	}()
	ac, err := r.startAttrChecker(ctx)
	if err != nil {
		return nil, err
	}
	defer ac.close()
	if err := <-genc; err != nil {
		return nil, err
	}
	pc := newPathClassifier(ac, generated)
	var objects *objectReader
	if !opts.All {
		if objects, err = r.startObjectReader(ctx); err != nil {
			return nil, err
		}
		defer objects.close()
	}

	a := &analyzer{
		objects: objects,
		opts:    opts, by: opts.By, cls: newClassifier(opts.Identities).withDelegated(opts.DelegatedRuns),
		periods: map[int]*periodAcc{}, lowest: math.MaxInt,
		authorID: map[string]uint64{}, allAuth: map[uint64]struct{}{},
		reverts: map[string]int64{}, revertLens: map[int]bool{},
		outlier: opts.OutlierLines,
	}
	if a.outlier == 0 {
		a.outlier = DefaultOutlierLines
	}
	if opts.Survival {
		a.survivalMap = map[string]int{}
	}
	start := time.Now()
	if err := r.streamLog(ctx, opts.logArgs(pr.tip), pc, false, a.add); err != nil {
		return nil, err
	}
	log.Debug("accel: history read", "periods", len(a.periods), "paths", len(pc.cache), "took", time.Since(start))
	if len(a.periods) == 0 {
		return nil, fmt.Errorf("read %s: %w (widen --since/--until)", pr.branch, ErrNoCommits)
	}
	rep, err := a.report(pr)
	if err != nil {
		return nil, err
	}
	if pr.shallow {
		rep.Warnings = append(rep.Warnings, "shallow clone: the history is incomplete, so early periods and the baseline are missing commits (run `git fetch --unshallow`)")
	}
	if opts.Survival {
		s, err := a.survival(ctx, r, pr.tip, pc, rep)
		if err != nil {
			return nil, err
		}
		rep.Survival = s
	}
	return rep, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func ptr(f float64) *float64 { return &f }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (a *analyzer) report(pr *prepared) (*Report, error) {
	o := a.opts
	rep := &Report{
		Schema: Schema, Repo: pr.repo.dir, Branch: pr.branch, Head: pr.tip,
		Mode: "first-parent", By: string(a.by), Now: o.Now.UTC().Format(time.RFC3339),
		OutlierLines: a.outlier,
	}
	if o.All {
		rep.Mode = "all-non-merge"
	}
	if !o.Since.IsZero() {
		rep.Since = o.Since.UTC().Format(time.DateOnly)
	}
	if !o.Until.IsZero() {
		rep.Until = o.Until.UTC().Format(time.DateOnly)
	}
	lo, hi := math.MaxInt, math.MinInt
	for i := range a.periods {
		lo, hi = min(lo, i), max(hi, i)
	}
	// Baseline window.
	var bw Window
	if o.Baseline != nil {
		bw = *o.Baseline
	} else {
		bw = Window{From: a.by.start(lo), To: a.by.start(lo + 4)}
		bw.Label = a.by.label(lo) + ".." + a.by.label(lo+3)
		rep.Baseline.Chosen = "the first four periods of the counted history (set one with --baseline FROM..TO)"
	}
	// Periods of the baseline may lie before the history; extend the range
	// so that they show.
	if o.Baseline != nil {
		bl, bh := a.by.index(bw.From), a.by.index(bw.To.Add(-time.Second))
		if bl >= lo && bl <= hi || bh >= lo && bh <= hi || bl < lo && bh > hi {
			lo, hi = min(lo, max(bl, lo)), max(hi, min(bh, hi))
		}
	}
	rangeStart, rangeEnd := time.Time{}, o.Now
	if !o.Since.IsZero() {
		rangeStart = o.Since
	}
	if !o.Until.IsZero() && o.Until.Before(rangeEnd) {
		rangeEnd = o.Until
	}
	rep.Totals.Kinds = map[string]*KindStats{}
	rep.Totals.Excluded = map[string]*ExcludedStats{}
	for _, k := range Kinds {
		rep.Totals.Kinds[k.String()] = &KindStats{}
	}
	for cl := classBinary; cl < numClasses; cl++ {
		rep.Totals.Excluded[cl.String()] = &ExcludedStats{}
	}
	var totPeople, totMarked, totTrail, totAICommits, totAILines, totLines int
	var bLines, bCommits int
	var bWeeks float64
	var bLPA []float64
	for i := lo; i <= hi; i++ {
		p := a.periods[i]
		if p == nil {
			p = &periodAcc{closed: true}
		}
		p.close()
		s, e := a.by.start(i), a.by.start(i+1)
		cs, ce := s, e
		partial := false
		if cs.Before(rangeStart) {
			cs, partial = rangeStart, true
		}
		if ce.After(rangeEnd) {
			ce, partial = rangeEnd, true
		}
		weeks := ce.Sub(cs).Hours() / (24 * 7)
		if weeks <= 0 {
			weeks = 1.0 / 7 // a period that started after Now: one day
		}
		pr := PeriodReport{
			Period: a.by.label(i), Start: s, End: e, Weeks: weeks, Partial: partial,
			Commits: p.commits, Files: p.nFiles, Authors: p.nAuth,
			Kinds: map[string]*KindStats{}, Excluded: map[string]*ExcludedStats{},
			Outliers: p.outliers, Reverts: p.reverts,
		}
		pr.InBaseline = !s.Before(bw.From) && s.Before(bw.To)
		var aiC, aiL, reverted int
		for _, k := range Kinds {
			ks := &KindStats{Stats: p.kinds[k], Reverted: p.reverted[k]}
			ks.RevertRate = ratio(float64(ks.Reverted), float64(ks.Commits))
			pr.Kinds[k.String()] = ks
			pr.Added += ks.Added
			pr.Deleted += ks.Deleted
			reverted += ks.Reverted
			t := rep.Totals.Kinds[k.String()]
			t.Commits += ks.Commits
			t.Added += ks.Added
			t.Deleted += ks.Deleted
			t.Reverted += ks.Reverted
			if k != Automation {
				pr.Lines += ks.Added
			}
			if k.IsAI() {
				aiC += ks.Commits
				aiL += ks.Added
			}
		}
		pr.Reverted = reverted
		pr.RevertRate = ratio(float64(reverted), float64(p.commits))
		for cl := classBinary; cl < numClasses; cl++ {
			x := p.excluded[cl]
			pr.Excluded[cl.String()] = &x
			t := rep.Totals.Excluded[cl.String()]
			t.Changes += x.Changes
			t.Added += x.Added
			t.Deleted += x.Deleted
		}
		pr.LinesPerWeek = float64(pr.Lines) / weeks
		if pr.Authors > 0 {
			pr.LinesPerAuthor = float64(pr.Lines) / float64(pr.Authors)
		}
		pr.AIShare = Share{
			Commits:        ratio(float64(aiC), float64(p.people)),
			Lines:          ratio(float64(aiL), float64(pr.Lines)),
			MarkedCommits:  ratio(float64(p.marked), float64(p.people)),
			TrailerCommits: ratio(float64(p.trail), float64(p.people)),
		}
		totPeople += p.people
		totMarked += p.marked
		totTrail += p.trail
		totAICommits += aiC
		totAILines += aiL
		totLines += pr.Lines
		rep.Totals.Commits += p.commits
		rep.Totals.Added += pr.Added
		rep.Totals.Deleted += pr.Deleted
		rep.Totals.Outliers.Commits += p.outliers.Commits
		rep.Totals.Outliers.Added += p.outliers.Added
		rep.Totals.Outliers.Deleted += p.outliers.Deleted
		if pr.InBaseline {
			rep.Baseline.Periods = append(rep.Baseline.Periods, pr.Period)
			bLines += pr.Lines
			bCommits += p.commits
			bWeeks += weeks
			if pr.Authors > 0 {
				bLPA = append(bLPA, pr.LinesPerAuthor)
			}
		}
		rep.Periods = append(rep.Periods, pr)
	}
	rep.Totals.Authors = len(a.allAuth)
	for _, ks := range rep.Totals.Kinds {
		ks.RevertRate = ratio(float64(ks.Reverted), float64(ks.Commits))
	}
	rep.AIShare = Share{
		Commits:        ratio(float64(totAICommits), float64(totPeople)),
		Lines:          ratio(float64(totAILines), float64(totLines)),
		MarkedCommits:  ratio(float64(totMarked), float64(totPeople)),
		TrailerCommits: ratio(float64(totTrail), float64(totPeople)),
	}
	rep.Baseline.From = bw.From.UTC().Format(time.DateOnly)
	rep.Baseline.To = bw.To.UTC().Add(-time.Second).Format(time.DateOnly)
	rep.Baseline.Label = bw.Label
	rep.Baseline.Commits = bCommits
	rep.Baseline.Lines = bLines
	if bCommits == 0 {
		first := time.Unix(a.first, 0).UTC().Format(time.DateOnly)
		last := time.Unix(a.last, 0).UTC().Format(time.DateOnly)
		return nil, fmt.Errorf("baseline %s: %w; the counted history runs from %s to %s, pick a window inside it", bw.Label, ErrEmptyBaseline, first, last)
	}
	if bWeeks > 0 {
		rep.Baseline.LinesPerWeek = float64(bLines) / bWeeks
	}
	for _, x := range bLPA {
		rep.Baseline.LinesPerAuthor += x / float64(len(bLPA))
	}
	if rep.Baseline.LinesPerWeek == 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("baseline %s has commits but no counted lines: the multiplier is undefined", bw.Label))
	}
	// Multipliers and the doubling-time fit.
	var xs, ys []float64
	for i := range rep.Periods {
		p := &rep.Periods[i]
		if rep.Baseline.LinesPerWeek > 0 {
			p.Multiplier = ptr(p.LinesPerWeek / rep.Baseline.LinesPerWeek)
		}
		if rep.Baseline.LinesPerAuthor > 0 && p.Authors > 0 {
			p.MultiplierPerAuthor = ptr(p.LinesPerAuthor / rep.Baseline.LinesPerAuthor)
		}
		if !p.Start.Before(bw.To) && p.LinesPerWeek > 0 {
			mid := p.Start
			if !o.Since.IsZero() && mid.Before(o.Since) {
				mid = o.Since
			}
			mid = mid.Add(time.Duration(p.Weeks * float64(7*24*time.Hour) / 2))
			xs = append(xs, float64(mid.Unix())/(7*86400))
			ys = append(ys, math.Log2(p.LinesPerWeek))
		}
	}
	rep.DoublingPeriods = len(xs)
	if slope, ok := leastSquaresSlope(xs, ys); ok && slope > 0 {
		rep.DoublingTimeDays = ptr(7 / slope)
	}
	// Reverts.
	rep.Reverts = RevertReport{
		Reverts: a.nReverts, Reverted: a.matched,
		MedianDaysToRevert: map[string]float64{}, RevertRate: map[string]float64{},
	}
	rep.Reverts.Unmatched = len(a.reverts) - a.matched
	if rep.Reverts.Unmatched < 0 {
		rep.Reverts.Unmatched = 0
	}
	for _, k := range Kinds {
		if len(a.revertDays[k]) > 0 {
			rep.Reverts.MedianDaysToRevert[k.String()] = median(a.revertDays[k])
		}
		rep.Reverts.RevertRate[k.String()] = rep.Totals.Kinds[k.String()].RevertRate
	}
	rep.Method = methodNotes(rep)
	return rep, nil
}

// leastSquaresSlope fits y = a + b x and returns b.
func leastSquaresSlope(xs, ys []float64) (float64, bool) {
	n := float64(len(xs))
	if len(xs) < 2 {
		return 0, false
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}

func methodNotes(rep *Report) []string {
	mode := "the first-parent history of " + rep.Branch + " (what landed, dated by committer date; a merge counts as one commit with its diff against the first parent, classified by its own identity and trailers or, when those say human, by the merged branch's tip commit)"
	if rep.Mode != "first-parent" {
		mode = "every non-merge commit reachable from " + rep.Branch + ", dated by committer date"
	}
	return []string{
		"counted: " + mode + "; periods in UTC",
		"lines: added lines in counted files; the multiplier's basis leaves out automation and outliers",
		fmt.Sprintf("outliers: commits with more than %d added+deleted counted lines, kept in their own bucket", rep.OutlierLines),
		"excluded from line counts: binary files, vendored paths (enry, linguist-vendored), generated files (enry by name, linguist-generated, a \"Code generated ... DO NOT EDIT.\" header in the file at the branch tip), lock files, minified files; attributes and headers are read as of the tip",
		"kinds: automation, autonomous, agent, assisted, human, decided in that order; emails (after .mailmap, lower-cased) decide and names are evidence; only the trailer block is read as trailers",
		"authors: distinct people's emails (automation and agent identities left out)",
		"multiplier: lines per week over the baseline's lines per week (baseline lines / baseline weeks); per author: lines per author over the mean of the baseline periods' lines per author",
		"AI share: assisted+agent+autonomous over people's commits and lines; a lower bound, since unmarked AI work counts as human",
		"doubling time: least-squares fit of log2(lines per week) over the periods after the baseline that have lines",
		"reverts: commits named by a later \"This reverts commit <id>\" in the counted history",
	}
}

// kindNamesList is the kinds' names in decision order.
func kindNamesList() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = k.String()
	}
	return out
}
