// Package archive is the S3 client of the county archive: uploads with a
// checksum the server verifies, COMPLIANCE locks, legal holds, case tags,
// and the proof of what the archive holds.
package archive

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
)

// Config says where the archive is and how to talk to it.
type Config struct {
	Endpoint  string // host:port
	Bucket    string
	AccessKey string
	SecretKey string
	Secure    bool   // TLS
	CAFile    string // PEM bundle of a private CA; empty: system roots
	// PartSize is both the largest object sent in one PUT and the size of
	// each part of a multipart upload; each upload in flight holds
	// PartConcurrency parts in memory. Default DefaultPartSize.
	PartSize int64
	// PartConcurrency is how many parts of one multipart upload are sent at
	// once. Default DefaultPartConcurrency.
	PartConcurrency int
	// Transport replaces the HTTP transport (tests record requests with it).
	Transport http.RoundTripper
	// WriteStall aborts a request whose connection accepts no byte for
	// this long (a peer that stopped reading). Default DefaultWriteStall.
	WriteStall time.Duration
}

// DefaultWriteStall: no byte accepted by the archive for this long and the
// request is given up as a network failure, to be retried.
const DefaultWriteStall = 30 * time.Second

// Part sizes. S3 wants at least 5 MiB for every part but the last, and at
// most 10,000 parts.
const (
	DefaultPartSize = 32 << 20
	// DefaultPartConcurrency: four parts in flight keep the archive's
	// cores busy hashing while the next is read and hashed here (2 left a
	// 1 GiB upload at 0.7 of minio-go's FPutObject, which runs 4); each
	// holds a part buffer.
	DefaultPartConcurrency = 4
	MinPartSize            = 5 << 20
	maxParts               = 10000
)

// AbortIncompleteDays is how long the bucket keeps an unfinished multipart
// upload. It must outlast any outage the uploader resumes from.
const AbortIncompleteDays = 7

// LifecycleRuleID names the rule archive init manages in the bucket.
const LifecycleRuleID = "custodian-abort-incomplete-multipart"

// Object metadata keys (sent as x-amz-meta-<key>).
const (
	MetaSHA256       = "sha256"
	MetaSize         = "size"
	MetaStation      = "station"
	MetaSource       = "source"
	MetaSourceID     = "source-id" // dock or room
	MetaDevice       = "device"
	MetaOfficer      = "officer"
	MetaStartedAt    = "started-at"
	MetaOriginalName = "original-name"
	MetaVersion      = "custodian-version"
)

// RetentionCompliance is the only lock mode custodian writes: nobody, the
// bucket owner included, can shorten it or delete the version before it ends.
const RetentionCompliance = "COMPLIANCE"

// Client is the station's S3-compatible archive bucket, with Object Lock.
type Client struct {
	core            *minio.Core
	bucket          string
	partSize        int64
	partConcurrency int
}

var _ ObjectStore = (*Client)(nil)

