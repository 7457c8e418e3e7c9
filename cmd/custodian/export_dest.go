package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"custodian/admin"
	"custodian/internal/config"
	"custodian/storage/catalog"
	"custodian/storage/export"
	"custodian/storage/staging"
)

// destination is where the CLI writes an export: a new directory, or a
// tar file written under a temporary name and renamed when whole.
type destination struct {
	dir     string
	tar     string
	created bool
}

func newDestination(dir, tarPath string) (*destination, error) {
	if tarPath != "" {
		if _, err := os.Lstat(tarPath); !errors.Is(err, os.ErrNotExist) {
			return nil, usageError{fmt.Errorf("export: %s exists; an export never overwrites", tarPath)}
		}
		return &destination{tar: tarPath}, nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, err
		}
		return &destination{dir: dir, created: true}, nil
	case err != nil:
		return nil, err
	case len(entries) > 0:
		return nil, usageError{fmt.Errorf("export: %s is not empty; an export never overwrites", dir)}
	}
	return &destination{dir: dir}, nil
}

func (d *destination) path() string {
	if d.tar != "" {
		return d.tar
	}
	return d.dir
}

func (d *destination) partial() string { return d.tar + ".partial" }

// receive writes an export tar stream from the daemon.
func (d *destination) receive(r io.Reader) error {
	if d.dir != "" {
		return export.Unpack(r, d.dir)
	}
	return d.writeFile(func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// write lets fn build the export into the destination.
func (d *destination) write(fn func(export.Sink) error) error {
	if d.dir != "" {
		return fn(export.DirSink{Dir: d.dir})
	}
	return d.writeFile(func(w io.Writer) error {
		sink := export.NewTarSink(w, time.Now())
		if err := fn(sink); err != nil {
			return err
		}
		return sink.Close()
	})
}

// writeFile writes the tar file under its temporary name, synced, then
// renames it.
func (d *destination) writeFile(fn func(io.Writer) error) error {
	f, err := os.OpenFile(d.partial(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o440)
	if err != nil {
		return err
	}
	err = fn(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(d.partial(), d.tar)
}

// abandon removes what a failed export left.
func (d *destination) abandon() {
	if d.tar != "" {
		_ = os.Remove(d.partial())
		return
	}
	if d.created {
		_ = os.RemoveAll(d.dir)
		return
	}
	entries, _ := os.ReadDir(d.dir) // it was empty before
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(d.dir, e.Name()))
	}
}

func (d *destination) verify() (export.Report, error) {
	if d.dir != "" {
		return export.VerifyDir(d.dir)
	}
	f, err := os.Open(d.tar)
	if err != nil {
		return export.Report{}, err
	}
	defer f.Close()
	return export.VerifyTar(f)
}

// localPrincipal is the local account as a custodian user: the custody
// trail records who ran the export.
func localPrincipal(cfg *config.Config) (admin.Principal, error) {
	u, err := user.Current()
	if err != nil {
		return admin.Principal{}, err
	}
	users, _, err := adminUsers(cfg.Admin)
	if err != nil {
		return admin.Principal{}, err
	}
	for _, x := range users {
		if x.Name == u.Username && !x.Disabled {
			return admin.Principal{Name: x.Name, Role: x.Role}, nil
		}
	}
	return admin.Principal{}, fmt.Errorf("export: local account %s is not an enabled custodian user (admin.users_file)", u.Username)
}

// localExporter opens the catalog for writing (the export is recorded in
// it), staging and the archive, as serve does.
func localExporter(cfg *config.Config) (*export.Exporter, *catalog.Catalog, func(), error) {
	cat, err := catalog.Open(filepath.Join(cfg.DataDir, "custodian.db"), catalog.Options{Timeout: time.Second})
	if errors.Is(err, catalog.ErrLocked) {
		return nil, nil, nil, fmt.Errorf("%w, but its admin API at %s does not answer", err, cfg.Admin.Listen)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	x := &export.Exporter{Catalog: cat, Station: cfg.Station, TempDir: localPath(cfg)}
	err = os.MkdirAll(x.TempDir, 0o750)
	if err == nil {
		x.Blobs, err = staging.Open(filepath.Join(cfg.DataDir, "staging"))
	}
	if err == nil && cfg.Archive != nil {
		x.Store, err = openArchive(cfg)
	}
	if err != nil {
		cat.Close()
		return nil, nil, nil, err
	}
	return x, cat, func() { cat.Close() }, nil
}
