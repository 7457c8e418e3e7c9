package catalog

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SaveUpload keeps the state of recording id's multipart upload (opaque to
// the catalog: the uploader encodes it), so that an upload interrupted by a
// crash resumes with the same upload id.
func (c *Catalog) SaveUpload(id uint64, state []byte) error {
	err := update(c.db, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRecordings).Get(u64(id)) == nil {
			return ErrNotFound
		}
		return tx.Bucket(bucketUploads).Put(u64(id), state)
	})
	if err != nil {
		return fmt.Errorf("save upload of recording %d: %w", id, err)
	}
	return nil
}

// Upload returns the saved multipart upload state of recording id, if any.
func (c *Catalog) Upload(id uint64) (state []byte, found bool, err error) {
	err = c.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketUploads).Get(u64(id)); v != nil {
			state, found = append([]byte(nil), v...), true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("read upload of recording %d: %w", id, err)
	}
	return state, found, nil
}

// DropUpload forgets recording id's multipart upload (it was aborted or
// cannot be resumed).
func (c *Catalog) DropUpload(id uint64) error {
	err := update(c.db, func(tx *bolt.Tx) error { return tx.Bucket(bucketUploads).Delete(u64(id)) })
	if err != nil {
		return fmt.Errorf("drop upload of recording %d: %w", id, err)
	}
	return nil
}
