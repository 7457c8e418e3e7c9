package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// upgradeBatch is how many records one upgrade transaction indexes: a
// transaction's dirty pages stay a few megabytes, whatever the catalog's size.
const upgradeBatch = 20_000

// initSchema makes a new catalog, or checks an existing one and marks a
// schema 1 catalog for the upgrade that follows. A schema 1 or 2 catalog
// becomes schema 3 with a custody event that says so.
func (c *Catalog) initSchema(tx *bolt.Tx) error {
	var from string
	if meta := tx.Bucket(bucketMeta); meta != nil {
		from = string(meta.Get(keySchema))
	}
	if err := initSchema(tx); err != nil {
		return err
	}
	if from != schema1 && from != schema2 {
		return nil
	}
	return c.appendEvents(tx, nil, []Event{{Type: EventMigrated, Detail: fmt.Sprintf(
		"catalog schema %s to %s: new records and events are written in binary format 1, older ones read as they are (JSON)",
		from, SchemaVersion)}})
}

func initSchema(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	switch string(meta.Get(keySchema)) {
	case "":
		if err := meta.Put(keyCaseIndexed, []byte{1}); err != nil {
			return err
		}
		return meta.Put(keySchema, []byte(SchemaVersion))
	case schema2:
		// From here on an older custodian refuses the catalog: it cannot
		// read binary values, nor keep the two-person rule. The approval
		// buckets made above start empty; idx_case stays incomplete (case
		// listings read every record) until catalog compact builds it:
		// reading a million records would hold the start up for half a
		// minute.
		return meta.Put(keySchema, []byte(SchemaVersion))
	case schema1:
		// From here on an older custodian refuses the catalog: it would
		// change records without keeping the new indexes.
		if err := meta.Put(keyUpgrade, u64(0)); err != nil {
			return err
		}
		return meta.Put(keySchema, []byte(SchemaVersion))
	}
	return checkSchema(tx)
}

func checkSchema(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return errors.New("not a custodian catalog (no meta bucket)")
	}
	switch v := string(meta.Get(keySchema)); v {
	case SchemaVersion, schema2:
		// Schema 2 is all JSON, which schema 3 reads; a read-only open
		// finds no approval buckets and reads them as empty.
		return nil
	case schema1:
		return fmt.Errorf("catalog schema %q, this custodian reads %q: start custodian serve once to upgrade it", v, SchemaVersion)
	default:
		return fmt.Errorf("catalog schema %q, this custodian reads %q", v, SchemaVersion)
	}
}

// checkReadable is checkSchema for a read-only open, which cannot finish
// an interrupted upgrade and must not read half-built indexes.
func checkReadable(tx *bolt.Tx) error {
	if err := checkSchema(tx); err != nil {
		return err
	}
	if tx.Bucket(bucketMeta).Get(keyUpgrade) != nil {
		return errors.New("catalog upgrade unfinished: start custodian serve to finish it")
	}
	return nil
}

// upgrade builds the indexes schema 2 added from the records, n records per
// transaction. Each transaction commits its entries with the last id it
// indexed, so a crash in between resumes after that id; it ends by
// removing the mark. Nothing else writes while it runs: it is part of Open.
func upgrade(db *bolt.DB, n int) error {
	var pending bool
	err := db.View(func(tx *bolt.Tx) error {
		pending = tx.Bucket(bucketMeta).Get(keyUpgrade) != nil
		return nil
	})
	if err != nil || !pending {
		return err
	}
	for {
		done, err := upgradeStep(db, n)
		if err != nil {
			return fmt.Errorf("upgrade to schema %s: %w", SchemaVersion, err)
		}
		if done {
			return nil
		}
	}
}

func upgradeStep(db *bolt.DB, n int) (done bool, err error) {
	err = update(db, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keyUpgrade)
		if v == nil {
			done = true
			return nil
		}
		last := binary.BigEndian.Uint64(v)
		cur := tx.Bucket(bucketRecordings).Cursor()
		k, val := cur.Seek(u64(last + 1))
		for i := 0; k != nil && i < n; k, val = cur.Next() {
			r, err := decodeRecording(val)
			if err != nil {
				return fmt.Errorf("decode recording %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if err := putSchema2Entries(tx, &r); err != nil {
				return err
			}
			last, i = r.ID, i+1
		}
		if k == nil {
			done = true
			if err := meta.Put(keyCaseIndexed, []byte{1}); err != nil {
				return err
			}
			return meta.Delete(keyUpgrade)
		}
		return meta.Put(keyUpgrade, u64(last))
	})
	return done, err
}

// putSchema2Entries writes r's entries in the buckets schemas 2 and 3
// added that are not there yet, and the newest time.
func putSchema2Entries(tx *bolt.Tx, r *Recording) error {
	for _, e := range indexes(r) {
		if !isSchema2(e.bucket) && !slices.ContainsFunc(schema3Buckets, func(b []byte) bool { return bytes.Equal(b, e.bucket) }) {
			continue
		}
		// An entry already there is not written again: a Put of the same
		// value still rewrites its page, and the schema 2 -> 3 upgrade
		// would rewrite every index to add one.
		if v := tx.Bucket(e.bucket).Get(e.key); v != nil && bytes.Equal(v, e.value) {
			continue
		}
		if err := e.put(tx); err != nil {
			return err
		}
	}
	return raiseNewest(tx, r)
}

func isSchema2(bucket []byte) bool {
	for _, b := range schema2Buckets {
		if bytes.Equal(b, bucket) {
			return true
		}
	}
	return false
}
