package camera

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestRootRefusesEveryWayOut(t *testing.T) {
	dock, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "a.mp4"), []byte("outside"), 0o644)
	os.MkdirAll(filepath.Join(dock, "cam1", "DCIM"), 0o755)
	os.WriteFile(filepath.Join(dock, "cam1", "DCIM", "a.mp4"), []byte("inside"), 0o644)
	os.Symlink(outside, filepath.Join(dock, "cam2"))
	os.Symlink(filepath.Join(dock, "cam1", "DCIM", "a.mp4"), filepath.Join(dock, "cam1", "link.mp4"))
	syscall.Mkfifo(filepath.Join(dock, "cam1", "fifo.mp4"), 0o644)

	r, err := OpenRoot(dock)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, open := range []struct {
		name string
		fn   func(string, int) (int, error)
	}{{"openat2", r.openat}, {"per component", r.walkat}} {
		t.Run(open.name, func(t *testing.T) {
			fd, err := open.fn("cam1/DCIM/a.mp4", syscall.O_RDONLY)
			if err != nil {
				t.Fatal(err)
			}
			syscall.Close(fd)
			for _, rel := range []string{"cam2/a.mp4", "cam1/link.mp4", "../" + filepath.Base(outside) + "/a.mp4", "cam1/../../x", "cam2"} {
				if _, err := open.fn(rel, syscall.O_RDONLY); !errors.Is(err, ErrOutside) {
					t.Errorf("%s: %v, want ErrOutside", rel, err)
				}
			}
		})
	}
	if _, err := r.Open(outside + "/a.mp4"); !errors.Is(err, ErrOutside) {
		t.Errorf("absolute path: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := r.Open("cam1/fifo.mp4"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("fifo: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	if fi, err := r.Lstat("cam2"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("lstat of a link: %v %v", fi, err)
	}
}

// A directory swapped for a link after the scan: the open refuses it.
func TestRootSwappedDirectory(t *testing.T) {
	dock, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "a.mp4"), []byte("outside"), 0o644)
	os.MkdirAll(filepath.Join(dock, "cam1", "DCIM"), 0o755)
	os.WriteFile(filepath.Join(dock, "cam1", "DCIM", "a.mp4"), []byte("inside"), 0o644)
	r, err := OpenRoot(dock)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	os.Rename(filepath.Join(dock, "cam1", "DCIM"), filepath.Join(dock, "cam1", "old"))
	os.Symlink(outside, filepath.Join(dock, "cam1", "DCIM"))
	if _, err := r.Open("cam1/DCIM/a.mp4"); !errors.Is(err, ErrOutside) {
		t.Fatalf("open through a swapped link: %v", err)
	}
	if _, err := r.OpenDir("cam1/DCIM"); !errors.Is(err, ErrOutside) {
		t.Fatalf("list through a swapped link: %v", err)
	}
}

func TestRootRemoveOnlyTheCopiedFile(t *testing.T) {
	dock := t.TempDir()
	p := filepath.Join(dock, "cam1", "a.mp4")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("first"), 0o644)
	r, _ := OpenRoot(dock)
	defer r.Close()
	first, err := r.Lstat("cam1/a.mp4")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p+".new", []byte("second"), 0o644)
	os.Rename(p+".new", p) // a new file under the same name
	if err := r.Remove("cam1/a.mp4", first); err == nil {
		t.Fatal("removed a file that was not the one copied")
	}
	now, _ := r.Lstat("cam1/a.mp4")
	os.Chtimes(p, time.Now(), now.ModTime().Add(time.Hour)) // the same inode, written again
	if err := r.Remove("cam1/a.mp4", now); err == nil {
		t.Fatal("removed a file changed since it was described")
	}
	now, _ = r.Lstat("cam1/a.mp4")
	if err := r.Remove("cam1/a.mp4", now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Fatal("not removed")
	}
	osfi, _ := os.Lstat(dock)
	if fi, _ := os.Stat(filepath.Join(dock, "cam1")); !SameFile(fi, mustLstat(t, r, "cam1")) || SameFile(osfi, fi) {
		t.Error("SameFile does not compare os and Root infos")
	}
}

func mustLstat(t *testing.T, r *Root, rel string) os.FileInfo {
	fi, err := r.Lstat(rel)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}
