package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Problem describes the first place a journal fails verification.
type Problem struct {
	Seq    int64  // the first bad event (0 when the problem is not one event)
	Reason string // what is wrong
}

func (p *Problem) Error() string {
	if p.Seq > 0 {
		return fmt.Sprintf("event %d: %s", p.Seq, p.Reason)
	}
	return p.Reason
}

// Report is the outcome of Verify.
type Report struct {
	Events      int64    // events checked
	Checkpoints int      // stored Merkle checkpoints matched
	Published   int      // published heads (heads.log) matched
	Head        TreeHead // the recomputed tree head
	Problem     *Problem // nil when the journal is intact
}

// Verify streams the whole journal once and checks that every event's hash
// matches its content and its predecessor, that sequence numbers have no
// gaps, that every stored checkpoint and every published tree head is the
// Merkle root of the log's prefix of that size, and that the stored head
// agrees with the log. It names the first bad event.
//
// It reads one consistent snapshot (a read transaction on its own
// connection), so appends that go on meanwhile are neither seen nor
// mistaken for damage. The events come from a single query whose column
// bytes are read in place, with no per-row allocation, and are handed in
// chunks to a second goroutine that hashes them over the stored bytes (no
// JSON decoding), so reading and hashing overlap. Memory stays flat in the
// length of the log: a few chunks of at most 512 events or 1 MiB.
func (j *Journal) Verify(ctx context.Context) (Report, error) {
	var rep Report
	// Published heads first: each was a prefix of the log when written, so
	// the snapshot taken below covers all of them if nothing was removed.
	pubs, err := j.published()
	if err != nil {
		return rep, err
	}
	c, err := openRaw(j.path)
	if err != nil {
		return rep, fmt.Errorf("verify journal: %w", err)
	}
	defer c.close()
	if err := c.exec(`BEGIN`); err != nil {
		return rep, fmt.Errorf("verify journal: %w", err)
	}
	defer c.exec(`ROLLBACK`)
	cps, err := rawCheckpoints(c)
	if err != nil {
		return rep, fmt.Errorf("verify journal: read checkpoints: %w", err)
	}
	headSize, headHash, haveHead, err := rawHead(c)
	if err != nil {
		return rep, fmt.Errorf("verify journal: read head: %w", err)
	}

	v := verifier{cps: cps, pubs: pubs}
	if err := v.run(ctx, c); err != nil {
		return rep, fmt.Errorf("verify journal: %w", err)
	}
	rep.Events, rep.Checkpoints, rep.Published = v.events, v.ci, v.pi
	r := v.front.Root()
	rep.Head = TreeHead{Size: v.front.Size, Root: hex.EncodeToString(r[:])}
	if v.problem != nil {
		rep.Problem = v.problem
		return rep, nil
	}
	fail := func(seq int64, f string, a ...any) (Report, error) {
		rep.Problem = &Problem{Seq: seq, Reason: fmt.Sprintf(f, a...)}
		return rep, nil
	}
	size := v.front.Size
	if v.ci < len(cps) {
		return fail(size+1, "missing: a checkpoint covers %d events but the log has %d (events deleted from the end)", cps[v.ci].Size, size)
	}
	if v.pi < len(pubs) {
		return fail(size+1, "missing: published tree head %s covers more events than the log has (%d)", pubs[v.pi], size)
	}
	switch {
	case haveHead:
		if headSize != size || !bytes.Equal(headHash, v.prev[:]) {
			return fail(min(headSize, size)+1, "the stored head (%d events) disagrees with the log (%d events)", headSize, size)
		}
	case size != 0:
		return fail(0, "the journal head record is missing")
	}
	return rep, nil
}

func rawCheckpoints(c *rawConn) ([]TreeHead, error) {
	s, err := c.prepare(`SELECT size, root FROM checkpoints ORDER BY size`)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var out []TreeHead
	for {
		more, err := s.step()
		if err != nil || !more {
			return out, err
		}
		out = append(out, TreeHead{Size: s.int64(0), Root: hex.EncodeToString(s.bytes(1))})
	}
}

