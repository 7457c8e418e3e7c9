package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"custodian/internal/digest"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// putMultipart uploads in parts of a fixed size, each with its SHA-256 as an
// x-amz-checksum header, saving the upload id and every finished part through
// req.Save so that a restart continues the same upload.
func (a *Client) putMultipart(ctx context.Context, req PutRequest) (ObjectInfo, error) {
	up, unrecorded, err := a.resumeOrStart(ctx, req)
	if err != nil {
		return ObjectInfo{}, err
	}
	got, err := a.putParts(ctx, req, &up, unrecorded)
	if err != nil {
		return ObjectInfo{}, err
	}
	if got != req.SHA256 {
		return ObjectInfo{}, fmt.Errorf("upload %s: %w", req.Key, &digest.MismatchError{Path: req.Key, Want: req.SHA256, Got: got})
	}
	return a.completeMultipart(ctx, req, up)
}

// resumeOrStart continues the saved upload of req.Resume, or starts a new
// one and saves its id. A resumed upload trusts the server's list of parts:
// a saved part it lacks, or holds with another ETag, is sent again; the
// parts it holds that were not saved (finished as the last process died)
// are returned as unrecorded, for putParts to adopt if their checksum
// matches the bytes.
func (a *Client) resumeOrStart(ctx context.Context, req PutRequest) (MultipartUpload, map[int]minio.ObjectPart, error) {
	up := MultipartUpload{}
	var unrecorded map[int]minio.ObjectPart
	if req.Resume != nil {
		up = *req.Resume
		up.Parts = append([]UploadedPart(nil), req.Resume.Parts...)
	}
	if up.UploadID != "" {
		server, err := a.listParts(ctx, req.Key, up.UploadID)
		switch {
		case codeOf(err) == "NoSuchUpload":
			up = MultipartUpload{} // aborted by lifecycle or by hand: start again
		case err != nil:
			return MultipartUpload{}, nil, err
		default:
			up.Parts, unrecorded = reconcile(up.Parts, server)
		}
	}
	if up.UploadID == "" {
		up.PartSize = a.partSizeFor(req)
		opts := a.options(req)
		opts.UserMetadata[headerChecksumAlgo] = "SHA256"
		id, err := a.core.NewMultipartUpload(ctx, a.bucket, req.Key, opts)
		if err != nil {
			return MultipartUpload{}, nil, classify("start multipart upload", req.Key, err)
		}
		up.UploadID = id
		if err := req.SaveProgress(up); err != nil {
			return MultipartUpload{}, nil, err
		}
	}
	return up, unrecorded, nil
}

