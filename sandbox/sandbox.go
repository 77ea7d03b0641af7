//go:build linux

// Package sandbox provides the isolated, resource-limited shell in which
// every command an agent runs is executed.
//
// A Sandbox is one long-lived bubblewrap container (new user, PID, network,
// IPC and UTS namespaces; the system read-only; a private /tmp; a fresh
// /proc; the workspace the only writable bind) holding a launcher process
// that has dropped its capabilities and entered a Landlock domain and a
// seccomp filter. The launcher forks each command, so a command costs one
// fork and exec rather than a new container. Where bubblewrap cannot start,
// the launcher's Landlock and seccomp restrictions are the whole sandbox;
// where neither works New fails unless Config.Unsafe is set. Kind reports
// which layers are in force.
//
// Resources are bounded per process by rlimits (CPU, memory, file size),
// for the whole sandbox by cgroups where they are writable (a pids cgroup
// for the number of processes, a memory cgroup for their total memory),
// and for each command by a wall clock, an output ceiling and a watch on
// the free space of the filesystems it can write (see Limits.DiskGrowth).
// The in-memory filesystems of bubblewrap mode have a size cap, and
// seccomp refuses setuid and setgid modes, which a file in the workspace
// would keep on the host.
//
// The sandbox re-executes the current binary for its in-sandbox processes,
// so every main function (and TestMain) must call Init first.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"github.com/ouro-run/ouro"
	"golang.org/x/sys/unix"
)

// Mode selects the isolation mechanism.
type Mode string

// Isolation modes.
const (
	// ModeAuto uses bubblewrap, or Landlock and seccomp alone where
	// bubblewrap cannot start (logged as a warning and visible in Kind).
	ModeAuto Mode = "auto"
	// ModeBwrap requires bubblewrap.
	ModeBwrap Mode = "bwrap"
	// ModeLandlock uses Landlock and seccomp without namespaces. With no
	// mount namespace there is no private /tmp: commands get a private
	// TMPDIR (and HOME), and the host's /tmp is neither readable nor
	// writable. Protected paths in the workspace are restored after a
	// command rather than kept read-only (see Config.Protected).
	ModeLandlock Mode = "landlock"
	// ModeNone runs commands without isolation (resource limits only). It
	// requires Config.Unsafe.
	ModeNone Mode = "none"
)

// Internal mode names sent to the in-sandbox processes.
const (
	modeBwrap    = "bwrap"
	modeLandlock = "landlock"
	modeNone     = "none"
)

// Environment marker naming the role of a re-executed process.
const (
	roleEnv      = "OURO_SANDBOX_ROLE"
	roleHelper   = "helper"
	roleLauncher = "launcher"
)

// proxyPort is where commands find the egress proxy inside the network
// namespace.
const proxyPort = 3128

// proxyMount is where the proxy's Unix socket appears inside bubblewrap.
const proxyMount = "/run/ouro/proxy.sock"

// Limits bounds every command. A zero field takes the default from
// DefaultLimits.
type Limits struct {
	CPUTime  time.Duration // CPU time of each process (RLIMIT_CPU)
	Memory   int64         // bytes of data memory per process (RLIMIT_DATA; address space gets 2 GiB more)
	Procs    int           // processes alive at once in the sandbox
	FileSize int64         // largest file a command may write (RLIMIT_FSIZE)
	Output   int           // bytes of output kept; the head and tail survive a cut
	Timeout  time.Duration // wall clock for a command's whole process tree

	// MemoryTotal bounds the memory of the whole sandbox (every process
	// alive at once, plus the files in its private /tmp and /dev/shm)
	// through a memory cgroup, where one is writable; the default is twice
	// Memory. Where none is writable New logs a warning and only the
	// per-process limit applies.
	MemoryTotal int64
	// TmpSize caps each writable in-memory filesystem of the sandbox: the
	// private /tmp (holding the home directory) and /dev/shm in
	// bubblewrap mode. Default 512 MiB.
	TmpSize int64
	// DiskGrowth is how far the free space of the filesystems commands
	// can write (workspace, Writable, the private /tmp in Landlock mode)
	// may shrink during one command before it is killed with Limit
	// "disk". It is measured with statfs, so writes by other processes to
	// the same filesystem count too. Default 1 GiB, or FileSize if that
	// is larger.
	DiskGrowth int64
}

