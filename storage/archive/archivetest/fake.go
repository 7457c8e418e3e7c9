// Package archivetest holds what tests of any package need of an archive:
// an in-memory fake with Object Lock, and the conformance suite that keeps
// the fake honest against a real S3 server.
package archivetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"custodian/storage/archive"
)

// Fake is an in-memory S3 bucket with Object Lock in COMPLIANCE mode, for
// the conformance suite and the tests of every package that uses an
// archive. Faults are injected with Fail, SetDown and SetLying.
type Fake struct {
	mu       sync.Mutex
	now      func() time.Time
	partSize int64
	objects  map[string][]*fakeVersion // oldest first
	uploads  map[string]*fakeUpload
	seq      int

	failNext  []error // returned by the next calls, one each
	partsSent int
	putCalls  int
	down      bool // unreachable: every call fails with a network error
	onPart    func(n int)
	lie       bool     // Head reports a wrong checksum
	putKeys   []string // keys of every Put call, in order
	completed []string // upload ids completed
}

type fakeVersion struct {
	id       string
	data     []byte
	meta     map[string]string
	checksum string
	until    time.Time
	hold     bool
	marker   bool // a delete marker, not an object
	tags     map[string]string
}

type fakeUpload struct {
	key   string
	req   archive.PutRequest
	parts map[int]archive.UploadedPart
	data  map[int][]byte
}

var _ archive.ObjectStore = (*Fake)(nil)

func NewFake(partSize int64) *Fake {
	return &Fake{
		now:      time.Now,
		partSize: partSize,
		objects:  map[string][]*fakeVersion{},
		uploads:  map[string]*fakeUpload{},
	}
}

func (f *Fake) fault(op, key string) error {
	if f.down {
		return &archive.Error{Op: op, Key: key, Kind: archive.KindNetwork, Err: errors.New("connection refused")}
	}
	if len(f.failNext) > 0 {
		err := f.failNext[0]
		f.failNext = f.failNext[1:]
		return err
	}
	return nil
}

func (f *Fake) Check(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fault("check bucket", "fake")
}

func (f *Fake) Put(ctx context.Context, req archive.PutRequest) (archive.ObjectInfo, error) {
	if err := req.Validate(); err != nil {
		return archive.ObjectInfo{}, err
	}
	f.mu.Lock()
	f.putCalls++
	f.putKeys = append(f.putKeys, req.Key)
	if err := f.fault("upload", req.Key); err != nil {
		f.mu.Unlock()
		return archive.ObjectInfo{}, err
	}
	if vs := f.objects[req.Key]; len(vs) > 0 {
		last := vs[len(vs)-1]
		if last.meta[archive.MetaSHA256] == req.SHA256 && int64(len(last.data)) == req.Size {
			f.mu.Unlock()
			return f.Head(ctx, req.Key, last.id)
		}
	}
	f.mu.Unlock()
	if req.Size <= f.partSizeFor(req) && (req.Resume == nil || req.Resume.UploadID == "") {
		data, err := f.read(ctx, req, 0, req.Size)
		if err != nil {
			return archive.ObjectInfo{}, err
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != req.SHA256 {
			return archive.ObjectInfo{}, &archive.Error{Op: "upload", Key: req.Key, Kind: archive.KindRejected, Code: "BadDigest",
				Err: errors.New("the sha256 you specified did not match the calculated checksum")}
		}
		return f.store(req, data, base64.StdEncoding.EncodeToString(sum[:]))
	}
	return f.putMultipart(ctx, req)
}

func (f *Fake) store(req archive.PutRequest, data []byte, checksum string) (archive.ObjectInfo, error) {
	f.mu.Lock()
	f.seq++
	meta := map[string]string{}
	for k, v := range req.Metadata {
		meta[k] = v
	}
	v := &fakeVersion{id: fmt.Sprintf("v%d", f.seq), data: data, meta: meta, checksum: checksum,
		until: req.RetainUntil.UTC().Truncate(time.Second), hold: req.LegalHold, tags: maps.Clone(req.Tags)}
	f.objects[req.Key] = append(f.objects[req.Key], v)
	f.mu.Unlock()
	return f.Head(context.Background(), req.Key, v.id)
}

func (f *Fake) version(key, id string) (*fakeVersion, error) {
	vs := f.objects[key]
	if len(vs) == 0 {
		return nil, fmt.Errorf("head %s: %w", key, archive.ErrObjectNotFound)
	}
	if id == "" {
		if v := vs[len(vs)-1]; !v.marker {
			return v, nil
		}
		return nil, fmt.Errorf("head %s: %w", key, archive.ErrObjectNotFound)
	}
	for _, v := range vs {
		if v.id == id && !v.marker {
			return v, nil
		}
	}
	return nil, fmt.Errorf("head %s: %w", key, archive.ErrObjectNotFound)
}

func (f *Fake) Head(_ context.Context, key, versionID string) (archive.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("head", key); err != nil {
		return archive.ObjectInfo{}, err
	}
	v, err := f.version(key, versionID)
	if err != nil {
		return archive.ObjectInfo{}, err
	}
	meta := map[string]string{}
	for k, x := range v.meta {
		meta[k] = x
	}
	sum := v.checksum
	if f.lie {
		sum = "AAAA" + sum[4:]
	}
	return archive.ObjectInfo{Key: key, VersionID: v.id, Size: int64(len(v.data)), Metadata: meta,
		ChecksumSHA256: sum, RetentionMode: archive.RetentionCompliance, RetainUntil: v.until, LegalHold: v.hold}, nil
}

func (f *Fake) Get(_ context.Context, key, versionID string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("get", key); err != nil {
		return nil, err
	}
	v, err := f.version(key, versionID)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(bytes.Clone(v.data))), nil
}

