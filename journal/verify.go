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
// agrees with the log. Memory stays flat in the length of the log.
func (j *Journal) Verify(ctx context.Context) (Report, error) {
	var rep Report
	cps, err := j.checkpoints(ctx)
	if err != nil {
		return rep, err
	}
	pubs, err := j.published()
	if err != nil {
		return rep, err
	}
	rows, err := j.r.QueryContext(ctx, `SELECT seq, run_id, type, time, data, prev, hash FROM events ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("verify journal: %w", err)
	}
	defer rows.Close()
	var (
		prev  Hash
		front Frontier
		seq   int64
		runID []byte
		typ   []byte
		t     int64
		data  []byte
		prevB []byte
		hashB []byte
		fail  = func(seq int64, f string, a ...any) (Report, error) {
			rep.Problem = &Problem{Seq: seq, Reason: fmt.Sprintf(f, a...)}
			return rep, nil
		}
	)
	ci, pi := 0, 0
	for rows.Next() {
		if err := rows.Scan(&seq, &runID, &typ, &t, &data, &prevB, &hashB); err != nil {
			return rep, fmt.Errorf("verify journal: %w", err)
		}
		want := front.Size + 1
		if seq != want {
			if seq > want {
				return fail(want, "missing: the log jumps from event %d to %d (deleted events)", want-1, seq)
			}
			return fail(seq, "out of order after event %d", want-1)
		}
		if !bytes.Equal(prevB, prev[:]) {
			return fail(seq, "its previous-hash does not match event %d (events deleted, inserted or reordered)", seq-1)
		}
		h := eventHash(seq, string(runID), string(typ), t, data, prev)
		if !bytes.Equal(hashB, h[:]) {
			return fail(seq, "content does not match its hash (the event was edited)")
		}
		prev = h
		front.Push(LeafHash(h))
		for ci < len(cps) && cps[ci].Size == front.Size {
			if r := front.Root(); hex.EncodeToString(r[:]) != cps[ci].Root {
				return fail(seq, "checkpoint at size %d does not match the log", cps[ci].Size)
			}
			ci++
			rep.Checkpoints++
		}
		for pi < len(pubs) && pubs[pi].Size == front.Size {
			if r := front.Root(); hex.EncodeToString(r[:]) != pubs[pi].Root {
				return fail(seq, "published tree head %s does not match the log: history before it was rewritten", pubs[pi])
			}
			pi++
			rep.Published++
		}
		rep.Events++
		if rep.Events%65536 == 0 && ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify journal: %w", err)
	}
	r := front.Root()
	rep.Head = TreeHead{Size: front.Size, Root: hex.EncodeToString(r[:])}
	if ci < len(cps) {
		return fail(front.Size+1, "missing: a checkpoint covers %d events but the log has %d (events deleted from the end)", cps[ci].Size, front.Size)
	}
	if pi < len(pubs) {
		return fail(front.Size+1, "missing: published tree head %s covers more events than the log has (%d)", pubs[pi], front.Size)
	}
	var size int64
	var hb []byte
	switch err := j.r.QueryRowContext(ctx, `SELECT size, hash FROM head WHERE id = 1`).Scan(&size, &hb); {
	case err == nil:
		if size != front.Size || !bytes.Equal(hb, prev[:]) {
			return fail(min(size, front.Size)+1, "the stored head (%d events) disagrees with the log (%d events)", size, front.Size)
		}
	case front.Size != 0:
		return fail(0, "the journal head record is missing")
	}
	return rep, nil
}

func (j *Journal) checkpoints(ctx context.Context) ([]TreeHead, error) {
	rows, err := j.r.QueryContext(ctx, `SELECT size, root FROM checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []TreeHead
	for rows.Next() {
		var h TreeHead
		var root []byte
		if err := rows.Scan(&h.Size, &root); err != nil {
			return nil, fmt.Errorf("read checkpoints: %w", err)
		}
		h.Root = hex.EncodeToString(root)
		out = append(out, h)
	}
	return out, rows.Err()
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