// DefaultLimits returns the limits used for zero fields of Limits. The
// defaults of MemoryTotal and DiskGrowth follow Memory and FileSize (see
// their fields), so a zero field is filled from the other fields' final
// values rather than from here.
func DefaultLimits() Limits {
	return Limits{
		CPUTime:  10 * time.Minute,
		Memory:   4 << 30,
		Procs:    1024,
		FileSize: 4 << 30,
		Output:   64 << 10,
		Timeout:  2 * time.Minute,

		MemoryTotal: 8 << 30,
		TmpSize:     512 << 20,
		DiskGrowth:  4 << 30,
	}
}

// withDefaults fills zero fields.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.CPUTime <= 0 {
		l.CPUTime = d.CPUTime
	}
	if l.Memory <= 0 {
		l.Memory = d.Memory
	}
	if l.Procs <= 0 {
		l.Procs = d.Procs
	}
	if l.FileSize <= 0 {
		l.FileSize = d.FileSize
	}
	if l.Output <= 0 {
		l.Output = d.Output
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MemoryTotal <= 0 {
		l.MemoryTotal = 2 * l.Memory
	}
	if l.TmpSize <= 0 {
		l.TmpSize = d.TmpSize
	}
	if l.DiskGrowth <= 0 {
		l.DiskGrowth = max(1<<30, l.FileSize)
	}
	return l
}

// Config describes a sandbox. Every path must be absolute.
type Config struct {
	// Workspace is the only writable place besides the private /tmp (and
	// Writable). Commands start in it.
	Workspace string
	// Protected paths (files or directories, inside or outside the
	// workspace) are never writable. In bubblewrap mode an existing path
	// is bound read-only and its ancestors inside the workspace become
	// mount points, which cannot be renamed or removed; a path that does
	// not exist yet is logged and left to the policy. In Landlock mode,
	// which cannot keep one entry of a writable directory from being
	// replaced, a protected path inside a writable tree is recorded at
	// the start and, should a command change it, put back after the
	// command, with a note in its output.
	Protected []string
	// ReadOnly are extra paths made visible read-only (e.g. a git common
	// directory under a hidden home).
	ReadOnly []string
	// Writable are extra writable directories, such as a per-run build
	// cache. Only pass trusted, run-private directories: whatever is
	// written there survives the command.
	Writable []string
	// Hidden paths are replaced by empty directories (or empty files).
	// The user's home, /home, /root and /run are always hidden.
	Hidden []string
	// ProxySocket is the Unix socket of ouro's egress proxy. When set,
	// commands reach it as http://127.0.0.1:3128 (HTTP_PROXY and
	// HTTPS_PROXY are set); otherwise there is no network at all.
	ProxySocket string
	// Env holds trusted KEY=VALUE pairs added after the host environment
	// has been filtered through the allowlist.
	Env []string
	// Limits apply to every command.
	Limits Limits
	// Mode selects the isolation; "" means ModeAuto.
	Mode Mode
	// Unsafe allows running without isolation when no mechanism works
	// (or when Mode is ModeNone). Callers must journal and show it.
	Unsafe bool
	// Logger receives warnings such as a fallback to Landlock.
	Logger *slog.Logger
}

