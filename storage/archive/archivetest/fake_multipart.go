package archivetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"

	"custodian/internal/digest"
	"custodian/storage/archive"
)

// The fake's multipart uploads: parts, resume and completion, as the real
// client does them.

func (f *Fake) putMultipart(ctx context.Context, req archive.PutRequest) (archive.ObjectInfo, error) {
	up, u, err := f.resumeOrStart(req)
	if err != nil {
		return archive.ObjectInfo{}, err
	}
	done := map[int]bool{}
	for _, p := range up.Parts {
		done[p.Number] = true
	}
	n := int((req.Size + up.PartSize - 1) / up.PartSize)
	for i := 1; i <= n; i++ {
		if done[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return archive.ObjectInfo{}, err
		}
		off := int64(i-1) * up.PartSize
		data, err := f.read(ctx, req, off, min(up.PartSize, req.Size-off))
		if err != nil {
			return archive.ObjectInfo{}, err
		}
		f.mu.Lock()
		if err := f.fault(fmt.Sprintf("upload part %d", i), req.Key); err != nil {
			f.mu.Unlock()
			return archive.ObjectInfo{}, err
		}
		sum := sha256.Sum256(data)
		p := archive.UploadedPart{Number: i, Size: int64(len(data)), ETag: fmt.Sprintf("etag-%d-%x", i, sum[:4]),
			SHA256: base64.StdEncoding.EncodeToString(sum[:])}
		u.parts[i], u.data[i] = p, data
		f.partsSent++
		f.mu.Unlock()
		up.Parts = append(up.Parts, p)
		if err := req.SaveProgress(up); err != nil {
			return archive.ObjectInfo{}, err
		}
		if f.onPart != nil {
			f.onPart(i)
		}
	}
	return f.completeMultipart(req, u, up)
}

// partSizeFor is the part size the real client picks for req.
func (f *Fake) partSizeFor(req archive.PutRequest) int64 {
	if req.PartSize > 0 {
		return max(min(f.partSize, req.PartSize), archive.MinPartSize)
	}
	return f.partSize
}

// read is n bytes of req's body from off, paced as sent.
func (f *Fake) read(ctx context.Context, req archive.PutRequest, off, n int64) ([]byte, error) {
	data, err := io.ReadAll(io.NewSectionReader(req.Body, off, n))
	if err == nil && req.Pace != nil {
		err = req.Pace(ctx, len(data))
	}
	return data, err
}

// resumeOrStart continues the upload req.Resume names with the saved parts
// the fake still holds, or starts a new one and saves its id, as the real
// client does.
func (f *Fake) resumeOrStart(req archive.PutRequest) (archive.MultipartUpload, *fakeUpload, error) {
	f.mu.Lock()
	up := archive.MultipartUpload{}
	if req.Resume != nil {
		up = *req.Resume
	}
	u, ok := f.uploads[up.UploadID]
	if !ok {
		f.seq++
		up = archive.MultipartUpload{UploadID: fmt.Sprintf("upload-%d", f.seq), PartSize: f.partSizeFor(req)}
		u = &fakeUpload{key: req.Key, req: req, parts: map[int]archive.UploadedPart{}, data: map[int][]byte{}}
		f.uploads[up.UploadID] = u
		f.mu.Unlock()
		if err := req.SaveProgress(up); err != nil {
			return archive.MultipartUpload{}, nil, err
		}
		f.mu.Lock()
	}
	var kept []archive.UploadedPart
	for _, p := range up.Parts {
		if s, ok := u.parts[p.Number]; ok && s.ETag == p.ETag {
			kept = append(kept, p)
		}
	}
	up.Parts = kept
	f.mu.Unlock()
	return up, u, nil
}

// completeMultipart assembles the parts, refuses a whole that does not match
// req.SHA256, and stores the object with its composite checksum.
func (f *Fake) completeMultipart(req archive.PutRequest, u *fakeUpload, up archive.MultipartUpload) (archive.ObjectInfo, error) {
	var all bytes.Buffer
	for _, p := range archive.SortedParts(up.Parts) {
		all.Write(u.data[p.Number])
	}
	whole := sha256.Sum256(all.Bytes())
	if got := hex.EncodeToString(whole[:]); got != req.SHA256 {
		return archive.ObjectInfo{}, fmt.Errorf("upload %s: %w", req.Key, &digest.MismatchError{Path: req.Key, Want: req.SHA256, Got: got})
	}
	composite, err := archive.CompositeChecksum(up.Parts)
	if err != nil {
		return archive.ObjectInfo{}, err
	}
	f.mu.Lock()
	delete(f.uploads, up.UploadID)
	f.completed = append(f.completed, up.UploadID)
	f.mu.Unlock()
	return f.store(u.req, all.Bytes(), composite)
}
