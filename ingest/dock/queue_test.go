package dock

import (
	"fmt"
	"io/fs"
	"testing"
	"time"
)

type fakeInfo struct {
	fs.FileInfo
	size  int64
	mtime time.Time
}

func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) ModTime() time.Time { return f.mtime }

func queued(slot string, i int, size int64) candidate {
	p := fmt.Sprintf("%s/%04d", slot, i)
	return candidate{slot: slot, path: p, rel: p, info: fakeInfo{size: size, mtime: time.Unix(int64(i), 0)}}
}

// The camera with the least to copy goes first, but a camera passed over
// for starveAfter gets the next copy, one such copy at a time.
func TestQueueLeastFirstNoStarving(t *testing.T) {
	q := newQueue()
	t0 := time.Now()
	for i := range 100 {
		q.push(queued("big", i, 1<<30), t0, t0)
	}
	take := func(now time.Time) (candidate, bool) {
		c, aged, ok := q.take(now)
		if !ok {
			t.Fatal("nothing to take")
		}
		return c, aged
	}
	c, _ := take(t0)
	if c.slot != "big" || c.path != "big/0000" {
		t.Fatalf("took %s", c.path)
	}
	q.done(c, false, t0)
	// A small camera docks: it goes next.
	q.push(queued("small", 0, 10), t0.Add(time.Second), t0.Add(time.Second))
	if c, _ := take(t0.Add(time.Second)); c.slot != "small" {
		t.Fatalf("took %s, want the small camera's", c.path)
	}
	// A second big one docks while the first still has more to copy than it:
	// it waits, until starveAfter has passed.
	t1 := t0.Add(2 * time.Second)
	for i := range 200 {
		q.push(queued("bigger", i, 1<<30), t1, t1)
	}
	if c, _ := take(t1); c.slot != "big" {
		t.Fatalf("took %s", c.path)
	}
	late := t1.Add(starveAfter)
	c, aged := take(late)
	if c.slot != "bigger" || !aged {
		t.Fatalf("took %s aged %v, want the waiting camera's", c.path, aged)
	}
	if c, aged := take(late); c.slot != "big" || aged {
		t.Fatalf("second take %s aged %v: one aged copy at a time", c.path, aged)
	}
	q.done(c, true, late)
}

// A file that leaves the camera while it waits is never handed out, and
// an unplugged camera's slot is gone once its files are.
func TestQueueDrop(t *testing.T) {
	q := newQueue()
	now := time.Now()
	for i := range 3 {
		q.push(queued("cam1", i, 10), now, now)
	}
	q.drop("cam1", "cam1/0001", 10)
	var got []string
	for {
		c, aged, ok := q.take(now)
		if !ok {
			break
		}
		got = append(got, c.path)
		q.done(c, aged, now)
	}
	if len(got) != 2 || got[0] != "cam1/0000" || got[1] != "cam1/0002" || !q.idle() {
		t.Fatalf("took %v", got)
	}
	for i := range 1000 {
		q.push(queued("cam2", i, 10), now, now)
	}
	for i := range 1000 {
		q.drop("cam2", queued("cam2", i, 10).path, 10)
	}
	if _, _, ok := q.take(now); ok || !q.idle() || len(q.slots) != 0 {
		t.Fatal("an unplugged camera's files are still handed out")
	}
}