// Sandbox runs commands, one at a time, in one isolated environment.
type Sandbox struct {
	cfg    Config
	log    *slog.Logger
	kind   string
	mode   string
	env    []string // base environment of every command
	tmpDir string   // host-side private directory (Landlock and none modes)
	guard  *guard   // protected paths the host restores (Landlock mode)
	proxy  string   // address of the proxy bridge commands use

	proc     *exec.Cmd
	procDone chan struct{}
	cgroup   *sandboxCgroup
	stderr   *boundedBuffer
	conn     *conn
	nc       net.Conn

	runMu  sync.Mutex // one command at a time
	nextID atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan *frame
	dead    error // set once the sandbox process is gone
	closed  bool
}

// Init runs the sandbox's own in-sandbox processes. Call it first in main
// and in TestMain: in a re-executed sandbox process it never returns; in
// any other process it returns at once.
func Init() {
	switch os.Getenv(roleEnv) {
	case roleHelper:
		runHelper()
	case roleLauncher:
		runLauncher()
	}
}

// New starts a sandbox. The returned Sandbox must be closed.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.Limits = cfg.Limits.withDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mode := cfg.Mode
	if mode == "" {
		mode = ModeAuto
	}
	switch mode {
	case ModeAuto:
		s, err := start(ctx, cfg, log, modeBwrap)
		if err == nil {
			return s, nil
		}
		log.Warn("sandbox: bubblewrap could not start; falling back to landlock and seccomp without namespaces", "err", err)
		s, err2 := start(ctx, cfg, log, modeLandlock)
		if err2 == nil {
			return s, nil
		}
		if !cfg.Unsafe {
			return nil, fmt.Errorf("start sandbox: no isolation works (bubblewrap: %v; landlock: %v); install bubblewrap (apt-get install bubblewrap) or pass Unsafe to run without a sandbox", err, err2)
		}
		log.Warn("sandbox: running commands WITHOUT isolation (unsafe)", "bwrap_err", err, "landlock_err", err2)
		return start(ctx, cfg, log, modeNone)
	case ModeBwrap:
		return start(ctx, cfg, log, modeBwrap)
	case ModeLandlock:
		return start(ctx, cfg, log, modeLandlock)
	case ModeNone:
		if !cfg.Unsafe {
			return nil, errors.New("start sandbox: mode \"none\" runs commands without isolation; set Config.Unsafe to confirm")
		}
		log.Warn("sandbox: running commands WITHOUT isolation (unsafe)")
		return start(ctx, cfg, log, modeNone)
	}
	return nil, fmt.Errorf("start sandbox: unknown mode %q; use \"auto\", \"bwrap\", \"landlock\" or \"none\"", cfg.Mode)
}

// check validates the paths of a configuration.
func (cfg *Config) check() error {
	if cfg.Workspace == "" {
		return errors.New("sandbox config: Workspace is empty; set it to the run's workspace directory")
	}
	lists := []struct {
		name  string
		paths []string
	}{
		{"Workspace", []string{cfg.Workspace}},
		{"Protected", cfg.Protected},
		{"ReadOnly", cfg.ReadOnly},
		{"Writable", cfg.Writable},
		{"Hidden", cfg.Hidden},
	}
	if cfg.ProxySocket != "" {
		lists = append(lists, struct {
			name  string
			paths []string
		}{"ProxySocket", []string{cfg.ProxySocket}})
	}
	for _, l := range lists {
		for _, p := range l.paths {
			if !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
				return fmt.Errorf("sandbox config: %s path %q is not absolute; give a full path", l.name, p)
			}
		}
	}
	ws, err := filepath.EvalSymlinks(cfg.Workspace)
	if err != nil {
		return fmt.Errorf("sandbox config: workspace: %w", err)
	}
	if fi, err := os.Stat(ws); err != nil || !fi.IsDir() {
		return fmt.Errorf("sandbox config: workspace %q is not a directory", cfg.Workspace)
	}
	if ws == "/" {
		return errors.New("sandbox config: the workspace cannot be /")
	}
	cfg.Workspace = ws
	for _, list := range []*[]string{&cfg.Protected, &cfg.ReadOnly, &cfg.Writable, &cfg.Hidden} {
		out := make([]string, 0, len(*list))
		for _, p := range *list {
			out = append(out, resolve(p))
		}
		*list = out
	}
	for _, w := range cfg.Writable {
		if w == "/" {
			return errors.New("sandbox config: Writable cannot contain /")
		}
	}
	for _, e := range cfg.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return fmt.Errorf("sandbox config: Env entry %q is not KEY=VALUE", e)
		}
	}
	return nil
}

