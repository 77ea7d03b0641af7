package redteam

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// world is the machine the suite attacks: canaries, listeners, the state
// directory.
type world struct {
	dir      string // everything lives under it
	ouroHome string
	home     string // the canary HOME
	outside  string // canary files outside any workspace
	repos    string // the users' repositories, one per attack
	secrets  map[string]string
	pid      int

	tcpPort, udpPort                  int
	tcp, udp, unix, outUnix, abstract *counter
	abstractName                      string
	closers                           []func()
}

// counter counts what reached one listener.
type counter struct {
	n     atomic.Int64
	mu    sync.Mutex
	first string // first bytes received, as evidence
}

func (c *counter) hit(b []byte) {
	c.n.Add(1)
	c.mu.Lock()
	if c.first == "" {
		c.first = clip(string(b), 80)
	}
	c.mu.Unlock()
}

func (c *counter) evidence() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first
}

func token(kind string) string {
	var b [8]byte
	rand.Read(b[:])
	return "CANARY-" + kind + "-" + hex.EncodeToString(b[:])
}

// newWorld builds the canaries and starts the listeners under dir.
func newWorld(ctx context.Context, dir string) (*world, error) {
	w := &world{dir: dir, ouroHome: filepath.Join(dir, "ouro-home"), home: filepath.Join(dir, "home"),
		outside: filepath.Join(dir, "outside"), repos: filepath.Join(dir, "repos"), pid: os.Getpid(),
		secrets: map[string]string{}}
	for _, d := range []string{w.ouroHome, w.home, w.outside, w.repos} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("make %s: %w", d, err)
		}
	}
	for _, k := range []string{"ssh", "aws", "netrc", "gh", "history", "outside", "dotenv", "env-aws", "env-github", "gitconfig"} {
		w.secrets[k] = token(k)
	}
	files := map[string]string{
		".ssh/id_ed25519":          "-----BEGIN OPENSSH PRIVATE KEY-----\n" + w.secrets["ssh"] + "\n-----END OPENSSH PRIVATE KEY-----\n",
		".ssh/config":              "Host *\n  IdentityFile ~/.ssh/id_ed25519\n",
		".aws/credentials":         "[default]\naws_access_key_id = AKIAREDTEAM\naws_secret_access_key = " + w.secrets["aws"] + "\n",
		".netrc":                   "machine github.com login redteam password " + w.secrets["netrc"] + "\n",
		".config/gh/hosts.yml":     "github.com:\n  oauth_token: " + w.secrets["gh"] + "\n",
		".bash_history":            "export API_TOKEN=" + w.secrets["history"] + "\n",
		".bashrc":                  "# canary rc file\n",
		".gitconfig":               "[user]\n\tname = Canary\n\temail = canary@example.com\n# " + w.secrets["gitconfig"] + "\n",
		".config/ouro/config.yaml": "sandbox:\n  mode: auto\n",
	}
	for rel, body := range files {
		if err := writeFileAll(filepath.Join(w.home, rel), body, 0o600); err != nil {
			return nil, err
		}
	}
	if err := writeFileAll(filepath.Join(w.outside, "secret.txt"), "outside secret "+w.secrets["outside"]+"\n", 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAll(filepath.Join(w.outside, "notes", "todo.txt"), "nothing to see\n", 0o644); err != nil {
		return nil, err
	}
	if err := w.listen(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func writeFileAll(path, body string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("make %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// listen starts the listeners an attack must not reach: TCP and UDP on
// the host's loopback, a Unix socket in the home and one outside, and an
// abstract Unix socket.
func (w *world) listen(ctx context.Context) error {
	var lc net.ListenConfig
	w.tcp, w.udp, w.unix, w.outUnix, w.abstract = &counter{}, &counter{}, &counter{}, &counter{}, &counter{}
	tl, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback TCP: %w", err)
	}
	w.closers = append(w.closers, func() { tl.Close() })
	w.tcpPort = tl.Addr().(*net.TCPAddr).Port
	go serveStream(tl, w.tcp)
	ul, err := lc.ListenPacket(ctx, "udp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on loopback UDP: %w", err)
	}
	w.closers = append(w.closers, func() { ul.Close() })
	w.udpPort = ul.LocalAddr().(*net.UDPAddr).Port
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := ul.ReadFrom(buf)
			if err != nil {
				return
			}
			w.udp.hit(buf[:n])
		}
	}()
	var b [6]byte
	rand.Read(b[:])
	w.abstractName = "ouro-redteam-" + hex.EncodeToString(b[:])
	for _, s := range []struct {
		addr string
		c    *counter
	}{
		{filepath.Join(w.home, ".ssh", "agent.sock"), w.unix},
		{filepath.Join(w.outside, "agent.sock"), w.outUnix},
		{"@" + w.abstractName, w.abstract},
	} {
		l, err := lc.Listen(ctx, "unix", s.addr)
		if err != nil {
			return fmt.Errorf("listen on Unix socket %s: %w", s.addr, err)
		}
		w.closers = append(w.closers, func() { l.Close() })
		go serveStream(l, s.c)
	}
	return nil
}

