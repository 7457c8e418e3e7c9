package archive

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"
)

// timeoutErr is what net/http gives for a response header timeout: an error
// whose Timeout() is true and that matches context.DeadlineExceeded.
type timeoutErr struct{}

func (timeoutErr) Error() string        { return "net/http: timeout awaiting response headers" }
func (timeoutErr) Timeout() bool        { return true }
func (timeoutErr) Is(target error) bool { return target == context.DeadlineExceeded }

// Every shape of failure minio-go and net/http produce, by what happened:
// a timeout or a broken connection is a network outage (transient, store
// wide), never a local or permanent failure.
func TestClassifyEveryShape(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Put", URL: "http://127.0.0.1:9000/evidence/k", Err: err} }
	s3 := func(status int, code, msg string) error {
		return minio.ErrorResponse{StatusCode: status, Code: code, Message: msg}
	}
	tests := []struct {
		name string
		err  error
		want ErrorKind
	}{
		{"dial refused", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), KindNetwork},
		{"dial timeout", urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}), KindNetwork},
		{"response header timeout", urlErr(timeoutErr{}), KindNetwork},
		{"client deadline", fmt.Errorf("put: %w", context.DeadlineExceeded), KindNetwork},
		{"TLS handshake timeout", urlErr(errors.New("net/http: TLS handshake timeout")), KindNetwork},
		{"connection reset", urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), KindNetwork},
		{"broken pipe", urlErr(&net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}), KindNetwork},
		{"unexpected EOF", urlErr(io.ErrUnexpectedEOF), KindNetwork},
		{"EOF", urlErr(io.EOF), KindNetwork},
		{"server closed idle", urlErr(http.ErrServerClosed), KindNetwork},
		{"500", s3(500, "InternalError", "We encountered an internal error"), KindServer},
		{"503 slow down", s3(503, "SlowDown", "Please reduce your request rate"), KindServer},
		{"503 bare", s3(503, "", ""), KindServer},
		{"not initialized", s3(503, "XMinioServerNotInitialized", ""), KindServer},
		{"access denied", s3(403, "AccessDenied", "Access Denied."), KindAuth},
		{"bad key", s3(403, "InvalidAccessKeyId", ""), KindAuth},
		{"bad signature", s3(403, "SignatureDoesNotMatch", ""), KindAuth},
		{"untrusted certificate", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), KindAuth},
		{"no bucket", s3(404, "NoSuchBucket", ""), KindBucket},
		{"no object lock", s3(400, "InvalidRequest", "Bucket is missing ObjectLockConfiguration"), KindBucket},
		{"bad digest", s3(400, "BadDigest", "The Content-Md5 you specified did not match"), KindRejected},
		{"lock date", s3(400, "InvalidRequest", "the retain until date must be in the future"), KindRejected},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("upload", "k", tc.err)
			if got := KindOf(err); got != tc.want {
				t.Fatalf("kind %q, want %q (%v)", got, tc.want, err)
			}
			if !errors.Is(err, tc.err) && !errors.As(err, new(minio.ErrorResponse)) {
				t.Errorf("the cause is lost: %v", err)
			}
		})
	}
	// Our own cancel at shutdown is not a failure of the archive at all.
	if err := classify("upload", "k", fmt.Errorf("put: %w", context.Canceled)); KindOf(err) != "" || !errors.Is(err, context.Canceled) {
		t.Fatalf("shutdown: %v kind %q", err, KindOf(err))
	}
	for _, k := range []ErrorKind{KindNetwork, KindServer} {
		if k.Permanent() {
			t.Errorf("%s is permanent", k)
		}
	}
}
