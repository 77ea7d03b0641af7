//go:build linux

package sandbox

import (
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/sys/unix"
)

// deniedSyscalls fail with EPERM inside the sandbox: debugging other
// processes, namespaces and mounts, kernel keyrings, BPF, modules,
// rebooting, io_uring (its operations are not seen by seccomp) and the
// other ways out that a coding agent never needs.
var deniedSyscalls = []string{
	"ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "process_madvise", "kcmp",
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
	"open_by_handle_at", "name_to_handle_at",
	"keyctl", "add_key", "request_key",
	"bpf", "perf_event_open", "userfaultfd",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog",
	"iopl", "ioperm", "uselib", "vhangup", "lookup_dcookie",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
}

// Flags of clone(2) that create namespaces.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME

// setIDBits are the mode bits S_ISUID and S_ISGID.
const setIDBits = unix.S_ISUID | unix.S_ISGID

// seccompOptions selects the socket restrictions that only the Landlock
// mode needs, where there is no network namespace.
type seccompOptions struct {
	denyInetExceptTCP bool // only TCP over IPv4/IPv6 (what Landlock can filter)
	denyUnixSockets   bool // no new AF_UNIX sockets (Landlock before ABI 9 cannot filter them)
}

// seccompPolicy builds the filter for the running architecture.
func seccompPolicy(opt seccompOptions) (seccomp.Policy, error) {
	info, err := arch.GetInfo("")
	if err != nil {
		return seccomp.Policy{}, fmt.Errorf("seccomp: %w", err)
	}
	var names []string
	for _, n := range deniedSyscalls {
		if _, ok := info.SyscallNames[n]; ok {
			names = append(names, n)
		}
	}
	eperm := seccomp.ActionErrno | seccomp.Action(unix.EPERM)
	var conds []seccomp.NameWithConditions
	add := func(name string, c ...seccomp.Condition) {
		if _, ok := info.SyscallNames[name]; ok {
			conds = append(conds, seccomp.NameWithConditions{Name: name, Conditions: c})
		}
	}
	// New namespaces through clone(2); clone3 takes its flags in a struct
	// seccomp cannot read, so it reports ENOSYS and the C library falls
	// back to clone.
	add("clone", seccomp.Condition{Argument: 0, Operation: seccomp.BitsSet, Value: cloneNamespaceFlags})
	// personality(2) may only query or set the default persona; no
	// turning address randomization off.
	add("personality",
		seccomp.Condition{Argument: 0, Operation: seccomp.NotEqual, Value: 0},
		seccomp.Condition{Argument: 0, Operation: seccomp.NotEqual, Value: 0xffffffff})
	// Faking terminal input.
	add("ioctl", seccomp.Condition{Argument: 1, Operation: seccomp.Equal, Value: unix.TIOCSTI})
	add("ioctl", seccomp.Condition{Argument: 1, Operation: seccomp.Equal, Value: unix.TIOCLINUX})
	// Setuid and setgid files: the workspace is a host directory, so a
	// set-ID binary made here would keep its mode on the host, where other
	// users could run it with the owner's (often root's) rights.
	for _, c := range []struct {
		name string
		mode uint32 // argument holding the mode
	}{{"chmod", 1}, {"fchmod", 1}, {"fchmodat", 2}, {"fchmodat2", 2}, {"creat", 1}, {"mknod", 1}, {"mknodat", 2}} {
		add(c.name, seccomp.Condition{Argument: c.mode, Operation: seccomp.BitsSet, Value: setIDBits})
	}
	// A file created with a set-ID mode by open(2) and openat(2).
	for _, c := range []struct {
		name        string
		flags, mode uint32
	}{{"open", 1, 2}, {"openat", 2, 3}} {
		for _, create := range []uint64{unix.O_CREAT, unix.O_TMPFILE &^ unix.O_DIRECTORY} {
			add(c.name,
				seccomp.Condition{Argument: c.flags, Operation: seccomp.BitsSet, Value: create},
				seccomp.Condition{Argument: c.mode, Operation: seccomp.BitsSet, Value: setIDBits})
		}
	}
	// Raw packet sockets.
	add("socket", seccomp.Condition{Argument: 0, Operation: seccomp.Equal, Value: unix.AF_PACKET})
	if opt.denyInetExceptTCP {
		for _, family := range []uint64{unix.AF_INET, unix.AF_INET6} {
			// Any type but SOCK_STREAM (1): datagram, raw, seqpacket.
			add("socket",
				seccomp.Condition{Argument: 0, Operation: seccomp.Equal, Value: family},
				seccomp.Condition{Argument: 1, Operation: seccomp.BitsSet, Value: 0x6})
			// Any protocol but the default and TCP: no SCTP or MPTCP,
			// which Landlock does not see.
			add("socket",
				seccomp.Condition{Argument: 0, Operation: seccomp.Equal, Value: family},
				seccomp.Condition{Argument: 2, Operation: seccomp.NotEqual, Value: 0},
				seccomp.Condition{Argument: 2, Operation: seccomp.NotEqual, Value: unix.IPPROTO_TCP})
		}
		// TCP Fast Open connects from sendto/sendmsg.
		add("sendto", seccomp.Condition{Argument: 3, Operation: seccomp.BitsSet, Value: unix.MSG_FASTOPEN})
		add("sendmsg", seccomp.Condition{Argument: 2, Operation: seccomp.BitsSet, Value: unix.MSG_FASTOPEN})
		add("sendmmsg", seccomp.Condition{Argument: 3, Operation: seccomp.BitsSet, Value: unix.MSG_FASTOPEN})
	}
	if opt.denyUnixSockets {
		add("socket", seccomp.Condition{Argument: 0, Operation: seccomp.Equal, Value: unix.AF_UNIX})
	}
	groups := []seccomp.SyscallGroup{
		{Names: names, NamesWithCondtions: conds, Action: eperm},
	}
	// clone3 and openat2 take their flags and mode in structs seccomp
	// cannot read; on ENOSYS programs fall back to clone and openat.
	enosys := slices.DeleteFunc([]string{"clone3", "openat2"}, func(n string) bool {
		_, ok := info.SyscallNames[n]
		return !ok
	})
	if len(enosys) > 0 {
		groups = append(groups, seccomp.SyscallGroup{
			Names:  enosys,
			Action: seccomp.ActionErrno | seccomp.Action(unix.ENOSYS),
		})
	}
	return seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: groups}, nil
}

// applySeccomp installs the filter on every thread of the process, plus
// a second filter that refuses system calls made through any other
// architecture's calling convention (32-bit int 0x80 on x86-64), which
// the first filter would otherwise let through.
func applySeccomp(opt seccompOptions) error {
	// no_new_privs and the filters must be set from one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	policy, err := seccompPolicy(opt)
	if err != nil {
		return err
	}
	info, err := arch.GetInfo("")
	if err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	if err := loadArchFilter(uint32(info.ID)); err != nil {
		return err
	}
	err = seccomp.LoadFilter(seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy:     policy,
	})
	if err != nil {
		return fmt.Errorf("load seccomp filter: %w", err)
	}
	return nil
}

// loadArchFilter allows system calls of the native architecture only;
// others fail with ENOSYS.
func loadArchFilter(native uint32) error {
	const (
		ldAbsW = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		retK   = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		{Code: ldAbsW, K: 4}, // seccomp_data.arch
		{Code: jeqK, Jt: 1, Jf: 0, K: native},
		{Code: retK, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: retK, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("load seccomp architecture filter: %w", errno)
	}
	return nil
}