func rawHead(c *rawConn) (size int64, hash []byte, ok bool, err error) {
	s, err := c.prepare(`SELECT size, hash FROM head WHERE id = 1`)
	if err != nil {
		return 0, nil, false, err
	}
	defer s.close()
	more, err := s.step()
	if err != nil || !more {
		return 0, nil, false, err
	}
	return s.int64(0), bytes.Clone(s.bytes(1)), true, nil
}

// Chunks handed from the reader to the hasher: at most this many rows, and
// no more bytes than verifyChunkBytes unless one row alone is larger.
const (
	verifyChunk      = 512
	verifyChunkBytes = 1 << 20
)

// span is a field of a row inside its chunk's buffer.
type span struct{ off, n int }

// row is one stored event as read.
type row struct {
	seq, time                    int64
	runID, typ, data, prev, hash span
	bad                          string // a column of the wrong type, named
}

// chunk is consecutive rows whose bytes share one reused buffer.
type chunk struct {
	rows []row
	buf  []byte
}

func (c *chunk) add(b []byte) span {
	s := span{len(c.buf), len(b)}
	c.buf = append(c.buf, b...)
	return s
}

func (c *chunk) get(s span) []byte { return c.buf[s.off : s.off+s.n] }

// verifier checks rows in order; its fields are the state of the pass.
type verifier struct {
	cps, pubs []TreeHead
	ci, pi    int
	events    int64
	prev      Hash
	front     Frontier
	buf       []byte
	problem   *Problem
}

// run reads the events and checks them in a second goroutine, chunk by
// chunk, so reading and hashing overlap.
func (v *verifier) run(ctx context.Context, c *rawConn) error {
	s, err := c.prepare(`SELECT seq, run_id, type, time, data, prev, hash FROM events ORDER BY seq`)
	if err != nil {
		return err
	}
	defer s.close()

	full := make(chan *chunk, 2)
	free := make(chan *chunk, 4)
	for range cap(free) {
		free <- &chunk{rows: make([]row, 0, verifyChunk)}
	}
	stop := make(chan struct{}) // closed by the checker at the first problem
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for ch := range full {
			if v.problem == nil && !v.check(ch) {
				close(stop)
			}
			ch.rows, ch.buf = ch.rows[:0], ch.buf[:0]
			free <- ch
		}
	}()

	err = read(ctx, s, full, free, stop)
	close(full)
	<-checked
	return err
}