// resolve cleans p and resolves symbolic links in the part that exists,
// so that mounts and Landlock rules land on the real object.
func resolve(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir, base := filepath.Split(p)
	if dir == "/" || dir == "" {
		return p
	}
	return filepath.Join(resolve(strings.TrimSuffix(dir, "/")), base)
}

// hiddenDefaults lists the paths always hidden: homes and run-time
// directories that hold agent and Docker sockets.
func hiddenDefaults() []string {
	out := []string{"/home", "/root", "/run", "/var/run", "/var/tmp", "/mnt", "/media"}
	if h, err := os.UserHomeDir(); err == nil && filepath.IsAbs(h) {
		out = append(out, h)
	}
	if h := os.Getenv("OURO_HOME"); filepath.IsAbs(h) {
		out = append(out, h)
	}
	return out
}

// start launches the sandbox processes in the given mode and waits until
// the launcher has applied its restrictions.
func start(ctx context.Context, cfg Config, log *slog.Logger, mode string) (*Sandbox, error) {
	s := &Sandbox{cfg: cfg, log: log, mode: mode, pending: map[uint64]chan *frame{}, procDone: make(chan struct{})}
	st := &setup{Mode: mode, Limits: cfg.Limits, Workspace: cfg.Workspace, ProxySocket: cfg.ProxySocket}
	hidden := uniq(append(hiddenDefaults(), cfg.Hidden...))
	var args []string
	switch mode {
	case modeBwrap:
		bw, err := exec.LookPath("bwrap")
		if err != nil {
			return nil, errors.New("bubblewrap is not installed; install it (apt-get install bubblewrap)")
		}
		plan, err := planMounts(cfg, hidden, log)
		if err != nil {
			return nil, err
		}
		st.Tmp, st.Home = "/tmp", "/tmp/home"
		st.ReadRoots = []string{"/"}
		st.Writable = append(slices.Clone(cfg.Writable), "/dev/shm")
		if cfg.ProxySocket != "" {
			st.ProxySocket = proxyMount
			st.ProxyListen = fmt.Sprintf("127.0.0.1:%d", proxyPort)
		}
		args = append([]string{bw}, plan.args(cfg.Limits.TmpSize)...)
	default:
		dir, err := os.MkdirTemp("", "ouro-sandbox-")
		if err != nil {
			return nil, fmt.Errorf("create sandbox temporary directory: %w", err)
		}
		s.tmpDir = dir
		st.Tmp, st.Home = filepath.Join(dir, "tmp"), filepath.Join(dir, "home")
		for _, d := range []string{st.Tmp, st.Home} {
			if err := os.Mkdir(d, 0o700); err != nil {
				s.cleanup()
				return nil, fmt.Errorf("create sandbox directory: %w", err)
			}
		}
		st.ReadRoots = append([]string{"/"}, cfg.ReadOnly...)
		g, err := newGuard(cfg.Protected, append([]string{cfg.Workspace}, cfg.Writable...))
		if err != nil {
			s.cleanup()
			return nil, fmt.Errorf("start landlock sandbox: %w", err)
		}
		s.guard = g
		// Without a mount namespace, the shared temporary directories
		// (other sandboxes' included) are made unreadable instead.
		st.Hidden = uniq(append(hidden, os.TempDir(), "/tmp", "/dev/shm"))
		st.Writable = slices.Clone(cfg.Writable)
		if cfg.ProxySocket != "" {
			st.ProxyListen = "127.0.0.1:0"
		}
	}
	if err := s.spawn(ctx, mode, args, st); err != nil {
		s.cleanup()
		return nil, err
	}
	s.env = s.baseEnv(st)
	return s, nil
}

