// Package journal provides ouro's append-only, hash-chained event log in
// SQLite, its Merkle tree heads, and the projections read from it (runs,
// approvals, stop requests).
package journal

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ouro-run/ouro"
	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// CheckpointEvery is how many events pass between Merkle tree heads written
// as checkpoints. A run's end writes one too.
const CheckpointEvery = 4096

const schema = `
CREATE TABLE IF NOT EXISTS events (
	seq    INTEGER PRIMARY KEY,
	run_id TEXT NOT NULL,
	type   TEXT NOT NULL,
	time   INTEGER NOT NULL,
	data   BLOB NOT NULL,
	prev   BLOB NOT NULL,
	hash   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, seq);
CREATE TABLE IF NOT EXISTS head (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	size     INTEGER NOT NULL,
	hash     BLOB NOT NULL,
	frontier BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
	size INTEGER PRIMARY KEY,
	root BLOB NOT NULL,
	time INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
	id            TEXT PRIMARY KEY,
	parent_id     TEXT NOT NULL DEFAULT '',
	depth         INTEGER NOT NULL DEFAULT 0,
	status        TEXT NOT NULL,
	task          TEXT NOT NULL,
	agent         TEXT NOT NULL,
	agent_hash    TEXT NOT NULL,
	model         TEXT NOT NULL,
	repo          TEXT NOT NULL,
	worktree      TEXT NOT NULL,
	branch        TEXT NOT NULL,
	base_commit   TEXT NOT NULL,
	input_tokens  INTEGER NOT NULL DEFAULT 0,
	output_tokens INTEGER NOT NULL DEFAULT 0,
	cost_usd      REAL NOT NULL DEFAULT 0,
	tool_calls    INTEGER NOT NULL DEFAULT 0,
	started_at    INTEGER NOT NULL,
	ended_at      INTEGER NOT NULL DEFAULT 0,
	summary       TEXT NOT NULL DEFAULT '',
	error         TEXT NOT NULL DEFAULT '',
	unsafe        INTEGER NOT NULL DEFAULT 0,
	stop          INTEGER NOT NULL DEFAULT 0,
	first_seq     INTEGER NOT NULL,
	last_seq      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_parent ON runs(parent_id);
CREATE TABLE IF NOT EXISTS approvals (
	id           TEXT PRIMARY KEY,
	run_id       TEXT NOT NULL,
	call_id      TEXT NOT NULL,
	action_hash  TEXT NOT NULL,
	request      BLOB NOT NULL,
	status       TEXT NOT NULL,
	approved_by  TEXT NOT NULL DEFAULT '',
	why          TEXT NOT NULL DEFAULT '',
	requested_at INTEGER NOT NULL,
	answered_at  INTEGER NOT NULL DEFAULT 0,
	deadline     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals(status);
`

// Journal is an open journal database. It is safe for concurrent use by
// many goroutines, and several processes may append to one file: each
// append is a write transaction that reads the chain head it extends.
type Journal struct {
	path  string
	w     *sql.DB // one connection: the writer
	r     *sql.DB // readers
	now   func() time.Time
	heads string // append-only text file of published tree heads

	reqs chan *appendReq
	done chan struct{}
	wg   sync.WaitGroup

	closeOnce sync.Once
}

// Options configure Open.
type Options struct {
	// Sync is the SQLite synchronous level: "normal" (default; survives a
	// killed process, as WAL commits reach the OS before Append returns) or
	// "full" (survives power loss too, at an fsync per commit).
	Sync string
	// Now overrides the clock (tests).
	Now func() time.Time
}

// Open opens or creates the journal at path.
func Open(ctx context.Context, path string, opts Options) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	sync := "NORMAL"
	switch opts.Sync {
	case "", "normal":
	case "full":
		sync = "FULL"
	default:
		return nil, fmt.Errorf("journal sync %q: want normal or full", opts.Sync)
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync +
		")&_pragma=busy_timeout(30000)&_txlock=immediate"
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("open journal %s: create schema: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	j := &Journal{
		path: path, w: w, r: r, now: now,
		heads: filepath.Join(filepath.Dir(path), "heads.log"),
		reqs:  make(chan *appendReq, 256),
		done:  make(chan struct{}),
	}
	j.wg.Add(1)
	go j.writer()
	return j, nil
}

// Path is the database file.
func (j *Journal) Path() string { return j.path }

