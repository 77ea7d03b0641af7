package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

// stepTimes records when each model.request event of a run is journaled.
type stepTimes struct {
	events
	starts map[string][]time.Time
}

func (s *stepTimes) Event(ev *ouro.Event) {
	if ev.Type == ouro.EventModelRequest {
		s.mu.Lock()
		s.starts[ev.RunID] = append(s.starts[ev.RunID], time.Now())
		s.mu.Unlock()
	}
}

func percentiles(b *testing.B, d []time.Duration, unit string) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "p50-ms/"+unit)
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, "p99-ms/"+unit)
}

// BenchmarkStepSandboxedTrue is one whole agent step the way a user runs
// it: a scripted model that answers at once, the bash tool running `true`
// in the run's sandbox, policy, rule monitors and the journal. Runs of 50
// steps; it reports the median time from one model call to the next.
func BenchmarkStepSandboxedTrue(b *testing.B) {
	const perRun = 50
	r := newRig(b, map[string]string{"x": "x\n"})
	defer r.jr.Close()
	var s strings.Builder
	for range perRun {
		s.WriteString(`{"tool_calls": [{"name": "bash", "input": {"command": "true"}}]}` + "\n")
	}
	s.WriteString(`{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}` + "\n")
	script := r.script("steps.jsonl", s.String())
	st := &stepTimes{starts: map[string][]time.Time{}}
	f, err := New(context.Background(), Options{Home: r.home, Journal: r.jr, Config: r.cfg, RepoDir: r.repo,
		Getenv: func(k string) string { return r.env[k] }, Observer: st})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for run := 0; run*perRun < b.N; run++ {
		_, out, err := f.Start(context.Background(), Task{Task: "steps", Model: "script:" + script})
		if err != nil || out.Status != ouro.StatusFinished {
			b.Fatalf("run: %+v %v", out, err)
		}
	}
	b.StopTimer()
	var steps []time.Duration
	for _, ts := range st.starts {
		// The first gap includes the sandbox's start; the rest are steps.
		for i := 2; i < len(ts); i++ {
			steps = append(steps, ts[i].Sub(ts[i-1]))
		}
	}
	percentiles(b, steps, "step")
}

// BenchmarkDelegateLatency is the time from a parent's delegate call being
// journaled to the child's first model call, on a repository of 1,000
// files: commit the parent's work, set up the child (its worktree is
// checked out meanwhile), start it.
func BenchmarkDelegateLatency(b *testing.B) {
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("pkg%02d/file%03d.go", i%40, i)] = fmt.Sprintf("package pkg%02d\n\nconst C%d = %d\n", i%40, i, i)
	}
	r := newRig(b, files)
	defer r.jr.Close()
	// The child's first turn streams text: the model call is seen the
	// moment it is made, not when its events are next written.
	child := r.script("child.jsonl", `{"text": "on it", "tool_calls": [{"name": "finish", "input": {"summary": "ok"}}]}`+"\n")
	var calls []string
	for range 5 {
		calls = append(calls, `{"tool_calls": [`+delegateCall("noop", child, "")+`]}`)
	}
	parent := r.script("parent.jsonl", strings.Join(calls, "\n")+"\n"+`{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}`+"\n")
	var lat []time.Duration
	obs := &latencyObserver{}
	f, err := New(context.Background(), Options{Home: r.home, Journal: r.jr, Config: r.cfg, RepoDir: r.repo,
		Getenv: func(k string) string { return r.env[k] }, Observer: obs})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close(context.Background())
	b.ResetTimer()
	for done := 0; done < b.N; done += 5 {
		if _, out, err := f.Start(context.Background(), Task{Task: "delegate", Model: "script:" + parent}); err != nil || out.Status != ouro.StatusFinished {
			b.Fatalf("run: %+v %v", out, err)
		}
	}
	b.StopTimer()
	lat = obs.latencies()
	percentiles(b, lat, "delegate")
}

// latencyObserver pairs a delegate tool.call with the first model request
// of the child it started.
type latencyObserver struct {
	events
	callAt map[string]time.Time // parent run -> last delegate call time
	parent map[string]string    // child -> parent
	lat    []time.Duration
}

func (o *latencyObserver) Event(ev *ouro.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.callAt == nil {
		o.callAt, o.parent = map[string]time.Time{}, map[string]string{}
	}
	switch ev.Type {
	case ouro.EventToolCall:
		if strings.Contains(string(ev.Data), `"name":"delegate"`) {
			o.callAt[ev.RunID] = time.Now()
		}
	case ouro.EventDelegated:
		var d ouro.Delegated
		if json.Unmarshal(ev.Data, &d) == nil {
			o.parent[d.ChildID] = ev.RunID
		}
	}
}

// Text marks a child's first model call.
func (o *latencyObserver) Text(runID, _ string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.parent[runID]; ok {
		o.lat = append(o.lat, time.Since(o.callAt[p]))
		delete(o.parent, runID)
	}
}

func (o *latencyObserver) latencies() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]time.Duration(nil), o.lat...)
}

// BenchmarkChildren100 delegates 100 scripted children at once and, for
// comparison, 100 in sequence, and reports the wall times and ouro's own
// heap per child at the peak.
func BenchmarkChildren100(b *testing.B) {
	for _, mode := range []string{"parallel", "sequential"} {
		b.Run(mode, func(b *testing.B) {
			r := newRig(b, map[string]string{"x": "x\n"})
			defer r.jr.Close()
			r.cfg.MaxChildren = 100
			r.cfg.MaxAgents = 101
			child := r.script("child.jsonl", `{"tool_calls": [{"name": "list_files", "input": {}}]}`+"\n"+`{"tool_calls": [{"name": "finish", "input": {"summary": "ok"}}]}`+"\n")
			var calls []string
			for range 100 {
				calls = append(calls, delegateCall("child", child, ""))
			}
			var script string
			if mode == "parallel" {
				script = `{"tool_calls": [` + strings.Join(calls, ", ") + `]}` + "\n"
			} else {
				for _, c := range calls {
					script += `{"tool_calls": [` + c + `]}` + "\n"
				}
			}
			parent := r.script("parent.jsonl", script+`{"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]}`+"\n")
			peak := &heapPeak{}
			f, err := New(context.Background(), Options{Home: r.home, Journal: r.jr, Config: r.cfg, RepoDir: r.repo,
				Getenv: func(k string) string { return r.env[k] }, Observer: peak})
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			b.ResetTimer()
			for range b.N {
				if _, out, err := f.Start(context.Background(), Task{Task: "fan out", Model: "script:" + parent}); err != nil || out.Status != ouro.StatusFinished {
					b.Fatalf("run: %+v %v", out, err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(peak.max-base.HeapAlloc)/100/(1<<20), "peak-MiB/child")
		})
	}
}

// heapPeak samples the heap on every delegate event.
type heapPeak struct {
	events
	max uint64
}

func (h *heapPeak) Event(ev *ouro.Event) {
	if ev.Type != ouro.EventDelegated && ev.Type != ouro.EventDelegateReturned {
		return
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.mu.Lock()
	h.max = max(h.max, m.HeapAlloc)
	h.mu.Unlock()
}
