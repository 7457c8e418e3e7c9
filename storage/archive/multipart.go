package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
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
	up, err := a.resumeOrStart(ctx, req)
	if err != nil {
		return ObjectInfo{}, err
	}
	got, err := a.putParts(ctx, req, &up)
	if err != nil {
		return ObjectInfo{}, err
	}
	if got != req.SHA256 {
		return ObjectInfo{}, fmt.Errorf("upload %s: %w", req.Key, &digest.MismatchError{Path: req.Key, Want: req.SHA256, Got: got})
	}
	return a.completeMultipart(ctx, req, up)
}

// resumeOrStart continues the saved upload of req.Resume with the parts the
// server still confirms, or starts a new one and saves its id.
func (a *Client) resumeOrStart(ctx context.Context, req PutRequest) (MultipartUpload, error) {
	up := MultipartUpload{}
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
			return MultipartUpload{}, err
		default:
			up.Parts = keepConfirmed(up.Parts, server)
		}
	}
	if up.UploadID == "" {
		up.PartSize = a.partSizeFor(req.Size)
		opts := a.options(req)
		opts.UserMetadata[headerChecksumAlgo] = "SHA256"
		id, err := a.core.NewMultipartUpload(ctx, a.bucket, req.Key, opts)
		if err != nil {
			return MultipartUpload{}, classify("start multipart upload", req.Key, err)
		}
		up.UploadID = id
		if err := req.SaveProgress(up); err != nil {
			return MultipartUpload{}, err
		}
	}
	return up, nil
}

// putParts sends the parts up lacks and returns the hex SHA-256 of the whole
// object as read. The bytes sent are the bytes hashed: each part is read once
// into a buffer, in order, and the whole object's hash is rebuilt across all
// parts (the finished ones re-read from disk) before the upload is
// completed. A staged copy altered mid-upload is caught here, never
// completed. Up to partConcurrency parts are in flight, each with its own
// buffer.
func (a *Client) putParts(ctx context.Context, req PutRequest, up *MultipartUpload) (string, error) {
	done := map[int]UploadedPart{}
	for _, p := range up.Parts {
		done[p.Number] = p
	}
	whole := sha256.New()
	bufs := make(chan []byte, a.partConcurrency)
	for range a.partConcurrency {
		bufs <- make([]byte, up.PartSize)
	}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex // guards up.Parts and the calls of req.Save
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
		g.Go(func() error {
			defer func() { bufs <- buf }()
			part, err := a.putPart(gctx, req, up.UploadID, i, b)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			if gctx.Err() != nil {
				return gctx.Err() // another part failed: save nothing after it
			}
			up.Parts = append(up.Parts, part)
			return req.SaveProgress(MultipartUpload{UploadID: up.UploadID, PartSize: up.PartSize, Parts: slices.Clone(up.Parts)})
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
	p, err := a.core.PutObjectPart(ctx, a.bucket, req.Key, uploadID, number, bytes.NewReader(data), size,
		minio.PutObjectPartOptions{Sha256Hex: hex.EncodeToString(sum[:]), CustomHeader: hdr, DisableContentSha256: true})
	if err != nil {
		return UploadedPart{}, classify(fmt.Sprintf("upload part %d", number), req.Key, err)
	}
	if p.ChecksumSHA256 != "" && p.ChecksumSHA256 != b64 {
		return UploadedPart{}, &Error{Op: fmt.Sprintf("upload part %d", number), Key: req.Key, Kind: KindIntegrity,
			Err: fmt.Errorf("server part checksum %s, sent %s: %w", p.ChecksumSHA256, b64, ErrArchiveMismatch)}
	}
	return UploadedPart{Number: number, Size: size, ETag: p.ETag, SHA256: b64}, nil
}

// partSizeFor keeps the part count within the S3 limit for huge files.
func (a *Client) partSizeFor(size int64) int64 {
	ps := a.partSize
	for (size+ps-1)/ps > maxParts {
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

// keepConfirmed keeps the saved parts the server confirms with the same ETag.
func keepConfirmed(saved []UploadedPart, server map[int]minio.ObjectPart) []UploadedPart {
	var out []UploadedPart
	for _, p := range saved {
		if s, ok := server[p.Number]; ok && strings.Trim(s.ETag, `"`) == strings.Trim(p.ETag, `"`) && s.Size == p.Size {
			out = append(out, p)
		}
	}
	return out
}
