package catalog

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// schema1Catalog is a copy of testdata/v1.db.gz, a catalog the last schema
// 1 custodian wrote (testdata/mkv1).
func schema1Catalog(t *testing.T) string { return unzipCatalog(t, "v1.db.gz") }

// unzipCatalog copies testdata/name, gzipped, to a catalog file of the test.
func unzipCatalog(t *testing.T, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "custodian.db")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, z); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// v1Newest is the newest received_at in testdata/v1.db.gz.
var v1Newest = time.Date(2027, 1, 21, 8, 30, 0, 0, time.UTC)

func TestUpgradeFromSchema1(t *testing.T) {
	path := schema1Catalog(t)
	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "start custodian serve once") {
		t.Fatalf("read-only open of schema 1: %v", err)
	}
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkUpgraded(t, c)
}

// checkUpgraded checks the indexes of testdata/v1.db.gz after an upgrade.
func checkUpgraded(t *testing.T, c *Catalog) {
	t.Helper()
	checkIndexes(t, c, v1Newest)
	want := []struct {
		bucket []byte
		ids    []uint64
	}{
		{bucketIdxRetain, []uint64{2, 3, 4, 7, 13, 14, 15, 16, 17, 18}},
		{bucketIdxEvict, []uint64{3, 5, 6, 7, 13}},
		{bucketIdxGrace, []uint64{8}},
		{bucketIdxUnmark, []uint64{9}},
		{bucketIdxLegal, []uint64{5, 7, 9}},
		{bucketIdxLocal, []uint64{1, 2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 17, 18}},
		{bucketIdxRoom, []uint64{15, 16, 17}},
	}
	for _, w := range want {
		ids := indexIDs(t, c, w.bucket)
		slices.Sort(ids)
		if !slices.Equal(ids, w.ids) {
			t.Errorf("%s: %v, want %v", w.bucket, ids, w.ids)
		}
	}
	c.db.View(func(tx *bolt.Tx) error {
		if v := string(tx.Bucket(bucketMeta).Get(keySchema)); v != SchemaVersion {
			t.Errorf("schema %q", v)
		}
		if tx.Bucket(bucketMeta).Get(keyUpgrade) != nil {
			t.Error("upgrade mark left behind")
		}
		return nil
	})
	// The trail the old version wrote still holds, and goes on.
	if n, err := c.VerifyEvents(); err != nil || n == 0 {
		t.Fatalf("trail after upgrade: %d %v", n, err)
	}
}

// A crash between two upgrade batches: the batches done stay, a read-only
// open refuses the half-built indexes, and the next open finishes the rest.
func TestUpgradeResumesAfterCrash(t *testing.T) {
	path := schema1Catalog(t)
	db, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(initSchema); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if done, err := upgradeStep(db, 4); err != nil || done {
			t.Fatalf("batch: done %v, %v", done, err)
		}
	}
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketIdxLocal).Stats().KeyN; n == 0 || n >= 13 {
			t.Errorf("after two batches of four, %d local copies indexed", n)
		}
		return nil
	})
	db.Close() // the crash

	if _, err := Open(path, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "upgrade unfinished") {
		t.Fatalf("read-only open mid-upgrade: %v", err)
	}
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkUpgraded(t, c)
}
