package archive

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"
)

// The operations retention asks of the archive: legal holds, case tags, and
// the two stages of expiry. Each reads back what it changed where S3 allows.

// SetLegalHold turns the legal hold of a version on or off and reads it back.
func (a *Client) SetLegalHold(ctx context.Context, key, versionID string, on bool) error {
	status := minio.LegalHoldDisabled
	if on {
		status = minio.LegalHoldEnabled
	}
	err := a.core.Client.PutObjectLegalHold(ctx, a.bucket, key, minio.PutObjectLegalHoldOptions{VersionID: versionID, Status: &status})
	if err != nil {
		return classify("legal hold", key, err)
	}
	got, err := a.LegalHold(ctx, key, versionID)
	if err != nil {
		return err
	}
	if got != on {
		return fmt.Errorf("legal hold %s: set to %v, read back %v", key, on, got)
	}
	return nil
}

// LegalHold reads a version's legal hold.
func (a *Client) LegalHold(ctx context.Context, key, versionID string) (bool, error) {
	st, err := a.core.Client.GetObjectLegalHold(ctx, a.bucket, key, minio.GetObjectLegalHoldOptions{VersionID: versionID})
	if err != nil {
		if minio.ToErrorResponse(err).Code == "NoSuchObjectLockConfiguration" {
			return false, nil
		}
		return false, classify("read legal hold", key, err)
	}
	return st != nil && *st == minio.LegalHoldEnabled, nil
}

// CaseTags are the tags that carry a recording's case numbers and, for an
// interview segment, its sessions, so that the archive alone says which
// case an object belongs to. Empty values are left out.
func CaseTags(cases []string, sessions []uint64) map[string]string {
	t := map[string]string{}
	if len(cases) > 0 {
		t[TagCases] = strings.Join(cases, " ")
	}
	if len(sessions) > 0 {
		ids := make([]string, len(sessions))
		for i, s := range sessions {
			ids[i] = strconv.FormatUint(s, 10)
		}
		t[TagSessions] = strings.Join(ids, " ")
	}
	return t
}

// Tag names.
const (
	TagCases    = "cases"
	TagSessions = "sessions"
)

// SetTags replaces a version's tags; tags can change where metadata cannot.
func (a *Client) SetTags(ctx context.Context, key, versionID string, tagMap map[string]string) error {
	t, err := tags.NewTags(tagMap, true)
	if err != nil {
		return fmt.Errorf("tag %s: %w", key, err)
	}
	if err := a.core.Client.PutObjectTagging(ctx, a.bucket, key, t, minio.PutObjectTaggingOptions{VersionID: versionID}); err != nil {
		return classify("tag", key, err)
	}
	return nil
}

// Tags reads a version's tags.
func (a *Client) Tags(ctx context.Context, key, versionID string) (map[string]string, error) {
	t, err := a.core.Client.GetObjectTagging(ctx, a.bucket, key, minio.GetObjectTaggingOptions{VersionID: versionID})
	if err != nil {
		return nil, classify("read tags", key, err)
	}
	return t.ToMap(), nil
}

// MarkDeleted puts a delete marker on key, leaving every version in place,
// and returns the marker's version id for Undelete.
func (a *Client) MarkDeleted(ctx context.Context, key string) (string, error) {
	ch := make(chan minio.ObjectInfo, 1)
	ch <- minio.ObjectInfo{Key: key}
	close(ch)
	var marker string
	for res := range a.core.Client.RemoveObjectsWithResult(ctx, a.bucket, ch, minio.RemoveObjectsOptions{}) {
		if res.Err != nil {
			return "", classify("mark deleted", key, res.Err)
		}
		marker = res.DeleteMarkerVersionID
	}
	if marker == "" {
		return "", fmt.Errorf("mark deleted %s: the server made no delete marker (is versioning on?)", key)
	}
	return marker, nil
}

// Undelete removes a delete marker, so the version under it is current again.
func (a *Client) Undelete(ctx context.Context, key, markerVersionID string) error {
	return a.Remove(ctx, key, markerVersionID)
}

// Markers lists the delete markers on key, newest first: a restore lifts
// them all, and a mark interrupted by a crash finds the one it made.
func (a *Client) Markers(ctx context.Context, key string) ([]string, error) {
	var out []string
	for o := range a.core.Client.ListObjects(ctx, a.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			return nil, classify("list delete markers", key, o.Err)
		}
		if o.Key == key && o.IsDeleteMarker {
			out = append(out, o.VersionID)
		}
	}
	return out, nil
}