// read fills chunks from the statement's rows and sends them to the
// checker until the rows end, the checker stops, or ctx is done.
func read(ctx context.Context, s *rawStmt, full, free chan *chunk, stop chan struct{}) error {
	for {
		var ch *chunk
		select {
		case ch = <-free:
		case <-stop:
			return nil
		}
		done := false
		for len(ch.rows) < verifyChunk && len(ch.buf) < verifyChunkBytes {
			more, err := s.step()
			if err != nil {
				return err
			}
			if !more {
				done = true
				break
			}
			r := row{seq: s.int64(0), time: s.int64(3)}
			switch {
			case !s.isInt(0):
				r.bad = "seq"
			case !s.isInt(3):
				r.bad = "time"
			}
			r.runID = ch.add(s.bytes(1))
			r.typ = ch.add(s.bytes(2))
			r.data = ch.add(s.bytes(4))
			r.prev = ch.add(s.bytes(5))
			r.hash = ch.add(s.bytes(6))
			ch.rows = append(ch.rows, r)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(ch.rows) > 0 {
			select {
			case full <- ch:
			case <-stop:
				return nil
			}
		}
		if done {
			return nil
		}
	}
}

// check verifies a chunk of consecutive rows and reports whether all were
// good; at the first bad one it records the problem and stops.
func (v *verifier) check(ch *chunk) bool {
	fail := func(seq int64, f string, a ...any) bool {
		v.problem = &Problem{Seq: seq, Reason: fmt.Sprintf(f, a...)}
		return false
	}
	for i := range ch.rows {
		r := &ch.rows[i]
		want := v.front.Size + 1
		if r.bad != "" {
			return fail(want, "its %s column is not an integer (the event was edited)", r.bad)
		}
		if r.seq != want {
			if r.seq > want {
				return fail(want, "missing: the log jumps from event %d to %d (deleted events)", want-1, r.seq)
			}
			return fail(r.seq, "out of order after event %d", want-1)
		}
		if !bytes.Equal(ch.get(r.prev), v.prev[:]) {
			return fail(r.seq, "its previous-hash does not match event %d (events deleted, inserted or reordered)", r.seq-1)
		}
		v.buf = appendCanonicalBytes(v.buf[:0], r.seq, ch.get(r.runID), ch.get(r.typ), r.time, ch.get(r.data), v.prev)
		h := sha256Sum(v.buf)
		if !bytes.Equal(ch.get(r.hash), h[:]) {
			return fail(r.seq, "content does not match its hash (the event was edited)")
		}
		v.prev = h
		v.front.Push(LeafHash(h))
		for v.ci < len(v.cps) && v.cps[v.ci].Size == v.front.Size {
			if root := v.front.Root(); hex.EncodeToString(root[:]) != v.cps[v.ci].Root {
				return fail(r.seq, "checkpoint at size %d does not match the log", v.cps[v.ci].Size)
			}
			v.ci++
		}
		for v.pi < len(v.pubs) && v.pubs[v.pi].Size == v.front.Size {
			if root := v.front.Root(); hex.EncodeToString(root[:]) != v.pubs[v.pi].Root {
				return fail(r.seq, "published tree head %s does not match the log: history before it was rewritten", v.pubs[v.pi])
			}
			v.pi++
		}
		v.events++
	}
	return true
}

// published reads heads.log, sorted by size (it is written in that order).
func (j *Journal) published() ([]TreeHead, error) {
	b, err := os.ReadFile(j.heads)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read published heads: %w", err)
	}
	var out []TreeHead
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		h, err := ParseTreeHead(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", j.heads, n, err)
		}
		if len(out) > 0 && h.Size < out[len(out)-1].Size {
			return nil, fmt.Errorf("%s line %d: heads must grow", j.heads, n)
		}
		if len(out) > 0 && h.Size == out[len(out)-1].Size {
			continue
		}
		out = append(out, h)
	}
	return out, nil
}

// leaves is a LeafSource over the stored events.
func (j *Journal) leaves(ctx context.Context) LeafSource {
	return func(from, to int64, fn func(Hash)) error {
		rows, err := j.r.QueryContext(ctx, `SELECT hash FROM events WHERE seq > ? AND seq <= ? ORDER BY seq`, from, to)
		if err != nil {
			return fmt.Errorf("read leaves: %w", err)
		}
		defer rows.Close()
		var n int64
		for rows.Next() {
			var b []byte
			if err := rows.Scan(&b); err != nil {
				return err
			}
			var h Hash
			copy(h[:], b)
			fn(LeafHash(h))
			n++
		}
		if n != to-from {
			return fmt.Errorf("read leaves %d..%d: found %d", from, to, n)
		}
		return rows.Err()
	}
}

// Consistency proves that old, a tree head a verifier kept earlier, is a
// prefix of the current log: it builds the RFC 6962 consistency proof from
// the stored events and checks it the way a remote verifier holding only
// the two heads would.
func (j *Journal) Consistency(ctx context.Context, old TreeHead) (TreeHead, []Hash, error) {
	cur, err := j.Head(ctx)
	if err != nil {
		return cur, nil, err
	}
	if old.Size > cur.Size {
		return cur, nil, fmt.Errorf("the kept head covers %d events but the log has %d: events were removed", old.Size, cur.Size)
	}
	proof, err := ConsistencyProof(j.leaves(ctx), old.Size, cur.Size)
	if err != nil {
		return cur, nil, err
	}
	var oldRoot, newRoot Hash
	ob, _ := hex.DecodeString(old.Root)
	nb, _ := hex.DecodeString(cur.Root)
	copy(oldRoot[:], ob)
	copy(newRoot[:], nb)
	if err := VerifyConsistency(old.Size, cur.Size, oldRoot, newRoot, proof); err != nil {
		return cur, proof, err
	}
	return cur, proof, nil
}
