package upload

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"custodian/internal/digest"
	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// upload archives one record: re-verify the staged copy, put it, prove the
// result, then mark the record archived.
func (u *Uploader) upload(parent context.Context, r catalog.Recording) outcome {
	start := u.cfg.Now()
	o := outcome{id: r.ID}
	// No peer holds an upload longer than its size takes at the slowest
	// rate worth waiting for (each write must also progress: WriteStall).
	ctx, cancel := context.WithTimeout(parent, u.deadline(r.Size))
	defer cancel()
	sc, err := u.openStaged(r)
	if err != nil {
		return u.localFailure(r, err)
	}
	defer sc.close()

	req := archive.PutRequest{
		Key:         ObjectKey(r),
		SHA256:      r.SHA256,
		Size:        r.Size,
		Body:        sc.body,
		PartSize:    u.partSize(),
		Pace:        u.pace(),
		Metadata:    ObjectMetadata(r, u.cfg.Version),
		RetainUntil: u.retainUntil(r),
		LegalHold:   r.LegalHold,
		Tags:        archive.CaseTags(r.Cases, r.Sessions),
	}
	var parts []archive.UploadedPart
	if saved, ok, err := savedUpload(u.cat, r.ID); err != nil {
		return u.failed(r, o, err, archive.KindOf(err))
	} else if ok {
		req.Resume = &saved
		parts = saved.Parts
		u.log.Info("resuming multipart upload", keyID, r.ID, keySHA, r.SHA256, keyKey, req.Key, "parts_done", len(saved.Parts))
	}
	req.Save = func(m archive.MultipartUpload) error {
		parts = m.Parts
		return saveUpload(u.cat, r.ID, m)
	}

	info, err := u.store.Put(ctx, req)
	if err == nil {
		err = info.Check(req, parts)
	}
	if err == nil {
		err = u.confirmTags(ctx, info, req.Tags, true)
	}
	if err != nil {
		if parent.Err() != nil {
			o.err = parent.Err()
			return o // shutting down; resumable
		}
		if k := archive.KindOf(err); errors.Is(err, digest.ErrMismatch) || k == archive.KindRejected || k == "" {
			// The server refused the body, the bytes read differ from the
			// recorded hash, or reading failed: look at the staged copy
			// again (a large one is verified only as it is sent).
			if verr := u.staging.Verify(r.SHA256, r.Size); verr != nil {
				return u.localFailure(r, verr)
			}
		}
		return u.failed(r, o, err, archive.KindOf(err))
	}

	saved, err := u.commitHeld(ctx, r.ID, info)
	if errors.Is(err, errHoldNotOnVersion) {
		return u.failed(r, o, err, archive.KindOf(err)) // retried; the version is adopted then
	}
	if err != nil {
		u.m.Errors.WithLabelValues(errKindCatalog).Inc()
		o.err = err
		return o
	}
	u.retag(ctx, saved, req.Tags)
	u.m.Bytes.Add(float64(r.Size))
	u.m.Duration.Observe(u.cfg.Now().Sub(start).Seconds())
	u.log.Info("archived", keyID, r.ID, keySHA, r.SHA256, keyKey, info.Key, keyVersion, info.VersionID,
		"retain_until", info.RetainUntil.Format(time.RFC3339), "legal_hold", info.LegalHold)
	return o
}

// Request deadlines: a fixed allowance for the round trips, then the size
// at minRate, or, when lower, at half of one upload's share of the
// configured bandwidth limit (MaxUploads share it).
const (
	deadlineBase = 2 * time.Minute
	minRate      = 1 << 20 // bytes per second
)

// deadline is how long one upload of size bytes may take in all.
func (u *Uploader) deadline(size int64) time.Duration {
	rate := int64(minRate)
	if l := u.cfg.BandwidthLimit; l > 0 {
		rate = min(rate, max(l/int64(2*max(u.cfg.MaxUploads, 1)), 1))
	}
	return deadlineBase + time.Duration(size/rate)*time.Second
}