// uniq returns the distinct cleaned paths of list, resolved.
func uniq(list []string) []string {
	var out []string
	for _, p := range list {
		p = resolve(p)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// spawn starts the helper (inside bubblewrap when args is not empty),
// sends the setup and waits for the launcher to report ready.
func (s *Sandbox) spawn(ctx context.Context, mode string, args []string, st *setup) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("create control socket: %w", err)
	}
	hostF := os.NewFile(uintptr(fds[0]), "sandbox-control")
	childF := os.NewFile(uintptr(fds[1]), "sandbox-control-child")
	defer childF.Close()
	nc, err := net.FileConn(hostF)
	hostF.Close()
	if err != nil {
		childF.Close()
		return fmt.Errorf("create control socket: %w", err)
	}
	s.nc = nc
	s.conn = newConn(nc)

	env := []string{roleEnv + "=" + roleHelper, "PATH=/usr/local/bin:/usr/bin:/bin"}
	var cgProcs []*os.File
	if mode != modeNone {
		cg, err := newSandboxCgroup(s.cfg.Limits.Procs+procSlack, s.cfg.Limits.MemoryTotal)
		if err != nil {
			s.log.Warn("sandbox: no memory cgroup; the sandbox's total memory is not limited, only each process's", "err", err)
		}
		if cg == nil {
			s.log.Warn("sandbox: no writable cgroup; the sandbox's total memory is not limited, only each process's, and the process limit relies on RLIMIT_NPROC")
		} else {
			s.cgroup = cg
			st.PidsCgroup = true
			if mode == modeBwrap {
				// bubblewrap forks at once; the helper joins the cgroups
				// itself through these descriptors (fd 5 on).
				for i, name := range cg.procsFiles() {
					f, err := os.OpenFile(name, os.O_WRONLY, 0)
					if err != nil {
						if i == 0 {
							cg.remove()
							s.cgroup = nil
							st.PidsCgroup = false
						} else {
							s.log.Warn("sandbox: no memory cgroup; the sandbox's total memory is not limited, only each process's", "err", err)
							cg.dropMemory()
						}
						break
					}
					defer f.Close()
					cgProcs = append(cgProcs, f)
					st.CgroupFDs = append(st.CgroupFDs, 5+i)
				}
			}
		}
	} else {
		s.log.Warn("sandbox: no pids or memory cgroup in unsafe mode; the sandbox's total memory is not limited")
	}
	var cmd *exec.Cmd
	if mode == modeBwrap {
		exe, err := os.Open("/proc/self/exe")
		if err != nil {
			return fmt.Errorf("open own executable: %w", err)
		}
		defer exe.Close()
		// fd 3 is the control socket, fd 4 this binary, run by path
		// through the sandbox's own /proc.
		args = append(args, "--", "/proc/self/fd/4")
		cmd = exec.Command(args[0], args[1:]...)
		cmd.ExtraFiles = []*os.File{childF, exe}
		cmd.ExtraFiles = append(cmd.ExtraFiles, cgProcs...)
	} else {
		cmd = exec.Command("/proc/self/exe")
		cmd.ExtraFiles = []*os.File{childF}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.Env = env
	cmd.Dir = "/"
	s.stderr = &boundedBuffer{max: 16 << 10}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		nc.Close()
		return fmt.Errorf("start %s sandbox: %w", mode, err)
	}
	s.proc = cmd
	if s.cgroup != nil && mode != modeBwrap {
		if err := s.cgroup.add(cmd.Process.Pid); err != nil {
			s.log.Warn("sandbox: no pids or memory cgroup; the process limit relies on RLIMIT_NPROC and the sandbox's total memory is not limited", "err", err)
			s.cgroup.remove()
			s.cgroup = nil
			st.PidsCgroup = false
		}
	}
	go func() {
		_ = cmd.Wait()
		close(s.procDone)
	}()
	childF.Close()

	type reply struct {
		f   *frame
		err error
	}
	ready := make(chan reply, 1)
	go func() {
		if err := s.conn.send(&frame{Op: opSetup, Setup: st}); err != nil {
			ready <- reply{nil, err}
			return
		}
		f, err := s.conn.recv()
		ready <- reply{f, err}
	}()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	var r reply
	select {
	case r = <-ready:
	case <-ctx.Done():
		r.err = ctx.Err()
	case <-timer.C:
		r.err = errors.New("no answer within 20s")
	}
	if r.err == nil && (r.f.Op != opReady || r.f.Err != "") {
		r.err = errors.New(r.f.Err)
	}
	if r.err != nil {
		s.stop()
		msg := strings.TrimSpace(s.stderr.String())
		if msg != "" {
			return fmt.Errorf("start %s sandbox: %v: %s", mode, r.err, msg)
		}
		return fmt.Errorf("start %s sandbox: %w", mode, r.err)
	}
	s.kind = kindName(mode, r.f)
	s.proxy = r.f.ProxyAddr
	go s.readLoop()
	return nil
}

