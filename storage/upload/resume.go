package upload

import (
	"encoding/json"
	"fmt"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// The catalog keeps a multipart upload's state as opaque bytes; this file is
// the one place that encodes it.

func saveUpload(c *catalog.Catalog, id uint64, m archive.MultipartUpload) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("save upload of recording %d: %w", id, err)
	}
	return c.SaveUpload(id, b)
}

func savedUpload(c *catalog.Catalog, id uint64) (archive.MultipartUpload, bool, error) {
	b, ok, err := c.Upload(id)
	if err != nil || !ok {
		return archive.MultipartUpload{}, false, err
	}
	var m archive.MultipartUpload
	if err := json.Unmarshal(b, &m); err != nil {
		return archive.MultipartUpload{}, false, fmt.Errorf("read upload of recording %d: %w", id, err)
	}
	return m, true, nil
}
