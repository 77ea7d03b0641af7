//go:build linux

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// The launcher is the restricted half of the sandbox: a process started
// once by the helper, which applies rlimits, drops capabilities, enters
// a Landlock domain and a seccomp filter, and then forks every command.
// Restrictions are inherited, so commands need no set-up of their own
// and cost one fork and exec.

// outputCeilingFactor times the output cap is how much output a command
// may write before it is killed; the rest of a runaway stream would be
// thrown away anyway.
const outputCeilingFactor = 64

// minOutputCeiling is the least output a command may write before it is
// killed, however small the cap.
const minOutputCeiling = 64 << 20

// procWatchInterval is how often the number of processes is checked
// while a command runs.
const procWatchInterval = 2 * time.Millisecond

// exitInfo is a reaped child's status.
type exitInfo struct {
	status syscall.WaitStatus
	usage  syscall.Rusage
}

// launcher runs commands one at a time.
type launcher struct {
	setup   *setup
	conn    *conn
	devNull *os.File

	mu      sync.Mutex
	waiters map[int]chan exitInfo
	spawned chan struct{}
	cur     *running

	// ops carries work to the spawner thread, the only one in the
	// commands' Landlock domain (see applyLandlockThread).
	ops chan func()
	// scoped: the spawner's Landlock domain confines signals, so kill(-1)
	// from it reaches exactly the commands.
	scoped bool
}

// running is the command in progress.
type running struct {
	id   uint64
	kill chan struct{}
	once sync.Once
}

func (r *running) stop() { r.once.Do(func() { close(r.kill) }) }

// runLauncher is the launcher's main; it does not return.
func runLauncher() {
	cloexecInherited()
	c, err := fdConn(3)
	if err != nil {
		fatalf("launcher: %v", err)
	}
	sf := os.NewFile(4, "sandbox-setup")
	if sf == nil {
		fatalf("launcher: no setup descriptor")
	}
	body, err := readFrameFile(sf)
	sf.Close()
	if err != nil {
		fatalf("launcher: read setup: %v", err)
	}
	f := new(frame)
	if err := json.Unmarshal(body, f); err != nil || f.Op != opSetup || f.Setup == nil {
		fatalf("launcher: decode setup: %v", err)
	}
	l := &launcher{setup: f.Setup, conn: c, waiters: map[int]chan exitInfo{}, spawned: make(chan struct{}, 1)}
	ready, err := l.restrict()
	if err != nil {
		_ = c.send(&frame{Op: opReady, Err: err.Error()})
		os.Exit(1)
	}
	if f.Setup.ProxyPort > 0 {
		ready.ProxyAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(f.Setup.ProxyPort))
	}
	go l.reap()
	if err := c.send(ready); err != nil {
		os.Exit(1)
	}
	l.serve()
	os.Exit(0)
}

// restrict applies every restriction to the launcher itself.
func (l *launcher) restrict() (*frame, error) {
	s := l.setup
	// Nobody, not even a command of the same user, may read or write
	// this process's memory.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("set non-dumpable: %w", err)
	}
	// Orphans of commands become our children, so none escapes cleanup.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become subreaper: %w", err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	l.devNull = null
	// Create the threads this process will need now: once the process
	// limit is reached by a fork bomb the runtime could not start one.
	warmThreads(8)

	ready := &frame{Op: opReady}
	if s.Mode == modeNone {
		if err := setRlimits(s.Limits, s.PidsCgroup); err != nil {
			return nil, err
		}
		_, err := l.startSpawner(func() (int, error) { return 0, nil })
		return ready, err
	}
	if err := dropCapabilities(); err != nil {
		return nil, err
	}
	if err := setRlimits(s.Limits, s.PidsCgroup); err != nil {
		return nil, err
	}
	abi, _ := ll.LandlockGetABIVersion()
	denyNet := s.Mode == modeLandlock
	if s.Mode == modeLandlock && abi < 4 {
		return nil, fmt.Errorf("landlock ABI v%d cannot restrict the network (needs v4, Linux 6.7 or later); install bubblewrap (apt-get install bubblewrap)", abi)
	}
	got, err := l.startSpawner(func() (int, error) { return applyLandlockThread(s, denyNet, s.ProxyPort) })
	if err != nil {
		return nil, err
	}
	if s.Mode == modeLandlock && got < 1 {
		return nil, errors.New("landlock is not available (kernel without CONFIG_SECURITY_LANDLOCK or lsm= lacks landlock); install bubblewrap (apt-get install bubblewrap)")
	}
	ready.LandlockABI = got
	// With Landlock scopes a domain may signal its own processes only.
	l.scoped = got >= 6
	ready.NetDenied = denyNet && got >= 4
	opt := seccompOptions{}
	if s.Mode == modeLandlock {
		opt.denyInetExceptTCP = true
		opt.denyUnixSockets = got < 9
	}
	if err := applySeccomp(opt); err != nil {
		return nil, err
	}
	ready.Seccomp = true
	return ready, nil
}

