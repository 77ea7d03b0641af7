package tool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Path safety. Every path an agent names is cleaned lexically, then
// resolved by the kernel relative to a descriptor of the workspace root at
// the moment it is opened: openat2 with RESOLVE_BENEATH refuses any step
// that leaves the root (an absolute symlink, a ".." above it) and
// RESOLVE_NO_MAGICLINKS refuses /proc/PID/fd and /proc/PID/root style
// links. Where openat2 is missing, an equivalent walk opens one component
// at a time with O_NOFOLLOW and resolves symlinks itself, never leaving
// the root. Either way a symlink swapped in after a check is met at open
// time and refused, and what is opened is a descriptor, so later renames
// cannot redirect it. Writes go to a temporary file in the real parent
// directory, renamed over the target by descriptor. RESOLVE_NO_XDEV is not
// used: an agent cannot mount, and a workspace may legitimately contain a
// mount point.

const (
	resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS
	maxSymlinks  = 40
)

// escapeError is a path that leads out of the workspace.
type escapeError struct {
	path     string // as the agent gave it, cleaned
	resolved string // where it leads, when known
}

func (e *escapeError) Error() string {
	if e.resolved != "" && e.resolved != e.path {
		return fmt.Sprintf("path escapes the workspace: %s (it resolves to %s)", e.path, e.resolved)
	}
	return "path escapes the workspace: " + e.path
}

// pathError is a failure on one path, with the errno kept for errors.Is.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + errnoText(e.err) }
func (e *pathError) Unwrap() error { return e.err }

// errnoText says what an errno means for a file tool.
func errnoText(err error) string {
	switch {
	case errors.Is(err, unix.ENOENT):
		return "no such file or directory"
	case errors.Is(err, unix.ENOTDIR):
		return "a parent of this path is not a directory"
	case errors.Is(err, unix.EISDIR):
		return "is a directory"
	case errors.Is(err, unix.ELOOP):
		return "too many levels of symbolic links, or a link through /proc"
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return "permission denied"
	case errors.Is(err, unix.ENAMETOOLONG):
		return "name too long"
	case errors.Is(err, unix.EROFS):
		return "read-only file system"
	case errors.Is(err, unix.ENOSPC):
		return "no space left on device"
	}
	return err.Error()
}

// lexical cleans a path the agent gave into a workspace-relative one. An
// absolute path inside root is made relative. escapes is true when the
// path leaves the workspace; rel is then the cleaned path as given
// ("../x", "/etc/passwd"), for policy to see.
func lexical(root, p string) (rel string, escapes bool) {
	if p == "" {
		return ".", false
	}
	if path.IsAbs(p) {
		c := path.Clean(p)
		switch {
		case c == root:
			return ".", false
		case root == "/":
			return c[1:], false
		case strings.HasPrefix(c, root+"/"):
			return c[len(root)+1:], false
		}
		return c, true
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return c, true
	}
	return c, false
}

// fsys resolves paths beneath one root.
type fsys struct {
	root      string
	noOpenat2 bool
}

// session is one tool call's view of the workspace: a descriptor of the
// root, opened once per call so the call sees one directory throughout.
type session struct {
	fs       *fsys
	rootfd   int
	rootReal string // the root's path as the kernel reports it; "" until needed
}

// open starts a session.
func (f *fsys) open() (*session, error) {
	fd, err := unix.Open(f.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open workspace %s: %w", f.root, err)
	}
	return &session{fs: f, rootfd: fd}, nil
}

func (s *session) close() { unix.Close(s.rootfd) }

// check turns an agent's path into a workspace-relative one or an
// escape error.
func (s *session) check(p string) (string, error) {
	rel, esc := lexical(s.fs.root, p)
	if esc {
		return rel, &escapeError{path: rel}
	}
	return rel, nil
}

func dupfd(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

func retry(f func() error) error {
	var err error
	for i := 0; i < 16; i++ {
		err = f()
		if !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			return err
		}
	}
	return err
}

// openat2 opens rel beneath dirfd with the workspace's resolve flags.
func openat2(dirfd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveFlags}
	var fd int
	err := retry(func() error {
		var err error
		fd, err = unix.Openat2(dirfd, rel, &how)
		return err
	})
	return fd, err
}

func openat(dirfd int, name string, flags int, mode uint32) (int, error) {
	var fd int
	err := retry(func() error {
		var err error
		fd, err = unix.Openat(dirfd, name, flags|unix.O_CLOEXEC, mode)
		return err
	})
	return fd, err
}

// noOpenat2 reports whether an openat2 error means the call itself is
// unavailable: ENOSYS on old kernels, EPERM where a container's seccomp
// filter refuses it. The walk then answers instead, with the real error
// if there is one.
func noOpenat2(err error) bool {
	return errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM)
}