// putParts sends the parts up lacks and returns the hex SHA-256 of the whole
// object as read. The bytes sent are the bytes hashed: each part is read once
// into a buffer, in order, and the whole object's hash is rebuilt across all
// parts (the finished ones re-read from disk) before the upload is
// completed. A staged copy altered mid-upload is caught here, never
// completed. Up to partConcurrency parts are in flight (one when paced),
// each with its own buffer. A part the server holds unrecorded is adopted,
// and saved, when its checksum is that of the bytes read.
func (a *Client) putParts(ctx context.Context, req PutRequest, up *MultipartUpload, unrecorded map[int]minio.ObjectPart) (string, error) {
	done := map[int]UploadedPart{}
	for _, p := range up.Parts {
		done[p.Number] = p
	}
	whole := sha256.New()
	inflight := a.partConcurrency
	if req.Pace != nil {
		inflight = 1
	}
	bufs := make(chan []byte, inflight)
	for range inflight {
		bufs <- make([]byte, up.PartSize)
	}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex // guards up.Parts and the calls of req.Save
	record := func(part UploadedPart) error {
		mu.Lock()
		defer mu.Unlock()
		if gctx.Err() != nil {
			return gctx.Err() // another part failed: save nothing after it
		}
		up.Parts = append(up.Parts, part)
		return req.SaveProgress(MultipartUpload{UploadID: up.UploadID, PartSize: up.PartSize, Parts: slices.Clone(up.Parts)})
	}
	n := int((req.Size + up.PartSize - 1) / up.PartSize)
	var readErr error
	for i := 1; i <= n && gctx.Err() == nil; i++ {
		var buf []byte
		select {
		case buf = <-bufs:
		case <-gctx.Done():
		}
		if buf == nil {
			break
		}
		off := int64(i-1) * up.PartSize
		b := buf[:min(up.PartSize, req.Size-off)]
		if _, err := io.ReadFull(io.NewSectionReader(req.Body, off, int64(len(b))), b); err != nil {
			readErr = fmt.Errorf("upload %s part %d: read staged copy: %w", req.Key, i, err)
			break
		}
		whole.Write(b)
		if _, ok := done[i]; ok {
			bufs <- buf
			continue
		}
		if part, ok := adopt(unrecorded[i], i, b); ok {
			bufs <- buf
			if readErr = record(part); readErr != nil {
				break
			}
			continue
		}
		g.Go(func() error {
			defer func() { bufs <- buf }()
			part, err := a.putPart(gctx, req, up.UploadID, i, b)
			if err != nil {
				return err
			}
			return record(part)
		})
	}
	if err := g.Wait(); err != nil {
		return "", err
	}
	if readErr != nil {
		return "", readErr
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return hex.EncodeToString(whole.Sum(nil)), nil
}

// completeMultipart asks the server to assemble the parts, then reads the object
// back.
func (a *Client) completeMultipart(ctx context.Context, req PutRequest, up MultipartUpload) (ObjectInfo, error) {
	parts := make([]minio.CompletePart, 0, len(up.Parts))
	for _, p := range SortedParts(up.Parts) {
		parts = append(parts, minio.CompletePart{PartNumber: p.Number, ETag: p.ETag, ChecksumSHA256: p.SHA256})
	}
	info, err := a.core.CompleteMultipartUpload(ctx, a.bucket, req.Key, up.UploadID, parts, minio.PutObjectOptions{})
	if err != nil {
		return ObjectInfo{}, classify("complete multipart upload", req.Key, err)
	}
	return a.Head(ctx, req.Key, info.VersionID)
}

func (a *Client) putPart(ctx context.Context, req PutRequest, uploadID string, number int, data []byte) (UploadedPart, error) {
	sum := sha256.Sum256(data)
	b64 := base64.StdEncoding.EncodeToString(sum[:])
	hdr := http.Header{}
	hdr.Set(headerChecksumSHA256, b64)
	size := int64(len(data))
	p, err := a.core.PutObjectPart(ctx, a.bucket, req.Key, uploadID, number, paced(ctx, bytes.NewReader(data), req.Pace), size,
		minio.PutObjectPartOptions{CustomHeader: hdr, DisableContentSha256: true})
	if err != nil {
		return UploadedPart{}, classify(fmt.Sprintf("upload part %d", number), req.Key, err)
	}
	if p.ChecksumSHA256 != "" && p.ChecksumSHA256 != b64 {
		return UploadedPart{}, &Error{Op: fmt.Sprintf("upload part %d", number), Key: req.Key, Kind: KindIntegrity,
			Err: fmt.Errorf("server part checksum %s, sent %s: %w", p.ChecksumSHA256, b64, ErrArchiveMismatch)}
	}
	return UploadedPart{Number: number, Size: size, ETag: p.ETag, SHA256: b64}, nil
}

// partSizeFor is the part size of a new multipart upload of req: the
// request's when it asks for less than the client's, at least S3's minimum,
// doubled while the parts would pass S3's 10,000.
func (a *Client) partSizeFor(req PutRequest) int64 {
	ps := a.partSize
	if req.PartSize > 0 {
		ps = max(min(ps, req.PartSize), MinPartSize)
	}
	for (req.Size+ps-1)/ps > maxParts {
		ps *= 2
	}
	return ps
}

// listParts returns the parts the server holds for an upload, by number.
func (a *Client) listParts(ctx context.Context, key, uploadID string) (map[int]minio.ObjectPart, error) {
	out := map[int]minio.ObjectPart{}
	marker := 0
	for {
		res, err := a.core.ListObjectParts(ctx, a.bucket, key, uploadID, marker, 1000)
		if err != nil {
			return nil, classify("list parts", key, err)
		}
		for _, p := range res.ObjectParts {
			out[p.PartNumber] = p
		}
		if !res.IsTruncated {
			return out, nil
		}
		marker = res.NextPartNumberMarker
	}
}

// reconcile splits the server's parts of an upload into the saved parts
// it confirms (same size and ETag, and the same checksum when it gives
// one) and those it holds that were not saved or differ from the save.
func reconcile(saved []UploadedPart, server map[int]minio.ObjectPart) (kept []UploadedPart, unrecorded map[int]minio.ObjectPart) {
	unrecorded = maps.Clone(server)
	for _, p := range saved {
		s, ok := server[p.Number]
		if ok && strings.Trim(s.ETag, `"`) == strings.Trim(p.ETag, `"`) && s.Size == p.Size &&
			(s.ChecksumSHA256 == "" || s.ChecksumSHA256 == p.SHA256) {
			kept = append(kept, p)
			delete(unrecorded, p.Number)
		}
	}
	return kept, unrecorded
}

// adopt makes the server's part s, not saved, part number of the upload
// when it holds exactly data: same size and SHA-256 checksum. A part
// without a checksum cannot be proven and is sent again.
func adopt(s minio.ObjectPart, number int, data []byte) (UploadedPart, bool) {
	if s.PartNumber != number || s.Size != int64(len(data)) || s.ChecksumSHA256 == "" || s.ETag == "" {
		return UploadedPart{}, false
	}
	sum := sha256.Sum256(data)
	if b64 := base64.StdEncoding.EncodeToString(sum[:]); s.ChecksumSHA256 == b64 {
		return UploadedPart{Number: number, Size: s.Size, ETag: strings.Trim(s.ETag, `"`), SHA256: b64}, true
	}
	return UploadedPart{}, false
}
