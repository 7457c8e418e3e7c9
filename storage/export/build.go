package export

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// Catalog is what an export reads from and records in the catalog.
type Catalog interface {
	List(catalog.Filter) ([]catalog.Recording, error)
	UpdateMany([]catalog.Change) ([]error, error)
	EventLines(keep func(catalog.Event) bool) ([]catalog.Event, [][]byte, error)
	AuditChunks() ([]catalog.AuditChunk, error)
	EventBytes(first, last uint64) ([]byte, error)
}

var _ Catalog = (*catalog.Catalog)(nil)

// Blobs is where staged copies are (*staging.Staging).
type Blobs interface {
	Path(sha string) string
}

// Sink receives the files of an export, each read to its end from body.
// A directory and a tar stream are the two (DirSink, TarSink).
type Sink interface {
	Put(name string, size int64, body io.Reader) error
}

// Exporter builds court exports.
type Exporter struct {
	Catalog Catalog
	Blobs   Blobs
	// Store is the archive; nil in local-only mode (evicted recordings
	// cannot be exported then, and the trail is not anchored).
	Store   archive.ObjectStore
	Station string
	// TempDir holds a recording while it is checked against its hash,
	// before it is handed to the sink; the system's by default.
	TempDir string
	Now     func() time.Time
}

// Request is one export: the case, the authenticated caller and why.
type Request struct {
	Case, By, Why string
}

// ErrNoRecordings: the case has no recordings.
var ErrNoRecordings = errors.New("no recordings linked to the case")

// ErrUnavailable is wrapped when a recording's bytes are nowhere to be had.
var ErrUnavailable = errors.New("recording cannot be exported")