// mapErr names rel in an errno from resolution; EXDEV from openat2 means
// the path left the root.
func mapErr(rel string, err error) error {
	if errors.Is(err, unix.EXDEV) {
		return &escapeError{path: rel}
	}
	var ee *escapeError
	if errors.As(err, &ee) {
		return &escapeError{path: rel, resolved: ee.resolved}
	}
	return &pathError{path: rel, err: err}
}

// openBeneath opens rel (workspace-relative, cleaned) with flags,
// following symlinks only while they stay inside the workspace.
func (s *session) openBeneath(rel string, flags int) (int, error) {
	if !s.fs.noOpenat2 {
		fd, err := openat2(s.rootfd, rel, flags)
		if !noOpenat2(err) {
			if err != nil {
				return -1, mapErr(rel, err)
			}
			return fd, nil
		}
	}
	for try := 0; ; try++ {
		loc, err := s.locate(rel)
		if err != nil {
			return -1, err
		}
		if !loc.exists {
			loc.close()
			return -1, &pathError{path: rel, err: unix.ENOENT}
		}
		fd, err := openat(loc.dirfd, loc.name, flags|unix.O_NOFOLLOW, 0)
		loc.close()
		if errors.Is(err, unix.ELOOP) && try < 8 {
			continue // swapped for a symlink since locate looked; resolve again
		}
		if err != nil {
			return -1, &pathError{path: rel, err: err}
		}
		return fd, nil
	}
}

// openDir opens directory rel as an O_PATH descriptor and returns it with
// the directory's real workspace-relative path (symlinks resolved).
func (s *session) openDir(rel string) (int, string, error) {
	if rel == "." {
		fd, err := dupfd(s.rootfd)
		return fd, ".", err
	}
	if !s.fs.noOpenat2 {
		fd, err := openat2(s.rootfd, rel, unix.O_PATH|unix.O_DIRECTORY)
		switch {
		case err == nil:
			if real, err := s.realRel(fd); err == nil {
				return fd, real, nil
			}
			unix.Close(fd) // no /proc to ask: find the real path by walking
		case !noOpenat2(err):
			return -1, "", mapErr(rel, err)
		}
	}
	return s.walk(rel)
}

// realRel asks the kernel where descriptor fd is, relative to the root.
func (s *session) realRel(fd int) (string, error) {
	if s.rootReal == "" {
		r, err := fdPath(s.rootfd)
		if err != nil {
			return "", err
		}
		s.rootReal = r
	}
	p, err := fdPath(fd)
	if err != nil {
		return "", err
	}
	switch {
	case p == s.rootReal:
		return ".", nil
	case s.rootReal == "/":
		return p[1:], nil
	case strings.HasPrefix(p, s.rootReal+"/"):
		return p[len(s.rootReal)+1:], nil
	}
	return "", &escapeError{path: p}
}

func fdPath(fd int) (string, error) {
	p, err := readlinkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd))
	if err != nil {
		return "", err
	}
	if !path.IsAbs(p) || strings.HasSuffix(p, " (deleted)") {
		return "", fmt.Errorf("descriptor %d has no usable path: %q", fd, p)
	}
	return p, nil
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size > 1<<16 {
			return "", unix.ENAMETOOLONG
		}
	}
}

