//go:build linux

package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The helper is the first sandbox process (inside bubblewrap, or a
// session of its own in Landlock mode). It stays unrestricted by Landlock
// and seccomp so that it can reach the egress proxy's Unix socket, which
// it bridges to a TCP listener for the commands; it starts the launcher,
// which talks to the host directly over the inherited control socket, and
// it kills whatever is left when the launcher ends.

// runHelper is the helper's main; it does not return.
func runHelper() {
	cloexecInherited(3)
	ctl := os.NewFile(3, "sandbox-control")
	body, err := readFrameFile(ctl)
	if err != nil {
		fatalf("helper: read setup: %v", err)
	}
	var f frame
	if err := json.Unmarshal(body, &f); err != nil || f.Op != opSetup || f.Setup == nil {
		fatalf("helper: decode setup: %v", err)
	}
	st := f.Setup
	fail := func(err error) {
		c := &conn{w: ctl}
		_ = c.send(&frame{Op: opReady, Err: err.Error()})
		os.Exit(1)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fail(fmt.Errorf("helper: set non-dumpable: %w", err))
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fail(fmt.Errorf("helper: become subreaper: %w", err))
	}
	for _, fd := range st.CgroupFDs {
		// Join the sandbox's cgroups (opened by the host, since /sys is
		// read-only here) before starting anything.
		cg := os.NewFile(uintptr(fd), "cgroup.procs")
		_, err := cg.Write([]byte("0"))
		cg.Close()
		if err != nil {
			fail(fmt.Errorf("helper: join cgroup: %w", err))
		}
	}
	var ln net.Listener
	if st.ProxySocket != "" && st.ProxyListen != "" {
		ln, err = net.Listen("tcp", st.ProxyListen)
		if err != nil {
			fail(fmt.Errorf("helper: listen for proxy clients: %w", err))
		}
		st.ProxyPort = ln.Addr().(*net.TCPAddr).Port
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		fail(fmt.Errorf("helper: create setup pipe: %w", err))
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{roleEnv + "=" + roleLauncher, "PATH=/usr/local/bin:/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{ctl, pr}
	cmd.Stderr = os.Stderr
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fail(fmt.Errorf("helper: start launcher: %w", err))
	}
	ctl.Close()
	pr.Close()
	b, err := json.Marshal(&frame{Op: opSetup, Setup: st})
	if err == nil {
		err = writeFrameFile(pw, b)
	}
	pw.Close()
	if err != nil {
		_ = cmd.Process.Kill()
		fatalf("helper: pass setup to launcher: %v", err)
	}
	if ln != nil {
		go bridge(ln, st.ProxySocket)
	}
	_ = cmd.Wait()
	// Commands orphaned by a launcher that died are our children now.
	_ = killDescendants(os.Getpid())
	os.Exit(0)
}

// bridge forwards every TCP connection accepted on ln to a new
// connection to the Unix socket at path.
func bridge(ln net.Listener, path string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("unix", path)
			if err != nil {
				return
			}
			defer u.Close()
			var wg sync.WaitGroup
			wg.Add(2)
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
				}
			}
			go pipe(u, c)
			go pipe(c, u)
			wg.Wait()
		}()
	}
}

// cloexecInherited marks every inherited descriptor from 3 up, except
// keep, close-on-exec, so none leaks into commands.
func cloexecInherited(keep ...int) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
outer:
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		for _, k := range keep {
			if fd == k {
				continue outer
			}
		}
		unix.CloseOnExec(fd)
	}
}

// readFrameFile reads exactly one frame body from f without reading
// ahead, so the descriptor can be handed on afterwards.
func readFrameFile(f *os.File) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes exceeds the %d byte limit", n, maxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, fmt.Errorf("read frame body: %w", err)
	}
	return body, nil
}

// writeFrameFile writes one frame body to f.
func writeFrameFile(f *os.File, body []byte) error {
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err := f.Write(buf)
	return err
}