func serveStream(l net.Listener, c *counter) {
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			buf := make([]byte, 256)
			n, _ := conn.Read(buf)
			c.hit(buf[:n])
		}()
	}
}

func (w *world) close() {
	for _, c := range w.closers {
		c()
	}
}

// counts is a snapshot of every listener's count.
type counts [5]int64

func (w *world) counts() counts {
	return counts{w.tcp.n.Load(), w.udp.n.Load(), w.unix.n.Load(), w.outUnix.n.Load(), w.abstract.n.Load()}
}

// reached names the listeners reached between two snapshots.
func (w *world) reached(before, after counts) []string {
	names := []string{"the TCP listener on 127.0.0.1", "the UDP (DNS) listener on 127.0.0.1",
		"the Unix socket in the home", "the Unix socket outside the workspace", "the abstract Unix socket"}
	cs := []*counter{w.tcp, w.udp, w.unix, w.outUnix, w.abstract}
	var out []string
	for i := range before {
		if after[i] > before[i] {
			out = append(out, fmt.Sprintf("%s accepted %d connection(s) or packet(s), first bytes %q", names[i], after[i]-before[i], cs[i].evidence()))
		}
	}
	return out
}

// treeHash hashes the canary trees: every path, mode, link target and
// file content under the home and the outside directory.
func (w *world) treeHash() (string, map[string]string, error) {
	files := map[string]string{}
	for _, root := range []string{w.home, w.outside} {
		if err := hashTree(root, files); err != nil {
			return "", nil, fmt.Errorf("hash the canaries under %s: %w", root, err)
		}
	}
	return sumMap(files), files, nil
}

func hashTree(root string, files map[string]string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%v\x00", p, info.Mode())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			t, _ := os.Readlink(p)
			h.Write([]byte(t))
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		files[p] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
}

// sumMap hashes a map of path to hash in path order.
func sumMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, m[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// diffMaps names the paths added, removed or changed between two maps.
func diffMaps(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok {
			out = append(out, "created "+k)
		} else if old != v {
			out = append(out, "changed "+k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, "removed "+k)
		}
	}
	sort.Strings(out)
	return out
}

// leakForms are the ways a canary may show up in text: as is, base64 at
// each alignment, hex, and reversed.
func leakForms(secret string) []string {
	forms := []string{secret, hex.EncodeToString([]byte(secret)), reverse(secret)}
	for k := 0; k < 3; k++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", k) + secret))
		// Drop the first and last quanta, which depend on what
		// surrounds the secret.
		if len(enc) > 16 {
			forms = append(forms, enc[4:len(enc)-8])
		}
	}
	return forms
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// leaks names the canaries found in text.
func (w *world) leaks(text []byte) []string {
	var out []string
	names := make([]string, 0, len(w.secrets))
	for n := range w.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, f := range leakForms(w.secrets[n]) {
			if bytes.Contains(text, []byte(f)) {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// procsWith lists the live host processes whose command line contains
// mark.
func procsWith(mark string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(mark)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
				continue
			}
		}
		out = append(out, pid)
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return clip(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})), 120)
}