// walk opens directory rel one component at a time with O_NOFOLLOW,
// resolving symlinks itself and refusing any that leave the root. It
// returns an O_PATH descriptor and the real relative path.
func (s *session) walk(rel string) (int, string, error) {
	parts := splitRel(rel)
	var done []string
	cur, err := dupfd(s.rootfd)
	if err != nil {
		return -1, "", err
	}
	links := 0
	for len(parts) > 0 {
		c := parts[0]
		parts = parts[1:]
		fd, err := openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW, 0)
		if err != nil {
			unix.Close(cur)
			return -1, "", &pathError{path: rel, err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			unix.Close(cur)
			return -1, "", &pathError{path: rel, err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFLNK:
			target, err := readlinkat(fd, "")
			unix.Close(fd)
			if err != nil {
				unix.Close(cur)
				return -1, "", &pathError{path: rel, err: err}
			}
			if links++; links > maxSymlinks {
				unix.Close(cur)
				return -1, "", &pathError{path: rel, err: unix.ELOOP}
			}
			next, err := followLink(strings.Join(done, "/"), target, strings.Join(parts, "/"))
			if err != nil {
				unix.Close(cur)
				return -1, "", &escapeError{path: rel, resolved: next}
			}
			unix.Close(cur)
			if cur, err = dupfd(s.rootfd); err != nil {
				return -1, "", err
			}
			done, parts = nil, splitRel(next)
		case unix.S_IFDIR:
			unix.Close(cur)
			cur = fd
			done = append(done, c)
		default:
			unix.Close(fd)
			unix.Close(cur)
			return -1, "", &pathError{path: rel, err: unix.ENOTDIR}
		}
	}
	if len(done) == 0 {
		return cur, ".", nil
	}
	return cur, strings.Join(done, "/"), nil
}

// followLink is where a symlink in directory dir (real, relative) with
// the given target leads, with rest appended. An absolute target, or one
// climbing above the root, is an error; the path is returned either way
// for the message.
func followLink(dir, target, rest string) (string, error) {
	if path.IsAbs(target) {
		return path.Clean(path.Join(target, rest)), unix.EXDEV
	}
	next := path.Join(dir, target, rest)
	if next == ".." || strings.HasPrefix(next, "../") {
		return next, unix.EXDEV
	}
	if next == "" {
		next = "."
	}
	return next, nil
}

func splitRel(rel string) []string {
	if rel == "." || rel == "" {
		return nil
	}
	return strings.Split(rel, "/")
}

// location is a resolved path: its real parent directory, held open, and
// the final name in it, which is not a symlink (or did not exist) when
// locate looked.
type location struct {
	dirfd  int
	dir    string // real workspace-relative path of the parent
	name   string
	exists bool
	st     unix.Stat_t
}

func (l *location) close() { unix.Close(l.dirfd) }

// real is the location's real workspace-relative path.
func (l *location) real() string {
	if l.name == "." {
		return l.dir
	}
	return path.Join(l.dir, l.name)
}

// locate resolves rel, following symlinks (also in the last component)
// while they stay in the workspace. The caller closes the location.
func (s *session) locate(rel string) (*location, error) {
	orig := rel
	for hops := 0; hops <= maxSymlinks; hops++ {
		if rel == "." {
			fd, err := dupfd(s.rootfd)
			if err != nil {
				return nil, err
			}
			loc := &location{dirfd: fd, dir: ".", name: ".", exists: true}
			if err := unix.Fstat(fd, &loc.st); err != nil {
				unix.Close(fd)
				return nil, &pathError{path: orig, err: err}
			}
			return loc, nil
		}
		dir, name := path.Split(rel)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" {
			dir = "."
		}
		dfd, dreal, err := s.openDir(dir)
		if err != nil {
			var ee *escapeError
			if errors.As(err, &ee) && ee.resolved != "" {
				return nil, &escapeError{path: orig, resolved: path.Join(ee.resolved, name)}
			}
			return nil, mapErr(orig, err)
		}
		loc := &location{dirfd: dfd, dir: dreal, name: name}
		err = unix.Fstatat(dfd, name, &loc.st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			return loc, nil
		}
		if err != nil {
			loc.close()
			return nil, &pathError{path: orig, err: err}
		}
		if loc.st.Mode&unix.S_IFMT != unix.S_IFLNK {
			loc.exists = true
			return loc, nil
		}
		target, err := readlinkat(dfd, name)
		loc.close()
		if err != nil {
			return nil, &pathError{path: orig, err: err}
		}
		next, err := followLink(dreal, target, "")
		if err != nil {
			return nil, &escapeError{path: orig, resolved: next}
		}
		rel = next
	}
	return nil, &pathError{path: orig, err: unix.ELOOP}
}

// regularFile checks that st is a regular file with one link. A file with
// more links may be a hard link to something outside the workspace, so
// it is neither read nor written.
func regularFile(rel string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		return fmt.Errorf("%s is a directory, not a file (use list_files to see what it holds)", rel)
	default:
		return fmt.Errorf("%s is not a regular file", rel)
	}
	if st.Nlink > 1 {
		return fmt.Errorf("%s has %d hard links; the file tools refuse files with more than one link, since one may lie outside the workspace", rel, st.Nlink)
	}
	return nil
}

// openRead opens an existing regular file for reading and returns it with
// its status.
func (s *session) openRead(rel string) (*os.File, *unix.Stat_t, error) {
	fd, err := s.openBeneath(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, nil, &pathError{path: rel, err: err}
	}
	if err := regularFile(rel, &st); err != nil {
		unix.Close(fd)
		return nil, nil, err
	}
	if st.Size > MaxFileSize {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("%s is %d bytes, more than the file tools' limit of %d; use bash (head, sed -n) to look at parts of it", rel, st.Size, MaxFileSize)
	}
	return os.NewFile(uintptr(fd), rel), &st, nil
}

