// Package fleet starts, resumes and stops agent runs and the children they
// delegate to: it gives each run its worktree, sandbox, tools, model and
// oversight, and drives it with the agent loop.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ouro-run/ouro"
	"github.com/ouro-run/ouro/agent"
	"github.com/ouro-run/ouro/agentdef"
	"github.com/ouro-run/ouro/config"
	"github.com/ouro-run/ouro/journal"
	"github.com/ouro-run/ouro/model"
	"github.com/ouro-run/ouro/monitor"
	"github.com/ouro-run/ouro/netproxy"
	"github.com/ouro-run/ouro/policy"
	"github.com/ouro-run/ouro/sandbox"
	"github.com/ouro-run/ouro/tool"
	"github.com/ouro-run/ouro/workspace"
)

// Options configure a Fleet.
type Options struct {
	Home     string // OURO_HOME: worktrees and sockets live under it
	Journal  *journal.Journal
	Config   config.Config
	RepoDir  string // the user's repository
	Getenv   func(string) string
	Observer agent.Observer
	// Unsafe runs commands without a sandbox when none can start; it is
	// journaled with the run and shown wherever the run is listed.
	Unsafe bool
	// PollInterval is how often runs look for answers and stop requests
	// written by other processes; zero is the agent's default.
	PollInterval time.Duration
	// SharedGoCache, when set, is one Go build cache every run's sandbox
	// writes to. Only for trusted runs: by default each run has its own.
	SharedGoCache string
	Logger        *slog.Logger
}

// Task is what to start a run on.
type Task struct {
	Task   string
	Agent  string      // "" is the configured agent
	Model  string      // "" is the agent's or the configured model
	Budget ouro.Budget // zero fields fall back to the configuration
}

// Fleet runs agents in one process.
type Fleet struct {
	opts   Options
	repo   *workspace.Repo
	policy *policy.Policy
	log    *slog.Logger
	slots  chan struct{} // --max-agents

	mu   sync.Mutex
	runs map[string]*run
}

// Close releases what the fleet holds of the repository.
func (f *Fleet) Close(ctx context.Context) error {
	return f.repo.Close(ctx)
}

// run is one live run and what it holds.
type run struct {
	f       *Fleet
	loop    *agent.Loop
	parent  *run
	wt      *workspace.Worktree
	sb      sandboxRunner
	kind    string
	proxy   func()
	cleanup func()
	release func()
	def     *agentdef.Definition
	model   string

	// wt is the run's worktree, or for a child whose worktree is still
	// being checked out, only its directory, branch and base: the real one
	// is created, once wtReady is closed (or wtErr says why not). Use
	// worktree for anything that runs git.
	wtReady chan struct{}
	created *workspace.Worktree
	wtErr   error

	mu       sync.Mutex
	children int
}