// Plan lists the case's recordings, in id order, and refuses a case with
// none or with one whose bytes neither staging nor the archive can give.
// Nothing is recorded.
func (x *Exporter) Plan(caseID string) ([]catalog.Recording, error) {
	recs, err := x.Catalog.List(catalog.Filter{Case: caseID})
	if err != nil {
		return nil, fmt.Errorf("export case %s: %w", caseID, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("export case %s: %w", caseID, ErrNoRecordings)
	}
	slices.SortFunc(recs, func(a, b catalog.Recording) int { return cmp.Compare(a.ID, b.ID) })
	var gone []string
	for _, r := range recs {
		if !r.HasLocalCopy() && (r.ArchiveKey == "" || x.Store == nil || r.State == catalog.StateExpired) {
			gone = append(gone, fmt.Sprintf("%d (%s)", r.ID, r.State))
		}
	}
	if len(gone) > 0 {
		return nil, fmt.Errorf("export case %s: %w: %s", caseID, ErrUnavailable, strings.Join(gone, ", "))
	}
	return recs, nil
}

// Export records the export in the custody trail (one exported event per
// recording, naming req.By and req.Why), then hands every file to sink:
// the recordings, each checked against its catalog SHA-256 first, the
// trail, index.html, manifest.json, manifest.sha256 and SHA256SUMS last.
func (x *Exporter) Export(ctx context.Context, req Request, recs []catalog.Recording, sink Sink) (Manifest, error) {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	m := Manifest{Schema: Schema, Station: x.Station, Case: req.Case, ExportedAt: now().UTC(), ExportedBy: req.By, Why: req.Why,
		Files: map[string]string{}}
	if err := x.record(req, recs); err != nil {
		return m, err
	}
	w := &writer{sink: sink, sums: m.Files}
	trail, seqs, err := x.trail(ctx, recs, w)
	if err != nil {
		return m, fmt.Errorf("export case %s: %w", req.Case, err)
	}
	m.Trail = trail
	for _, r := range recs {
		e, err := x.recording(ctx, r, w)
		if err != nil {
			return m, fmt.Errorf("export case %s: recording %d: %w", req.Case, r.ID, err)
		}
		e.Events = seqs[r.ID]
		m.Recordings = append(m.Recordings, e)
	}
	if err := x.finish(&m, w); err != nil {
		return m, fmt.Errorf("export case %s: %w", req.Case, err)
	}
	return m, nil
}

// record appends the exported events, in one transaction.
func (x *Exporter) record(req Request, recs []catalog.Recording) error {
	detail := "case " + req.Case
	if req.Why != "" {
		detail += ": " + req.Why
	}
	changes := make([]catalog.Change, len(recs))
	for i, r := range recs {
		changes[i] = catalog.Change{ID: r.ID, Fn: func(*catalog.Recording) ([]catalog.Event, error) {
			return []catalog.Event{{Type: EventExported, Actor: req.By, Detail: detail}}, nil
		}}
	}
	errs, err := x.Catalog.UpdateMany(changes)
	if err == nil {
		err = errors.Join(errs...)
	}
	if err != nil {
		return fmt.Errorf("export case %s: record the export: %w", req.Case, err)
	}
	return nil
}

// recording fetches one recording, checks it and hands it to the sink.
func (x *Exporter) recording(ctx context.Context, r catalog.Recording, w *writer) (Recording, error) {
	e := describe(r)
	src, from, err := x.open(ctx, r)
	if err != nil {
		return e, err
	}
	defer src.Close()
	e.FetchedFrom = from
	if x.TempDir != "" {
		if err := os.MkdirAll(x.TempDir, 0o750); err != nil {
			return e, err
		}
	}
	spool, err := os.CreateTemp(x.TempDir, ".export-*")
	if err != nil {
		return e, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(spool, h), src)
	if err != nil {
		return e, fmt.Errorf("read from %s: %w", from, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != r.SHA256 || n != r.Size {
		return e, fmt.Errorf("%s copy is %d bytes, sha256 %s; the catalog says %d bytes, %s", from, n, got, r.Size, r.SHA256)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return e, err
	}
	x.lock(ctx, &e)
	return e, w.put(e.File, r.Size, spool)
}

// open reads the staged copy, or the archived version when there is none.
func (x *Exporter) open(ctx context.Context, r catalog.Recording) (io.ReadCloser, string, error) {
	if r.HasLocalCopy() && x.Blobs != nil {
		f, err := os.Open(x.Blobs.Path(r.SHA256))
		if err == nil {
			return f, "staging", nil
		}
		if !errors.Is(err, os.ErrNotExist) || r.ArchiveKey == "" || x.Store == nil {
			return nil, "", err
		}
	}
	if r.ArchiveKey == "" || x.Store == nil {
		return nil, "", ErrUnavailable
	}
	rc, err := x.Store.Get(ctx, r.ArchiveKey, r.ArchiveVersion)
	if err != nil {
		return nil, "", fmt.Errorf("archive %s: %w", r.ArchiveKey, err)
	}
	return rc, "archive", nil
}

// lock fills in the archive's lock as the archive states it now; the
// catalog's record of it when the archive does not answer.
func (x *Exporter) lock(ctx context.Context, e *Recording) {
	if e.ArchiveKey == "" || x.Store == nil {
		return
	}
	info, err := x.Store.Head(ctx, e.ArchiveKey, e.ArchiveVersion)
	if err != nil {
		return
	}
	e.LockMode, e.LockUntil, e.LegalHold = info.RetentionMode, info.RetainUntil.UTC(), info.LegalHold
}

func describe(r catalog.Recording) Recording {
	return Recording{File: recordingFile(r), ID: r.ID, SHA256: r.SHA256, Size: r.Size, Source: r.Source, SourceID: r.SourceID,
		Name: r.Name, Officer: r.Officer, Officers: r.Officers, Device: r.Device, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
		CameraTime: r.CameraTime, ReceivedAt: r.ReceivedAt, ClockOffsetNS: int64(r.CameraClockOffset), ClockBasis: r.CameraClockBasis,
		ArchiveKey: r.ArchiveKey, ArchiveVersion: r.ArchiveVersion, LockUntil: r.RetainUntil, LegalHold: r.LegalHold,
		Holds: r.Holds, Cases: r.Cases, Case: r.Case, Subject: r.Subject, Sessions: r.Sessions}
}

// writer hands files to the sink and notes each one's SHA-256.
type writer struct {
	sink Sink
	sums map[string]string
}

func (w *writer) put(name string, size int64, body io.Reader) error {
	h := sha256.New()
	if err := w.sink.Put(name, size, io.TeeReader(body, h)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	w.sums[name] = sumHex(h)
	return nil
}

func (w *writer) putBytes(name string, b []byte) error {
	return w.put(name, int64(len(b)), strings.NewReader(string(b)))
}

func sumHex(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
