package admin

import (
	"custodian/admin/api"
	"custodian/storage/catalog"
)

// The API's view of the catalog. Flat records convert directly: Go allows
// that only while both types have the same fields in the same order, so a
// field the catalog gains stops the build here until someone decides
// whether the API sends it. The recording lists its fields instead, since
// its holds are a list of their own type.

// APIRecording is the API's view of a catalog record.
func APIRecording(r catalog.Recording) api.Recording {
	return api.Recording{
		ID: r.ID, Station: r.Station, Source: r.Source, SourceID: r.SourceID, Slot: r.Slot,
		Device: r.Device, Officer: r.Officer, Profile: r.Profile,
		Name: r.Name, NameRaw: r.NameRaw, RelPath: r.RelPath, Ext: r.Ext, Kind: r.Kind, Seq: r.Seq,
		StartedAt: r.StartedAt, CameraTime: r.CameraTime, ModTime: r.ModTime, ReceivedAt: r.ReceivedAt,
		CameraClockOffset: r.CameraClockOffset, CameraClockBasis: r.CameraClockBasis,
		Size: r.Size, SHA256: r.SHA256, Important: r.Important, Locked: r.Locked, Flags: r.Flags,
		State: r.State, StagedAt: r.StagedAt, VerifiedAt: r.VerifiedAt, ReleasedAt: r.ReleasedAt,
		PendingRelease: r.PendingRelease, UpdatedAt: r.UpdatedAt,
		ArchiveKey: r.ArchiveKey, ArchiveVersion: r.ArchiveVersion, ArchivedAt: r.ArchivedAt, RetainUntil: r.RetainUntil,
		LegalHold: r.LegalHold, UploadAttempts: r.UploadAttempts, LastUploadError: r.LastUploadError,
		Holds: api.List(r.Holds, func(h catalog.Hold) api.Hold { return api.Hold(h) }),
		Cases: r.Cases, EvictedAt: r.EvictedAt, ExpiringAt: r.ExpiringAt, DeleteMarker: r.DeleteMarker, ExpiredAt: r.ExpiredAt,
		EndedAt: r.EndedAt, Codecs: r.Codecs, Case: r.Case, Subject: r.Subject, Officers: r.Officers, Sessions: r.Sessions,
	}
}

// APIGap is the API's view of a room's gap.
func APIGap(g catalog.Gap) api.Gap { return api.Gap(g) }

// APISession is the API's view of an interview session.
func APISession(s catalog.Session) api.Session { return api.Session(s) }

func apiEvent(e catalog.Event) api.Event { return api.Event(e) }

// orEmpty is s, or an empty list for a body that sends [] rather than null.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
