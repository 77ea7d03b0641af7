//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pidsCgroup is a cgroup of the pids controller holding one sandbox, so
// the kernel caps its number of tasks exactly, for root too (the kernel
// does not apply RLIMIT_NPROC to the host's root user).
type pidsCgroup struct {
	dir string
}

// pidsHierarchies are where the pids controller may be mounted: cgroup v2
// (when it delegates pids) or the v1 pids hierarchy.
func pidsHierarchies() []string {
	var out []string
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil && strings.Contains(" "+string(b)+" ", " pids ") {
		out = append(out, "/sys/fs/cgroup")
	}
	return append(out, "/sys/fs/cgroup/pids")
}

// newPidsCgroup creates a cgroup allowing max tasks. It returns nil when
// no pids hierarchy is writable (the usual case for non-root users, whose
// RLIMIT_NPROC the kernel does enforce).
func newPidsCgroup(max int) *pidsCgroup {
	for _, root := range pidsHierarchies() {
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
			continue
		}
		dir, err := os.MkdirTemp(root, "ouro-sandbox-")
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(max)), 0); err != nil {
			_ = os.Remove(dir)
			continue
		}
		return &pidsCgroup{dir: dir}
	}
	return nil
}

// add moves the process pid (and its future descendants) into the cgroup.
func (c *pidsCgroup) add(pid int) error {
	if err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		return fmt.Errorf("move sandbox into pids cgroup: %w", err)
	}
	return nil
}

// remove deletes the cgroup once its processes are gone.
func (c *pidsCgroup) remove() {
	for range 100 {
		if err := os.Remove(c.dir); err == nil || os.IsNotExist(err) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusals is how many forks the cgroup has refused so far.
func (c *pidsCgroup) refusals() int64 {
	b, err := os.ReadFile(filepath.Join(c.dir, "pids.events"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "max "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
