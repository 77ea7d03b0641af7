package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/ouro-run/ouro"
)

var benchData = json.RawMessage(`{"turn":3,"result":{"call_id":"call_3_0","content":"ok  \tgithub.com/x/y\t0.012s\n","is_error":false},"duration_ms":1.25}`)

// BenchmarkAppend is one durable append at a time, as a single agent makes.
func BenchmarkAppend(b *testing.B) {
	j := openTest(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := j.Append(ctx, Record{RunID: "r", Type: ouro.EventToolResult, Data: benchData}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendConcurrent is 16 runs appending at once: group commit
// folds them into shared transactions.
func BenchmarkAppendConcurrent(b *testing.B) {
	j := openTest(b)
	ctx := context.Background()
	const writers = 16
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/writers + 1
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if _, err := j.Append(ctx, Record{RunID: "r" + strconv.Itoa(w), Type: ouro.EventToolResult, Data: benchData}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*writers)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendAsyncStep is the agent loop's pattern: a step enqueues a few
// events (model response, usage, tool call, tool result) and then waits on
// one Barrier, so the tool call is durable before the tool runs. A single
// caller; events/s counts every event made durable.
func BenchmarkAppendAsyncStep(b *testing.B) {
	j := openTest(b)
	ctx := context.Background()
	const perStep = 4
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for range perStep {
			if _, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolResult, Data: benchData}); err != nil {
				b.Fatal(err)
			}
		}
		if err := j.Barrier(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perStep)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendAsyncStepConcurrent is 16 agents each doing
// BenchmarkAppendAsyncStep's steps at once.
func BenchmarkAppendAsyncStepConcurrent(b *testing.B) {
	j := openTest(b)
	ctx := context.Background()
	const writers, perStep = 16, 4
	per := b.N/writers + 1
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				for range perStep {
					if _, err := j.Enqueue(ctx, Record{RunID: "r" + strconv.Itoa(w), Type: ouro.EventToolResult, Data: benchData}); err != nil {
						b.Error(err)
						return
					}
				}
				if err := j.Barrier(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*writers*perStep)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAppendAsyncStream enqueues events as fast as one caller can and
// waits for them all with one Barrier at the end: the writer's throughput
// when it can batch freely.
func BenchmarkAppendAsyncStream(b *testing.B) {
	j := openTest(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolResult, Data: benchData}); err != nil {
			b.Fatal(err)
		}
	}
	if err := j.Barrier(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// fillJournal writes n events quickly through the normal path, in batches.
func fillJournal(tb testing.TB, path string, n int) {
	j, err := Open(context.Background(), path, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer j.Close()
	batch := make([]Record, 0, 1000)
	for i := 0; i < n; i++ {
		batch = append(batch, Record{RunID: "r" + strconv.Itoa(i%50), Type: ouro.EventToolResult, Data: benchData})
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := j.Append(context.Background(), batch...); err != nil {
				tb.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkVerify verifies a journal of 200,000 events (OURO_BENCH_EVENTS
// overrides the size) and reports events per second.
func BenchmarkVerify(b *testing.B) {
	n := 200_000
	if s := os.Getenv("OURO_BENCH_EVENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	path := filepath.Join(b.TempDir(), "j.db")
	fillJournal(b, path, n)
	j, err := Open(context.Background(), path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := j.Verify(context.Background())
		if err != nil || rep.Problem != nil || rep.Events != int64(n) {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestVerifyMemoryFlat verifies journals of two sizes and checks that the
// peak heap does not grow with the log. OURO_SOAK=1 runs it on a million
// events.
func TestVerifyMemoryFlat(t *testing.T) {
	small, large := 5_000, 50_000
	if os.Getenv("OURO_SOAK") != "" {
		large = 1_000_000
	} else if testing.Short() {
		t.Skip("short mode")
	}
	peak := func(n int) uint64 {
		path := filepath.Join(t.TempDir(), fmt.Sprint(n, ".db"))
		fillJournal(t, path, n)
		j, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rep, err := j.Verify(context.Background())
		if err != nil || rep.Problem != nil {
			t.Fatal(rep.Problem, err)
		}
		runtime.ReadMemStats(&after)
		// HeapInuse after a full pass bounds what the pass retained.
		return after.HeapInuse
	}
	a, b := peak(small), peak(large)
	if b > a+8<<20 {
		t.Fatalf("heap after verifying %d events is %d bytes, after %d events %d: memory grows with the log", large, b, small, a)
	}
	_ = sql.ErrNoRows
}
