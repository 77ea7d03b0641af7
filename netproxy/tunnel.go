package netproxy

import (
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// countConn counts the bytes moved over an upstream connection.
type countConn struct {
	net.Conn
	up, down atomic.Int64
}

func (c *countConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.down.Add(int64(n))
	return n, err
}

func (c *countConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.up.Add(int64(n))
	return n, err
}

// CloseWrite half-closes the connection if it supports that.
func (c *countConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return errNoHalfClose
}

func (c *countConn) counts() (up, down int64) { return c.up.Load(), c.down.Load() }

type closeWriter interface{ CloseWrite() error }

var (
	errNoHalfClose = errors.New("connection cannot half-close")
	errIdle        = errors.New("idle timeout")
)

// tunnel copies bytes both ways until both sides have finished, one side
// fails, or nothing has moved in either direction for the idle timeout.
func (p *Proxy) tunnel(client net.Conn, up *countConn) error {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	errc := make(chan error, 1)
	go func() { errc <- p.pipe(up, client, &last) }()
	err := p.pipe(client, up, &last)
	err2 := <-errc
	// The pipe that failed first closes both connections; the other then
	// reports a closed connection, which is not the cause.
	if err == nil || errors.Is(err, net.ErrClosed) && err2 != nil {
		err = err2
	}
	return err
}

// pipe copies src to dst. On EOF it half-closes dst; on any other end it
// closes both connections so that the opposite pipe stops too.
func (p *Proxy) pipe(dst, src net.Conn, last *atomic.Int64) (err error) {
	defer func() {
		if err != nil {
			src.Close()
			dst.Close()
		}
	}()
	bp := p.bufs.Get().(*[]byte)
	defer p.bufs.Put(bp)
	buf := *bp
	for {
		_ = src.SetReadDeadline(time.Now().Add(p.idle))
		n, rerr := src.Read(buf)
		if n > 0 {
			last.Store(time.Now().UnixNano())
			_ = dst.SetWriteDeadline(time.Now().Add(p.idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if rerr == nil {
			continue
		}
		var ne net.Error
		if errors.As(rerr, &ne) && ne.Timeout() {
			if time.Since(time.Unix(0, last.Load())) < p.idle {
				continue
			}
			return errIdle
		}
		if errors.Is(rerr, io.EOF) {
			if cw, ok := dst.(closeWriter); !ok || cw.CloseWrite() != nil {
				// No half-close: end the whole tunnel.
				src.Close()
				dst.Close()
			}
			return nil
		}
		return rerr
	}
}