// startSpawner starts the goroutine, locked to an OS thread of its own
// for good, that applies restrict to its thread and then runs every
// operation passed to do: forking commands and signalling them.
func (l *launcher) startSpawner(restrict func() (int, error)) (int, error) {
	l.ops = make(chan func())
	type result struct {
		abi int
		err error
	}
	started := make(chan result, 1)
	go func() {
		// Never unlocked: the thread dies with the process.
		runtime.LockOSThread()
		abi, err := restrict()
		started <- result{abi, err}
		if err != nil {
			return
		}
		for op := range l.ops {
			op()
		}
	}()
	r := <-started
	return r.abi, r.err
}

// do runs f on the spawner thread and waits for it.
func (l *launcher) do(f func()) {
	done := make(chan struct{})
	l.ops <- func() {
		defer close(done)
		f()
	}
	<-done
}

// warmThreads makes the Go runtime start n OS threads, which it keeps.
func warmThreads(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	wg.Add(n)
	for range n {
		go func() {
			runtime.LockOSThread()
			wg.Done()
			<-release
			runtime.UnlockOSThread()
		}()
	}
	wg.Wait()
	close(release)
}

// procSlack is how many tasks the sandbox's own processes (bubblewrap's
// init, the helper, the launcher and their threads) may need on top of
// the commands' process limit.
const procSlack = 64

// setRlimits sets the limits the launcher shares with its commands, soft
// and hard, so commands cannot raise them. The CPU and memory limits are
// set by each command's shell instead (see shellArgv), so that the launcher's
// own long-lived usage does not count against them.
//
// With a pids cgroup the cgroup is the process limit (it is exact and
// its refusals are counted, so they can be reported); RLIMIT_NPROC is
// then set above it, as a second bound.
func setRlimits(lim Limits, cgroup bool) error {
	nproc := uint64(lim.Procs) + procSlack
	if cgroup {
		nproc += procSlack
	}
	set := []struct {
		name     string
		res      int
		soft, hd uint64
	}{
		{"file size", unix.RLIMIT_FSIZE, uint64(lim.FileSize), uint64(lim.FileSize)},
		{"processes", unix.RLIMIT_NPROC, nproc, nproc},
		{"core", unix.RLIMIT_CORE, 0, 0},
	}
	for _, r := range set {
		if err := unix.Setrlimit(r.res, &unix.Rlimit{Cur: r.soft, Max: r.hd}); err != nil {
			return fmt.Errorf("set %s limit: %w", r.name, err)
		}
	}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &cur); err != nil {
		return fmt.Errorf("read open files limit: %w", err)
	}
	n := min(uint64(openFiles), cur.Max)
	// Through package syscall, so that os/exec's saved limit is updated too.
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		return fmt.Errorf("set open files limit: %w", err)
	}
	return nil
}

// shellArgv is the argument vector of a command: /bin/sh sets the CPU
// and memory limits on itself with its ulimit builtin (hard limits, so
// the script cannot raise them) and then evaluates the script. The
// limits are thus in force before any of the script runs, and they do
// not count the launcher's own long-lived usage.
func shellArgv(script string, lim Limits) []string {
	cpu := int64(max(lim.CPUTime.Seconds(), 1))
	dataKB := lim.Memory / 1024
	asKB := (lim.Memory + addressSlack) / 1024
	prefix := fmt.Sprintf("ulimit -S -t %d && ulimit -H -t %d && ulimit -d %d && ulimit -v %d || "+
		"{ echo 'ouro sandbox: cannot set resource limits' >&2; exit 126; }; "+
		`__ouro_script=$1; set --; eval "unset __ouro_script; $__ouro_script"`,
		cpu, cpu+1, dataKB, asKB)
	return []string{"sh", "-c", prefix, "sh", script}
}

