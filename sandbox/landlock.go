//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Landlock access right sets.
const (
	accRead = ll.AccessFSExecute | ll.AccessFSReadFile | ll.AccessFSReadDir

	accWrite = ll.AccessFSWriteFile | ll.AccessFSRemoveDir | ll.AccessFSRemoveFile |
		ll.AccessFSMakeDir | ll.AccessFSMakeReg | ll.AccessFSMakeSock | ll.AccessFSMakeFifo |
		ll.AccessFSMakeSym | ll.AccessFSTruncate | ll.AccessFSIoctlDev | ll.AccessFSResolveUnix

	// accFile is what a rule on a non-directory may grant.
	accFile = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile |
		ll.AccessFSTruncate | ll.AccessFSIoctlDev

	// accDevice is reading and writing existing device files.
	accDevice = ll.AccessFSReadFile | ll.AccessFSWriteFile | ll.AccessFSTruncate | ll.AccessFSIoctlDev
)

// grant is one Landlock rule: access beneath path.
type grant struct {
	path   string
	access uint64
}

// planGrants grants access to the tree at root except the subtrees in
// excl. Landlock rules only add rights to a whole hierarchy, so a
// directory that contains an excluded path gets no rule itself; its
// other entries get one each, recursively. Such a directory can then not
// be listed, and (for write access) nothing can be created, removed or
// renamed directly in it, though its existing files stay writable.
// Symbolic links get no rule: their targets are judged by their own
// rules, so a link cannot carry access to somewhere else.
func planGrants(root string, access uint64, excl []string) ([]grant, error) {
	var out []grant
	var walk func(p string) error
	walk = func(p string) error {
		if slices.Contains(excl, p) {
			return nil
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("plan landlock rules: %w", err)
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			return nil
		case !fi.IsDir():
			if a := access & accFile; a != 0 {
				out = append(out, grant{p, a})
			}
			return nil
		case !containsBelow(excl, p):
			out = append(out, grant{p, access})
			return nil
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("plan landlock rules: %w", err)
		}
		for _, e := range entries {
			if err := walk(filepath.Join(p, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(filepath.Clean(root))
}

// containsBelow reports whether some path in list lies strictly beneath dir.
func containsBelow(list []string, dir string) bool {
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	for _, p := range list {
		if p != dir && strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// landlockGrants computes every rule of the launcher's Landlock domain.
func landlockGrants(s *setup, abi int) ([]grant, error) {
	write := uint64(accWrite)
	if abi >= 2 {
		// Renames and links between directories; Landlock still makes
		// sure a file gains no access by moving.
		write |= ll.AccessFSRefer
	}
	var out []grant
	add := func(root string, access uint64, excl []string) error {
		g, err := planGrants(root, access, excl)
		out = append(out, g...)
		return err
	}
	for _, r := range s.ReadRoots {
		if err := add(r, accRead, s.Hidden); err != nil {
			return nil, err
		}
	}
	if err := add(s.Workspace, accRead, s.Hidden); err != nil {
		return nil, err
	}
	// The workspace is writable as a whole: its root must accept new
	// entries, and Landlock cannot then keep the protected entries in it
	// from being replaced, so the host guards those (see guard.go).
	if err := add(s.Workspace, write, s.Hidden); err != nil {
		return nil, err
	}
	for _, d := range append([]string{s.Tmp, s.Home}, s.Writable...) {
		if err := add(d, accRead|write, nil); err != nil {
			return nil, err
		}
	}
	if s.Mode == modeBwrap {
		// The sandbox's own minimal /dev: use existing devices, create nothing.
		out = append(out, grant{"/dev", accRead | accDevice})
	} else {
		for _, d := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"} {
			if _, err := os.Stat(d); err == nil {
				out = append(out, grant{d, accDevice})
			}
		}
	}
	return out, nil
}

// landlockMasks returns the filesystem, network and scope rights the
// kernel's Landlock ABI version can handle.
func landlockMasks(abi int) (fsMask, netMask, scoped uint64) {
	switch {
	case abi >= 9:
		fsMask = 1<<17 - 1
	case abi >= 5:
		fsMask = 1<<16 - 1
	case abi >= 3:
		fsMask = 1<<15 - 1
	case abi == 2:
		fsMask = 1<<14 - 1
	case abi == 1:
		fsMask = 1<<13 - 1
	}
	if abi >= 4 {
		netMask = ll.AccessNetBindTCP | ll.AccessNetConnectTCP
	}
	if abi >= 6 {
		scoped = ll.ScopeAbstractUnixSocket | ll.ScopeSignal
	}
	return fsMask, netMask, scoped
}

// applyLandlockThread restricts the calling OS thread only, which must
// be locked to its goroutine and never unlocked. It returns the kernel's
// Landlock ABI version (0: Landlock unavailable, nothing done).
//
// One thread rather than the whole process: before Landlock ABI 8 each
// thread would get a domain of its own, and since a domain may signal
// only its own processes, commands forked by one thread could not be
// killed from another. Forking and killing all happen on this thread, and
// the launcher's other threads stay outside the commands' domain, so
// commands cannot signal or trace them.
func applyLandlockThread(s *setup, denyNet bool, proxyPort int) (int, error) {
	abi, err := ll.LandlockGetABIVersion()
	if err != nil || abi < 1 {
		return 0, nil
	}
	fsMask, netMask, scoped := landlockMasks(abi)
	grants, err := landlockGrants(s, abi)
	if err != nil {
		return abi, err
	}
	attr := ll.RulesetAttr{HandledAccessFS: fsMask, Scoped: scoped}
	if denyNet {
		attr.HandledAccessNet = netMask
	}
	fd, err := ll.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return abi, fmt.Errorf("create landlock ruleset: %w", err)
	}
	defer unix.Close(fd)
	for _, g := range grants {
		if err := addPathRule(fd, g, fsMask); err != nil {
			return abi, err
		}
	}
	if denyNet && proxyPort > 0 {
		if err := ll.LandlockAddNetPortRule(fd, &ll.NetPortAttr{AllowedAccess: ll.AccessNetConnectTCP, Port: uint64(proxyPort)}, 0); err != nil {
			return abi, fmt.Errorf("allow connecting to the proxy port: %w", err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return abi, fmt.Errorf("set no_new_privs: %w", err)
	}
	if err := ll.LandlockRestrictSelf(fd, 0); err != nil {
		return abi, fmt.Errorf("enter landlock domain: %w", err)
	}
	return abi, nil
}

// addPathRule adds one grant, limited to what the kernel handles and to
// what a rule on that kind of file may hold.
func addPathRule(rulesetFD int, g grant, fsMask uint64) error {
	pfd, err := unix.Open(g.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s for a landlock rule: %w", g.path, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("stat %s for a landlock rule: %w", g.path, err)
	}
	access := g.access & fsMask
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= accFile
	}
	if access == 0 {
		return nil
	}
	if err := ll.LandlockAddPathBeneathRule(rulesetFD, &ll.PathBeneathAttr{AllowedAccess: access, ParentFd: pfd}, 0); err != nil {
		return fmt.Errorf("add landlock rule for %s: %w", g.path, err)
	}
	return nil
}