// worktree waits until the run's worktree exists.
func (r *run) worktree(ctx context.Context) (*workspace.Worktree, error) {
	select {
	case <-r.wtReady:
		if r.wtErr != nil {
			return nil, r.wtErr
		}
		if r.created != nil {
			return r.created, nil
		}
		return r.wt, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readyTool is a tool that waits for its run's worktree.
type readyTool struct {
	tool.Tool
	r *run
}

func (t readyTool) Describe(input json.RawMessage, a *ouro.Action) error {
	<-t.r.wtReady
	return t.Tool.Describe(input, a)
}

func (t readyTool) Call(ctx context.Context, input json.RawMessage) (tool.Output, error) {
	if _, err := t.r.worktree(ctx); err != nil {
		return tool.Output{Content: err.Error(), IsError: true}, nil
	}
	return t.Tool.Call(ctx, input)
}

// sandboxRunner is a run's sandbox as the fleet uses it.
type sandboxRunner interface {
	tool.Runner
	Kill() error
	Close() error
}

// lazySandbox starts a sandbox on its first command.
type lazySandbox struct {
	start func(ctx context.Context) (*sandbox.Sandbox, error)
	mu    sync.Mutex
	sb    *sandbox.Sandbox
	err   error
}

func (l *lazySandbox) get(ctx context.Context) (*sandbox.Sandbox, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sb == nil && l.err == nil {
		l.sb, l.err = l.start(ctx)
	}
	return l.sb, l.err
}

// Run starts the sandbox if need be and runs c in it.
func (l *lazySandbox) Run(ctx context.Context, c ouro.Command) (ouro.CommandResult, error) {
	sb, err := l.get(ctx)
	if err != nil {
		return ouro.CommandResult{}, err
	}
	return sb.Run(ctx, c)
}

// Kill kills what runs in the sandbox, if it started.
func (l *lazySandbox) Kill() error {
	l.mu.Lock()
	sb := l.sb
	l.mu.Unlock()
	if sb == nil {
		return nil
	}
	return sb.Kill()
}

// Close closes the sandbox, if it started, and keeps it from starting.
func (l *lazySandbox) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sb == nil {
		l.err = errors.New("sandbox closed")
		return nil
	}
	return l.sb.Close()
}

// New checks the repository and the policy and returns a fleet.
func New(ctx context.Context, opts Options) (*Fleet, error) {
	if opts.Journal == nil {
		return nil, errors.New("fleet: a journal is required")
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	repo, err := workspace.Open(ctx, opts.RepoDir)
	if err != nil {
		return nil, err
	}
	pol, err := policy.Load(ctx, repo.Dir)
	if err != nil {
		return nil, fmt.Errorf("load the policy: %w", err)
	}
	n := opts.Config.MaxAgents
	if n <= 0 {
		n = 4
	}
	return &Fleet{opts: opts, repo: repo, policy: pol, log: opts.Logger, slots: make(chan struct{}, n), runs: map[string]*run{}}, nil
}

// Repo is the repository the fleet works on.
func (f *Fleet) Repo() *workspace.Repo { return f.repo }

// NewRunID returns a fresh run id: "r" and 10 hex digits.
func NewRunID() string {
	var b [5]byte
	rand.Read(b[:])
	return "r" + hex.EncodeToString(b[:])
}

// Start creates a run on t and drives it to its end.
func (f *Fleet) Start(ctx context.Context, t Task) (string, agent.Outcome, error) {
	r, err := f.prepare(ctx, t, nil, "", 0)
	if err != nil {
		return "", agent.Outcome{}, err
	}
	defer r.close()
	if err := f.acquire(ctx); err != nil {
		return r.loop.ID(), agent.Outcome{}, err
	}
	defer f.releaseSlot()
	out, err := r.loop.Start(ctx)
	f.publish(ctx)
	return r.loop.ID(), out, err
}

// publish appends the journal's tree head to heads.log beside it, so a
// later rewrite of the database is caught by verify even by someone who
// kept no head of their own.
func (f *Fleet) publish(ctx context.Context) {
	if _, err := f.opts.Journal.Publish(context.WithoutCancel(ctx)); err != nil {
		f.log.Warn("publish the journal's tree head", "err", err)
	}
}

// StopAll stops every run this fleet is driving: status cancelled for an
// interrupt.
func (f *Fleet) StopAll(status ouro.RunStatus, reason string) {
	f.mu.Lock()
	rs := make([]*run, 0, len(f.runs))
	for _, r := range f.runs {
		rs = append(rs, r)
	}
	f.mu.Unlock()
	for _, r := range rs {
		r.loop.Stop(status, reason)
		if r.sb != nil {
			r.sb.Kill()
		}
	}
}

func (f *Fleet) acquire(ctx context.Context) error {
	select {
	case f.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Fleet) releaseSlot() { <-f.slots }

// prepare makes everything a new run needs, up to the loop.
func (f *Fleet) prepare(ctx context.Context, t Task, parent *run, base string, depth int) (*run, error) {
	cfg := f.opts.Config
	name := t.Agent
	if name == "" && parent != nil {
		name = parent.def.Name
	}
	if name == "" {
		name = cfg.Agent
	}
	userDir, _ := config.UserConfigDir(f.opts.Getenv)
	def, err := agentdef.Find(ctx, name, f.repo.Dir, userDir)
	if err != nil {
		return nil, err
	}
	spec := t.Model
	if spec == "" && parent != nil && t.Agent == "" {
		spec = parent.model
	}
	if spec == "" {
		spec = def.Model
	}
	if spec == "" {
		spec = cfg.Model
	}
	spec = model.ResolveScript(spec, f.repo.Dir)
	prov, err := model.Open(spec, cfg.ModelConfig(spec, f.opts.Getenv))
	if err != nil {
		return nil, err
	}
	id := NewRunID()
	dir := filepath.Join(f.opts.Home, "worktrees", id)
	r := &run{f: f, parent: parent, def: def, model: spec, wtReady: make(chan struct{})}
	if parent != nil && base != "" {
		// A child's worktree is checked out while its first model call
		// runs: the model needs no files, and on a slow disk the checkout
		// of a large tree is most of what starting a child costs. Its
		// tools and sandbox wait for it.
		r.wt = &workspace.Worktree{Dir: dir, Branch: workspace.BranchPrefix + id, Base: base}
		go func() {
			wt, err := f.repo.Create(context.WithoutCancel(ctx), id, base, dir)
			if err != nil {
				r.wtErr = fmt.Errorf("create the run's worktree: %w", err)
			}
			r.created = wt
			close(r.wtReady)
		}()
	} else {
		wt, err := f.repo.Create(ctx, id, base, dir)
		if err != nil {
			return nil, fmt.Errorf("create the run's worktree: %w", err)
		}
		r.wt = wt
		close(r.wtReady)
	}
	ok := false
	defer func() {
		if !ok {
			r.close()
		}
	}()
	return r, f.build(ctx, r, id, t, depth, base, prov, &ok)
}

// build sets up the sandbox, tools and loop of r.
func (f *Fleet) build(ctx context.Context, r *run, id string, t Task, depth int, base string, prov model.Provider, ok *bool) error {
	cfg := f.opts.Config
	var kind string
	var runner tool.Runner
	if r.parent != nil {
		// A child's sandbox starts with its first command: many children
		// never run one, and the others reach their first model call
		// sooner. The parent's sandbox already proved the configuration.
		lz := &lazySandbox{start: func(ctx context.Context) (*sandbox.Sandbox, error) {
			wt, err := r.worktree(ctx)
			if err != nil {
				return nil, err
			}
			return f.sandbox(ctx, r, id, wt)
		}}
		r.sb, runner, kind = lz, lz, r.parent.kind
	} else {
		sb, err := f.sandbox(ctx, r, id, r.wt)
		if err != nil {
			return err
		}
		r.sb, runner, kind = sb, sb, sb.Kind()
	}
	r.kind = kind
	ws := &tool.Workspace{Root: r.wt.Dir, Protected: f.policy.IsProtected, Runner: runner}
	if cfg.Sandbox.Limits.Timeout > 0 {
		ws.DefaultTimeout = cfg.Sandbox.Limits.Timeout
	}
	all := tool.New(ws)
	for name, tl := range all {
		all[name] = readyTool{Tool: tl, r: r}
	}
	if cfg.MaxDepth > depth {
		all[agent.ToolDelegate] = delegateTool{}
	}
	tools := all
	if len(r.def.Tools) > 0 {
		tools = map[string]tool.Tool{}
		for _, n := range r.def.Tools {
			if tl, ok := all[n]; ok {
				tools[n] = tl
			}
		}
		tools[tool.NameFinish] = all[tool.NameFinish]
	}
	mon, err := f.monitors(ctx)
	if err != nil {
		return err
	}
	budget := r.def.Budget(t.Budget.Or(cfg.Budget))
	lineage := []string{id}
	parentID := ""
	if r.parent != nil {
		parentID = r.parent.loop.ID()
		lineage = append(append([]string(nil), r.parent.loop.Config().Lineage...), id)
	}
	head := base
	if head == "" {
		head = r.wt.Base
	}
	var escalate func(ctx context.Context, req *ouro.ApprovalRequested) error
	if r.parent != nil {
		escalate = r.parent.escalate(r)
	}
	loop, err := agent.New(agent.Config{
		RunID: id, ParentID: parentID, Lineage: lineage, Depth: depth,
		Task: t.Task, Agent: r.def.Name, Prompt: r.def.Prompt, Provider: prov, Tools: tools,
		Policy: f.policy, Monitor: mon, Journal: f.opts.Journal, Observer: f.opts.Observer,
		Budget: budget, MaxTurns: r.def.MaxTurns, ApprovalTimeout: cfg.Approval.Timeout,
		PollInterval: f.opts.PollInterval, Delegator: r, Finisher: r, Escalate: escalate, Logger: f.log,
		Started: ouro.RunStarted{
			AgentHash: r.def.Hash(), Model: prov.Name(), ConfigHash: cfg.Hash(), PolicyHash: f.policy.Hash(),
			Repo: f.repo.Dir, Worktree: r.wt.Dir, Branch: r.wt.Branch, BaseCommit: head,
			Sandbox: kind, Unsafe: kind == "none", Definition: string(r.def.Raw),
		},
	})
	if err != nil {
		return err
	}
	r.loop = loop
	release, err := f.opts.Journal.Lease(id)
	if err != nil {
		return fmt.Errorf("lease run %s: %w", id, err)
	}
	r.release = release
	f.mu.Lock()
	f.runs[id] = r
	f.mu.Unlock()
	*ok = true
	return nil
}

// sandbox starts the run's sandbox. With Options.Unsafe it may be one that
// does not isolate (Kind "none"), which the run journals.
func (f *Fleet) sandbox(ctx context.Context, r *run, id string, wt *workspace.Worktree) (*sandbox.Sandbox, error) {
	cfg := f.opts.Config
	mode := sandbox.Mode(cfg.Sandbox.Mode)
	if mode == "" {
		mode = "auto"
	}
	home := f.opts.Getenv("HOME")
	hidden := []string{f.opts.Home}
	if home != "" {
		hidden = append(hidden, home)
	}
	protected := wt.Protected()
	for _, p := range f.policy.Protected() {
		if dir, ok := strings.CutSuffix(p, "/**"); ok && !strings.ContainsAny(dir, "*?[") {
			abs := filepath.Join(r.wt.Dir, dir)
			if _, err := os.Stat(abs); err == nil {
				protected = append(protected, abs)
			}
		}
	}
	var proxySock string
	if hosts := f.policy.AllowedHosts(); len(hosts) > 0 {
		sock := filepath.Join(f.opts.Home, "sock", id+".sock")
		if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
			return nil, fmt.Errorf("make the proxy socket dir: %w", err)
		}
		px := netproxy.New(netproxy.Config{Allow: hosts, Logger: f.log})
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		l, err := px.ListenUnix(pctx, sock)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("listen for the network proxy: %w", err)
		}
		go px.Serve(pctx, l)
		r.proxy = func() { cancel(); l.Close(); os.Remove(sock) }
		proxySock = sock
	}
	// Each run has its own Go build cache, removed with the run: a shared
	// writable cache would let one run plant entries (cached test results
	// included) that another run trusts. Options.SharedGoCache (or
	// OURO_GOCACHE) shares one across runs, for trusted scripted runs such
	// as the demo and the tests.
	cache := f.opts.SharedGoCache
	if cache == "" {
		cache = f.opts.Getenv("OURO_GOCACHE")
	}
	if cache == "" {
		cache = filepath.Join(f.opts.Home, "cache", "runs", id)
		prev := r.cleanup
		r.cleanup = func() {
			if prev != nil {
				prev()
			}
			os.RemoveAll(cache)
		}
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return nil, fmt.Errorf("make the sandbox build cache: %w", err)
	}
	env := []string{"GOCACHE=" + cache, "GOTOOLCHAIN=local", "GOPROXY=off", "GOFLAGS=-mod=mod"}
	readOnly := []string{f.repo.CommonDir}
	if mc := hostModCache(f.opts.Getenv); mc != "" {
		readOnly = append(readOnly, mc)
		env = append(env, "GOMODCACHE="+mc)
	}
	var existing []string
	for _, p := range protected {
		if _, err := os.Lstat(p); err == nil {
			existing = append(existing, p)
		}
	}
	lim := cfg.Sandbox.Limits
	sb, err := sandbox.New(ctx, sandbox.Config{
		Workspace: wt.Dir, Protected: existing, ReadOnly: readOnly, Writable: []string{cache}, Env: env,
		Hidden: hidden, ProxySocket: proxySock, Mode: mode, Unsafe: f.opts.Unsafe, Logger: f.log,
		Limits: sandbox.Limits{CPUTime: lim.CPUTime, Memory: int64(lim.Memory), Procs: lim.Procs, FileSize: int64(lim.FileSize),
			Output: int(lim.Output), Timeout: lim.Timeout, MemoryTotal: int64(lim.MemoryTotal), TmpSize: int64(lim.TmpSize),
			DiskGrowth: int64(lim.DiskGrowth)},
	})
	if err != nil {
		return nil, fmt.Errorf("start the sandbox: %w; install bubblewrap (apt-get install bubblewrap) or pass --unsafe-no-sandbox to run commands unconfined", err)
	}
	return sb, nil
}

// hostModCache is the host's Go module cache, shown read-only to commands
// so that builds find the modules already downloaded.
func hostModCache(getenv func(string) string) string {
	if mc := getenv("GOMODCACHE"); mc != "" {
		return mc
	}
	gp := getenv("GOPATH")
	if gp == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		gp = filepath.Join(home, "go")
	}
	mc := filepath.Join(strings.Split(gp, string(os.PathListSeparator))[0], "pkg", "mod")
	if _, err := os.Stat(mc); err != nil {
		return ""
	}
	return mc
}

