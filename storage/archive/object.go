package archive

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"custodian/internal/digest"

	"github.com/minio/minio-go/v7"
)

// ObjectStore is what the uploader and the verifier need from an archive.
// *Client implements it on S3; the tests also run it on an in-memory fake.
type ObjectStore interface {
	Check(ctx context.Context) error
	Put(ctx context.Context, req PutRequest) (ObjectInfo, error)
	Head(ctx context.Context, key, versionID string) (ObjectInfo, error)
	// Tags reads a version's tags back; SetTags replaces them.
	Tags(ctx context.Context, key, versionID string) (map[string]string, error)
	SetTags(ctx context.Context, key, versionID string, tags map[string]string) error
	Get(ctx context.Context, key, versionID string) (io.ReadCloser, error)
	// Abort ends an unfinished multipart upload and frees its parts.
	Abort(ctx context.Context, key, uploadID string) error
}

// PutRequest is one object to store under a COMPLIANCE lock.
type PutRequest struct {
	Key    string
	SHA256 string // hex, of the whole object
	Size   int64
	// Body is read at offsets so a part can be sent again after a failure.
	Body        io.ReaderAt
	Metadata    map[string]string
	RetainUntil time.Time
	LegalHold   bool
	// Tags are the object's tags at upload (see CaseTags): unlike metadata
	// they can change later.
	Tags map[string]string
	// PartSize, when set, is the part size of a new multipart upload and
	// the largest object sent in one PUT, if below the client's: a part
	// must finish between two restarts of a slow link. It is raised to S3's
	// 5 MiB minimum and as far as 10,000 parts require.
	PartSize int64
	// Pace, when set, is called with every n bytes before they go out (a
	// bandwidth limit). Only bytes sent are paced, not the re-reading of
	// parts sent before a restart; and parts of a paced upload go one at a
	// time, since parallel parts on a capped link only finish later each.
	Pace func(ctx context.Context, n int) error
	// Resume is the state an earlier attempt saved; nil for a fresh start.
	Resume *MultipartUpload
	// Save is called with the upload id once it exists and after every
	// finished part; an error stops the upload.
	Save func(MultipartUpload) error
}

// Validate reports what makes r unfit to send, before a byte goes out.
func (r PutRequest) Validate() error {
	switch {
	case r.Key == "":
		return errors.New("put: empty key")
	case len(r.SHA256) != 64 || !digest.Valid(r.SHA256):
		return fmt.Errorf("put %s: sha256 %q is not 64 hex digits", r.Key, r.SHA256)
	case r.Size < 0:
		return fmt.Errorf("put %s: negative size", r.Key)
	case r.RetainUntil.IsZero():
		return fmt.Errorf("put %s: no retain-until date", r.Key)
	}
	return nil
}

// SaveProgress hands u to r.Save, if set, naming the upload in its error.
func (r PutRequest) SaveProgress(u MultipartUpload) error {
	if r.Save == nil {
		return nil
	}
	if err := r.Save(u); err != nil {
		return fmt.Errorf("upload %s: save progress: %w", r.Key, err)
	}
	return nil
}

// MultipartUpload is the resumable state of a multipart upload, kept in the
// catalog between attempts.
type MultipartUpload struct {
	UploadID string         `json:"upload_id"`
	PartSize int64          `json:"part_size"`
	Parts    []UploadedPart `json:"parts,omitempty"`
}

