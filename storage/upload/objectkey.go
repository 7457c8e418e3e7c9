package upload

import (
	"fmt"
	"mime"
	"strconv"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// ObjectKey is where a recording goes in the archive:
// <station>/<yyyy>/<mm>/<dd>/<officer-or-room>/<sha256>.<ext>, dated by the
// UTC day of the recording's start. Every part is a validated id or a hash,
// never a name from a device.
func ObjectKey(r catalog.Recording) string {
	who := r.Officer
	if who == "" && r.Source == catalog.SourceRoom {
		who = r.SourceID
	}
	if who == "" {
		who = "unknown"
	}
	ext := r.Ext
	if ext == "" {
		ext = "bin"
	}
	return fmt.Sprintf("%s/%s/%s/%s.%s", r.Station, r.StartedAt.UTC().Format("2006/01/02"), who, r.SHA256, ext)
}

// ObjectMetadata is the user metadata stored with a recording's object.
// Values are HTTP header values: anything but printable ASCII (a Chinese
// file name) is RFC 2047 encoded, as S3 asks.
func ObjectMetadata(r catalog.Recording, version string) map[string]string {
	m := map[string]string{
		archive.MetaSHA256:       r.SHA256,
		archive.MetaSize:         strconv.FormatInt(r.Size, 10),
		archive.MetaStation:      r.Station,
		archive.MetaSource:       string(r.Source),
		archive.MetaSourceID:     r.SourceID,
		archive.MetaStartedAt:    r.StartedAt.UTC().Format(time.RFC3339),
		archive.MetaOriginalName: headerValue(r.OriginalName()),
		archive.MetaVersion:      headerValue(version),
	}
	if r.Device != "" {
		m[archive.MetaDevice] = headerValue(r.Device)
	}
	if r.Officer != "" {
		m[archive.MetaOfficer] = headerValue(r.Officer)
	}
	return m
}

func headerValue(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return mime.BEncoding.Encode("UTF-8", s)
		}
	}
	return s
}
