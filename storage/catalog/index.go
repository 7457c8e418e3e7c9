package catalog

import (
	"bytes"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// indexEntry is one key a record puts in an index bucket.
type indexEntry struct {
	bucket, key, value []byte
	// unique: the key names one record at a time (content, quick) and may
	// since name another; it is deleted only while it names this one.
	unique bool
}

// indexes lists every index entry of r. Whatever the record says, its
// entries follow from it alone, so Add and Update keep them in the write
// transaction of the change and they can never disagree with the records.
func indexes(r *Recording) []indexEntry {
	out := []indexEntry{
		{bucket: bucketIdxState, key: stateKey(r.State, r.ID)},
		{bucket: bucketIdxTime, key: timeIdxKey(r.StartedAt, r.ID)},
		{bucket: bucketIdxSHA, key: shaKey(r.SHA256, r.ID)},
		{bucket: bucketIdxContent, key: contentKey(r.Device, r.OriginalName(), r.SHA256), value: u64(r.ID), unique: true},
	}
	if r.Officer != "" {
		out = append(out, indexEntry{bucket: bucketIdxOfficer, key: prefixTimeKey(r.Officer, r.StartedAt, r.ID)})
	}
	if r.Device != "" {
		out = append(out, indexEntry{bucket: bucketIdxDevice, key: prefixTimeKey(r.Device, r.StartedAt, r.ID)})
	}
	if len(r.PendingRelease) > 0 {
		out = append(out, indexEntry{bucket: bucketIdxPending, key: pendingKey(r.SourceID, r.ID)})
	}
	if r.Intent != "" {
		out = append(out, indexEntry{bucket: bucketIdxIntent, key: u64(r.ID)})
	}
	if !r.ModTime.IsZero() {
		out = append(out, indexEntry{bucket: bucketIdxQuick, key: quickKey(r.Device, r.OriginalName(), r.Size, r.ModTime), value: u64(r.ID), unique: true})
	}
	if !r.ReceivedAt.IsZero() {
		out = append(out, indexEntry{bucket: bucketIdxRecv, key: timeIdxKey(r.ReceivedAt, r.ID)})
	}
	for _, c := range r.Cases {
		out = append(out, indexEntry{bucket: bucketIdxCase, key: join([]byte(c), sep, u64(r.ID))})
	}
	if r.Source == SourceRoom {
		out = append(out, indexEntry{bucket: bucketIdxRoom, key: prefixTimeKey(r.SourceID, r.StartedAt, r.ID)})
	}
	return append(out, retentionIndexes(r)...)
}

// retentionIndexes are the entries by which a sweep finds r once it may be
// due, and only then: a sweep reads what is due, not the catalog.
func retentionIndexes(r *Recording) []indexEntry {
	var out []indexEntry
	held := r.Permanent()
	switch {
	case (r.State == StateVerified || r.State == StateArchived) && !held:
		out = append(out, indexEntry{bucket: bucketIdxRetain, key: timeIdxKey(r.StartedAt, r.ID),
			value: timeValue(r.StartedAt, r.ReceivedAt, r.RetainUntil)})
	case r.State == StateExpiring && held:
		out = append(out, indexEntry{bucket: bucketIdxUnmark, key: u64(r.ID)})
	case r.State == StateExpiring:
		out = append(out, indexEntry{bucket: bucketIdxGrace, key: timeIdxKey(r.ExpiringAt, r.ID)})
	}
	if r.State == StateArchived && r.HasLocalCopy() {
		out = append(out, indexEntry{bucket: bucketIdxEvict, key: timeIdxKey(r.ArchivedAt, r.ID)})
	}
	if (r.State == StateArchived || r.State == StateExpiring) && r.LegalHold != held {
		out = append(out, indexEntry{bucket: bucketIdxLegal, key: u64(r.ID)})
	}
	if r.HasLocalCopy() {
		out = append(out, indexEntry{bucket: bucketIdxLocal, key: u64(r.ID)})
	}
	return out
}

// reindex brings the indexes and the newest time from what old (nil for a
// new record) said to what r says. Entries that stay as they were are not
// touched, so an update dirties only the index pages it changes.
func reindex(tx *bolt.Tx, old, r *Recording) error {
	var before []indexEntry
	if old != nil {
		before = indexes(old)
	}
	after := indexes(r)
	for _, e := range before {
		if !e.unique && hasKey(after, e) {
			continue // rewritten below if its value changed
		}
		b := tx.Bucket(e.bucket)
		if e.unique && !bytes.Equal(b.Get(e.key), e.value) {
			continue
		}
		if err := b.Delete(e.key); err != nil {
			return err
		}
	}
	for _, e := range after {
		if !e.unique && hasEntry(before, e) {
			continue
		}
		if err := e.put(tx); err != nil {
			return err
		}
	}
	return raiseNewest(tx, r)
}

func (e indexEntry) put(tx *bolt.Tx) error {
	v := e.value
	if v == nil {
		v = []byte{}
	}
	return tx.Bucket(e.bucket).Put(e.key, v)
}

func hasKey(es []indexEntry, e indexEntry) bool {
	for _, x := range es {
		if bytes.Equal(x.bucket, e.bucket) && bytes.Equal(x.key, e.key) {
			return true
		}
	}
	return false
}

func hasEntry(es []indexEntry, e indexEntry) bool {
	for _, x := range es {
		if bytes.Equal(x.bucket, e.bucket) && bytes.Equal(x.key, e.key) && bytes.Equal(x.value, e.value) {
			return true
		}
	}
	return false
}

// raiseNewest keeps meta "newest" at the newest received_at or expiring_at
// the catalog has recorded. It only grows: a station clock that once
// stamped a time and now reads well before it has gone backwards, whether
// or not the record that holds the time changed since.
func raiseNewest(tx *bolt.Tx, r *Recording) error {
	meta := tx.Bucket(bucketMeta)
	var cur uint64
	if v := meta.Get(keyNewest); len(v) == 8 {
		cur = binary.BigEndian.Uint64(v)
	}
	n := max(timeKey(r.ReceivedAt), timeKey(r.ExpiringAt))
	if n <= cur {
		return nil
	}
	return meta.Put(keyNewest, u64(n))
}

// newest reads meta "newest"; zero when nothing was ever received.
func newest(tx *bolt.Tx) time.Time {
	v := tx.Bucket(bucketMeta).Get(keyNewest)
	if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
}
