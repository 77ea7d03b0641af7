// Package journal provides ouro's append-only, hash-chained event log in
// SQLite, its Merkle tree heads, and the projections read from it (runs,
// approvals, stop requests).
//
// Appends go through one group-commit writer per Journal, which folds
// everything queued into one transaction. Append waits for its own commit;
// Enqueue returns at once and Barrier waits until everything enqueued
// before it is committed, so a caller that must log before it acts (a
// tool call before the tool runs) pays one commit per step rather than one
// per event. What "committed" survives is set by Options.Sync: a killed
// process always, a power loss only with "full".
package journal

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
// commit is a write transaction (BEGIN IMMEDIATE) that reads the chain
// head it extends, so two processes' writers interleave whole batches and
// the chain stays one.
type Journal struct {
	path  string
	w     *sql.DB // one connection, held by the writer goroutine for its life
	r     *sql.DB // readers
	now   func() time.Time
	heads string // append-only text file of published tree heads

	reqs     chan *appendReq
	done     chan struct{}
	wg       sync.WaitGroup
	closeErr error // the writer connection's, set when the writer ends

	closeMu sync.RWMutex // held for reading while sending to reqs
	closed  bool

	failMu sync.Mutex
	failed error // the first failed Enqueue, reported by Barrier

	closeOnce sync.Once
}

// Options configure Open.
type Options struct {
	// Sync is the SQLite synchronous level, which sets what a committed
	// append (Append returned, or Pending.Wait or Barrier returned nil)
	// survives:
	//
	//   - "normal" (default): the commit has been written to the WAL file,
	//     that is handed to the operating system, but not fsynced. It
	//     survives the process being killed at any moment (kill -9, a
	//     panic, an OOM kill), since the kernel still writes it out; a
	//     power loss or kernel crash may lose the last commits, never
	//     corrupting the log or breaking its chain (SQLite rolls the WAL
	//     back to its last complete, checksummed commit).
	//   - "full": every commit is fsynced before it is acknowledged, so it
	//     survives power loss too, at the price of one fsync per commit
	//     (batches share it).
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
	// In a file: URI, '?' starts the query and '#' a fragment: escape them
	// (and '%') so that the path opened is the path given.
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := uri + "?_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync +
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
	r, err := sql.Open("sqlite", uri+"?_pragma=busy_timeout(30000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	wc, err := newWriterConn(ctx, w)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{
		path: path, w: w, r: r, now: now,
		heads: filepath.Join(filepath.Dir(path), "heads.log"),
		reqs:  make(chan *appendReq, queueDepth),
		done:  make(chan struct{}),
	}
	j.wg.Add(1)
	go j.writer(wc)
	return j, nil
}

// Path is the database file.
func (j *Journal) Path() string { return j.path }

// Close commits every append queued so far (Enqueue included), stops the
// writer and closes the database. Appends after Close fail with ErrClosed.
func (j *Journal) Close() error {
	var err error
	j.closeOnce.Do(func() {
		j.closeMu.Lock()
		j.closed = true
		j.closeMu.Unlock()
		close(j.done)
		j.wg.Wait()
		err = errors.Join(j.closeErr, j.w.Close(), j.r.Close())
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

// ErrClosed is returned by Append, Enqueue and Barrier after Close.
var ErrClosed = errors.New("journal is closed")

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
		return h, fmt.Errorf("tree head %q: want SIZE:ROOT as printed by 'ouro verify' (e.g. 42:9f86d0…)", s)
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