// New builds the client; it does not contact the server.
func New(c Config) (*Client, error) {
	if c.PartSize == 0 {
		c.PartSize = DefaultPartSize
	}
	if c.PartConcurrency <= 0 {
		c.PartConcurrency = DefaultPartConcurrency
	}
	if c.PartSize < MinPartSize {
		return nil, fmt.Errorf("archive: part size %d is below the S3 minimum of %d", c.PartSize, MinPartSize)
	}
	tr := c.Transport
	if tr == nil {
		t, err := minio.DefaultTransport(c.Secure)
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		t.DialContext = stallDialer(cmp.Or(c.WriteStall, DefaultWriteStall))
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("archive: ca file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("archive: ca file %s: no PEM certificate in it", c.CAFile)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
		tr = t
	}
	core, err := minio.NewCore(c.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(c.AccessKey, c.SecretKey, ""),
		Secure:    c.Secure,
		Transport: tr,
		// The uploader retries with its own backoff and counts each failure;
		// the library's own retries would hide an outage behind long calls.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return &Client{core: core, bucket: c.Bucket, partSize: c.PartSize, partConcurrency: c.PartConcurrency}, nil
}

// Bucket is the bucket name.
func (a *Client) Bucket() string { return a.bucket }

// InitReport says what Init did.
type InitReport struct {
	Created bool // the bucket was made, with Object Lock
	// LifecycleErr is set when the server refused the rule that aborts
	// incomplete multipart uploads. MinIO does not take that rule; it
	// removes stale uploads itself (MINIO_API_STALE_UPLOADS_EXPIRY).
	LifecycleErr error
}

// Init creates the bucket with Object Lock (which turns versioning on) when
// it does not exist, checks it, and sets the lifecycle rule that aborts
// incomplete multipart uploads. It refuses a bucket without Object Lock:
// Object Lock can only be chosen when a bucket is created.
func (a *Client) Init(ctx context.Context) (InitReport, error) {
	var rep InitReport
	exists, err := a.core.BucketExists(ctx, a.bucket)
	if err != nil {
		return rep, classify("check bucket", a.bucket, err)
	}
	if !exists {
		if err := a.core.MakeBucket(ctx, a.bucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
			return rep, classify("create bucket", a.bucket, err)
		}
		rep.Created = true
	}
	if err := a.Check(ctx); err != nil {
		return rep, err
	}
	if err := a.setLifecycle(ctx); err != nil {
		if KindOf(err) != KindRejected {
			return rep, err
		}
		rep.LifecycleErr = err
	}
	return rep, nil
}

func (a *Client) setLifecycle(ctx context.Context) error {
	cfg, err := a.core.GetBucketLifecycle(ctx, a.bucket)
	if err != nil {
		if minio.ToErrorResponse(err).Code != "NoSuchLifecycleConfiguration" {
			return classify("get lifecycle", a.bucket, err)
		}
		cfg = lifecycle.NewConfiguration()
	}
	rules := cfg.Rules[:0]
	for _, r := range cfg.Rules {
		if r.ID != LifecycleRuleID {
			rules = append(rules, r)
		}
	}
	cfg.Rules = append(rules, lifecycle.Rule{
		ID:         LifecycleRuleID,
		Status:     "Enabled",
		RuleFilter: lifecycle.Filter{Prefix: ""},
		AbortIncompleteMultipartUpload: lifecycle.AbortIncompleteMultipartUpload{
			DaysAfterInitiation: lifecycle.ExpirationDays(AbortIncompleteDays),
		},
	})
	if err := a.core.SetBucketLifecycle(ctx, a.bucket, cfg); err != nil {
		return classify("set lifecycle", a.bucket, err)
	}
	return nil
}

// Check proves the archive is reachable with these credentials and that the
// bucket exists with Object Lock and versioning enabled.
func (a *Client) Check(ctx context.Context) error {
	enabled, _, _, _, err := a.core.GetObjectLockConfig(ctx, a.bucket)
	if err != nil {
		switch minio.ToErrorResponse(err).Code {
		case "ObjectLockConfigurationNotFoundError":
			return &Error{Op: "check bucket", Key: a.bucket, Kind: KindBucket, Err: ErrNoObjectLock}
		case "NoSuchBucket":
			return &Error{Op: "check bucket", Key: a.bucket, Kind: KindBucket, Err: ErrNoBucket}
		}
		return classify("check bucket", a.bucket, err)
	}
	if enabled != "Enabled" {
		return &Error{Op: "check bucket", Key: a.bucket, Kind: KindBucket, Err: ErrNoObjectLock}
	}
	v, err := a.core.GetBucketVersioning(ctx, a.bucket)
	if err != nil {
		return classify("check bucket versioning", a.bucket, err)
	}
	if !v.Enabled() {
		return &Error{Op: "check bucket", Key: a.bucket, Kind: KindBucket, Err: ErrNoVersioning}
	}
	return nil
}

// Put stores the object described by req unless the key already holds a
// version with the same size and sha256 (a retry after a lost response, or a
// restart after a finished upload): then it returns that version, so a retry
// never adds a second one. It does not prove the result; see ObjectInfo.Check.
func (a *Client) Put(ctx context.Context, req PutRequest) (ObjectInfo, error) {
	if err := req.Validate(); err != nil {
		return ObjectInfo{}, err
	}
	if have, err := a.Head(ctx, req.Key, ""); err == nil && have.Metadata[MetaSHA256] == req.SHA256 && have.Size == req.Size {
		return have, nil
	} else if err != nil && !errors.Is(err, ErrObjectNotFound) {
		return ObjectInfo{}, err
	}
	if req.Size <= a.partSizeFor(req) && (req.Resume == nil || req.Resume.UploadID == "") {
		return a.putSingle(ctx, req)
	}
	return a.putMultipart(ctx, req)
}

func (a *Client) options(req PutRequest) minio.PutObjectOptions {
	meta := make(map[string]string, len(req.Metadata))
	for k, v := range req.Metadata {
		meta[k] = v
	}
	opts := minio.PutObjectOptions{
		UserMetadata:    meta,
		ContentType:     "application/octet-stream",
		Mode:            minio.Compliance,
		RetainUntilDate: req.RetainUntil.UTC(),
		// The body is held by its signed x-amz-checksum-sha256, which the
		// server checks; the payload is left out of the signature (no
		// streaming signature either): the server would hash it twice.
		DisableContentSha256: true,
	}
	if req.LegalHold {
		opts.LegalHold = minio.LegalHoldEnabled
	}
	if len(req.Tags) > 0 {
		opts.UserTags = maps.Clone(req.Tags)
	}
	return opts
}

func (a *Client) putSingle(ctx context.Context, req PutRequest) (ObjectInfo, error) {
	opts := a.options(req)
	sum, _ := hex.DecodeString(req.SHA256) // checked by valid
	// An x-amz-checksum-* header is what AWS requires with lock parameters,
	// and the server checks the body against it.
	opts.UserMetadata[headerChecksumSHA256] = base64.StdEncoding.EncodeToString(sum)
	body := paced(ctx, io.NewSectionReader(req.Body, 0, req.Size), req.Pace)
	info, err := a.core.PutObject(ctx, a.bucket, req.Key, body, req.Size, "", "", opts)
	if err != nil {
		return ObjectInfo{}, classify("upload", req.Key, err)
	}
	return a.Head(ctx, req.Key, info.VersionID)
}

const (
	headerChecksumSHA256 = "x-amz-checksum-sha256"
	headerChecksumAlgo   = "x-amz-checksum-algorithm"
)

// Head reads an object version's size, metadata, server checksum and lock
// state. versionID "" means the latest version.
func (a *Client) Head(ctx context.Context, key, versionID string) (ObjectInfo, error) {
	oi, err := a.core.StatObject(ctx, a.bucket, key, minio.StatObjectOptions{VersionID: versionID, Checksum: true})
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == "NoSuchKey" || code == "NoSuchVersion" {
			return ObjectInfo{}, fmt.Errorf("head %s: %w", key, ErrObjectNotFound)
		}
		return ObjectInfo{}, classify("head", key, err)
	}
	out := ObjectInfo{
		Key:            key,
		VersionID:      oi.VersionID,
		Size:           oi.Size,
		Metadata:       map[string]string{},
		ChecksumSHA256: oi.ChecksumSHA256,
		RetentionMode:  oi.Metadata.Get("X-Amz-Object-Lock-Mode"),
		LegalHold:      strings.EqualFold(oi.Metadata.Get("X-Amz-Object-Lock-Legal-Hold"), "ON"),
	}
	for k, v := range oi.UserMetadata {
		out.Metadata[strings.ToLower(k)] = v
	}
	if s := oi.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			out.RetainUntil = t.UTC()
		}
	}
	return out, nil
}