// reap collects every child: commands and the orphans reparented to us.
func (l *launcher) reap() {
	for {
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		pid, err := syscall.Wait4(-1, &ws, 0, &ru)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if errors.Is(err, syscall.ECHILD) {
			<-l.spawned
			continue
		}
		if err != nil {
			fatalf("launcher: wait: %v", err)
		}
		l.mu.Lock()
		ch := l.waiters[pid]
		delete(l.waiters, pid)
		l.mu.Unlock()
		if ch != nil {
			ch <- exitInfo{ws, ru}
		}
	}
}

// serve handles frames from the helper until it goes away.
func (l *launcher) serve() {
	for {
		f, err := l.conn.recv()
		if err != nil {
			l.do(l.killAll)
			return
		}
		switch f.Op {
		case opRun:
			l.mu.Lock()
			busy := l.cur != nil
			var r *running
			if !busy {
				r = &running{id: f.ID, kill: make(chan struct{})}
				l.cur = r
			}
			l.mu.Unlock()
			if busy {
				_ = l.conn.send(&frame{Op: opResult, ID: f.ID, ExitCode: -1, Err: "another command is still running"})
				continue
			}
			go func() {
				res := l.run(f, r)
				l.mu.Lock()
				l.cur = nil
				l.mu.Unlock()
				_ = l.conn.send(res)
			}()
		case opKill:
			l.mu.Lock()
			cur := l.cur
			if cur != nil && (f.ID == 0 || cur.id == f.ID) {
				cur.stop()
			}
			l.mu.Unlock()
			if f.ID == 0 {
				// The kill switch: whatever runs, command or not.
				l.do(l.killAll)
			}
		}
	}
}

// killAll ends every process of the sandbox but the helper and us. It
// must run on the spawner thread.
func (l *launcher) killAll() {
	if l.scoped {
		killDomain()
		return
	}
	if l.setup.Mode == modeBwrap {
		killNamespace(1, os.Getpid(), os.Getppid())
		return
	}
	_ = killDescendants(os.Getpid())
}

// procs counts the commands' processes alive in the sandbox.
func (l *launcher) procs() int {
	if l.setup.Mode == modeBwrap {
		return len(namespacePids(1, os.Getpid(), os.Getppid()))
	}
	return countDescendants(os.Getpid())
}

