package configs

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// s3Policy is the part of an IAM policy document the tests read.
type s3Policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

func readS3Policy(t *testing.T) s3Policy {
	t.Helper()
	b, err := os.ReadFile("s3-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var p s3Policy
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("s3-policy.json: %v", err)
	}
	return p
}

// The README's permission table lists exactly the actions of
// s3-policy.json, each on the resource the policy grants it on, so the
// two cannot drift apart again.
func TestReadmeS3PermissionsAreThePolicy(t *testing.T) {
	p := readS3Policy(t)
	want := map[string]string{} // action -> "object" or "bucket"
	for _, s := range p.Statement {
		on := "bucket"
		if strings.HasSuffix(s.Resource[0], "/${STATION}/*") {
			on = "object"
		}
		for _, a := range s.Action {
			want[a] = on
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### S3 permissions\n")
	if !ok {
		t.Fatal("README has no \"### S3 permissions\" section")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	if !strings.Contains(section, "configs/s3-policy.json") {
		t.Error("the S3 permissions section does not name configs/s3-policy.json")
	}
	row := regexp.MustCompile("^\\| `(s3:[A-Za-z]+)` \\| (object|bucket)")
	got := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			if _, dup := got[m[1]]; dup {
				t.Errorf("README lists %s twice", m[1])
			}
			got[m[1]] = m[2]
		}
	}
	for a, on := range want {
		if got[a] != on {
			t.Errorf("README: %s on %q, the policy grants it on %s", a, got[a], on)
		}
	}
	for a := range got {
		if _, ok := want[a]; !ok {
			t.Errorf("README lists %s, which s3-policy.json does not grant", a)
		}
	}
}

// The template grants objects under the station's prefix only, lists only
// that prefix, and reads nothing of the bucket but its lock and
// versioning; it never lets a station unlock, bypass or reconfigure.
func TestS3PolicyIsPrefixScoped(t *testing.T) {
	p := readS3Policy(t)
	if p.Version != "2012-10-17" {
		t.Errorf("version %q", p.Version)
	}
	never := []string{"s3:*", "s3:BypassGovernanceRetention", "s3:PutBucketPolicy", "s3:PutBucketObjectLockConfiguration",
		"s3:PutBucketVersioning", "s3:DeleteBucket", "s3:PutLifecycleConfiguration", "s3:CreateBucket", "s3:ListBucket"}
	for _, s := range p.Statement {
		if s.Effect != "Allow" || len(s.Resource) != 1 || len(s.Action) == 0 {
			t.Errorf("%s: effect %s, resources %v", s.Sid, s.Effect, s.Resource)
			continue
		}
		for _, a := range s.Action {
			if slices.Contains(never, a) {
				t.Errorf("%s grants %s", s.Sid, a)
			}
		}
		switch res := s.Resource[0]; {
		case res == "arn:aws:s3:::${BUCKET}/${STATION}/*":
			if s.Condition != nil {
				t.Errorf("%s: a condition on object actions", s.Sid)
			}
		case res == "arn:aws:s3:::${BUCKET}" && slices.Contains(s.Action, "s3:ListBucketVersions"):
			if got := s.Condition["StringLike"]["s3:prefix"]; len(s.Condition) != 1 || !slices.Equal(got, []string{"${STATION}/*"}) {
				t.Errorf("%s: listing not conditioned on the station's prefix: %v", s.Sid, s.Condition)
			}
		case res == "arn:aws:s3:::${BUCKET}":
			for _, a := range s.Action {
				if !strings.HasPrefix(a, "s3:GetBucket") {
					t.Errorf("%s: %s on the whole bucket", s.Sid, a)
				}
			}
		default:
			t.Errorf("%s: resource %s", s.Sid, res)
		}
	}
}
