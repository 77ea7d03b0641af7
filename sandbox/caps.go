//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// Resource limits that are not configurable.
const (
	openFiles    = 4096    // RLIMIT_NOFILE
	addressSlack = 2 << 30 // RLIMIT_AS is Memory plus this, room for runtimes that reserve address space
)

// dropCapabilities empties the bounding, ambient, inheritable, permitted
// and effective capability sets of every thread, so that neither this
// process nor anything it executes (setuid-root programs included) holds
// a capability. A process that runs as root outside a user namespace is
// thus left with ordinary file permissions only.
func dropCapabilities() error {
	eff, err := effectiveCaps()
	if err != nil {
		return err
	}
	const capSetpcap = 8
	if eff&(1<<capSetpcap) != 0 {
		for c := uintptr(0); c < 64; c++ {
			_, _, errno := psx.Syscall3(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0)
			if errno == unix.EINVAL {
				break // past the last capability the kernel knows
			}
			if errno != 0 {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, errno)
			}
		}
	}
	if _, _, errno := psx.Syscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); errno != 0 && errno != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", errno)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if _, _, errno := psx.Syscall3(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); errno != 0 {
		return fmt.Errorf("clear capabilities: %w", errno)
	}
	if eff, err := effectiveCaps(); err != nil || eff != 0 {
		return fmt.Errorf("capabilities still held after dropping them (%#x): %v", eff, err)
	}
	return nil
}

// effectiveCaps reads the calling process's effective capability set.
func effectiveCaps() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read capabilities: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("parse capabilities %q: %w", v, err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("no CapEff line in /proc/self/status")
}
