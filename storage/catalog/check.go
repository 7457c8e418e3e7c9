package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// ErrIndex is wrapped by every disagreement Check finds between the
// records and their indexes or counts.
var ErrIndex = errors.New("index disagrees with the records")

// CheckReport is what Check read.
type CheckReport struct {
	Records, Events, IndexEntries int
	// JSONRecords and JSONEvents are values still in the JSON of schema 2
	// (compact rewrites them).
	JSONRecords, JSONEvents int
	// CaseIndexPending: a catalog from schema 2 whose case index compact
	// has not built yet; it is not compared.
	CaseIndexPending bool
}

// Check verifies the whole catalog: the custody chain (VerifyEvents),
// every record against the trail (VerifyRecords), and every index and
// count against what the records say, as a rebuild would write them. It
// streams through the records and the indexes twice, holding no more
// than a count per index, and stops at the first problem.
func (c *Catalog) Check() (CheckReport, error) {
	var rep CheckReport
	var err error
	if rep.Events, rep.Records, err = c.VerifyAll(context.Background(), nil); err != nil {
		return rep, err
	}
	rep.CaseIndexPending = !c.caseIndexed
	err = c.db.View(func(tx *bolt.Tx) error {
		want, err := checkRecordIndexes(tx, &rep)
		if err != nil {
			return err
		}
		if err := checkIndexCounts(tx, want, &rep); err != nil {
			return err
		}
		return tx.Bucket(bucketEvents).ForEach(func(_, v []byte) error {
			if len(v) > 0 && v[0] == formatJSON {
				rep.JSONEvents++
			}
			return nil
		})
	})
	return rep, err
}

// checkRecordIndexes checks that every entry each record calls for is in
// its index, and counts the entries of each index and each state.
func checkRecordIndexes(tx *bolt.Tx, rep *CheckReport) (map[string]int, error) {
	want := map[string]int{}
	counts := map[State]int{}
	err := tx.Bucket(bucketRecordings).ForEach(func(k, v []byte) error {
		if len(v) > 0 && v[0] == formatJSON {
			rep.JSONRecords++
		}
		r, err := decodeRecording(v)
		if err != nil {
			return fmt.Errorf("decode recording %d: %w", binary.BigEndian.Uint64(k), err)
		}
		counts[r.State]++
		if r.Permanent() {
			counts[countHeld]++
		}
		for _, e := range indexes(&r) {
			if rep.CaseIndexPending && bytes.Equal(e.bucket, bucketIdxCase) {
				continue
			}
			got := tx.Bucket(e.bucket).Get(e.key)
			switch {
			case got == nil:
				return fmt.Errorf("%w: %s lacks the entry of recording %d", ErrIndex, e.bucket, r.ID)
			case !e.unique && !bytes.Equal(got, e.value):
				return fmt.Errorf("%w: %s holds another value for recording %d", ErrIndex, e.bucket, r.ID)
			case !e.unique:
				want[string(e.bucket)]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return want, tx.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
		if n := int(binary.BigEndian.Uint64(v)); n != counts[State(k)] {
			return fmt.Errorf("%w: count of %s is %d, the records say %d", ErrIndex, k, n, counts[State(k)])
		}
		return nil
	})
}

// checkIndexCounts finds entries no record calls for: a non-unique index
// with more entries than its records want, or a unique entry naming a
// record that does not call for it.
func checkIndexCounts(tx *bolt.Tx, want map[string]int, rep *CheckReport) error {
	for _, name := range allBuckets {
		if !isIndex(name) || rep.CaseIndexPending && bytes.Equal(name, bucketIdxCase) {
			continue
		}
		b := tx.Bucket(name)
		if bytes.Equal(name, bucketIdxContent) || bytes.Equal(name, bucketIdxQuick) {
			if err := checkUnique(tx, name); err != nil {
				return err
			}
			rep.IndexEntries += b.Stats().KeyN
			continue
		}
		n := b.Stats().KeyN
		rep.IndexEntries += n
		if n != want[string(name)] {
			return fmt.Errorf("%w: %s has %d entries, the records call for %d", ErrIndex, name, n, want[string(name)])
		}
	}
	return nil
}

func checkUnique(tx *bolt.Tx, name []byte) error {
	return tx.Bucket(name).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("%w: %s entry without a recording id", ErrIndex, name)
		}
		r, err := getRecording(tx, binary.BigEndian.Uint64(v))
		if err != nil {
			return fmt.Errorf("%w: %s names recording %d: %w", ErrIndex, name, binary.BigEndian.Uint64(v), err)
		}
		for _, e := range indexes(&r) {
			if bytes.Equal(e.bucket, name) && bytes.Equal(e.key, k) {
				return nil
			}
		}
		return fmt.Errorf("%w: %s names recording %d under a key it does not have", ErrIndex, name, r.ID)
	})
}

// isIndex reports whether a bucket holds only entries that follow from the
// records (idx_*, sessions' own index aside).
func isIndex(name []byte) bool {
	return bytes.HasPrefix(name, []byte("idx_")) && !bytes.Equal(name, bucketIdxSession)
}
