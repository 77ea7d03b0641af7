package journal

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ouro-run/ouro"
)

// stepData is the payload the async tests write: which writer and which
// event of it, so the reader can check order and completeness.
type stepData struct {
	Writer int `json:"writer"`
	N      int `json:"n"`
}

// readSteps returns, per writer, the N values stored, in log order.
func readSteps(t *testing.T, j *Journal) map[int][]int {
	t.Helper()
	got := map[int][]int{}
	err := j.Events(context.Background(), "", 0, func(ev *ouro.Event) error {
		var d stepData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return fmt.Errorf("event %d: %w", ev.Seq, err)
		}
		got[d.Writer] = append(got[d.Writer], d.N)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEnqueueBarrierKeepsAcknowledgedEventsAcrossReopen(t *testing.T) {
	const writers, steps, perStep = 6, 40, 3
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	acked := make([]int, writers) // events of each writer a Barrier confirmed
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			var last *Pending
			for range steps {
				for range perStep {
					p, err := j.Enqueue(ctx, Record{RunID: "run" + strconv.Itoa(w), Type: ouro.EventToolCall, Data: stepData{w, n}})
					if err != nil {
						errs <- err
						return
					}
					n++
					last = p
				}
				if err := j.Barrier(ctx); err != nil {
					errs <- err
					return
				}
				// After the barrier the step's last event is committed.
				select {
				case <-last.Done():
				default:
					errs <- fmt.Errorf("writer %d: Barrier returned before an earlier Enqueue was done", w)
					return
				}
				acked[w] = n
			}
			// One more enqueued event that no barrier confirms: Close must
			// still commit it.
			if _, err := j.Enqueue(ctx, Record{RunID: "run" + strconv.Itoa(w), Type: ouro.EventToolCall, Data: stepData{w, n}}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolCall}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close: %v, want ErrClosed", err)
	}

	j, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rep, err := j.Verify(ctx)
	if err != nil || rep.Problem != nil {
		t.Fatalf("verify after reopen: %+v %v", rep, err)
	}
	if want := int64(writers * (steps*perStep + 1)); rep.Events != want {
		t.Fatalf("%d events after reopen, want %d", rep.Events, want)
	}
	got := readSteps(t, j)
	for w := range writers {
		if acked[w] != steps*perStep {
			t.Fatalf("writer %d: %d events acknowledged, want %d", w, acked[w], steps*perStep)
		}
		// Each writer's events appear once each, in the order enqueued.
		if len(got[w]) != steps*perStep+1 {
			t.Fatalf("writer %d: %d events stored, want %d", w, len(got[w]), steps*perStep+1)
		}
		for i, n := range got[w] {
			if n != i {
				t.Fatalf("writer %d: event %d holds n=%d: lost, duplicated or reordered", w, i, n)
			}
		}
	}
}

func TestPendingWaitReturnsStoredEvents(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	p, err := j.Enqueue(ctx,
		Record{RunID: "r", Type: ouro.EventRunStarted, Data: ouro.RunStarted{Task: "t"}},
		Record{RunID: "r", Type: ouro.EventUsage, Data: ouro.UsageRecorded{Usage: ouro.Usage{InputTokens: 7}}})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 || evs[1].Prev != evs[0].Hash {
		t.Fatalf("events: %+v", evs)
	}
	var stored []ouro.Event
	if err := j.Events(ctx, "r", 0, func(ev *ouro.Event) error { stored = append(stored, *ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 2 || stored[1].Hash != evs[1].Hash || !stored[1].Time.Equal(evs[1].Time) {
		t.Fatalf("stored %+v, returned %+v", stored, evs)
	}
	if r, err := j.Run(ctx, "r"); err != nil || r.InputTokens != 7 {
		t.Fatalf("projection after Enqueue: %+v %v", r, err)
	}
}

func TestEnqueueRejectsBadInputAtOnce(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	cases := []struct {
		name string
		rec  Record
		want string
	}{
		{"no run id", Record{Type: ouro.EventToolCall}, "run id and type are required"},
		{"no type", Record{RunID: "r"}, "run id and type are required"},
		{"unencodable", Record{RunID: "r", Type: ouro.EventToolCall, Data: func() {}}, "encode tool.call event"},
		{"bad projected payload", Record{RunID: "r", Type: ouro.EventUsage, Data: json.RawMessage(`{"usage": 5}`)}, "not a valid usage payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := j.Enqueue(ctx, c.rec); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Enqueue: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
	// Nothing was queued, so the barrier has nothing to report.
	if err := j.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBarrierReportsFailedEnqueue(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	start := Record{RunID: "r", Type: ouro.EventRunStarted, Data: ouro.RunStarted{Task: "t"}}
	if _, err := j.Append(ctx, start); err != nil {
		t.Fatal(err)
	}
	// A second run.started for one run breaks the runs projection's key.
	p, err := j.Enqueue(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolCall})
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Barrier(ctx); err == nil || !strings.Contains(err.Error(), "enqueued append failed") {
		t.Fatalf("Barrier: %v, want the failed append", err)
	}
	if _, err := p.Wait(ctx); err == nil {
		t.Fatal("the conflicting append reported success")
	}
	// Its neighbour was committed on its own.
	if evs, err := ok.Wait(ctx); err != nil || len(evs) != 1 || evs[0].Seq != 2 {
		t.Fatalf("neighbour: %+v %v", evs, err)
	}
	// The failure stays reported.
	if err := j.Barrier(ctx); err == nil {
		t.Fatal("a later Barrier forgot the failure")
	}
	rep, err := j.Verify(ctx)
	if err != nil || rep.Problem != nil || rep.Events != 2 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestKilledWriterKeepsAcknowledgedEvents runs a writer in a child process
// that enqueues steps and prints each acknowledged count after its
// Barrier, kills it with SIGKILL mid-stream, and checks that every
// acknowledged event is in the journal and that the journal verifies.
func TestKilledWriterKeepsAcknowledgedEvents(t *testing.T) {
	if os.Getenv("OURO_JOURNAL_CHILD") != "" {
		killChild()
		return
	}
	path := filepath.Join(t.TempDir(), "j.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriterKeepsAcknowledgedEvents$")
	cmd.Env = append(os.Environ(), "OURO_JOURNAL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "acked "))
		if err != nil {
			continue // test framework output
		}
		acked = n
		if acked >= 3000 {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 3000 {
		t.Fatalf("the child stopped after %d acknowledged events", acked)
	}

	ctx := context.Background()
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	rep, err := j.Verify(ctx)
	if err != nil || rep.Problem != nil {
		t.Fatalf("verify after kill -9: %+v %v", rep, err)
	}
	got := readSteps(t, j)[0]
	if len(got) < acked {
		t.Fatalf("%d events survived, but %d were acknowledged", len(got), acked)
	}
	for i, n := range got {
		if n != i {
			t.Fatalf("event %d holds n=%d after kill -9", i, n)
		}
	}
}

// killChild is the child's side: enqueue steps of 5 events forever,
// printing the acknowledged count after each Barrier.
func killChild() {
	ctx := context.Background()
	j, err := Open(ctx, os.Getenv("OURO_JOURNAL_CHILD"), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for n := 0; ; {
		for range 5 {
			if _, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolCall, Data: stepData{0, n}}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			n++
		}
		if err := j.Barrier(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(w, "acked %d\n", n)
		w.Flush()
	}
}

// TestCanonicalEncoding pins the chain hash to the encoding documented on
// appendCanonical, written out here field by field.
func TestCanonicalEncoding(t *testing.T) {
	var prev Hash
	prev[0], prev[31] = 0xab, 0xcd
	data := []byte(`{"a":1}`)
	var b []byte
	b = append(b, "ouro.event.v1\x00"...)
	b = binary.BigEndian.AppendUint64(b, 42)
	b = binary.BigEndian.AppendUint64(b, 3)
	b = append(b, "run"...)
	b = binary.BigEndian.AppendUint64(b, 9)
	b = append(b, "tool.call"...)
	b = binary.BigEndian.AppendUint64(b, 1_700_000_000_123_456_789)
	b = binary.BigEndian.AppendUint64(b, uint64(len(data)))
	b = append(b, data...)
	b = append(b, prev[:]...)
	want := Hash(sha256.Sum256(b))
	if got := eventHash(42, "run", "tool.call", 1_700_000_000_123_456_789, data, prev); got != want {
		t.Fatalf("eventHash %x, want %x", got, want)
	}
}

func TestTwoProcessesEnqueueIntoOneChain(t *testing.T) {
	// Two Journal values on one file stand for two ouro processes, each
	// with its own group-commit writer.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	var js []*Journal
	for range 2 {
		j, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		js = append(js, j)
	}
	var wg sync.WaitGroup
	for w, j := range js {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if _, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolCall, Data: stepData{w, i}}); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 49 {
					if err := j.Barrier(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	rep, err := js[0].Verify(ctx)
	if err != nil || rep.Problem != nil || rep.Events != 600 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	for w, ns := range readSteps(t, js[1]) {
		for i, n := range ns {
			if n != i {
				t.Fatalf("writer %d: event %d holds n=%d", w, i, n)
			}
		}
	}
}

func TestSyncOption(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		sync    string
		wantErr string
	}{
		{"", ""},
		{"normal", ""},
		{"full", ""},
		{"paranoid", `journal sync "paranoid": want normal or full`},
	}
	for _, c := range cases {
		t.Run(c.sync, func(t *testing.T) {
			j, err := Open(ctx, filepath.Join(t.TempDir(), "j.db"), Options{Sync: c.sync})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("Open: %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if _, err := j.Enqueue(ctx, Record{RunID: "r", Type: ouro.EventToolCall}); err != nil {
				t.Fatal(err)
			}
			if err := j.Barrier(ctx); err != nil {
				t.Fatal(err)
			}
			if rep, err := j.Verify(ctx); err != nil || rep.Problem != nil || rep.Events != 1 {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	// '?' and '#' end the path of a file: URI unless escaped; the journal
	// must land at exactly the path given.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a#b?c%20d", "journal.db")
	j, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Append(ctx, Record{RunID: "r", Type: ouro.EventToolCall}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("journal not at the path given: %v", err)
	}
	if rep, err := j.Verify(ctx); err != nil || rep.Problem != nil || rep.Events != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestVerifyDuringAppendsSeesOneSnapshot(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	appendN(t, j, "r", 2000)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- j.Barrier(ctx)
				return
			default:
			}
			if _, err := j.Enqueue(ctx, Record{RunID: "w", Type: ouro.EventToolCall, Data: stepData{1, i}}); err != nil {
				done <- err
				return
			}
		}
	}()
	for range 5 {
		rep, err := j.Verify(ctx)
		if err != nil || rep.Problem != nil || rep.Events < 2000 {
			t.Fatalf("verify while appending: %+v %v", rep, err)
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
