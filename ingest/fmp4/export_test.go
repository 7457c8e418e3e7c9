package fmp4

import (
	"bytes"
	"io"
	"time"
)

// What the tests read of a segment the way recovery does.

// MarshalInit is the init a Segmenter writes for tracks.
func MarshalInit(tracks []Track) ([]byte, error) {
	return marshalInit(NewSegmenter("", "", 0, 0, tracks).tracks)
}

// InitCodecs names the tracks of an init.
func InitCodecs(b []byte) []string {
	c, _ := inspect(bytes.NewReader(b), int64(len(b)))
	return c.init.codecs
}

// Inspect reads a segment of size bytes in r as Repair does, without
// changing it: where its complete fragments end and its media time.
func Inspect(r io.ReaderAt, size int64) (good int64, media time.Duration, err error) {
	c, err := inspect(r, size)
	return c.good, c.media, err
}

// ParseName is the start time recovery reads from a segment's name.
var ParseName = parseName
