//go:build linux

package sandbox

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The disk limit: no per-directory quota is available on ordinary
// filesystems, so the sandbox watches the free space of every filesystem
// commands can write while a command runs, and kills the command once
// that space has shrunk by more than Limits.DiskGrowth. It is cheap (one
// statfs per filesystem a tick) but not exact: writes by other processes
// to the same filesystem count against the command, a command can write
// up to a tick's worth beyond the limit, and what it wrote stays behind.

// diskWatchInterval is how often free space is checked during a command.
const diskWatchInterval = 50 * time.Millisecond

// diskWatch follows the free space of a set of filesystems.
type diskWatch struct {
	limit int64
	paths []string // one directory per filesystem
	start []int64  // free bytes of each when the watch began

	once sync.Once
	quit chan struct{}
	done chan struct{}
}

// newDiskWatch records the free space of the filesystems holding paths
// (one entry per distinct filesystem).
func newDiskWatch(paths []string, limit int64) *diskWatch {
	w := &diskWatch{limit: limit, quit: make(chan struct{})}
	seen := map[uint64]bool{}
	for _, p := range paths {
		var st unix.Statfs_t
		var fi unix.Stat_t
		if unix.Stat(p, &fi) != nil || unix.Statfs(p, &st) != nil || seen[fi.Dev] {
			continue
		}
		seen[fi.Dev] = true
		w.paths = append(w.paths, p)
		w.start = append(w.start, freeBytes(&st))
	}
	return w
}

// freeBytes is the space an unprivileged writer may still use.
func freeBytes(st *unix.Statfs_t) int64 {
	return int64(st.Bavail) * st.Bsize
}

// grown is the largest drop in free space of any watched filesystem
// since the watch began.
func (w *diskWatch) grown() int64 {
	var most int64
	for i, p := range w.paths {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			continue
		}
		most = max(most, w.start[i]-freeBytes(&st))
	}
	return most
}

// watch checks the free space every diskWatchInterval until stop, and
// calls kill once (and sets the returned flag) when it has shrunk by more
// than the limit.
func (w *diskWatch) watch(kill func()) *atomic.Bool {
	var over atomic.Bool
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(diskWatchInterval)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case <-t.C:
				if w.grown() > w.limit {
					over.Store(true)
					kill()
					return
				}
			}
		}
	}()
	return &over
}

// stop ends the watching goroutine and waits for it; safe to call twice,
// and before watch.
func (w *diskWatch) stop() {
	w.once.Do(func() { close(w.quit) })
	if w.done != nil {
		<-w.done
	}
}
