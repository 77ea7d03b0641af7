package netproxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// maxSocketPath is the longest unix socket path Linux accepts.
const maxSocketPath = 107

// ListenUnix listens on a unix socket at path with mode 0600, so only the
// owner can connect. The socket is created with its final mode inside a
// private directory and renamed into place, so it is never reachable with
// wider permissions. An existing socket at path is replaced; any other file
// there is an error. Closing the listener removes the socket.
func (p *Proxy) ListenUnix(ctx context.Context, path string) (net.Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("listen unix %s: path is %d bytes; unix sockets allow %d, choose a shorter path", path, len(path), maxSocketPath)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket == 0 {
		return nil, fmt.Errorf("listen unix %s: path exists and is not a socket; remove it or choose another path", path)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".np")
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: make private directory: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	if len(tmp) > maxSocketPath {
		return nil, fmt.Errorf("listen unix %s: temporary path %s is too long for a unix socket; choose a shorter path", path, tmp)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("listen unix %s: %w", path, err)
	}
	ul := l.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ul.Close()
		return nil, fmt.Errorf("listen unix %s: chmod socket: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		ul.Close()
		return nil, fmt.Errorf("listen unix %s: move socket into place: %w", path, err)
	}
	return &unixListener{UnixListener: ul, path: path}, nil
}

// unixListener removes its socket file when closed.
type unixListener struct {
	*net.UnixListener
	path string
	once sync.Once
}

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() { os.Remove(l.path) })
	return err
}
