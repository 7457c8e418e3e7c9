package camera

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrOutside is returned when a path below a dock root would pass through a
// symlink or leave the root: a directory swapped for a link, "..", or an
// absolute path. Nothing outside the dock is ever opened.
var ErrOutside = errors.New("path passes through a symlink or leaves the dock")

// ErrNotRegular is returned by Root.Open for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Root is a dock's directory, held open. Every path given to its methods is
// relative to it and resolved by the kernel beneath it without following any
// symlink in any component (openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS;
// on kernels without openat2, one openat(O_NOFOLLOW) per component), so a
// directory replaced by a link between a scan and an open is refused.
type Root struct {
	dir  *os.File
	path string
}

// OpenRoot opens a dock's directory.
func OpenRoot(path string) (*Root, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	return &Root{dir: f, path: path}, nil
}

// Close releases the root.
func (r *Root) Close() error { return r.dir.Close() }

// Path is the dock's path as configured; for messages only.
func (r *Root) Path() string { return r.path }

// Open opens a regular file below the root for reading, without blocking on
// a FIFO or device node, and checks on the open descriptor that it is a
// regular file.
func (r *Root) Open(rel string) (*os.File, error) {
	fd, err := r.openat(rel, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
	if err != nil {
		return nil, err
	}
	return regular(fd, filepath.Join(r.path, rel))
}

// OpenDir opens a directory below the root ("." is the root) for listing.
func (r *Root) OpenDir(rel string) (*os.File, error) {
	fd, err := r.openat(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(r.path, rel)), nil
}

// Lstat describes an entry below the root without following it.
func (r *Root) Lstat(rel string) (fs.FileInfo, error) {
	dir, name, err := r.parent(rel)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, r.pathErr("lstat", rel, err)
	}
	return statInfo{name: name, st: st}, nil
}

// LstatAt describes the entry name of an open directory without following it.
func LstatAt(dir *os.File, name string) (fs.FileInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, &os.PathError{Op: "lstat", Path: filepath.Join(dir.Name(), name), Err: err}
	}
	return statInfo{name: name, st: st}, nil
}

// Remove deletes the file rel if it is still the file want describes (same
// device, inode, size and modification time): the check and the unlink use
// one descriptor of its directory, resolved beneath the root.
func (r *Root) Remove(rel string, want fs.FileInfo) error {
	dir, name, err := r.parent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return r.pathErr("remove", rel, err)
	}
	if got := (statInfo{name: name, st: st}); !SameFile(got, want) || got.Size() != want.Size() || !got.ModTime().Equal(want.ModTime()) {
		return r.pathErr("remove", rel, errors.New("not the file that was copied"))
	}
	if err := unix.Unlinkat(dir, name, 0); err != nil {
		return r.pathErr("remove", rel, err)
	}
	return nil
}

// parent opens rel's directory beneath the root and returns it with rel's
// last component.
func (r *Root) parent(rel string) (int, string, error) {
	rel = filepath.Clean(rel)
	name := filepath.Base(rel)
	if rel == "." || name == ".." {
		return -1, "", r.pathErr("open", rel, ErrOutside)
	}
	dir, err := r.openat(filepath.Dir(rel), unix.O_RDONLY|unix.O_DIRECTORY)
	return dir, name, err
}

// openat resolves rel beneath the root, refusing every symlink.
func (r *Root) openat(rel string, flags int) (int, error) {
	if filepath.IsAbs(rel) {
		return -1, r.pathErr("open", rel, ErrOutside)
	}
	flags |= unix.O_CLOEXEC | unix.O_NOFOLLOW
	how := unix.OpenHow{Flags: uint64(flags),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	for try := 0; ; try++ {
		fd, err := unix.Openat2(int(r.dir.Fd()), rel, &how)
		runtime.KeepAlive(r.dir)
		switch {
		case err == nil:
			return fd, nil
		case (errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN)) && try < 8:
			continue // openat2 asks for a retry when a rename raced the lookup
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
			// No openat2 (old kernel), or a seccomp filter refusing it.
			return r.walkat(rel, flags)
		case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV), r.isLink(rel, err):
			return -1, r.pathErr("open", rel, ErrOutside)
		default:
			return -1, r.pathErr("open", rel, err)
		}
	}
}

