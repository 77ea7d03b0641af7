package journal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ouro-run/ouro"
)

func openTest(t testing.TB) *Journal {
	t.Helper()
	j, err := Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func appendN(t testing.TB, j *Journal, run string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		if _, err := j.Append(ctx, Record{RunID: run, Type: ouro.EventError, Data: ouro.ErrorRecorded{Where: "test", Message: fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// mth is the Merkle tree hash straight from the RFC 6962 definition,
// recursive, independent of Frontier.
func mth(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := mth(leaves[:k]), mth(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func TestFrontierMatchesDefinition(t *testing.T) {
	var f Frontier
	var leaves []Hash
	for i := 0; i < 70; i++ {
		var e Hash
		e[0] = byte(i)
		l := sha256.Sum256(append([]byte{0}, e[:]...))
		leaves = append(leaves, l)
		f.Push(LeafHash(e))
		if f.Root() != mth(leaves) {
			t.Fatalf("size %d: frontier root differs from the RFC 6962 definition", i+1)
		}
		g, err := unmarshalFrontier(f.marshal())
		if err != nil || g.Root() != f.Root() {
			t.Fatalf("size %d: frontier round trip: %v", i+1, err)
		}
	}
}

func TestConsistencyProofs(t *testing.T) {
	var leaves []Hash
	for i := 0; i < 33; i++ {
		leaves = append(leaves, sha256.Sum256([]byte{byte(i)}))
	}
	src := func(from, to int64, fn func(Hash)) error {
		for _, l := range leaves[from:to] {
			fn(l)
		}
		return nil
	}
	for n := 1; n <= len(leaves); n++ {
		for m := 1; m <= n; m++ {
			proof, err := ConsistencyProof(src, int64(m), int64(n))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyConsistency(int64(m), int64(n), mth(leaves[:m]), mth(leaves[:n]), proof); err != nil {
				t.Fatalf("m=%d n=%d: %v", m, n, err)
			}
			if m < n {
				bad := mth(leaves[:m])
				bad[0] ^= 1
				if VerifyConsistency(int64(m), int64(n), bad, mth(leaves[:n]), proof) == nil {
					t.Fatalf("m=%d n=%d: a rewritten old head verified", m, n)
				}
			}
		}
	}
}

func TestAppendChainsAndProjects(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	evs, err := j.Append(ctx,
		Record{RunID: "r1", Type: ouro.EventRunStarted, Data: ouro.RunStarted{Task: "fix it", Agent: "coder", Model: "script:x", Branch: "ouro/r1"}},
		Record{RunID: "r1", Type: ouro.EventUsage, Data: ouro.UsageRecorded{Usage: ouro.Usage{InputTokens: 10, OutputTokens: 5, CostUSD: 0.25}}},
		Record{RunID: "r1", Type: ouro.EventUsage, Data: ouro.UsageRecorded{Usage: ouro.Usage{InputTokens: 1, OutputTokens: 2, CostUSD: 0.5}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Seq != 1 || evs[2].Seq != 3 || evs[1].Prev != evs[0].Hash || evs[0].Prev != strings.Repeat("0", 64) {
		t.Fatalf("bad chain: %+v", evs)
	}
	r, err := j.Run(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if r.InputTokens != 11 || r.OutputTokens != 7 || r.CostUSD != 0.75 || r.Task != "fix it" {
		t.Fatalf("projection: %+v", r)
	}
	// No process holds the lease, so a running run reads as interrupted.
	if r.Status != ouro.StatusInterrupted {
		t.Fatalf("status %s, want interrupted", r.Status)
	}
	release, err := j.Lease("r1")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := j.Run(ctx, "r1"); r.Status != ouro.StatusRunning {
		t.Fatalf("leased run reads %s", r.Status)
	}
	if _, err := j.Lease("r1"); err == nil {
		t.Fatal("second lease on one run succeeded")
	}
	release()
	rep, err := j.Verify(ctx)
	if err != nil || rep.Problem != nil || rep.Events != 3 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendN(t, j, fmt.Sprintf("run%d", w), 50)
		}()
	}
	wg.Wait()
	rep, err := j.Verify(ctx)
	if err != nil || rep.Problem != nil || rep.Events != 400 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestTwoProcessesShareOneChain(t *testing.T) {
	// Two Journal values on one file stand for two ouro processes.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	a, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for _, j := range []*Journal{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); appendN(t, j, "r", 100) }()
	}
	wg.Wait()
	rep, err := a.Verify(ctx)
	if err != nil || rep.Problem != nil || rep.Events != 200 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// tamper edits the database behind the journal's back, as an agent with
// file access would.
func tamper(t *testing.T, j *Journal, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestVerifyNamesFirstBadEvent(t *testing.T) {
	cases := []struct {
		name    string
		stmts   []string
		publish bool
		seq     int64
		reason  string
	}{
		{"flip a byte", []string{`UPDATE events SET data = CAST(replace(CAST(data AS TEXT), '"7"', '"8"') AS BLOB) WHERE seq = 8`}, false, 8, "edited"},
		{"change the type", []string{`UPDATE events SET type = 'tool.call' WHERE seq = 5`}, false, 5, "edited"},
		{"delete one", []string{`DELETE FROM events WHERE seq = 4`}, false, 4, "missing"},
		{"swap two", []string{
			`UPDATE events SET seq = -1 WHERE seq = 3`, `UPDATE events SET seq = 3 WHERE seq = 6`, `UPDATE events SET seq = 6 WHERE seq = -1`}, false, 3, "previous-hash"},
		{"insert one", []string{
			`UPDATE events SET seq = seq + 1000 WHERE seq >= 5`, `UPDATE events SET seq = seq - 999 WHERE seq >= 1005`,
			`INSERT INTO events SELECT 5, run_id, type, time, data, prev, hash FROM events WHERE seq = 4`}, false, 5, "previous-hash"},
		{"forge a checkpoint", []string{`INSERT INTO checkpoints(size, root, time) VALUES (5, zeroblob(32), 0)`}, false, 5, "checkpoint at size 5"},
		{"retype a column", []string{`UPDATE events SET time = 'noon' WHERE seq = 6`}, false, 6, "not an integer"},
		{"truncate the tail and fix the head", []string{
			`DELETE FROM events WHERE seq > 9`,
			`UPDATE head SET size = 9, hash = (SELECT hash FROM events WHERE seq = 9)`,
			`DELETE FROM checkpoints`}, true, 10, "published tree head"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			j := openTest(t)
			appendN(t, j, "r", 12)
			if c.publish {
				if _, err := j.Publish(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if rep, _ := j.Verify(ctx); rep.Problem != nil {
				t.Fatalf("intact journal fails: %v", rep.Problem)
			}
			tamper(t, j, c.stmts...)
			rep, err := j.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Problem == nil {
				t.Fatal("tampering was not detected")
			}
			if rep.Problem.Seq != c.seq || !strings.Contains(rep.Problem.Reason, c.reason) {
				t.Fatalf("got %q (seq %d), want seq %d mentioning %q", rep.Problem, rep.Problem.Seq, c.seq, c.reason)
			}
		})
	}
}

func TestConsistencyAgainstKeptHead(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	appendN(t, j, "r", 21)
	old, err := j.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, "r", 30)
	cur, proof, err := j.Consistency(ctx, old)
	if err != nil || cur.Size != 51 || len(proof) == 0 {
		t.Fatalf("consistency: %v %v %d", cur, err, len(proof))
	}
	// A head that was never this log's prefix fails.
	forged := old
	forged.Root = hex.EncodeToString(make([]byte, 32))
	if _, _, err := j.Consistency(ctx, forged); err == nil {
		t.Fatal("forged head accepted")
	}
	// Rewriting an early event breaks consistency with the kept head.
	tamper(t, j, `UPDATE events SET hash = zeroblob(32) WHERE seq = 2`)
	if _, _, err := j.Consistency(ctx, old); err == nil {
		t.Fatal("rewritten history stayed consistent")
	}
}

func TestParseTreeHead(t *testing.T) {
	for _, s := range []string{"", "12", "x:abc", "0:" + strings.Repeat("a", 64), "3:zz"} {
		if _, err := ParseTreeHead(s); err == nil {
			t.Errorf("ParseTreeHead(%q) succeeded", s)
		}
	}
	h := TreeHead{Size: 3, Root: strings.Repeat("ab", 32)}
	if g, err := ParseTreeHead(h.String()); err != nil || g != h {
		t.Fatalf("round trip: %v %v", g, err)
	}
}

func TestApprovalBindsToActionHash(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	_, err := j.Append(ctx, Record{RunID: "r", Type: ouro.EventApprovalRequested, Data: ouro.ApprovalRequested{ID: "ap1", ActionHash: "h1", Deadline: time.Now().Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	// An answer for a different action hash does not answer the request.
	j.Append(ctx, Record{RunID: "r", Type: ouro.EventApprovalAnswered, Data: ouro.ApprovalAnswered{ID: "ap1", ActionHash: "h2", Approved: true, By: "eve"}})
	if a, _ := j.Approval(ctx, "ap"); a.Status != ApprovalPending {
		t.Fatalf("status %s after a mismatched answer", a.Status)
	}
	j.Append(ctx, Record{RunID: "r", Type: ouro.EventApprovalAnswered, Data: ouro.ApprovalAnswered{ID: "ap1", ActionHash: "h1", Approved: false, By: "ann", Why: "no"}})
	a, err := j.Approval(ctx, "ap1")
	if err != nil || a.Status != ApprovalDenied || a.By != "ann" || a.Answer != "no" {
		t.Fatalf("%+v %v", a, err)
	}
}
