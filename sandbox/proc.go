//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// childrenOf lists the children of every thread of pid, read from
// /proc/PID/task/TID/children.
func childrenOf(pid int) []int {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return nil
	}
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", t.Name(), "children"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// isZombie reports whether pid has exited and waits to be reaped (or is
// gone altogether).
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name, which may itself
	// contain parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] == 'Z' || s[i+2] == 'X'
}

// killDescendants SIGKILLs every live descendant of pid and repeats until
// none is left. pid should be a child subreaper, so that processes whose
// parent dies while this runs are reparented to pid and found by the
// next pass. It gives up after a few seconds and reports how many
// processes it could not see die.
func killDescendants(pid int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		live := 0
		queue := childrenOf(pid)
		seen := map[int]bool{}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if seen[p] {
				continue
			}
			seen[p] = true
			// Stop it first so it cannot fork while its children are listed.
			_ = unix.Kill(p, unix.SIGSTOP)
			queue = append(queue, childrenOf(p)...)
			if !isZombie(p) {
				live++
			}
			_ = unix.Kill(p, unix.SIGKILL)
		}
		if live == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill process tree: %d processes still alive", live)
		}
		time.Sleep(time.Millisecond)
	}
}

// namespacePids lists the live processes visible in /proc, except keep.
// Inside the sandbox's PID namespace that is every process of the
// sandbox.
func namespacePids(keep ...int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil
	}
	var out []int
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		p, err := strconv.Atoi(n)
		if err != nil || slices.Contains(keep, p) || isZombie(p) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// killNamespace SIGKILLs every process of the PID namespace except keep
// (the namespace's init, the helper and the caller), repeating until none
// is left, so that processes forked meanwhile die too. Only meaningful
// inside a PID namespace of the sandbox's own.
func killNamespace(keep ...int) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := namespacePids(keep...)
		if len(pids) == 0 || time.Now().After(deadline) {
			return
		}
		for _, p := range pids {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		// Killed processes stay visible until they are reaped.
		time.Sleep(100 * time.Microsecond)
	}
}

// countDescendants counts the live descendants of pid.
func countDescendants(pid int) int {
	n := 0
	queue := childrenOf(pid)
	seen := map[int]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		if !isZombie(p) {
			n++
		}
		queue = append(queue, childrenOf(p)...)
	}
	return n
}

// killDomain SIGKILLs every process of the caller's Landlock domain with
// kill(-1), which the kernel applies to all processes at once (no fork
// can slip between), and repeats until the caller has no children left,
// zombies included. The caller's thread must be in a Landlock domain
// that scopes signals, or kill(-1) would reach every process of the user.
// The caller must be a subreaper so that every process of the domain is
// its descendant.
func killDomain() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = unix.Kill(-1, unix.SIGKILL)
		if len(childrenOf(os.Getpid())) == 0 || time.Now().After(deadline) {
			return
		}
		// Wait for the reaper.
		time.Sleep(50 * time.Microsecond)
	}
}