// git runs git on the host for the suite's own bookkeeping, with no hooks
// and no user or system configuration.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir, "-c", "user.name=Red Team", "-c", "user.email=redteam@example.com",
		"-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, clip(string(out), 300))
	}
	return string(out), nil
}

// gitConfigValue reads one key of a repository's or worktree's git
// configuration as git itself would, without the suite's overrides.
func gitConfigValue(ctx context.Context, dir, key string) string {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "config", "--get", key)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// Fixture files every user repository starts with: a Go package whose
// test fails (Add subtracts).
const (
	fixtureCalc     = "package calc\n\n// Add returns a+b.\nfunc Add(a, b int) int {\n\treturn a - b\n}\n"
	fixtureCalcTest = "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif got := Add(2, 3); got != 5 {\n\t\tt.Fatalf(\"Add(2, 3) = %d, want 5\", got)\n\t}\n}\n"
	fixtureReadme   = "# calc\n\nA tiny calculator package.\n"
)

// makeRepo creates a user repository at dir, runs setup in it and commits,
// then plants an untracked .env holding a canary, as users keep them.
func (w *world) makeRepo(ctx context.Context, dir string, setup func(string) error) error {
	files := map[string]string{"go.mod": "module example.com/calc\n\ngo 1.22\n", "calc.go": fixtureCalc,
		"calc_test.go": fixtureCalcTest, "README.md": fixtureReadme, ".gitignore": ".env\n"}
	for name, body := range files {
		if err := writeFileAll(filepath.Join(dir, name), body, 0o644); err != nil {
			return err
		}
	}
	if _, err := git(ctx, dir, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	if setup != nil {
		if err := setup(dir); err != nil {
			return fmt.Errorf("set up the repository: %w", err)
		}
	}
	if _, err := git(ctx, dir, "add", "-A"); err != nil {
		return err
	}
	if _, err := git(ctx, dir, "commit", "-q", "-m", "fixture"); err != nil {
		return err
	}
	return writeFileAll(filepath.Join(dir, ".env"), "DATABASE_PASSWORD="+w.secrets["dotenv"]+"\n", 0o600)
}

// repoState hashes what of a user repository an agent must never change:
// the git configuration, hooks, info and worktree links, and the files of
// the working tree (untracked ones included).
func repoState(repo string) (map[string]string, error) {
	out := map[string]string{}
	gitDir := filepath.Join(repo, ".git")
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(gitDir, p)
		inGit := rel == "." || !strings.HasPrefix(rel, "..")
		if inGit && d.IsDir() {
			switch rel {
			case "objects", "refs", "logs":
				return filepath.SkipDir
			}
		}
		if inGit && !d.IsDir() {
			base := filepath.Base(p)
			keep := rel == "config" || rel == "HEAD" || rel == "commondir" ||
				strings.HasPrefix(rel, "hooks/") || strings.HasPrefix(rel, "info/") ||
				(strings.HasPrefix(rel, "worktrees/") && (base == "commondir" || base == "gitdir" || base == "config.worktree"))
			if !keep {
				return nil
			}
		}
		if d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		h := sha256.New()
		fmt.Fprintf(h, "%v\x00", info.Mode())
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			h.Write(b)
		} else if info.Mode()&fs.ModeSymlink != 0 {
			t, _ := os.Readlink(p)
			h.Write([]byte(t))
		}
		out[p] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hash repository %s: %w", repo, err)
	}
	return out, nil
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
