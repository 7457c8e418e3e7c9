package upload

import (
	"context"
	"errors"
	"fmt"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// errHoldNotOnVersion: the recording was held while it uploaded and the
// legal hold could not be put on the new version yet. The record stays
// unarchived, still showing its hold, and the upload is tried again.
var errHoldNotOnVersion = errors.New("held while it uploaded; legal hold not on the archived version yet")

// errHoldFirst ends a commit transaction that found the record held and
// the version without a legal hold.
var errHoldFirst = errors.New("hold the version first")

// commitHeld marks recording id archived as info. A hold that landed while
// the object uploaded is put on the version first, and read back, so the
// record never shows a held recording without its legal hold; whether it
// is needed is decided again inside the commit's transaction, since a hold
// can land between any two steps.
func (u *Uploader) commitHeld(ctx context.Context, id uint64, info archive.ObjectInfo) (catalog.Recording, error) {
	for range 3 {
		saved, err := u.commit(id, info)
		if !errors.Is(err, errHoldFirst) {
			return saved, err
		}
		if err := u.holdVersion(ctx, &info); err != nil {
			return catalog.Recording{}, fmt.Errorf("%w: %w", errHoldNotOnVersion, err)
		}
		u.log.Info("legal hold set on a version held while it uploaded", keyID, id, keyKey, info.Key, keyVersion, info.VersionID)
	}
	return catalog.Recording{}, errHoldNotOnVersion
}

// commit marks recording id archived as info, with its custody event, or
// returns errHoldFirst when the record is held and info has no legal hold.
func (u *Uploader) commit(id uint64, info archive.ObjectInfo) (catalog.Recording, error) {
	return u.cat.Update(id, func(x *catalog.Recording) error {
		if x.Permanent() && !info.LegalHold {
			return errHoldFirst
		}
		x.State = catalog.StateArchived
		x.ArchiveKey = info.Key
		x.ArchiveVersion = info.VersionID
		x.ArchivedAt = u.cfg.Now().UTC()
		x.RetainUntil = info.RetainUntil
		x.LegalHold = info.LegalHold
		x.UploadAttempts = 0
		x.LastUploadError = ""
		return nil
	}, catalog.Event{Type: catalog.EventArchived, Detail: fmt.Sprintf("%s version %s, %s until %s, legal hold %v",
		info.Key, info.VersionID, info.RetentionMode, info.RetainUntil.Format(time.RFC3339), info.LegalHold)})
}

// holdVersion puts the legal hold on info's version and reads it back.
func (u *Uploader) holdVersion(ctx context.Context, info *archive.ObjectInfo) error {
	h, ok := u.store.(interface {
		SetLegalHold(ctx context.Context, key, versionID string, on bool) error
	})
	if !ok {
		return &archive.Error{Op: "legal hold", Key: info.Key, Kind: archive.KindRejected, Err: errors.New("the archive cannot set legal holds")}
	}
	if err := h.SetLegalHold(ctx, info.Key, info.VersionID, true); err != nil {
		return err
	}
	got, err := u.store.Head(ctx, info.Key, info.VersionID)
	if err != nil {
		return err
	}
	if !got.LegalHold {
		return &archive.Error{Op: "legal hold", Key: info.Key, Kind: archive.KindServer, Err: errors.New("legal hold set but not read back")}
	}
	info.LegalHold = true
	return nil
}
