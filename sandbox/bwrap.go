//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Kinds of bubblewrap mount, in the order they apply at one depth.
const (
	mHide     = iota // empty tmpfs (or /dev/null over a file)
	mBind            // read-write bind
	mReadOnly        // read-only bind
	mPin             // read-write bind of a directory onto itself, making it a mount point
	mProtect         // read-only bind of a protected path onto itself
)

// mount is one bubblewrap mount operation.
type mount struct {
	kind     int
	src, dst string
	file     bool // dst is not a directory
}

// mountPlan is the bubblewrap command line of a sandbox.
type mountPlan struct {
	mounts []mount
}

// depth counts the components of an absolute path.
func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

// within reports whether p is root or lies beneath it.
func within(p, root string) bool {
	return p == root || root == "/" || strings.HasPrefix(p, root+"/")
}

// planMounts computes the mounts of a bubblewrap sandbox. Mounts apply
// parents first, so a child path can re-expose or protect something
// inside a hidden or writable tree.
func planMounts(cfg Config, hidden []string, log *slog.Logger) (*mountPlan, error) {
	p := &mountPlan{}
	writableRoots := append([]string{cfg.Workspace}, cfg.Writable...)
	for _, h := range hidden {
		if h == "/" {
			return nil, errors.New("sandbox config: Hidden cannot contain /")
		}
		if slices.Contains(writableRoots, h) {
			return nil, fmt.Errorf("sandbox config: %s is both hidden and writable; remove it from one list", h)
		}
		fi, err := os.Stat(h)
		if err != nil {
			continue // nothing to hide
		}
		p.mounts = append(p.mounts, mount{kind: mHide, dst: h, file: !fi.IsDir()})
	}
	for _, w := range writableRoots {
		fi, err := os.Stat(w)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("sandbox config: writable directory %s does not exist; create it first", w)
		}
		p.mounts = append(p.mounts, mount{kind: mBind, src: w, dst: w})
	}
	for _, r := range cfg.ReadOnly {
		fi, err := os.Stat(r)
		if err != nil {
			continue
		}
		p.mounts = append(p.mounts, mount{kind: mReadOnly, src: r, dst: r, file: !fi.IsDir()})
	}
	pinned := map[string]bool{}
	for _, pr := range cfg.Protected {
		if slices.ContainsFunc(hidden, func(h string) bool {
			return within(pr, h) && !slices.ContainsFunc(writableRoots, func(w string) bool { return within(w, h) && within(pr, w) })
		}) {
			continue // hidden wins
		}
		root := ""
		for _, w := range writableRoots {
			if within(pr, w) && len(w) > len(root) {
				root = w
			}
		}
		if root == "" {
			continue // outside every writable tree: read-only already
		}
		if pr == root {
			return nil, fmt.Errorf("sandbox config: protected path %s is a writable root; remove it from Protected or Writable", pr)
		}
		fi, err := os.Lstat(pr)
		if errors.Is(err, fs.ErrNotExist) {
			log.Warn("sandbox: protected path does not exist, so the sandbox cannot stop its creation; create it first or rely on the policy", "path", pr)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sandbox config: protected path: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			// resolve() followed every link that leads somewhere; a
			// dangling one may be replaced, so pin its directory.
			log.Warn("sandbox: protected path is a dangling symbolic link; protecting its directory entries is left to the policy", "path", pr)
			continue
		}
		for a := filepath.Dir(pr); a != root && within(a, root); a = filepath.Dir(a) {
			if !pinned[a] {
				pinned[a] = true
				p.mounts = append(p.mounts, mount{kind: mPin, src: a, dst: a})
			}
		}
		p.mounts = append(p.mounts, mount{kind: mProtect, src: pr, dst: pr, file: !fi.IsDir()})
	}
	if cfg.ProxySocket != "" {
		if _, err := os.Stat(cfg.ProxySocket); err != nil {
			return nil, fmt.Errorf("sandbox config: proxy socket: %w", err)
		}
		p.mounts = append(p.mounts, mount{kind: mReadOnly, src: cfg.ProxySocket, dst: proxyMount, file: true})
	}
	slices.SortStableFunc(p.mounts, func(a, b mount) int {
		if d := depth(a.dst) - depth(b.dst); d != 0 {
			return d
		}
		return a.kind - b.kind
	})
	return p, nil
}

// hideSize caps the tmpfs that hides a directory: it only ever holds the
// mount points of later mounts.
const hideSize = 1 << 20

// args renders the bubblewrap options; tmpSize caps the private /tmp and
// /dev/shm.
func (p *mountPlan) args(tmpSize int64) []string {
	size := strconv.FormatInt(tmpSize, 10)
	a := []string{
		"--new-session", "--die-with-parent",
		"--unshare-all", "--cap-drop", "ALL",
		"--hostname", "sandbox",
		"--ro-bind", "/", "/",
		"--proc", "/proc",
		"--dev", "/dev",
		"--size", size, "--tmpfs", "/dev/shm",
		"--size", size, "--tmpfs", "/tmp",
		"--dir", "/tmp/home",
		"--chdir", "/",
	}
	for _, m := range p.mounts {
		switch m.kind {
		case mHide:
			if m.file {
				a = append(a, "--ro-bind", "/dev/null", m.dst)
			} else {
				// Left writable so later mounts can make their mount
				// points; Landlock grants no write access there.
				a = append(a, "--size", strconv.Itoa(hideSize), "--tmpfs", m.dst)
			}
		case mBind, mPin:
			a = append(a, "--bind", m.src, m.dst)
		case mReadOnly, mProtect:
			a = append(a, "--ro-bind", m.src, m.dst)
		}
	}
	return a
}
