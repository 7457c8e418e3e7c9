package fmp4

import "time"

// What the tests read of a segment the way recovery does.

// MarshalInit is the init a Segmenter writes for tracks.
func MarshalInit(tracks []Track) ([]byte, error) {
	return marshalInit(NewSegmenter("", "", 0, 0, tracks).tracks)
}

// InitCodecs names the tracks of an init.
func InitCodecs(b []byte) []string { return readInits(b).codecs }

// Layout is where the complete fragments of b end, where its init ends,
// and its media time.
func Layout(b []byte) (good, moovEnd int64, media time.Duration) {
	good, moovEnd = completePrefix(b)
	return good, moovEnd, mediaDuration(b[:good], moovEnd, readInits(b[:moovEnd]).scales)
}
