package upload

import "testing"

// Under a bandwidth limit a part takes about 2 s at one upload's share,
// and fewer uploads go at once when a share could not send 5 MiB in that
// time (each part of a slow link is what a restart can lose).
func TestPartSizeFollowsBandwidthLimit(t *testing.T) {
	e := newUploaderEnv(t)
	for _, tc := range []struct {
		name       string
		limit      int64
		uploads    int
		wantAtOnce int
		wantPart   int64
	}{
		{"no limit: the archive's part size", 0, 4, 4, 0},
		{"6MB: two uploads of 5 MiB parts", 6_000_000, 4, 2, 5 << 20},
		{"20MB: four uploads of 9 MiB parts", 20_000_000, 4, 4, 9 << 20},
		{"1MiB: one upload (archive raises the part to 5 MiB)", 1 << 20, 4, 1, 2 << 20},
		{"100MB: 47 MiB (archive lowers it to its part size)", 100_000_000, 4, 4, 47 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := e.uploader(t, func(c *Config) { c.BandwidthLimit, c.MaxUploads = tc.limit, tc.uploads })
			if got := u.uploadsAtOnce(); got != tc.wantAtOnce {
				t.Errorf("uploads at once %d, want %d", got, tc.wantAtOnce)
			}
			if got := u.partSize(); got != tc.wantPart {
				t.Errorf("part size %d, want %d", got, tc.wantPart)
			}
		})
	}
}