// Abort ends an unfinished multipart upload; one already gone is not an error.
func (a *Client) Abort(ctx context.Context, key, uploadID string) error {
	if err := a.core.AbortMultipartUpload(ctx, a.bucket, key, uploadID); err != nil && minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		return classify("abort multipart upload", key, err)
	}
	return nil
}

func codeOf(err error) string {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// Get opens an object version for reading.
func (a *Client) Get(ctx context.Context, key, versionID string) (io.ReadCloser, error) {
	rc, _, _, err := a.core.GetObject(ctx, a.bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == "NoSuchKey" || code == "NoSuchVersion" {
			return nil, fmt.Errorf("get %s: %w", key, ErrObjectNotFound)
		}
		return nil, classify("get", key, err)
	}
	return rc, nil
}

// Remove deletes an object version. Under a COMPLIANCE lock the server
// refuses it until the retention date has passed.
func (a *Client) Remove(ctx context.Context, key, versionID string) error {
	err := a.core.RemoveObject(ctx, a.bucket, key, minio.RemoveObjectOptions{VersionID: versionID})
	if err != nil {
		return classify("remove", key, err)
	}
	return nil
}

// List names every version (not delete markers) of every key under
// prefix, in key order: what the archive itself holds, whatever the
// catalog says.
func (a *Client) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	for o := range a.core.Client.ListObjects(ctx, a.bucket, minio.ListObjectsOptions{Prefix: prefix, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			return nil, classify("list", prefix, o.Err)
		}
		if !o.IsDeleteMarker {
			out = append(out, ObjectInfo{Key: o.Key, VersionID: o.VersionID, Size: o.Size})
		}
	}
	slices.SortStableFunc(out, func(x, y ObjectInfo) int { return strings.Compare(x.Key, y.Key) })
	return out, nil
}

// Versions lists the version ids of a key, newest first.
func (a *Client) Versions(ctx context.Context, key string) ([]string, error) {
	var out []string
	for o := range a.core.Client.ListObjects(ctx, a.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			return nil, classify("list versions", key, o.Err)
		}
		if o.Key == key && !o.IsDeleteMarker {
			out = append(out, o.VersionID)
		}
	}
	return out, nil
}