// monitors builds the rule monitors and, when configured, the model
// monitor.
func (f *Fleet) monitors(ctx context.Context) (agent.Monitor, error) {
	set := monitor.Set{monitor.Rules()}
	mc := f.opts.Config.Monitor
	if mc.Model != "" {
		spec := model.ResolveScript(mc.Model, f.repo.Dir)
		p, err := model.Open(spec, f.opts.Config.ModelConfig(spec, f.opts.Getenv))
		if err != nil {
			return nil, fmt.Errorf("open the monitor model: %w", err)
		}
		prompt := monitor.DefaultPrompt()
		if mc.Prompt != "" {
			if prompt, err = monitor.LoadPrompt(mc.Prompt); err != nil {
				return nil, err
			}
		}
		set = append(set, monitor.NewModel(p, prompt))
	}
	return monitorSet{set}, nil
}

// monitorSet adapts monitor.Set to the loop.
type monitorSet struct{ s monitor.Set }

func (m monitorSet) Score(ctx context.Context, stage, task string, a *ouro.Action, result string, isError bool) (ouro.MonitorScored, error) {
	return m.s.Score(ctx, monitor.Input{Stage: monitor.Stage(stage), Action: a, Task: task, Result: result, IsError: isError})
}

func (r *run) close() {
	if r.wtReady != nil {
		<-r.wtReady
	}
	if r.loop != nil {
		r.f.mu.Lock()
		delete(r.f.runs, r.loop.ID())
		r.f.mu.Unlock()
	}
	if r.sb != nil {
		r.sb.Close()
	}
	if r.proxy != nil {
		r.proxy()
	}
	if r.cleanup != nil {
		r.cleanup()
	}
	if r.release != nil {
		r.release()
	}
}