// kindName describes the layers the launcher reported in force.
func kindName(mode string, ready *frame) string {
	if mode == modeNone {
		return "none"
	}
	var parts []string
	if mode == modeBwrap {
		parts = append(parts, "bwrap")
	}
	if ready.LandlockABI > 0 {
		parts = append(parts, "landlock")
	}
	if ready.Seccomp {
		parts = append(parts, "seccomp")
	}
	return strings.Join(parts, "+")
}

// readLoop dispatches result frames until the sandbox goes away.
func (s *Sandbox) readLoop() {
	for {
		f, err := s.conn.recv()
		if err != nil {
			s.mu.Lock()
			if s.dead == nil {
				s.dead = fmt.Errorf("sandbox exited: %w", err)
				if msg := strings.TrimSpace(s.stderr.String()); msg != "" {
					s.dead = fmt.Errorf("sandbox exited: %w: %s", err, msg)
				}
			}
			for id, ch := range s.pending {
				close(ch)
				delete(s.pending, id)
			}
			s.mu.Unlock()
			return
		}
		if f.Op != opResult {
			continue
		}
		s.mu.Lock()
		ch := s.pending[f.ID]
		delete(s.pending, f.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- f
		}
	}
}

// baseEnv is the environment every command starts from.
func (s *Sandbox) baseEnv(st *setup) []string {
	e := newEnvList()
	e.Set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	e.AddFiltered(os.Environ())
	e.Set("HOME", st.Home)
	e.Set("TMPDIR", st.Tmp)
	e.Set("USER", "sandbox")
	e.Set("LOGNAME", "sandbox")
	e.Set("SHELL", "/bin/sh")
	if s.cfg.ProxySocket != "" {
		// The launcher reports the port it got in Landlock mode.
		s.setProxyEnv(e)
	}
	for _, kv := range s.cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		e.Set(k, v)
	}
	return e.Pairs()
}

// setProxyEnv points commands at the proxy bridge.
func (s *Sandbox) setProxyEnv(e *envList) {
	u := "http://" + s.proxy
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		e.Set(k, u)
	}
	e.Set("NO_PROXY", "")
	e.Set("no_proxy", "")
}

// Kind names the isolation in force: "bwrap+landlock+seccomp",
// "landlock+seccomp", "none", or another combination of those layers.
func (s *Sandbox) Kind() string { return s.kind }