// Close stops the writer and closes the database.
func (j *Journal) Close() error {
	var err error
	j.closeOnce.Do(func() {
		close(j.done)
		j.wg.Wait()
		err = errors.Join(j.w.Close(), j.r.Close())
	})
	return err
}

// Record is one event to append: the journal assigns its sequence number,
// time and hashes.
type Record struct {
	RunID string
	Type  ouro.EventType
	Data  any // marshalled to JSON; a json.RawMessage or []byte is stored as is
}

type appendReq struct {
	ctx  context.Context
	recs []Record
	data [][]byte
	out  []ouro.Event
	err  chan error
}

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("journal is closed")

// Append durably appends records in order, as one transaction, and returns
// the stored events. Concurrent appends are grouped into one commit.
func (j *Journal) Append(ctx context.Context, recs ...Record) ([]ouro.Event, error) {
	req := &appendReq{ctx: ctx, recs: recs, data: make([][]byte, len(recs)), err: make(chan error, 1)}
	for i, r := range recs {
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
		if r.RunID == "" || r.Type == "" {
			return nil, fmt.Errorf("append event: run id and type are required")
		}
	}
	select {
	case j.reqs <- req:
	case <-j.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, the append completes or fails as a whole; waiting for it
	// keeps the caller from believing an event was lost when it was not.
	if err := <-req.err; err != nil {
		return nil, err
	}
	return req.out, nil
}

// writer runs the group commit: it takes every queued append and commits
// them in one transaction.
func (j *Journal) writer() {
	defer j.wg.Done()
	for {
		var batch []*appendReq
		select {
		case r := <-j.reqs:
			batch = append(batch, r)
		case <-j.done:
			// Drain what was queued before Close.
			for {
				select {
				case r := <-j.reqs:
					batch = append(batch, r)
				default:
					if len(batch) > 0 {
						j.commit(batch)
					}
					return
				}
			}
		}
	more:
		for len(batch) < 512 {
			select {
			case r := <-j.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		j.commit(batch)
	}
}

func (j *Journal) commit(batch []*appendReq) {
	err := j.commitTx(batch)
	if err != nil {
		// One failing request must not take its neighbours down with it:
		// retry them one by one so each gets its own answer.
		if len(batch) > 1 {
			for _, r := range batch {
				r.out = nil
				j.commit([]*appendReq{r})
			}
			return
		}
	}
	for _, r := range batch {
		r.err <- err
	}
}

func (j *Journal) commitTx(batch []*appendReq) (err error) {
	ctx := context.Background()
	tx, err := j.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("append to journal: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var size int64
	var prevB, frontB []byte
	var prev Hash
	var front Frontier
	switch err := tx.QueryRow(`SELECT size, hash, frontier FROM head WHERE id = 1`).Scan(&size, &prevB, &frontB); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("append to journal: read head: %w", err)
	default:
		copy(prev[:], prevB)
		if front, err = unmarshalFrontier(frontB); err != nil {
			return fmt.Errorf("append to journal: %w", err)
		}
	}
	ins, err := tx.Prepare(`INSERT INTO events(seq, run_id, type, time, data, prev, hash) VALUES (?,?,?,?,?,?,?)`)
	if err != nil {
		return fmt.Errorf("append to journal: %w", err)
	}
	defer ins.Close()
	p := projector{tx: tx}
	for _, r := range batch {
		if r.ctx.Err() != nil && len(batch) == 1 {
			return r.ctx.Err()
		}
		r.out = make([]ouro.Event, 0, len(r.recs))
		for i, rec := range r.recs {
			size++
			t := j.now().UTC()
			h := eventHash(size, rec.RunID, string(rec.Type), t.UnixNano(), r.data[i], prev)
			if _, err := ins.Exec(size, rec.RunID, string(rec.Type), t.UnixNano(), r.data[i], prev[:], h[:]); err != nil {
				return fmt.Errorf("append %s event: %w", rec.Type, err)
			}
			ev := ouro.Event{Seq: size, RunID: rec.RunID, Type: rec.Type, Time: t, Data: r.data[i],
				Prev: hex.EncodeToString(prev[:]), Hash: hex.EncodeToString(h[:])}
			if err := p.apply(&ev); err != nil {
				return fmt.Errorf("project %s event %d: %w", rec.Type, size, err)
			}
			front.Push(LeafHash(h))
			if front.Size%CheckpointEvery == 0 || rec.Type == ouro.EventRunFinished {
				root := front.Root()
				if _, err := tx.Exec(`INSERT OR REPLACE INTO checkpoints(size, root, time) VALUES (?,?,?)`, front.Size, root[:], t.UnixNano()); err != nil {
					return fmt.Errorf("write checkpoint: %w", err)
				}
			}
			prev = h
			r.out = append(r.out, ev)
		}
	}
	if _, err := tx.Exec(`INSERT INTO head(id, size, hash, frontier) VALUES (1,?,?,?)
		ON CONFLICT(id) DO UPDATE SET size=excluded.size, hash=excluded.hash, frontier=excluded.frontier`,
		size, prev[:], front.marshal()); err != nil {
		return fmt.Errorf("append to journal: write head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("append to journal: commit: %w", err)
	}
	return nil
}

// TreeHead is a Merkle tree head: the root over the first Size events.
type TreeHead struct {
	Size int64  `json:"size"`
	Root string `json:"root"`
}

// String formats the head as SIZE:ROOT, the form Verify accepts back.
func (h TreeHead) String() string { return fmt.Sprintf("%d:%s", h.Size, h.Root) }

// ParseTreeHead parses SIZE:ROOT.
func ParseTreeHead(s string) (TreeHead, error) {
	var h TreeHead
	var root string
	if _, err := fmt.Sscanf(s, "%d:%s", &h.Size, &root); err != nil || h.Size <= 0 {
		return h, fmt.Errorf("tree head %q: want SIZE:ROOT as printed by 'ouro verify', e.g. 42:9f86d0...", s)
	}
	b, err := hex.DecodeString(root)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("tree head %q: root must be 64 hex digits", s)
	}
	h.Root = root
	return h, nil
}

// Head returns the current tree head, as stored by the last append.
func (j *Journal) Head(ctx context.Context) (TreeHead, error) {
	var size int64
	var frontB []byte
	err := j.r.QueryRowContext(ctx, `SELECT size, frontier FROM head WHERE id = 1`).Scan(&size, &frontB)
	if errors.Is(err, sql.ErrNoRows) {
		return TreeHead{Size: 0, Root: hex.EncodeToString(emptyRoot[:])}, nil
	}
	if err != nil {
		return TreeHead{}, fmt.Errorf("read journal head: %w", err)
	}
	f, err := unmarshalFrontier(frontB)
	if err != nil {
		return TreeHead{}, err
	}
	r := f.Root()
	return TreeHead{Size: size, Root: hex.EncodeToString(r[:])}, nil
}

// Publish appends the current tree head to the heads file beside the
// database, so a later verify can prove the log only grew since, even if
// the database itself was rewritten.
func (j *Journal) Publish(ctx context.Context) (TreeHead, error) {
	h, err := j.Head(ctx)
	if err != nil || h.Size == 0 {
		return h, err
	}
	f, err := os.OpenFile(j.heads, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return h, fmt.Errorf("publish tree head: %w", err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %s\n", j.now().UTC().Format(time.RFC3339), h); err != nil {
		return h, fmt.Errorf("publish tree head: %w", err)
	}
	return h, f.Sync()
}

// Events calls fn for each event of a run (or of the whole journal when
// runID is empty) in order, starting after seq.
func (j *Journal) Events(ctx context.Context, runID string, after int64, fn func(*ouro.Event) error) error {
	var rows *sql.Rows
	var err error
	if runID == "" {
		rows, err = j.r.QueryContext(ctx, `SELECT seq, run_id, type, time, data, prev, hash FROM events WHERE seq > ? ORDER BY seq`, after)
	} else {
		rows, err = j.r.QueryContext(ctx, `SELECT seq, run_id, type, time, data, prev, hash FROM events WHERE run_id = ? AND seq > ? ORDER BY seq`, runID, after)
	}
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev ouro.Event
		var typ string
		var t int64
		var data, prev, hash []byte
		if err := rows.Scan(&ev.Seq, &ev.RunID, &typ, &t, &data, &prev, &hash); err != nil {
			return fmt.Errorf("read events: %w", err)
		}
		ev.Type = ouro.EventType(typ)
		ev.Time = time.Unix(0, t).UTC()
		ev.Data = data
		ev.Prev = hex.EncodeToString(prev)
		ev.Hash = hex.EncodeToString(hash)
		if err := fn(&ev); err != nil {
			return err
		}
	}
	return rows.Err()
}