// Finish commits the run's work on its branch.
func (r *run) Finish(ctx context.Context, l *agent.Loop, summary string) (string, error) {
	subject := "ouro: " + oneLine(l.Config().Task, 60)
	sha, err := r.commit(ctx, subject, summary)
	if err != nil {
		return "", err
	}
	return sha, nil
}

// commit commits everything in the worktree with the run's trailers and
// journals it; "" means there was nothing to commit.
func (r *run) commit(ctx context.Context, subject, body string) (string, error) {
	trailers := []workspace.Trailer{{Key: "Ouro-Run", Value: r.loop.ID()}}
	if r.parent != nil {
		trailers = append(trailers, workspace.Trailer{Key: "Ouro-Parent-Run", Value: r.parent.loop.ID()})
	}
	trailers = append(trailers, workspace.Trailer{Key: "Co-Authored-By", Value: coAuthor(r.model)})
	body = strings.TrimSpace("Task: " + r.loop.Config().Task + "\n\n" + body)
	wt, err := r.worktree(ctx)
	if err != nil {
		return "", err
	}
	sha, left, err := wt.CommitExcept(ctx, workspace.CommitInfo{Subject: subject, Body: body, Trailers: trailers}, r.f.policy.IsProtected)
	if len(left) > 0 {
		// The sandbox cannot stop an agent creating a protected file that
		// did not exist (a new .ouro/config.yaml, a .bashrc); it never
		// reaches the branch.
		r.loop.Enqueue(ouro.EventError, ouro.ErrorRecorded{Where: "commit",
			Message: "protected paths left out of the commit (they stay in the worktree for inspection): " + strings.Join(left, ", ")})
		r.loop.Enqueue(ouro.EventMonitorScore, ouro.MonitorScored{Stage: "commit", Score: 95,
			Reason: "the agent created or changed protected paths: " + strings.Join(left, ", "),
			Scores: []ouro.MonitorScore{{Monitor: "commit", Category: "tamper-oversight", Score: 95, Reason: "protected paths in the worktree"}}})
	}
	if err != nil || sha == "" {
		if ferr := r.loop.Flush(ctx); ferr != nil && err == nil {
			err = ferr
		}
		return sha, err
	}
	files := 0
	if ds, err := wt.Diffstat(ctx, sha+"^"); err == nil {
		files = ds.Files
	}
	r.loop.Enqueue(ouro.EventCommit, ouro.Committed{Commit: sha, Branch: r.wt.Branch, Message: subject, Files: files})
	return sha, r.loop.Flush(ctx)
}

// coAuthor names the model as a commit co-author.
func coAuthor(spec string) string {
	name := spec
	if i := strings.Index(spec, ":"); i >= 0 {
		name = spec[i+1:]
	}
	if strings.HasPrefix(spec, "script:") {
		name = "scripted model " + filepath.Base(name)
	}
	return name + " <noreply@ouro.invalid>"
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
