package journal

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ouro-run/ouro"
)

// Batching limits of the group-commit writer: one transaction takes at most
// this many queued appends, or stops early once it holds maxBatchRecords.
const (
	maxBatchReqs    = 1024
	maxBatchRecords = 8192
	queueDepth      = 4096 // appends queued before Enqueue and Append block
)

// appendReq is one queued append, or a barrier marker when recs is nil.
type appendReq struct {
	ctx   context.Context // nil for Enqueue: the append is never dropped
	recs  []Record
	data  [][]byte
	proj  []any // decoded payloads of projected event types
	async bool

	// Set by the writer before done is closed.
	out []ouro.Event
	err error

	done chan struct{}
}

// Pending is an append queued by Enqueue. Its events are durable once Wait
// returns without an error, or once a later Barrier does.
type Pending struct{ r *appendReq }

// Done is closed once the append has been committed or has failed.
func (p *Pending) Done() <-chan struct{} { return p.r.done }

// Wait blocks until the append has been committed, then returns the stored
// events; or it returns why the append failed, or ctx's error if ctx ends
// first (the append itself goes on).
func (p *Pending) Wait(ctx context.Context) ([]ouro.Event, error) {
	select {
	case <-p.r.done:
		return p.r.out, p.r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// prepare encodes records and checks them, so that bad input fails at the
// call that brought it rather than later in the writer.
func prepare(recs []Record) (*appendReq, error) {
	req := &appendReq{recs: recs, data: make([][]byte, len(recs)), proj: make([]any, len(recs)), done: make(chan struct{})}
	for i, r := range recs {
		if r.RunID == "" || r.Type == "" {
			return nil, fmt.Errorf("append event: run id and type are required")
		}
		switch d := r.Data.(type) {
		case json.RawMessage:
			req.data[i] = d
		case []byte:
			req.data[i] = d
		case nil:
			req.data[i] = []byte("{}")
		default:
			b, err := json.Marshal(d)
			if err != nil {
				return nil, fmt.Errorf("encode %s event: %w", r.Type, err)
			}
			req.data[i] = b
		}
		p, err := decodeProjected(r.Type, req.data[i])
		if err != nil {
			return nil, fmt.Errorf("append %s event for run %s: data is not a valid %s payload: %w", r.Type, r.RunID, r.Type, err)
		}
		req.proj[i] = p
	}
	return req, nil
}

// send queues req for the writer. It fails with ErrClosed after Close.
func (j *Journal) send(ctx context.Context, req *appendReq) error {
	j.closeMu.RLock()
	defer j.closeMu.RUnlock()
	if j.closed {
		return ErrClosed
	}
	select {
	case j.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Append durably appends records in order, as one transaction, and returns
// the stored events. Concurrent appends are grouped into one commit.
// Durable means as Options.Sync says: with "normal" the events survive the
// process being killed at any moment, with "full" a power loss too.
func (j *Journal) Append(ctx context.Context, recs ...Record) ([]ouro.Event, error) {
	req, err := prepare(recs)
	if err != nil {
		return nil, err
	}
	req.ctx = ctx
	if err := j.send(ctx, req); err != nil {
		return nil, err
	}
	// Once queued, the append completes or fails as a whole; waiting for it
	// keeps the caller from believing an event was lost when it was not.
	<-req.done
	return req.out, req.err
}

// Enqueue queues records to be appended in order, as one unit, and returns
// at once. The records are checked and encoded before Enqueue returns, so
// bad input fails here; the append itself is committed by the group-commit
// writer together with whatever else is queued, in the order of the calls.
//
// An enqueued event is not durable until Pending.Wait or a later Barrier
// returns nil. A caller that must not act before its events are on disk
// (the agent loop, before it runs a tool whose call it enqueued) calls
// Barrier first: one commit for the whole step instead of one per event.
func (j *Journal) Enqueue(ctx context.Context, recs ...Record) (*Pending, error) {
	req, err := prepare(recs)
	if err != nil {
		return nil, err
	}
	req.async = true
	if err := j.send(ctx, req); err != nil {
		return nil, err
	}
	return &Pending{r: req}, nil
}

// Barrier waits until every append queued before it, by Enqueue or Append
// from any goroutine, has been committed: durable, in the sense of
// Options.Sync. It returns an error when any enqueued append has failed
// since Open. That failure is kept: every later Barrier returns it too,
// because an event that was never written is missing from the log and a
// write-ahead caller must not go on as if it were there. Enqueue checks
// its records first, so what can fail later is the store itself (disk full,
// an I/O error, the write lock held past the busy timeout) or a projection
// conflict such as a second run.started for one run.
func (j *Journal) Barrier(ctx context.Context) error {
	m := &appendReq{done: make(chan struct{})}
	if err := j.send(ctx, m); err != nil {
		return err
	}
	select {
	case <-m.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return j.asyncErr()
}

// asyncErr is the first failure of an enqueued append, if any.
func (j *Journal) asyncErr() error {
	j.failMu.Lock()
	defer j.failMu.Unlock()
	if j.failed != nil {
		return fmt.Errorf("journal barrier: an enqueued append failed: %w", j.failed)
	}
	return nil
}

// writerConn is the writer's own connection with its statements prepared
// once; SQLite would otherwise parse and plan each statement again in
// every transaction.
type writerConn struct {
	conn                                                   *sql.Conn
	begin, commit, rollback, head, insert, checkpoint, set *sql.Stmt
	proj                                                   map[string]*sql.Stmt
	buf                                                    []byte // canonical encoding scratch
}

func newWriterConn(ctx context.Context, db *sql.DB) (*writerConn, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	w := &writerConn{conn: c, proj: map[string]*sql.Stmt{}}
	for _, s := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
		{&w.head, `SELECT size, hash, frontier FROM head WHERE id = 1`},
		{&w.insert, `INSERT INTO events(seq, run_id, type, time, data, prev, hash) VALUES (?,?,?,?,?,?,?)`},
		{&w.checkpoint, `INSERT OR REPLACE INTO checkpoints(size, root, time) VALUES (?,?,?)`},
		{&w.set, `INSERT INTO head(id, size, hash, frontier) VALUES (1,?,?,?)
			ON CONFLICT(id) DO UPDATE SET size=excluded.size, hash=excluded.hash, frontier=excluded.frontier`},
	} {
		if *s.dst, err = c.PrepareContext(ctx, s.q); err != nil {
			c.Close()
			return nil, fmt.Errorf("prepare %q: %w", s.q, err)
		}
	}
	return w, nil
}

// exec runs a projection statement, preparing it on first use.
func (w *writerConn) exec(q string, args ...any) error {
	s, ok := w.proj[q]
	if !ok {
		var err error
		if s, err = w.conn.PrepareContext(context.Background(), q); err != nil {
			return err
		}
		w.proj[q] = s
	}
	_, err := s.ExecContext(context.Background(), args...)
	return err
}

func (w *writerConn) close() error {
	for _, s := range []*sql.Stmt{w.begin, w.commit, w.rollback, w.head, w.insert, w.checkpoint, w.set} {
		s.Close()
	}
	for _, s := range w.proj {
		s.Close()
	}
	return w.conn.Close()
}

// writer runs the group commit: it takes every queued append, up to the
// batch limits, and commits them in one transaction.
func (j *Journal) writer(w *writerConn) {
	defer j.wg.Done()
	defer func() { j.closeErr = w.close() }()
	for {
		var batch []*appendReq
		select {
		case r := <-j.reqs:
			batch = append(batch, r)
		case <-j.done:
			// Close has stopped new sends; commit what was queued before.
			for {
				select {
				case r := <-j.reqs:
					batch = append(batch, r)
					if len(batch) == maxBatchReqs {
						j.commit(w, batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						j.commit(w, batch)
					}
					return
				}
			}
		}
		n := len(batch[0].recs)
	more:
		for len(batch) < maxBatchReqs && n < maxBatchRecords {
			select {
			case r := <-j.reqs:
				batch = append(batch, r)
				n += len(r.recs)
			default:
				break more
			}
		}
		j.commit(w, batch)
	}
}

// commit commits a batch and answers every request in it, in queue order.
func (j *Journal) commit(w *writerConn, batch []*appendReq) {
	err := j.commitTx(w, batch)
	if err != nil && len(batch) > 1 {
		// One failing request must not take its neighbours down with it:
		// retry them one by one so each gets its own answer.
		for _, r := range batch {
			r.out, r.err = nil, nil
			j.commit(w, []*appendReq{r})
		}
		return
	}
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
		if r.err != nil {
			r.out = nil
			if r.async {
				j.failMu.Lock()
				if j.failed == nil {
					j.failed = r.err
				}
				j.failMu.Unlock()
			}
		}
		close(r.done)
	}
}

func (j *Journal) commitTx(w *writerConn, batch []*appendReq) (err error) {
	live := 0
	for _, r := range batch {
		if r.ctx != nil && r.ctx.Err() != nil {
			// The caller gave up before its transaction began: it is told
			// so, and nothing of it is written.
			r.err = r.ctx.Err()
			continue
		}
		live += len(r.recs)
	}
	if live == 0 {
		return nil
	}
	ctx := context.Background()
	if _, err := w.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("append to journal: begin: %w", err)
	}
	defer func() {
		if err != nil {
			w.rollback.ExecContext(ctx)
		}
	}()
	var size int64
	var prevB, frontB []byte
	var prev Hash
	var front Frontier
	switch err := w.head.QueryRowContext(ctx).Scan(&size, &prevB, &frontB); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("append to journal: read head: %w", err)
	default:
		copy(prev[:], prevB)
		if front, err = unmarshalFrontier(frontB); err != nil {
			return fmt.Errorf("append to journal: %w", err)
		}
	}
	p := projector{w: w}
	for _, r := range batch {
		if r.err != nil || r.recs == nil {
			continue
		}
		r.out = make([]ouro.Event, 0, len(r.recs))
		for i, rec := range r.recs {
			size++
			t := j.now().UTC()
			tn := t.UnixNano()
			w.buf = appendCanonical(w.buf[:0], size, rec.RunID, string(rec.Type), tn, r.data[i], prev)
			h := Hash(sha256Sum(w.buf))
			if _, err := w.insert.ExecContext(ctx, size, rec.RunID, string(rec.Type), tn, r.data[i], prev[:], h[:]); err != nil {
				return fmt.Errorf("append %s event: %w", rec.Type, err)
			}
			ev := ouro.Event{Seq: size, RunID: rec.RunID, Type: rec.Type, Time: t, Data: r.data[i],
				Prev: hex.EncodeToString(prev[:]), Hash: hex.EncodeToString(h[:])}
			if err := p.apply(&ev, r.proj[i]); err != nil {
				return fmt.Errorf("project %s event %d: %w", rec.Type, size, err)
			}
			front.Push(LeafHash(h))
			if front.Size%CheckpointEvery == 0 || rec.Type == ouro.EventRunFinished {
				root := front.Root()
				if _, err := w.checkpoint.ExecContext(ctx, front.Size, root[:], tn); err != nil {
					return fmt.Errorf("write checkpoint: %w", err)
				}
			}
			prev = h
			r.out = append(r.out, ev)
		}
	}
	if _, err := w.set.ExecContext(ctx, size, prev[:], front.marshal()); err != nil {
		return fmt.Errorf("append to journal: write head: %w", err)
	}
	if _, err := w.commit.ExecContext(ctx); err != nil {
		return fmt.Errorf("append to journal: commit: %w", err)
	}
	return nil
}