// UploadedPart is a part the server acknowledged.
type UploadedPart struct {
	Number int    `json:"n"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
	SHA256 string `json:"sha256"` // base64, as in x-amz-checksum-sha256
}

// SortedParts is p in part-number order, as S3 completes an upload.
func SortedParts(p []UploadedPart) []UploadedPart {
	out := slices.Clone(p)
	slices.SortFunc(out, func(a, b UploadedPart) int { return a.Number - b.Number })
	return out
}

// ObjectInfo is what the archive holds for one object version.
type ObjectInfo struct {
	Key       string
	VersionID string
	Size      int64
	// Metadata are the user metadata, keys in lower case without x-amz-meta-.
	Metadata map[string]string
	// ChecksumSHA256 is the server's checksum, base64: of the whole object
	// for a single PUT, "<checksum of the part checksums>-<parts>" for a
	// multipart upload.
	ChecksumSHA256 string
	RetentionMode  string
	RetainUntil    time.Time
	LegalHold      bool
}

// Check proves that o is the object req asked for: size, the sha256
// metadata, the server's checksum, and the lock. parts are the parts of a
// multipart upload (nil for a single PUT), needed to recompute its
// composite checksum.
func (o ObjectInfo) Check(req PutRequest, parts []UploadedPart) error {
	var problems []string
	if o.Size != req.Size {
		problems = append(problems, fmt.Sprintf("size %d, sent %d", o.Size, req.Size))
	}
	if got := o.Metadata[MetaSHA256]; got != req.SHA256 {
		problems = append(problems, fmt.Sprintf("sha256 metadata %q, sent %s", got, req.SHA256))
	}
	if want, err := expectedChecksum(req.SHA256, o.ChecksumSHA256, parts); err != nil {
		problems = append(problems, err.Error())
	} else if o.ChecksumSHA256 != want {
		problems = append(problems, fmt.Sprintf("server checksum %q, expected %q", o.ChecksumSHA256, want))
	}
	if o.RetentionMode != RetentionCompliance {
		problems = append(problems, fmt.Sprintf("retention mode %q, want %s", o.RetentionMode, RetentionCompliance))
	}
	// S3 keeps retain-until to the second; a later date is stricter, not wrong.
	if o.RetainUntil.Before(req.RetainUntil.Truncate(time.Second)) {
		problems = append(problems, fmt.Sprintf("retained until %s, asked %s",
			o.RetainUntil.Format(time.RFC3339), req.RetainUntil.UTC().Format(time.RFC3339)))
	}
	if req.LegalHold && !o.LegalHold {
		problems = append(problems, "no legal hold")
	}
	if len(problems) > 0 {
		return &Error{Op: "check", Key: req.Key, Kind: KindIntegrity,
			Err: fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrArchiveMismatch)}
	}
	return nil
}

// expectedChecksum is the server checksum an intact object must have.
func expectedChecksum(sha, got string, parts []UploadedPart) (string, error) {
	whole, _ := hex.DecodeString(sha)
	if got == "" {
		return "", errors.New("server reported no sha256 checksum")
	}
	if !strings.Contains(got, "-") {
		return base64.StdEncoding.EncodeToString(whole), nil
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("server checksum %q is of a multipart upload whose parts are not known", got)
	}
	return CompositeChecksum(parts)
}

// CompositeChecksum is S3's checksum of a multipart object: the SHA-256 of
// the concatenated part checksums, then "-" and the part count.
func CompositeChecksum(parts []UploadedPart) (string, error) {
	h := sha256.New()
	for _, p := range SortedParts(parts) {
		b, err := base64.StdEncoding.DecodeString(p.SHA256)
		if err != nil {
			return "", fmt.Errorf("part %d checksum %q: %w", p.Number, p.SHA256, err)
		}
		h.Write(b)
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts)), nil
}

// Archive errors.
var (
	ErrObjectNotFound  = errors.New("object not found")
	ErrNoBucket        = errors.New("bucket does not exist")
	ErrNoObjectLock    = errors.New("bucket has no Object Lock: it cannot hold evidence; create a new bucket with `custodian archive init`")
	ErrNoVersioning    = errors.New("bucket versioning is not enabled")
	ErrArchiveMismatch = errors.New("archive holds something other than what was sent")
)

// ErrorKind is the class of an archive failure, decided once at the edge.
// It is also the bounded label value of the error metric.
type ErrorKind string

const (
	KindAuth      ErrorKind = "auth"      // credentials refused, access denied, server certificate not trusted
	KindBucket    ErrorKind = "bucket"    // bucket missing or unfit (no Object Lock)
	KindRejected  ErrorKind = "rejected"  // another 4xx: the request as sent is refused
	KindIntegrity ErrorKind = "integrity" // the archive holds other bytes than sent
	KindNetwork   ErrorKind = "network"   // no answer: connection, timeout, reset
	KindServer    ErrorKind = "server"    // 5xx, slow down
)

// Permanent reports whether retrying the same request cannot help until a
// person changes something. Permanent failures are still retried, slowly.
func (k ErrorKind) Permanent() bool {
	return k != KindNetwork && k != KindServer
}

// Error is every failure the archive client returns, classified.
type Error struct {
	Op   string
	Key  string // object key or bucket
	Kind ErrorKind
	Code string // S3 error code, if any
	Err  error
}

func (e *Error) Error() string {
	code := ""
	if e.Code != "" {
		code = " " + e.Code
	}
	return fmt.Sprintf("archive %s %s: %s%s: %v%s", e.Op, e.Key, e.Kind, code, e.Err, e.policyHint())
}

// policyHint says, for a request the bucket's policy refused, where the
// credentials were refused and which policy a station's keys need: one
// station's keys reaching for another's prefix, or a policy missing an
// action, is a configuration matter, not an outage.
func (e *Error) policyHint() string {
	if e.Code != "AccessDenied" || lockRefusal(e.Err) {
		return ""
	}
	where := "bucket-wide"
	if prefix, _, ok := strings.Cut(e.Key, "/"); ok {
		where = fmt.Sprintf("under %q", prefix+"/")
	}
	return fmt.Sprintf(" (the S3 policy of these credentials does not allow %s %s: "+
		"a station's keys may act only under their own station's prefix, with the actions of configs/s3-policy.json)", e.Op, where)
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of an archive error, or "" for any other error.
func KindOf(err error) ErrorKind {
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return ""
}

var authCodes = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "InvalidToken": true, "InvalidSecurity": true, "AllAccessDisabled": true,
}

var bucketCodes = map[string]bool{
	"NoSuchBucket": true, "ObjectLockConfigurationNotFoundError": true, "InvalidBucketState": true,
	"InvalidBucketName": true, "PermanentRedirect": true, "AuthorizationHeaderMalformed": true,
}

var transientCodes = map[string]bool{
	"SlowDown": true, "RequestTimeout": true, "ServiceUnavailable": true, "InternalError": true,
	"XMinioServerNotInitialized": true,
}

// classify turns a client error into an *Error. Context cancellation
// passes through unchanged: it is the caller's decision, not a failure.
func classify(op, key string, err error) error {
	// Only our own cancel (shutdown) is no failure of the archive. A
	// deadline is a timeout like any other: net/http's response header and
	// dial timeouts match context.DeadlineExceeded too.
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("archive %s %s: %w", op, key, err)
	}
	e := &Error{Op: op, Key: key, Err: err}
	resp := minio.ToErrorResponse(err)
	e.Code = resp.Code
	var certErr *tls.CertificateVerificationError
	switch {
	case authCodes[resp.Code] || resp.StatusCode == 401 || resp.StatusCode == 403:
		e.Kind = KindAuth
	case errors.As(err, &certErr):
		// The server could not be authenticated: a config matter (ca_file),
		// not an outage.
		e.Kind = KindAuth
	case bucketCodes[resp.Code],
		resp.Code == "InvalidRequest" && strings.Contains(resp.Message, "ObjectLockConfiguration"):
		e.Kind = KindBucket
	case transientCodes[resp.Code] || resp.StatusCode >= 500:
		e.Kind = KindServer
	case resp.StatusCode >= 400 || resp.Code != "":
		e.Kind = KindRejected
	default:
		// No S3 answer: refused, reset, timed out, cut short.
		e.Kind = KindNetwork
	}
	return e
}

// lockRefusal: AWS answers a delete of a locked version AccessDenied too
// ("... because object protected by object lock"); no policy would help.
func lockRefusal(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "worm") || strings.Contains(msg, "object lock")
}
