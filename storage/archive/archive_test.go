package archive_test

import (
	"testing"

	"custodian/storage/archive"
	"custodian/storage/archive/archivetest"
)

func TestArchiveConformanceFake(t *testing.T) {
	archivetest.Conformance(t, func(t *testing.T) archivetest.Store { return archivetest.NewFake(archivetest.PartSize) })
}

func TestCompositeChecksum(t *testing.T) {
	parts := []archive.UploadedPart{
		{Number: 2, SHA256: "YmJi"}, // order must not matter
		{Number: 1, SHA256: "YWFh"},
	}
	got, err := archive.CompositeChecksum(parts)
	if err != nil {
		t.Fatal(err)
	}
	// sha256("aaabbb") in base64, then the part count.
	if want := "LOEJ6dD6+CCyQ04WYpeTTmF3tlq5lR28PiBMrUaJs5w=-2"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