// isLink reports whether an ENOTDIR from opening rel as a directory came
// from a symlink in its place.
func (r *Root) isLink(rel string, err error) bool {
	if !errors.Is(err, unix.ENOTDIR) {
		return false
	}
	fi, lerr := r.Lstat(rel)
	return lerr == nil && fi.Mode()&fs.ModeSymlink != 0
}

func isLinkAt(dir int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// walkat is openat for kernels without openat2: one component at a time,
// each opened with O_NOFOLLOW, never "..".
func (r *Root) walkat(rel string, flags int) (int, error) {
	parts := strings.Split(filepath.Clean(rel), string(filepath.Separator))
	dir, err := unix.Dup(int(r.dir.Fd()))
	runtime.KeepAlive(r.dir)
	if err != nil {
		return -1, r.pathErr("open", rel, err)
	}
	for i, p := range parts {
		if p == ".." {
			unix.Close(dir)
			return -1, r.pathErr("open", rel, ErrOutside)
		}
		f := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags
		}
		next, err := unix.Openat(dir, p, f|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		link := errors.Is(err, unix.ENOTDIR) && isLinkAt(dir, p)
		unix.Close(dir)
		if errors.Is(err, unix.ELOOP) || link {
			return -1, r.pathErr("open", rel, ErrOutside)
		}
		if err != nil {
			return -1, r.pathErr("open", rel, err)
		}
		dir = next
	}
	return dir, nil
}

func (r *Root) pathErr(op, rel string, err error) error {
	return &os.PathError{Op: op, Path: filepath.Join(r.path, rel), Err: err}
}

// regular wraps fd as a blocking *os.File if it is a regular file.
func regular(fd int, path string) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	// Regular files ignore O_NONBLOCK for reads; clear it anyway so the
	// runtime treats the descriptor as an ordinary blocking file.
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// SameFile reports whether two infos from this package or package os name
// the same file (device and inode).
func SameFile(a, b fs.FileInfo) bool {
	ad, ai, aok := devIno(a)
	bd, bi, bok := devIno(b)
	return aok && bok && ad == bd && ai == bi
}

func devIno(fi fs.FileInfo) (dev, ino uint64, ok bool) {
	if fi == nil {
		return 0, 0, false
	}
	switch st := fi.Sys().(type) {
	case *unix.Stat_t:
		return st.Dev, st.Ino, true
	case *syscall.Stat_t:
		return st.Dev, st.Ino, true
	}
	return 0, 0, false
}

// statInfo is an fs.FileInfo from fstatat; SameFile compares it with the
// infos of package os.
type statInfo struct {
	name string
	st   unix.Stat_t
}

func (s statInfo) Name() string       { return s.name }
func (s statInfo) Size() int64        { return s.st.Size }
func (s statInfo) ModTime() time.Time { return time.Unix(s.st.Mtim.Unix()) }
func (s statInfo) IsDir() bool        { return s.Mode().IsDir() }
func (s statInfo) Sys() any           { return &s.st }
func (s statInfo) Mode() fs.FileMode {
	m := fs.FileMode(s.st.Mode & 0o777)
	switch s.st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		m |= fs.ModeDir
	case unix.S_IFLNK:
		m |= fs.ModeSymlink
	case unix.S_IFIFO:
		m |= fs.ModeNamedPipe
	case unix.S_IFSOCK:
		m |= fs.ModeSocket
	case unix.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		m |= fs.ModeDevice
	case unix.S_IFREG:
	default:
		m |= fs.ModeIrregular
	}
	return m
}
