package storage

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// SaveUpload keeps the state of recording id's multipart upload, so that an
// upload interrupted by a crash resumes with the same upload id.
func (c *Catalog) SaveUpload(id uint64, u MultipartUpload) error {
	v, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("save upload of recording %d: %w", id, err)
	}
	err = c.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRecordings).Get(u64(id)) == nil {
			return ErrNotFound
		}
		return tx.Bucket(bucketUploads).Put(u64(id), v)
	})
	if err != nil {
		return fmt.Errorf("save upload of recording %d: %w", id, err)
	}
	return nil
}

// Upload returns the saved multipart upload of recording id, if any.
func (c *Catalog) Upload(id uint64) (MultipartUpload, bool, error) {
	var u MultipartUpload
	var found bool
	err := c.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketUploads).Get(u64(id))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &u)
	})
	if err != nil {
		return MultipartUpload{}, false, fmt.Errorf("read upload of recording %d: %w", id, err)
	}
	return u, found, nil
}

// DropUpload forgets recording id's multipart upload (it was aborted or
// cannot be resumed).
func (c *Catalog) DropUpload(id uint64) error {
	err := c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketUploads).Delete(u64(id)) })
	if err != nil {
		return fmt.Errorf("drop upload of recording %d: %w", id, err)
	}
	return nil
}
