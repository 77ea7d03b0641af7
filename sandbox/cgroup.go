//go:build linux

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sandboxCgroup holds one sandbox in a cgroup of the pids controller, so
// the kernel caps its number of tasks exactly, for root too (the kernel
// does not apply RLIMIT_NPROC to the host's root user), and, where a
// memory hierarchy is writable, in one of the memory controller, which
// caps the memory of the whole sandbox. With cgroup v2 both may be one
// directory.
type sandboxCgroup struct {
	pids   string // directory in the pids hierarchy; "" if none
	memory string // directory in the memory hierarchy; "" if none
	memV2  bool   // memory is a cgroup v2 directory
}

// cgroupRoot is where the cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// pidsHierarchies are where the pids controller may be mounted: cgroup v2
// (when it delegates pids) or the v1 pids hierarchy.
func pidsHierarchies() []string {
	var out []string
	if b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers")); err == nil && strings.Contains(" "+string(b)+" ", " pids ") {
		out = append(out, cgroupRoot)
	}
	return append(out, filepath.Join(cgroupRoot, "pids"))
}

// newSandboxCgroup creates the cgroups of a sandbox allowing maxPids
// tasks and memory bytes. It returns nil when no pids hierarchy is
// writable (the usual case for non-root users, whose RLIMIT_NPROC the
// kernel does enforce); the memory part is then missing too. A failure
// to set up the memory part leaves it out and is returned as the error.
func newSandboxCgroup(maxPids int, memory int64) (*sandboxCgroup, error) {
	cg := &sandboxCgroup{}
	for _, root := range pidsHierarchies() {
		if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
			continue
		}
		dir, err := os.MkdirTemp(root, "ouro-sandbox-")
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.Itoa(maxPids)), 0); err != nil {
			_ = os.Remove(dir)
			continue
		}
		cg.pids = dir
		break
	}
	if cg.pids == "" {
		return nil, nil
	}
	return cg, cg.setupMemory(memory)
}

// setupMemory finds or creates the memory cgroup and sets its limit.
func (c *sandboxCgroup) setupMemory(limit int64) error {
	lim := []byte(strconv.FormatInt(limit, 10))
	if filepath.Dir(c.pids) == cgroupRoot {
		// cgroup v2: the same directory, if memory is delegated to it.
		if err := os.WriteFile(filepath.Join(c.pids, "memory.max"), lim, 0); err == nil {
			c.memory, c.memV2 = c.pids, true
			// No swapping instead of failing; absent without swap accounting.
			_ = os.WriteFile(filepath.Join(c.pids, "memory.swap.max"), []byte("0"), 0)
			return nil
		}
	}
	// cgroup v1: a child of this process's own memory cgroup, so that the
	// limits of the cgroups above still apply.
	own, err := ownCgroupV1("memory")
	if err != nil {
		return err
	}
	parent := filepath.Join(cgroupRoot, "memory", own)
	dir, err := os.MkdirTemp(parent, "ouro-sandbox-")
	if err != nil {
		return fmt.Errorf("create memory cgroup: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), lim, 0); err != nil {
		_ = os.Remove(dir)
		return fmt.Errorf("set memory cgroup limit: %w", err)
	}
	// Memory plus swap, where swap is accounted: no swapping instead of
	// failing.
	_ = os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), lim, 0)
	c.memory = dir
	return nil
}

// ownCgroupV1 is this process's cgroup in the v1 hierarchy of controller.
func ownCgroupV1(controller string) (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", fmt.Errorf("read own cgroups: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2], nil
			}
		}
	}
	return "", fmt.Errorf("no %s cgroup hierarchy is mounted", controller)
}

// procsFiles are the cgroup.procs files a sandbox process must join.
func (c *sandboxCgroup) procsFiles() []string {
	out := []string{filepath.Join(c.pids, "cgroup.procs")}
	if c.memory != "" && c.memory != c.pids {
		out = append(out, filepath.Join(c.memory, "cgroup.procs"))
	}
	return out
}

// add moves the process pid (and its future descendants) into the cgroups.
func (c *sandboxCgroup) add(pid int) error {
	for _, f := range c.procsFiles() {
		if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("move sandbox into cgroup %s: %w", filepath.Dir(f), err)
		}
	}
	return nil
}

// dropMemory forgets the memory cgroup (after it could not be joined).
func (c *sandboxCgroup) dropMemory() {
	if c.memory != "" && c.memory != c.pids {
		removeCgroupDir(c.memory)
	}
	c.memory = ""
}

// remove deletes the cgroups once their processes are gone.
func (c *sandboxCgroup) remove() {
	if c.memory != "" && c.memory != c.pids {
		removeCgroupDir(c.memory)
	}
	removeCgroupDir(c.pids)
}

// removeCgroupDir deletes a cgroup directory, waiting briefly for the
// kernel to see its last processes gone.
func removeCgroupDir(dir string) {
	for range 100 {
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// refusals is how many forks the cgroup has refused so far.
func (c *sandboxCgroup) refusals() int64 {
	return counter(filepath.Join(c.pids, "pids.events"), "max")
}

// oomKills is how many processes the memory cgroup's limit has had
// killed so far (0 without a memory cgroup).
func (c *sandboxCgroup) oomKills() int64 {
	switch {
	case c.memory == "":
		return 0
	case c.memV2:
		return counter(filepath.Join(c.memory, "memory.events"), "oom_kill")
	}
	return counter(filepath.Join(c.memory, "memory.oom_control"), "oom_kill")
}

// counter reads the value of key in a flat-keyed cgroup file ("key N"
// lines); 0 when it cannot be read.
func counter(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