func (f *Fake) Abort(_ context.Context, _, uploadID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.uploads, uploadID)
	return nil
}

// Remove deletes one version, or a delete marker, as a locked bucket
// allows: never a version under legal hold or before its retain-until.
func (f *Fake) Remove(_ context.Context, key, versionID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("remove", key); err != nil {
		return err
	}
	vs := f.objects[key]
	for i, v := range vs {
		if v.id != versionID {
			continue
		}
		if !v.marker && (v.hold || f.now().Before(v.until)) {
			return &archive.Error{Op: "remove", Key: key, Kind: archive.KindAuth, Code: "AccessDenied",
				Err: errors.New("object is WORM protected and cannot be deleted")}
		}
		f.objects[key] = append(vs[:i:i], vs[i+1:]...)
		return nil
	}
	return fmt.Errorf("remove %s: %w", key, archive.ErrObjectNotFound)
}

// SetLegalHold turns a version's legal hold on or off.
func (f *Fake) SetLegalHold(_ context.Context, key, versionID string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("legal hold", key); err != nil {
		return err
	}
	v, err := f.version(key, versionID)
	if err != nil {
		return err
	}
	v.hold = on
	return nil
}

// SetTags replaces a version's tags.
func (f *Fake) SetTags(_ context.Context, key, versionID string, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("tag", key); err != nil {
		return err
	}
	v, err := f.version(key, versionID)
	if err != nil {
		return err
	}
	v.tags = maps.Clone(tags)
	return nil
}

// Tags reads a version's tags.
func (f *Fake) Tags(_ context.Context, key, versionID string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("read tags", key); err != nil {
		return nil, err
	}
	v, err := f.version(key, versionID)
	if err != nil {
		return nil, err
	}
	return maps.Clone(v.tags), nil
}

// Cases are the case numbers a version is tagged with.
func (f *Fake) Cases(key, versionID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, err := f.version(key, versionID); err == nil && v.tags[archive.TagCases] != "" {
		return strings.Fields(v.tags[archive.TagCases])
	}
	return nil
}

// MarkDeleted puts a delete marker on key and returns its version id.
func (f *Fake) MarkDeleted(_ context.Context, key string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("mark deleted", key); err != nil {
		return "", err
	}
	f.seq++
	m := &fakeVersion{id: fmt.Sprintf("v%d", f.seq), marker: true}
	f.objects[key] = append(f.objects[key], m)
	return m.id, nil
}

// Markers lists key's delete markers, newest first.
func (f *Fake) Markers(_ context.Context, key string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("list delete markers", key); err != nil {
		return nil, err
	}
	var out []string
	vs := f.objects[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].marker {
			out = append(out, vs[i].id)
		}
	}
	return out, nil
}

// Undelete removes the delete marker a MarkDeleted made.
func (f *Fake) Undelete(ctx context.Context, key, marker string) error {
	return f.Remove(ctx, key, marker)
}

// List names every version of every key under prefix, in key order.
func (f *Fake) List(_ context.Context, prefix string) ([]archive.ObjectInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fault("list", prefix); err != nil {
		return nil, err
	}
	var out []archive.ObjectInfo
	for key, vs := range f.objects {
		if !strings.HasPrefix(key, prefix) {
			continue
		}
		for _, v := range vs {
			if !v.marker {
				out = append(out, archive.ObjectInfo{Key: key, VersionID: v.id, Size: int64(len(v.data))})
			}
		}
	}
	slices.SortStableFunc(out, func(x, y archive.ObjectInfo) int { return strings.Compare(x.Key, y.Key) })
	return out, nil
}

// Forget removes every version of key, as a bucket whose lock was bypassed
// would: for tests of what must notice it.
func (f *Fake) Forget(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.objects, key)
}

func (f *Fake) Versions(_ context.Context, key string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	vs := f.objects[key]
	for i := len(vs) - 1; i >= 0; i-- {
		if !vs[i].marker {
			out = append(out, vs[i].id)
		}
	}
	return out, nil
}

// Fail makes the next calls fail with errs, one each.
func (f *Fake) Fail(errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = append(f.failNext, errs...)
}

// SetDown makes every call fail as an unreachable server does, or stop failing.
func (f *Fake) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// SetLying makes Head report a wrong checksum, as a broken server might.
func (f *Fake) SetLying(lie bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lie = lie
}

// OnPart calls fn with the number of every part as it is stored.
func (f *Fake) OnPart(fn func(n int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onPart = fn
}

// PutKeys are the keys of every Put call, in order.
func (f *Fake) PutKeys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.putKeys...)
}

// PutCalls counts the Put calls.
func (f *Fake) PutCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putCalls
}

// Completed are the ids of the multipart uploads completed, in order.
func (f *Fake) Completed() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.completed...)
}

// Tamper replaces the latest version's bytes, as a broken server might.
func (f *Fake) Tamper(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	vs := f.objects[key]
	vs[len(vs)-1].data = append(vs[len(vs)-1].data, 'x')
}