// Run executes c with /bin/sh -c in the sandbox and waits for its whole
// process tree to end. Output, limits and timeouts are reported in the
// result; an error means the sandbox itself failed or ctx ended (the
// command is then killed). Commands run one at a time.
func (s *Sandbox) Run(ctx context.Context, c ouro.Command) (ouro.CommandResult, error) {
	dir := s.cfg.Workspace
	if c.Dir != "" && c.Dir != "." {
		if !filepath.IsLocal(c.Dir) {
			return ouro.CommandResult{ExitCode: -1}, fmt.Errorf("sandbox: command directory %q must be relative to the workspace and stay inside it", c.Dir)
		}
		dir = filepath.Join(dir, c.Dir)
	}
	if strings.ContainsRune(c.Script, 0) {
		return ouro.CommandResult{ExitCode: -1}, errors.New("sandbox: command contains a NUL byte")
	}
	e := newEnvList()
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		e.Set(k, v)
	}
	e.AddFiltered(c.Env)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = s.cfg.Limits.Timeout
	}

	s.runMu.Lock()
	defer s.runMu.Unlock()
	if err := ctx.Err(); err != nil {
		return ouro.CommandResult{ExitCode: -1}, fmt.Errorf("sandbox: command not started: %w", err)
	}
	id := s.nextID.Add(1)
	ch := make(chan *frame, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ouro.CommandResult{ExitCode: -1}, errors.New("sandbox: run after Close")
	}
	if s.dead != nil {
		err := s.dead
		s.mu.Unlock()
		return ouro.CommandResult{ExitCode: -1}, err
	}
	s.pending[id] = ch
	s.mu.Unlock()
	var refused, oomKills int64
	if s.cgroup != nil {
		refused = s.cgroup.refusals()
		oomKills = s.cgroup.oomKills()
	}
	if s.guard != nil && len(s.guard.changed()) > 0 {
		// Changed between commands, by the host: that is the new state.
		g, err := newGuard(s.cfg.Protected, append([]string{s.cfg.Workspace}, s.cfg.Writable...))
		if err != nil {
			s.forget(id)
			return ouro.CommandResult{ExitCode: -1}, fmt.Errorf("sandbox: %w", err)
		}
		s.guard = g
	}
	disk := newDiskWatch(s.diskPaths(), s.cfg.Limits.DiskGrowth)
	err := s.conn.send(&frame{Op: opRun, ID: id, Script: c.Script, Dir: dir, Env: e.Pairs(), Timeout: timeout, Stdin: c.Stdin})
	if err != nil {
		s.forget(id)
		return ouro.CommandResult{ExitCode: -1}, fmt.Errorf("sandbox: send command: %w", err)
	}
	diskFull := disk.watch(func() { _ = s.conn.send(&frame{Op: opKill, ID: id}) })
	defer disk.stop()
	var f *frame
	select {
	case f = <-ch:
	case <-ctx.Done():
		_ = s.conn.send(&frame{Op: opKill, ID: id})
		grace := time.NewTimer(5 * time.Second)
		defer grace.Stop()
		select {
		case f = <-ch:
		case <-grace.C:
			s.forget(id)
			s.stop()
			return ouro.CommandResult{ExitCode: -1}, fmt.Errorf("sandbox: command not stopped within 5s of cancellation; sandbox killed: %w", ctx.Err())
		}
		if f != nil {
			res := toResult(f)
			if note := s.guard.check(); note != "" {
				s.log.Warn("sandbox: a command changed protected paths; they were restored", "note", strings.TrimSpace(note))
				res.Output = append(res.Output, note...)
			}
			return res, fmt.Errorf("sandbox: command cancelled: %w", ctx.Err())
		}
	}
	if f == nil {
		s.mu.Lock()
		err := s.dead
		s.mu.Unlock()
		if err == nil {
			err = errors.New("sandbox: connection lost")
		}
		return ouro.CommandResult{ExitCode: -1}, err
	}
	res := toResult(f)
	if note := s.guard.check(); note != "" {
		s.log.Warn("sandbox: a command changed protected paths; they were restored", "note", strings.TrimSpace(note))
		res.Output = append(res.Output, note...)
	}
	if f.Err != "" {
		return res, fmt.Errorf("sandbox: %s", f.Err)
	}
	disk.stop()
	if grown := disk.grown(); res.Limit == "" && (diskFull.Load() || grown > s.cfg.Limits.DiskGrowth) {
		res.Limit = "disk"
		s.log.Warn("sandbox: command filled the disk beyond its limit", "grown_bytes", grown, "limit_bytes", s.cfg.Limits.DiskGrowth, "killed", diskFull.Load())
	}
	if s.cgroup != nil && res.Limit == "" && s.cgroup.refusals() > refused {
		res.Limit = "procs"
	}
	if s.cgroup != nil && res.Limit == "" && s.cgroup.oomKills() > oomKills {
		res.Limit = "memory"
	}
	return res, nil
}

