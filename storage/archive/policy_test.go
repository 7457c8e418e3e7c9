package archive_test

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"testing"

	"custodian/storage/archive"
)

// s3Calls is every S3 request each method of archive.Client sends, named
// as in the S3 API reference; "?versionId" marks the request for a given
// version. minio-go asks GetBucketLocation before the first request to a
// bucket. Keep this next to the code: a new method, or a new request in
// one, belongs here, and TestS3CallsAreWhatTheClientSends checks the table
// against what the conformance suite makes the client send to MinIO.
var s3Calls = map[string][]string{
	"Check": {"GetBucketLocation", "GetObjectLockConfiguration", "GetBucketVersioning"},
	// Head first (an earlier attempt's copy), then one PUT or a multipart
	// upload (resumed: its parts listed), then Head of the new version.
	"Put": {"GetBucketLocation", "HeadObject", "PutObject", "CreateMultipartUpload", "ListParts", "UploadPart",
		"CompleteMultipartUpload", "HeadObject?versionId"},
	"Head":         {"HeadObject", "HeadObject?versionId"},
	"Get":          {"GetObject", "GetObject?versionId"},
	"Abort":        {"AbortMultipartUpload"},
	"Remove":       {"DeleteObject", "DeleteObject?versionId"},
	"List":         {"ListObjectVersions"},
	"Versions":     {"ListObjectVersions"},
	"SetLegalHold": {"PutObjectLegalHold", "PutObjectLegalHold?versionId", "GetObjectLegalHold", "GetObjectLegalHold?versionId"},
	"LegalHold":    {"GetObjectLegalHold", "GetObjectLegalHold?versionId"},
	"SetTags":      {"PutObjectTagging", "PutObjectTagging?versionId"},
	"Tags":         {"GetObjectTagging", "GetObjectTagging?versionId"},
	"MarkDeleted":  {"DeleteObjects"},
	"Markers":      {"ListObjectVersions"},
	"Undelete":     {"DeleteObject?versionId"},
	// archive init: run once by the county's administrator (see README).
	"Init": {"GetBucketLocation", "HeadBucket", "CreateBucket", "GetObjectLockConfiguration", "GetBucketVersioning",
		"GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration"},
}

// adminOnly are the methods a station's credentials need not be able to run.
var adminOnly = map[string]bool{"Init": true}

// noS3 are the methods that send nothing.
var noS3 = map[string]bool{"Bucket": true}

// s3Actions is the IAM actions each request needs (AWS's Service
// Authorization Reference). A PUT and a multipart start carry the
// COMPLIANCE lock, maybe a legal hold and case tags, each its own
// permission; a HEAD shows the lock and the legal hold only to who may
// read them. MinIO lets the plain action stand for a *Version one; AWS
// does not.
var s3Actions = map[string][]string{
	"GetBucketLocation":            {"s3:GetBucketLocation"},
	"GetObjectLockConfiguration":   {"s3:GetBucketObjectLockConfiguration"},
	"GetBucketVersioning":          {"s3:GetBucketVersioning"},
	"HeadObject":                   {"s3:GetObject", "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
	"HeadObject?versionId":         {"s3:GetObjectVersion", "s3:GetObjectRetention", "s3:GetObjectLegalHold"},
	"GetObject":                    {"s3:GetObject"},
	"GetObject?versionId":          {"s3:GetObjectVersion"},
	"PutObject":                    {"s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:PutObjectTagging"},
	"CreateMultipartUpload":        {"s3:PutObject", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:PutObjectTagging"},
	"UploadPart":                   {"s3:PutObject"},
	"CompleteMultipartUpload":      {"s3:PutObject"},
	"ListParts":                    {"s3:ListMultipartUploadParts"},
	"AbortMultipartUpload":         {"s3:AbortMultipartUpload"},
	"DeleteObject":                 {"s3:DeleteObject"},
	"DeleteObject?versionId":       {"s3:DeleteObjectVersion"},
	"DeleteObjects":                {"s3:DeleteObject"},
	"ListObjectVersions":           {"s3:ListBucketVersions"},
	"PutObjectLegalHold":           {"s3:PutObjectLegalHold"},
	"PutObjectLegalHold?versionId": {"s3:PutObjectLegalHold"},
	"GetObjectLegalHold":           {"s3:GetObjectLegalHold"},
	"GetObjectLegalHold?versionId": {"s3:GetObjectLegalHold"},
	"PutObjectTagging":             {"s3:PutObjectTagging"},
	"PutObjectTagging?versionId":   {"s3:PutObjectVersionTagging"},
	"GetObjectTagging":             {"s3:GetObjectTagging"},
	"GetObjectTagging?versionId":   {"s3:GetObjectVersionTagging"},
	// archive init only
	"HeadBucket":                      {"s3:ListBucket"},
	"CreateBucket":                    {"s3:CreateBucket", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"},
	"GetBucketLifecycleConfiguration": {"s3:GetLifecycleConfiguration"},
	"PutBucketLifecycleConfiguration": {"s3:PutLifecycleConfiguration"},
}

func policyActions(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../configs/s3-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ Statement []struct{ Action []string } }
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range p.Statement {
		out = append(out, s.Action...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// stationActions is what the station's own methods need, from the tables.
func stationActions(t *testing.T) []string {
	t.Helper()
	var out []string
	for m, reqs := range s3Calls {
		if adminOnly[m] {
			continue
		}
		for _, r := range reqs {
			acts, ok := s3Actions[r]
			if !ok {
				t.Errorf("%s sends %s, which s3Actions does not map", m, r)
			}
			out = append(out, acts...)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Every method of the client is in the table: a new S3 call cannot be
// added without saying what permission it needs.
func TestS3CallsNameEveryMethod(t *testing.T) {
	typ := reflect.TypeOf(&archive.Client{})
	for i := range typ.NumMethod() {
		m := typ.Method(i).Name
		if _, ok := s3Calls[m]; !ok && !noS3[m] {
			t.Errorf("archive.Client.%s is not in s3Calls: list the S3 requests it sends", m)
		}
	}
	for m := range s3Calls {
		if _, ok := typ.MethodByName(m); !ok {
			t.Errorf("s3Calls names %s, which archive.Client does not have", m)
		}
	}
}

// configs/s3-policy.json grants exactly what a station's client sends:
// nothing missing (an upload, hold, expiry or restore refused), nothing
// more (no bucket administration, no other station's objects).
func TestS3PolicyIsWhatTheCodeUses(t *testing.T) {
	got, want := policyActions(t), stationActions(t)
	for _, a := range want {
		if !slices.Contains(got, a) {
			t.Errorf("configs/s3-policy.json lacks %s", a)
		}
	}
	for _, a := range got {
		if !slices.Contains(want, a) {
			t.Errorf("configs/s3-policy.json grants %s, which no station request needs", a)
		}
	}
}
