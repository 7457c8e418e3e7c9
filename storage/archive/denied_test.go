package archive

import (
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
)

// A refusal by the bucket's policy is a permanent auth failure whose
// message says which prefix the credentials were refused on and where the
// policy they need is, so that an operator does not hunt for an outage.
func TestAccessDeniedNamesPrefixAndPolicy(t *testing.T) {
	denied := minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied", Message: "Access Denied."}
	tests := []struct{ op, key, want string }{
		{"tag", "st01/2026/11/21/012345/ab.mp4", `under "st01/"`},
		{"list", "st01/audit/", `under "st01/"`},
		{"list", "", `bucket-wide`},
		{"check bucket", "evidence", `bucket-wide`},
	}
	for _, tc := range tests {
		err := classify(tc.op, tc.key, denied)
		if KindOf(err) != KindAuth || !KindOf(err).Permanent() {
			t.Fatalf("%s %s: kind %q", tc.op, tc.key, KindOf(err))
		}
		msg := err.Error()
		for _, w := range []string{tc.want, "configs/s3-policy.json", "AccessDenied"} {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %q: message %q lacks %q", tc.op, tc.key, msg, w)
			}
		}
	}
	// A locked version's delete refused is no policy matter either.
	locked := minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied", Message: "Access Denied because object protected by object lock."}
	if msg := classify("remove", "st01/a", locked).Error(); strings.Contains(msg, "s3-policy") {
		t.Errorf("a locked version's refusal blamed on the policy: %s", msg)
	}
	// A wrong key or signature is no policy matter: no policy hint.
	if msg := classify("tag", "st01/a", minio.ErrorResponse{StatusCode: 403, Code: "SignatureDoesNotMatch"}).Error(); strings.Contains(msg, "s3-policy") {
		t.Errorf("bad signature blamed on the policy: %s", msg)
	}
}
