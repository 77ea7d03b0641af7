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

	"golang.org/x/sys/unix"
)

// Landlock rules only ever add rights to a whole directory tree, so a
// directory can either accept new entries, and then every entry in it
// can be replaced, or accept none. Commands must be able to create files
// in the workspace root, which also holds protected entries (the .git
// file, .ouro), so in Landlock mode the workspace is writable as a whole
// and its protected paths are guarded from the host instead: they are
// recorded when the sandbox starts, checked after every command, and
// put back (with a warning in the command's output) when a command
// changed them. The check compares inode, type, mode, size and change
// time (which no process can set), so it reads no file contents.

// maxGuardBytes bounds the file contents the guard keeps to restore
// protected paths; beyond it changes are still found and reported.
const maxGuardBytes = 64 << 20

// guardEntry is one file, directory or symbolic link under a protected path.
type guardEntry struct {
	path   string
	mode   fs.FileMode
	ino    uint64
	size   int64
	ctime  unix.Timespec
	data   []byte // contents of a regular file, or a link's target
	stored bool   // data holds the contents
}

// guard keeps the protected paths of a Landlock-mode sandbox.
type guard struct {
	roots   []string          // protected paths that existed at the start
	base    map[string]string // each root's writable tree
	entries map[string]*guardEntry
	order   []string // parents first
}

// newGuard records the protected paths that lie in a writable tree.
func newGuard(protected, writable []string) (*guard, error) {
	g := &guard{entries: map[string]*guardEntry{}, base: map[string]string{}}
	budget := int64(maxGuardBytes)
	for _, p := range protected {
		i := slices.IndexFunc(writable, func(w string) bool { return within(p, w) && p != w })
		if i < 0 {
			continue // read-only to commands already
		}
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		g.roots = append(g.roots, p)
		g.base[p] = writable[i]
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			e, err := statEntry(path)
			if err != nil {
				return err
			}
			switch {
			case e.mode.IsRegular() && e.size <= budget:
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				e.data, e.stored = b, true
				budget -= int64(len(b))
			case e.mode&fs.ModeSymlink != 0:
				t, err := os.Readlink(path)
				if err != nil {
					return err
				}
				e.data, e.stored = []byte(t), true
			case e.mode.IsDir():
				e.stored = true
			}
			if _, dup := g.entries[path]; !dup {
				g.entries[path] = e
				g.order = append(g.order, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("record protected path %s: %w", p, err)
		}
	}
	return g, nil
}

// statEntry reads what the guard compares of one path.
func statEntry(path string) (*guardEntry, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	return &guardEntry{path: path, mode: fi.Mode(), ino: st.Ino, size: st.Size, ctime: st.Ctim}, nil
}

// changed lists the recorded paths that differ from the record, and the
// protected paths that gained entries.
func (g *guard) changed() []string {
	var out []string
	bad := map[string]bool{}
	for _, root := range g.roots {
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if _, ok := g.entries[path]; !ok {
				bad[path] = true
			}
			return nil
		})
	}
	for _, p := range g.order {
		e := g.entries[p]
		now, err := statEntry(p)
		if err != nil || now.mode != e.mode || now.ino != e.ino || now.size != e.size || now.ctime != e.ctime {
			bad[p] = true
		}
	}
	for p := range bad {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// restore puts every protected root that changed back as recorded. It
// returns the roots it could not restore.
func (g *guard) restore(changed []string) []string {
	var failed []string
	for _, root := range g.roots {
		if !slices.ContainsFunc(changed, func(c string) bool { return within(c, root) }) {
			continue
		}
		if err := g.restoreRoot(root); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", root, err))
		}
	}
	return failed
}

// restoreRoot replaces the tree at root by its record.
func (g *guard) restoreRoot(root string) error {
	for _, p := range g.order {
		if within(p, root) && !g.entries[p].stored {
			return errors.New("too large to keep a copy; restore it by hand")
		}
	}
	if err := realDirs(g.base[root], filepath.Dir(root)); err != nil {
		return err
	}
	if err := os.RemoveAll(root); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, p := range g.order {
		if !within(p, root) {
			continue
		}
		e := g.entries[p]
		var err error
		switch {
		case e.mode.IsDir():
			err = os.Mkdir(p, e.mode.Perm())
		case e.mode&fs.ModeSymlink != 0:
			err = os.Symlink(string(e.data), p)
		case e.mode.IsRegular():
			err = os.WriteFile(p, e.data, e.mode.Perm())
		default:
			continue // sockets and pipes are not kept
		}
		if err != nil {
			return err
		}
		if e.mode&fs.ModeSymlink == 0 {
			if err := os.Chmod(p, e.mode.Perm()); err != nil {
				return err
			}
		}
		now, err := statEntry(p)
		if err != nil {
			return err
		}
		now.data, now.stored = e.data, true
		g.entries[p] = now
	}
	return nil
}

// realDirs makes every directory from base down to dir a real directory,
// removing symbolic links or files a command put in their place, so that
// restoring never follows a link out of the writable tree.
func realDirs(base, dir string) error {
	rel, err := filepath.Rel(base, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return fmt.Errorf("%s is not inside %s", dir, base)
	}
	p := base
	for _, c := range strings.Split(rel, string(filepath.Separator)) {
		if c == "." {
			continue
		}
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			if err := os.RemoveAll(p); err != nil { // a link or file: not followed
				return err
			}
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
		if err := os.Mkdir(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// check runs after a command: it restores what the command changed and
// returns a note for the command's output, or "".
func (g *guard) check() string {
	if g == nil || len(g.roots) == 0 {
		return ""
	}
	changed := g.changed()
	if len(changed) == 0 {
		return ""
	}
	msg := "\n[ouro sandbox: the command changed protected paths, which were put back: " + strings.Join(changed, ", ") + "]\n"
	if failed := g.restore(changed); len(failed) > 0 {
		msg += "[ouro sandbox: could not restore: " + strings.Join(failed, ", ") + "]\n"
	}
	return msg
}