// target is a file about to be written: its real parent directory held
// open and its name there.
type target struct {
	rel  string // as the agent named it
	loc  *location
	mode uint32
}

func (t *target) close() { t.loc.close() }

// protectedError refuses a write to a protected path.
func protectedError(rel, real string) error {
	if real != rel {
		return fmt.Errorf("%s is protected (it resolves to %s): agents may not write it", rel, real)
	}
	return fmt.Errorf("%s is protected: agents may not write it", rel)
}

// openWrite resolves rel for writing. With create, missing parent
// directories are made (each checked like the file). The protected check
// is applied to rel as named and to the real path after resolution.
func (s *session) openWrite(e *env, rel string, create bool) (*target, error) {
	if rel == "." {
		return nil, fmt.Errorf("%s is the workspace itself, not a file", rel)
	}
	if e.protected(rel) {
		return nil, protectedError(rel, rel)
	}
	loc, err := s.locate(rel)
	if err != nil && create && errors.Is(err, unix.ENOENT) {
		if err := s.mkdirAll(e, path.Dir(rel)); err != nil {
			return nil, err
		}
		loc, err = s.locate(rel)
	}
	if err != nil {
		return nil, err
	}
	if real := loc.real(); e.protected(real) {
		loc.close()
		return nil, protectedError(rel, real)
	}
	t := &target{rel: rel, loc: loc, mode: 0o644}
	if loc.exists {
		if err := regularFile(rel, &loc.st); err != nil {
			loc.close()
			return nil, err
		}
		t.mode = loc.st.Mode & 0o7777 &^ (unix.S_ISUID | unix.S_ISGID)
	} else if !create {
		loc.close()
		return nil, &pathError{path: rel, err: unix.ENOENT}
	}
	return t, nil
}

// mkdirAll makes directory rel and its missing parents inside the
// workspace.
func (s *session) mkdirAll(e *env, rel string) error {
	parts := splitRel(rel)
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		fd, _, err := s.openDir(prefix)
		if err == nil {
			unix.Close(fd)
			continue
		}
		if !errors.Is(err, unix.ENOENT) {
			return mapErr(rel, err)
		}
		loc, err := s.locate(prefix)
		if err != nil {
			return mapErr(rel, err)
		}
		if loc.exists {
			loc.close()
			return &pathError{path: prefix, err: unix.ENOTDIR}
		}
		if real := loc.real(); e.protected(real) {
			loc.close()
			return protectedError(prefix, real)
		}
		err = unix.Mkdirat(loc.dirfd, loc.name, 0o755)
		loc.close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &pathError{path: prefix, err: err}
		}
	}
	return nil
}

// read returns the target's current content. It opens the name in the
// held parent without following symlinks and checks it is the file
// openWrite saw.
func (t *target) read() ([]byte, error) {
	fd, err := openat(t.loc.dirfd, t.loc.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &pathError{path: t.rel, err: err}
	}
	f := os.NewFile(uintptr(fd), t.rel)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &pathError{path: t.rel, err: err}
	}
	if err := regularFile(t.rel, &st); err != nil {
		return nil, err
	}
	if st.Dev != t.loc.st.Dev || st.Ino != t.loc.st.Ino {
		return nil, fmt.Errorf("%s changed while it was being opened; try again", t.rel)
	}
	if st.Size > MaxFileSize {
		return nil, fmt.Errorf("%s is %d bytes, more than the file tools' limit of %d", t.rel, st.Size, MaxFileSize)
	}
	buf := make([]byte, 0, st.Size+1)
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil || n == 0 {
			break
		}
		if len(buf) == cap(buf) {
			if len(buf) > MaxFileSize {
				return nil, fmt.Errorf("%s grew past the file tools' limit of %d bytes", t.rel, MaxFileSize)
			}
			buf = append(buf, 0)[:len(buf)]
		}
	}
	return buf, nil
}

// write replaces the target's content atomically: a new file in the same
// directory, renamed over the name. A hard link or symlink that appeared
// at the name is replaced, never written through.
func (t *target) write(data []byte) error {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return fmt.Errorf("write %s: %w", t.rel, err)
	}
	tmp := ".ouro-tmp-" + hex.EncodeToString(rnd[:])
	fd, err := openat(t.loc.dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, t.mode)
	if err != nil {
		return &pathError{path: t.rel, err: err}
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(data)
	if err == nil {
		err = unix.Fchmod(fd, t.mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(t.loc.dirfd, tmp, t.loc.dirfd, t.loc.name)
	}
	if err != nil {
		unix.Unlinkat(t.loc.dirfd, tmp, 0)
		return &pathError{path: t.rel, err: err}
	}
	return nil
}
