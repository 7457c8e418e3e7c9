package archive

import "testing"

// A request's part size is a wish below the client's: never under S3's
// 5 MiB, never over the client's, doubled until 10,000 parts hold it all.
func TestPartSizeFor(t *testing.T) {
	a := &Client{partSize: DefaultPartSize}
	for _, tc := range []struct {
		name       string
		size, want int64
		part       int64
	}{
		{"client's by default", 30 << 20, DefaultPartSize, 0},
		{"smaller when asked", 30 << 20, 5 << 20, 5 << 20},
		{"whole MiB asked", 30 << 20, 9 << 20, 9 << 20},
		{"never under 5 MiB", 30 << 20, MinPartSize, 1 << 20},
		{"never over the client's", 30 << 20, DefaultPartSize, 64 << 20},
		{"10,000 parts at most", 100 << 30, 20 << 20, 5 << 20},
		{"huge file, client's size doubled", 1 << 40, 128 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := a.partSizeFor(PutRequest{Size: tc.size, PartSize: tc.part})
			if got != tc.want {
				t.Errorf("part size %d for %d bytes asked %d, want %d", got, tc.size, tc.part, tc.want)
			}
			if n := (tc.size + got - 1) / got; n > maxParts {
				t.Errorf("%d parts", n)
			}
		})
	}
}