// run executes one command and reports how it ended.
func (l *launcher) run(f *frame, r *running) *frame {
	start := time.Now()
	res := &frame{Op: opResult, ID: f.ID}
	fail := func(err error) *frame {
		res.ExitCode = -1
		res.Err = err.Error()
		res.Duration = time.Since(start)
		return res
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return fail(fmt.Errorf("create output pipe: %w", err))
	}
	defer outR.Close()
	stdin := l.devNull
	var inW *os.File
	if len(f.Stdin) > 0 {
		var inR *os.File
		inR, inW, err = os.Pipe()
		if err != nil {
			outW.Close()
			return fail(fmt.Errorf("create input pipe: %w", err))
		}
		defer inR.Close()
		stdin = inR
	}
	attr := &syscall.ProcAttr{
		Dir:   f.Dir,
		Env:   f.Env,
		Files: []uintptr{stdin.Fd(), outW.Fd(), outW.Fd()},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	}
	exited := make(chan exitInfo, 1)
	var pid int
	l.do(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		pid, err = syscall.ForkExec("/bin/sh", shellArgv(f.Script, l.setup.Limits), attr)
		if err == nil {
			l.waiters[pid] = exited
		}
	})
	outW.Close()
	if err != nil {
		if inW != nil {
			inW.Close()
		}
		return fail(fmt.Errorf("start /bin/sh in %s: %w", f.Dir, err))
	}
	// Should the sandbox's memory cgroup run out, its OOM killer is to take
	// a command, not the launcher or the helper. The command's shell has
	// not got far yet, so what it forks inherits this.
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte("1000"), 0)
	select {
	case l.spawned <- struct{}{}:
	default:
	}
	if inW != nil {
		go func() {
			_, _ = inW.Write(f.Stdin)
			inW.Close()
		}()
	}

	out := newCapture(l.setup.Limits.Output)
	ceiling := max(int64(l.setup.Limits.Output)*outputCeilingFactor, minOutputCeiling)
	overflow := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 64<<10)
		signalled := false
		for {
			n, err := outR.Read(buf)
			_, _ = out.Write(buf[:n])
			if !signalled && out.Total() > ceiling {
				signalled = true
				close(overflow)
			}
			if err != nil {
				return
			}
		}
	}()

	timeout := f.Timeout
	if timeout <= 0 {
		timeout = l.setup.Limits.Timeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// Without a pids cgroup the process limit is also watched, since the
	// kernel does not apply RLIMIT_NPROC to the host's root user. This
	// is a best effort: a fork bomb can outgrow the checks before it is
	// killed.
	var watchC <-chan time.Time
	if !l.setup.PidsCgroup && os.Getuid() == 0 {
		watch := time.NewTicker(procWatchInterval)
		defer watch.Stop()
		watchC = watch.C
	}
	var info exitInfo
	stopped := false
	killCh := r.kill
	for done := false; !done; {
		select {
		case info = <-exited:
			done = true
			continue
		case <-watchC:
			if stopped || l.procs() <= l.setup.Limits.Procs {
				continue
			}
			res.Limit = "procs"
		case <-timer.C:
			res.TimedOut = true
			res.Limit = "timeout"
		case <-killCh:
			res.Killed = true
			killCh = nil
		case <-overflow:
			res.Limit = "output"
			overflow = nil
		}
		if !stopped {
			stopped = true
			l.do(func() {
				_ = unix.Kill(-pid, unix.SIGKILL)
				l.killAll()
			})
		}
	}
	// Whatever the command left behind (daemons included) dies now.
	l.do(l.killAll)
	_ = outR.SetReadDeadline(time.Now().Add(2 * time.Second))
	<-readDone
	res.Output, res.Truncated = out.Bytes()
	res.Duration = time.Since(start)

	ws := info.status
	switch {
	case ws.Exited():
		res.ExitCode = ws.ExitStatus()
	case ws.Signaled():
		res.ExitCode = -1
		res.Signal = unix.SignalName(ws.Signal())
	}
	if res.Limit == "" && !res.Killed {
		res.Limit = limitFromStatus(ws, info.usage, l.setup.Limits)
	}
	if res.Limit == "" && !res.Killed && memoryExhausted(ws, info.usage, l.setup.Limits) {
		res.Limit = "memory"
	}
	return res
}

// limitFromStatus names the resource limit a command's end points to:
// the shell itself killed by SIGXCPU or SIGXFSZ, or reporting that its
// last command was (exit status 128+signal).
func limitFromStatus(ws syscall.WaitStatus, ru syscall.Rusage, lim Limits) string {
	sig := syscall.Signal(-1)
	switch {
	case ws.Signaled():
		sig = ws.Signal()
	case ws.Exited() && ws.ExitStatus() > 128:
		sig = syscall.Signal(ws.ExitStatus() - 128)
	}
	switch sig {
	case syscall.SIGXCPU:
		return "cpu"
	case syscall.SIGXFSZ:
		return "filesize"
	case syscall.SIGKILL:
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		if cpu >= lim.CPUTime {
			return "cpu"
		}
	}
	return ""
}

// memoryExhausted reports whether a command that failed had come close
// to its memory limit, which is then the likely cause: allocation fails
// at the limit rather than a signal being sent.
func memoryExhausted(ws syscall.WaitStatus, ru syscall.Rusage, lim Limits) bool {
	failed := ws.Signaled() || (ws.Exited() && ws.ExitStatus() != 0)
	return failed && ru.Maxrss*1024 >= lim.Memory*8/10
}

// fdConn wraps an inherited Unix socket.
func fdConn(fd uintptr) (*conn, error) {
	f := os.NewFile(fd, "sandbox-control")
	if f == nil {
		return nil, fmt.Errorf("no file descriptor %d", fd)
	}
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("control socket on fd %d: %w", fd, err)
	}
	return newConn(nc), nil
}

// fatalf reports on stderr and exits; used by the in-sandbox processes,
// whose stderr the host keeps for error messages.
func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ouro sandbox: "+format+"\n", args...)
	os.Exit(2)
}
