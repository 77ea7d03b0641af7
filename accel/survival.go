package accel

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultSurvivalFiles is how many files --survival blames at most.
const DefaultSurvivalFiles = 200

// DefaultSurvivalBudget is how long --survival starts new blames for.
const DefaultSurvivalBudget = 30 * time.Second

// SurvivalInfo states how survival was computed.
type SurvivalInfo struct {
	// FilesAtTip is the number of counted files at the branch tip.
	FilesAtTip int `json:"files_at_tip"`
	// FilesBlamed is the number of those blamed.
	FilesBlamed int `json:"files_blamed"`
	// Sampled is true when only some files were blamed.
	Sampled bool `json:"sampled"`
	// LinesBlamed is the number of lines blamed.
	LinesBlamed int `json:"lines_blamed"`
	// Unattributed is the lines blamed to commits outside the counted
	// history (before --since, or outliers).
	Unattributed int `json:"unattributed"`
	// ByKind is the share of each kind's added lines still present at the
	// tip, over the whole counted history.
	ByKind map[string]float64 `json:"by_kind"`
	// Method states the sampling.
	Method string `json:"method"`
}

// survival blames a uniform random sample of the counted files at the tip and
// scales the surviving lines by files at tip / files blamed.
func (a *analyzer) survival(ctx context.Context, r *repo, tip string, pc *pathClassifier, rep *Report) (*SurvivalInfo, error) {
	out, err := r.output(ctx, "ls-tree", "-r", "-z", "--name-only", tip)
	if err != nil {
		return nil, fmt.Errorf("survival: list files: %w", err)
	}
	var files []string
	for _, p := range bytes.Split(out, []byte{0}) {
		if len(p) == 0 {
			continue
		}
		e, err := pc.lookup(p)
		if err != nil {
			return nil, fmt.Errorf("survival: %w", err)
		}
		if e.class == classCounted && !e.binary {
			files = append(files, string(p))
		}
	}
	sort.Strings(files)
	n := a.opts.SurvivalFiles
	if n <= 0 {
		n = DefaultSurvivalFiles
	}
	info := &SurvivalInfo{FilesAtTip: len(files), ByKind: map[string]float64{}}
	// A fixed-seed permutation: any prefix of it is a uniform random sample.
	order := files
	if len(files) > n {
		rng := rand.New(rand.NewPCG(1, 2))
		perm := rng.Perm(len(files))[:n]
		order = make([]string, n)
		for i, j := range perm {
			order[i] = files[j]
		}
	}
	budget := a.opts.SurvivalBudget
	if budget == 0 {
		budget = DefaultSurvivalBudget
	}
	deadline := time.Now().Add(budget)

	// Blame in parallel; each worker counts lines per commit id.
	counts := map[string]int{}
	var mu sync.Mutex
	var firstErr error
	jobs := make(chan string)
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), 4)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				local, err := r.blame(ctx, tip, f, !a.opts.All)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				for h, c := range local {
					counts[h] += c
				}
				mu.Unlock()
			}
		}()
	}
	blamed := 0
	for _, f := range order {
		if budget > 0 && time.Now().After(deadline) {
			break
		}
		jobs <- f
		blamed++
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	info.FilesBlamed = blamed
	info.Sampled = blamed < len(files)
	scale := 1.0
	if blamed > 0 {
		scale = float64(len(files)) / float64(blamed)
	}
	switch {
	case !info.Sampled:
		info.Method = fmt.Sprintf("git blame on all %d counted files at the tip", len(files))
	default:
		why := fmt.Sprintf("at most %d files", n)
		if blamed < min(n, len(files)) {
			why = fmt.Sprintf("the %s time budget ran out", budget)
		}
		info.Method = fmt.Sprintf("git blame on a uniform random sample of %d of the %d counted files at the tip (fixed seed; %s); surviving lines scaled by %d/%d",
			blamed, len(files), why, len(files), blamed)
	}
	type key struct{ period, kind int }
	surv := map[key]int{}
	var kindSurv [numKinds]int
	base := 0
	if len(rep.Periods) > 0 {
		base = a.by.index(rep.Periods[0].Start)
	}
	for h, c := range counts {
		info.LinesBlamed += c
		v, ok := a.survivalMap[h]
		if !ok || v&8 != 0 {
			info.Unattributed += c
			continue
		}
		k := key{floorDiv(v, 16) - base, v & 7}
		surv[k] += c
		kindSurv[k.kind] += c
	}
	for i := range rep.Periods {
		for _, kd := range Kinds {
			ks := rep.Periods[i].Kinds[kd.String()]
			if ks.Added > 0 {
				ks.Survival = ptr(min(1, float64(surv[key{i, int(kd)}])*scale/float64(ks.Added)))
			}
		}
	}
	for _, kd := range Kinds {
		if t := rep.Totals.Kinds[kd.String()]; t.Added > 0 {
			s := min(1, float64(kindSurv[kd])*scale/float64(t.Added))
			info.ByKind[kd.String()] = s
			t.Survival = ptr(s)
		}
	}
	return info, nil
}

// blame counts the lines of one file at tip per commit id.
func (r *repo) blame(ctx context.Context, tip, file string, firstParent bool) (map[string]int, error) {
	args := []string{"blame", "--porcelain"}
	if firstParent {
		args = append(args, "--first-parent")
	}
	args = append(args, tip, "--", file)
	cmd := r.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("survival: blame %s: %w", file, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("survival: blame %s: %w", file, err)
	}
	counts := map[string]int{}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		l := sc.Bytes()
		if len(l) == 0 || l[0] == '\t' {
			continue
		}
		sp := bytes.IndexByte(l, ' ')
		if (sp == 40 || sp == 64) && isHex(l[:sp]) {
			counts[string(l[:sp])]++
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) {
		_ = cmd.Wait()
		return nil, fmt.Errorf("survival: blame %s: %w", file, err)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("survival: blame %s: %s: %w", file, strings.TrimSpace(stderr.String()), err)
	}
	return counts, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