// diskPaths are the directories whose filesystems commands can fill.
func (s *Sandbox) diskPaths() []string {
	out := append([]string{s.cfg.Workspace}, s.cfg.Writable...)
	if s.tmpDir != "" {
		out = append(out, s.tmpDir)
	}
	return out
}

// forget drops a pending request.
func (s *Sandbox) forget(id uint64) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// toResult converts a result frame.
func toResult(f *frame) ouro.CommandResult {
	return ouro.CommandResult{
		Output:    f.Output,
		Truncated: f.Truncated,
		ExitCode:  f.ExitCode,
		Signal:    f.Signal,
		TimedOut:  f.TimedOut,
		Duration:  f.Duration,
		Limit:     f.Limit,
	}
}

// Kill kills every process running in the sandbox now; the sandbox stays
// usable. A command in progress ends with Signal SIGKILL.
func (s *Sandbox) Kill() error {
	s.mu.Lock()
	dead := s.dead
	s.mu.Unlock()
	if dead != nil {
		return nil
	}
	if err := s.conn.send(&frame{Op: opKill}); err != nil {
		// The launcher cannot be reached: take the whole sandbox down.
		s.stop()
		return fmt.Errorf("sandbox: kill: %w", err)
	}
	return nil
}

// Close kills everything in the sandbox and releases it.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.cleanup()
	return nil
}

// stop ends the sandbox processes: closing the control socket makes the
// launcher kill every command and exit; SIGKILL follows if it lingers.
func (s *Sandbox) stop() {
	if s.nc != nil {
		_ = s.nc.Close()
	}
	if s.proc == nil {
		return
	}
	select {
	case <-s.procDone:
		return
	case <-time.After(2 * time.Second):
	}
	_ = s.proc.Process.Kill()
	<-s.procDone
}

// cleanup removes the host-side private directories and the cgroup.
func (s *Sandbox) cleanup() {
	if s.cgroup != nil {
		s.cgroup.remove()
	}
	if s.tmpDir != "" {
		_ = os.RemoveAll(s.tmpDir)
	}
}

// Available reports which kind of sandbox New would use in ModeAuto, or
// why none works.
func Available(ctx context.Context) (string, error) {
	abi, _ := ll.LandlockGetABIVersion()
	bwErr := probeBwrap(ctx)
	switch {
	case bwErr == nil && abi > 0:
		return "bwrap+landlock+seccomp", nil
	case bwErr == nil:
		return "bwrap+seccomp", nil
	case abi >= 4:
		return "landlock+seccomp", nil
	}
	return "", fmt.Errorf("no sandbox available: bubblewrap: %v; landlock ABI v%d (needs v4, Linux 6.7 or later); install bubblewrap (apt-get install bubblewrap)", bwErr, abi)
}

// probeBwrap runs a trivial command under bubblewrap with the namespaces
// the sandbox needs.
func probeBwrap(ctx context.Context) error {
	bw, err := exec.LookPath("bwrap")
	if err != nil {
		return errors.New("not installed; install it (apt-get install bubblewrap)")
	}
	cmd := exec.CommandContext(ctx, bw, "--new-session", "--die-with-parent", "--unshare-all", "--cap-drop", "ALL",
		"--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--", "/bin/true")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

// Write records p up to the bound; it never fails.
func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// String returns what was kept.
func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