// confirmTags reads a version's tags back; when they are not want, it
// writes them once more and reads them again. fresh: the version was just
// put with want, so without tags there is nothing to read.
func (u *Uploader) confirmTags(ctx context.Context, info archive.ObjectInfo, want map[string]string, fresh bool) error {
	if fresh && len(want) == 0 {
		return nil // a version just put without tags has none: nothing to read back
	}
	got, err := u.store.Tags(ctx, info.Key, info.VersionID)
	if err == nil && !maps.Equal(got, want) && (len(got) > 0 || len(want) > 0) {
		if err = u.store.SetTags(ctx, info.Key, info.VersionID, want); err == nil {
			got, err = u.store.Tags(ctx, info.Key, info.VersionID)
		}
		if err == nil && !maps.Equal(got, want) {
			err = &archive.Error{Op: "tag", Key: info.Key, Kind: archive.KindServer,
				Err: fmt.Errorf("tags read back %v, sent %v", got, want)}
		}
	}
	return err
}

// retag brings an archived version's tags in line with its record when a
// case or session was linked while it uploaded: the link saw no archived
// object to tag. A link after the commit tags the object itself; a failure
// here is logged, and the next link or hold writes the tags again.
func (u *Uploader) retag(ctx context.Context, r catalog.Recording, sent map[string]string) {
	want := archive.CaseTags(r.Cases, r.Sessions)
	if maps.Equal(want, sent) {
		return
	}
	if err := u.confirmTags(ctx, archive.ObjectInfo{Key: r.ArchiveKey, VersionID: r.ArchiveVersion}, want, false); err != nil {
		u.log.Warn("case tags of the archived object are behind its record", keyID, r.ID, keyKey, r.ArchiveKey, "err", err)
	}
}

// retainUntil is retention's date for r, moved to MinLock from now when it
// has passed already: S3 refuses a lock date in the past. The planner
// still sees the date retention gives.
func (u *Uploader) retainUntil(r catalog.Recording) time.Time {
	t := u.cfg.RetainUntil(r)
	if floor := u.cfg.Now().Add(u.cfg.MinLock); t.Before(floor) {
		t = floor
	}
	if t2 := t.Truncate(time.Second); !t2.Equal(t) {
		t = t2.Add(time.Second)
	}
	return t.UTC()
}

// partTime is how long one part may take at an upload's share of the
// bandwidth limit: what a restart can lose of each upload in flight.
const partTime = 2 * time.Second

// partSize is the part size under the bandwidth limit: what one upload's
// share of it sends in partTime, in whole MiB (the archive raises it to
// S3's 5 MiB minimum and lowers it to its own part size). 0 without a
// limit: the archive's part size.
func (u *Uploader) partSize() int64 {
	if u.cfg.BandwidthLimit <= 0 {
		return 0
	}
	share := u.cfg.BandwidthLimit / int64(u.uploadsAtOnce())
	return max(share*int64(partTime/time.Second)>>20, 1) << 20
}

// uploadsAtOnce is MaxUploads, or fewer when the bandwidth limit shared
// that many ways sends less than a 5 MiB part (S3's smallest) in partTime:
// on a slow link each upload in flight only slows the others, and a part
// that takes long is lost to a restart. The bytes per second are the same.
func (u *Uploader) uploadsAtOnce() int {
	if l := u.cfg.BandwidthLimit; l > 0 {
		fit := l * int64(partTime/time.Second) / archive.MinPartSize
		return int(max(min(int64(u.cfg.MaxUploads), fit), 1))
	}
	return u.cfg.MaxUploads
}

// pace applies the bandwidth limit to the bytes sent; nil without one.
func (u *Uploader) pace() func(ctx context.Context, n int) error {
	if u.limiter == nil {
		return nil
	}
	return func(ctx context.Context, n int) error {
		for n > 0 {
			chunk := min(n, u.limiter.Burst())
			if err := u.limiter.WaitN(ctx, chunk); err != nil {
				return err
			}
			n -= chunk
		}
		return nil
	}
}
