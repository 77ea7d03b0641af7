package journal

import (
	"encoding/binary"
	"fmt"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// rawConn is a query-only SQLite handle used below database/sql, by Verify:
// a column's bytes are read in place, where the database/sql driver copies
// each into a fresh Go allocation. It is not safe for concurrent use.
type rawConn struct {
	tls *libc.TLS
	db  uintptr
}

// openRaw opens the existing database file at path for reading.
func openRaw(path string) (*rawConn, error) {
	c := &rawConn{tls: libc.NewTLS()}
	name, err := libc.CString(path)
	if err != nil {
		c.tls.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	pdb := libc.Xmalloc(c.tls, types.Size_t(8))
	if pdb == 0 {
		c.tls.Close()
		return nil, fmt.Errorf("open %s: out of memory", path)
	}
	defer libc.Xfree(c.tls, pdb)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, pdb, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = uintptr(binary.NativeEndian.Uint64(libc.GoBytes(pdb, 8)))
	if rc != sqlite3.SQLITE_OK {
		err := c.errorf(rc, "open %s", path)
		c.close()
		return nil, err
	}
	sqlite3.Xsqlite3_busy_timeout(c.tls, c.db, 30000)
	if err := c.exec(`PRAGMA query_only = 1`); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *rawConn) errorf(rc int32, f string, a ...any) error {
	msg := "unknown error"
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
	}
	return fmt.Errorf("%s: %s (sqlite code %d)", fmt.Sprintf(f, a...), msg, rc)
}

func (c *rawConn) close() {
	if c.db != 0 {
		sqlite3.Xsqlite3_close_v2(c.tls, c.db)
		c.db = 0
	}
	c.tls.Close()
}

// exec runs one statement that returns no rows worth reading.
func (c *rawConn) exec(q string) error {
	s, err := c.prepare(q)
	if err != nil {
		return err
	}
	defer s.close()
	for {
		more, err := s.step()
		if err != nil || !more {
			return err
		}
	}
}

// rawStmt is a prepared statement on a rawConn.
type rawStmt struct {
	c *rawConn
	p uintptr
	q string
}

func (c *rawConn) prepare(q string) (*rawStmt, error) {
	z, err := libc.CString(q)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, z)
	pp := libc.Xmalloc(c.tls, types.Size_t(8))
	if pp == 0 {
		return nil, fmt.Errorf("prepare %q: out of memory", q)
	}
	defer libc.Xfree(c.tls, pp)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.errorf(rc, "prepare %q", q)
	}
	return &rawStmt{c: c, p: uintptr(binary.NativeEndian.Uint64(libc.GoBytes(pp, 8))), q: q}, nil
}

// step advances to the next row; false means the statement is done.
func (s *rawStmt) step() (bool, error) {
	switch rc := sqlite3.Xsqlite3_step(s.c.tls, s.p); rc {
	case sqlite3.SQLITE_ROW:
		return true, nil
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		return false, s.c.errorf(rc, "run %q", s.q)
	}
}

// isInt reports whether column i of the current row is an integer.
func (s *rawStmt) isInt(i int32) bool {
	return sqlite3.Xsqlite3_column_type(s.c.tls, s.p, i) == sqlite3.SQLITE_INTEGER
}

func (s *rawStmt) int64(i int32) int64 {
	return sqlite3.Xsqlite3_column_int64(s.c.tls, s.p, i)
}

// bytes is column i of the current row as bytes (text or blob), in place:
// valid only until the next step, and never to be written.
func (s *rawStmt) bytes(i int32) []byte {
	p := sqlite3.Xsqlite3_column_blob(s.c.tls, s.p, i)
	n := sqlite3.Xsqlite3_column_bytes(s.c.tls, s.p, i)
	if p == 0 || n <= 0 {
		return nil
	}
	return libc.GoBytes(p, int(n))
}

func (s *rawStmt) close() { sqlite3.Xsqlite3_finalize(s.c.tls, s.p) }
