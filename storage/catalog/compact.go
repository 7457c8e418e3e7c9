package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// compactBatch is how many keys one transaction of the copy writes.
const compactBatch = 50_000

// CompactReport is what Compact did.
type CompactReport struct {
	Before, After int64 // file sizes in bytes
	// Kept is where the catalog as it was is kept (the caller removes it
	// when it no longer wants it).
	Kept  string
	Check CheckReport
}

// Compact rewrites the catalog at path, which no process may hold open:
// into a new file beside it, bucket by bucket in key order with pages
// packed full, every record and event in formatV1 where it round-trips
// (codec.go). It then checks the copy as Check does, and appends a
// migrated event to its trail; only then does the copy take the
// catalog's name, and the old file is kept as path + ".pre-compact". A
// failure leaves the catalog as it was.
func Compact(path string, now func() time.Time) (CompactReport, error) {
	var rep CompactReport
	tmp, kept := path+".compact", path+".pre-compact"
	if _, err := os.Stat(kept); err == nil {
		return rep, fmt.Errorf("compact %s: %s exists from an earlier compaction; remove it first", path, kept)
	}
	// A writable open takes the file lock: no daemon runs meanwhile.
	src, err := bolt.Open(path, 0o640, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, berrors.ErrTimeout) {
		return rep, fmt.Errorf("compact %s: %w", path, ErrLocked)
	}
	if err != nil {
		return rep, fmt.Errorf("compact %s: %w", path, err)
	}
	defer src.Close()
	if err := src.View(checkReadable); err != nil {
		return rep, fmt.Errorf("compact %s: %w", path, err)
	}
	_ = os.Remove(tmp) // a copy an interrupted compaction left
	if err := copyCatalog(src, tmp); err != nil {
		os.Remove(tmp)
		return rep, fmt.Errorf("compact %s: %w", path, err)
	}
	if rep.Check, err = checkCompacted(tmp, now); err != nil {
		os.Remove(tmp)
		return rep, fmt.Errorf("compact %s: the copy does not check: %w", path, err)
	}
	if err := os.Rename(path, kept); err != nil {
		os.Remove(tmp)
		return rep, fmt.Errorf("compact %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return rep, fmt.Errorf("compact %s: the catalog is at %s, the compacted copy at %s: %w", path, kept, tmp, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return rep, fmt.Errorf("compact %s: %w", path, err)
	}
	rep.Kept = kept
	rep.Before, rep.After = fileSize(kept), fileSize(path)
	return rep, nil
}

// copyCatalog copies every bucket of src into a new file at dst,
// re-encoding records and events, and marks it schema 3.
func copyCatalog(src *bolt.DB, dst string) error {
	out, err := bolt.Open(dst, 0o640, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return err
	}
	defer out.Close()
	err = src.View(func(stx *bolt.Tx) error {
		return stx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return copyBucket(out, name, b, recordSHA(stx))
		})
	})
	if err != nil {
		return err
	}
	if err := buildCaseIndex(src, out); err != nil {
		return err
	}
	err = out.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, []byte(SchemaVersion))
	})
	if err != nil {
		return err
	}
	return out.Sync()
}

// buildCaseIndex fills idx_case in out from src's records, unless src's is
// complete (a catalog from schema 2 has none), compactBatch records a
// transaction.
func buildCaseIndex(src, out *bolt.DB) error {
	return src.View(func(stx *bolt.Tx) error {
		if stx.Bucket(bucketMeta).Get(keyCaseIndexed) != nil {
			return nil
		}
		cur := stx.Bucket(bucketRecordings).Cursor()
		k, v := cur.First()
		for first := true; first || k != nil; first = false {
			err := out.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists(bucketIdxCase)
				if err != nil {
					return err
				}
				b.FillPercent = fillMostly
				for i := 0; k != nil && i < compactBatch; k, v = cur.Next() {
					r, err := decodeRecording(v)
					if err != nil {
						return fmt.Errorf("decode recording %d: %w", binary.BigEndian.Uint64(k), err)
					}
					for _, c := range r.Cases {
						if err := b.Put(join([]byte(c), sep, u64(r.ID)), []byte{}); err != nil {
							return err
						}
					}
					i++
				}
				if k == nil {
					return tx.Bucket(bucketMeta).Put(keyCaseIndexed, []byte{1})
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("build the case index: %w", err)
			}
		}
		return nil
	})
}

// copyBucket copies one bucket in transactions of compactBatch keys.
func copyBucket(out *bolt.DB, name []byte, b *bolt.Bucket, sha shaOf) error {
	cur := b.Cursor()
	k, v := cur.First()
	prev := "" // the hash of the event before, for formatV1 events
	for first := true; first || k != nil; first = false {
		err := out.Update(func(tx *bolt.Tx) error {
			ob, err := tx.CreateBucketIfNotExists(name)
			if err != nil {
				return err
			}
			ob.FillPercent = fillAppend // keys arrive in order
			if err := ob.SetSequence(b.Sequence()); err != nil {
				return err
			}
			for i := 0; k != nil && i < compactBatch; k, v = cur.Next() {
				val, err := recode(name, k, v, &prev, sha)
				if err != nil {
					return err
				}
				if err := ob.Put(k, val); err != nil {
					return err
				}
				i++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
	}
	return nil
}

// recode is a value as the compacted catalog stores it.
func recode(bucket, k, v []byte, prev *string, sha shaOf) ([]byte, error) {
	switch string(bucket) {
	case string(bucketRecordings):
		r, err := decodeRecording(v)
		if err != nil {
			return nil, fmt.Errorf("decode recording %d: %w", binary.BigEndian.Uint64(k), err)
		}
		return encodeRecording(&r)
	case string(bucketEvents):
		seq := binary.BigEndian.Uint64(k)
		e, err := trailEvent(seq, v, *prev, sha)
		if err != nil {
			return nil, err
		}
		*prev = e.Hash
		var recSHA string
		if e.Recording != 0 {
			recSHA = sha(e.Recording)
		}
		return encodeEvent(e, recSHA)
	}
	return v, nil
}

// checkCompacted opens the copy as a catalog, checks it and records the
// compaction in its trail.
func checkCompacted(path string, now func() time.Time) (CheckReport, error) {
	c, err := Open(path, Options{Now: now})
	if err != nil {
		return CheckReport{}, err
	}
	defer c.Close()
	rep, err := c.Check()
	if err != nil {
		return rep, err
	}
	err = c.Append(Event{Type: EventMigrated, Detail: fmt.Sprintf(
		// values the binary form cannot give back exactly (a time in a
		// zone other than UTC) stay JSON, and the event says how many
		"catalog compacted: %d records and %d events rewritten, binary format 1 (%d records and %d events kept as JSON); trail, records and %d index entries checked",
		rep.Records, rep.Events, rep.JSONRecords, rep.JSONEvents, rep.IndexEntries)})
	if err != nil {
		return rep, err
	}
	return rep, c.db.Sync()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
