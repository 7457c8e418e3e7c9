package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AuditChunkSize is how many custody events make one closed chunk of the
// trail; each closed chunk goes to the archive as a locked object.
const AuditChunkSize = 1000

// AuditChunk is a closed chunk of the custody trail as the archive holds it.
type AuditChunk struct {
	First   uint64 `json:"first"`
	Last    uint64 `json:"last"`
	Key     string `json:"key"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// auditKey names a chunk in the archive.
func auditKey(station string, first, last uint64) string {
	return fmt.Sprintf("%s/audit/%012d-%012d.jsonl", station, first, last)
}

// eventBytes returns events first..last exactly as stored, one per line.
func (c *Catalog) eventBytes(first, last uint64) ([]byte, error) {
	var buf bytes.Buffer
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketEvents).Cursor()
		want := first
		for k, v := cur.Seek(u64(first)); k != nil && binary.BigEndian.Uint64(k) <= last; k, v = cur.Next() {
			if binary.BigEndian.Uint64(k) != want {
				return &ChainError{Seq: want, Reason: "entry missing"}
			}
			buf.Write(v)
			buf.WriteByte('\n')
			want++
		}
		if want != last+1 {
			return &ChainError{Seq: want, Reason: "entry missing"}
		}
		return nil
	})
	return buf.Bytes(), err
}

func (c *Catalog) lastEventSeq() (uint64, error) {
	var n uint64
	err := c.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			n = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return n, err
}

// AuditChunks lists the chunks the archive holds, oldest first.
func (c *Catalog) AuditChunks() ([]AuditChunk, error) {
	var out []AuditChunk
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAudit).ForEach(func(_, v []byte) error {
			var ch AuditChunk
			if err := json.Unmarshal(v, &ch); err != nil {
				return err
			}
			out = append(out, ch)
			return nil
		})
	})
	return out, err
}

func (c *Catalog) putAuditChunk(ch AuditChunk) error {
	v, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketAudit).Put(u64(ch.First), v) })
}

// ShipAudit uploads every closed chunk of the custody trail not yet in the
// archive, each locked (COMPLIANCE until retainUntil, and a legal hold, so
// that nobody can remove the trail), and proven on arrival like a recording.
func ShipAudit(ctx context.Context, c *Catalog, store ObjectStore, station string, retainUntil time.Time, log *slog.Logger) (int, error) {
	chunks, err := c.AuditChunks()
	if err != nil {
		return 0, fmt.Errorf("ship audit: %w", err)
	}
	next := uint64(1)
	if len(chunks) > 0 {
		next = chunks[len(chunks)-1].Last + 1
	}
	last, err := c.lastEventSeq()
	if err != nil {
		return 0, fmt.Errorf("ship audit: %w", err)
	}
	shipped := 0
	for ; next+AuditChunkSize-1 <= last; next += AuditChunkSize {
		end := next + AuditChunkSize - 1
		b, err := c.eventBytes(next, end)
		if err != nil {
			return shipped, fmt.Errorf("ship audit %d-%d: %w", next, end, err)
		}
		sum := sha256.Sum256(b)
		ch := AuditChunk{First: next, Last: end, Key: auditKey(station, next, end), SHA256: hex.EncodeToString(sum[:])}
		info, err := store.Put(ctx, PutRequest{Key: ch.Key, SHA256: ch.SHA256, Size: int64(len(b)), Body: bytes.NewReader(b),
			Metadata: map[string]string{MetaSHA256: ch.SHA256, MetaStation: station}, RetainUntil: retainUntil, LegalHold: true})
		if err != nil {
			return shipped, fmt.Errorf("ship audit %s: %w", ch.Key, err)
		}
		ch.Version = info.VersionID
		if err := c.putAuditChunk(ch); err != nil {
			return shipped, fmt.Errorf("ship audit %s: %w", ch.Key, err)
		}
		log.Info("custody trail chunk archived", "key", ch.Key, "version", ch.Version, "sha256", ch.SHA256)
		shipped++
	}
	return shipped, nil
}

// VerifyAudit checks the custody trail: the hash chain in the catalog, then
// every archived chunk against the catalog's events, byte for byte. It
// names the first bad event.
func VerifyAudit(ctx context.Context, c *Catalog, store ObjectStore) (int, error) {
	n, err := c.VerifyEvents()
	if err != nil {
		return n, err
	}
	if store == nil {
		return n, nil
	}
	chunks, err := c.AuditChunks()
	if err != nil {
		return n, err
	}
	for _, ch := range chunks {
		rc, err := store.Get(ctx, ch.Key, ch.Version)
		if err != nil {
			return n, fmt.Errorf("archived chunk %s: %w", ch.Key, err)
		}
		archived, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			return n, fmt.Errorf("archived chunk %s: %w", ch.Key, err)
		}
		local, err := c.eventBytes(ch.First, ch.Last)
		if err != nil {
			return n, err
		}
		if sum := sha256.Sum256(archived); hex.EncodeToString(sum[:]) != ch.SHA256 {
			return n, fmt.Errorf("archived chunk %s does not hash to the recorded %s", ch.Key, ch.SHA256)
		}
		if !bytes.Equal(archived, local) {
			al, ll := bytes.Split(archived, []byte{'\n'}), bytes.Split(local, []byte{'\n'})
			for i := range min(len(al), len(ll)) {
				if !bytes.Equal(al[i], ll[i]) {
					return n, &ChainError{Seq: ch.First + uint64(i), Reason: "differs from the archived trail " + ch.Key}
				}
			}
			return n, &ChainError{Seq: ch.First, Reason: "differs from the archived trail " + ch.Key}
		}
	}
	return n, nil
}

// NoteSetting records a configuration value that matters to custody (the
// retention rule). When it differs from the one recorded before, a config
// event goes into the trail and changed is true.
func (c *Catalog) NoteSetting(name, value string) (changed bool, err error) {
	key := []byte("setting:" + name)
	err = c.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		old := meta.Get(key)
		if old != nil && string(old) == value {
			return nil
		}
		changed = true
		detail := fmt.Sprintf("%s set to %s", name, value)
		if old != nil {
			detail = fmt.Sprintf("%s changed from %s to %s", name, old, value)
		}
		if err := meta.Put(key, []byte(value)); err != nil {
			return err
		}
		return c.appendEvents(tx, nil, []Event{{Type: EventConfig, Detail: detail}})
	})
	if err != nil {
		return false, fmt.Errorf("note setting %s: %w", name, err)
	}
	return changed, nil
}

// AuditShipper ships closed chunks of the custody trail to the archive.
type AuditShipper struct {
	Catalog  *Catalog
	Store    ObjectStore
	Station  string
	Interval time.Duration
	// Lock is how long each chunk is locked in COMPLIANCE mode; a legal
	// hold keeps it beyond that.
	Lock time.Duration
	Log  *slog.Logger
}

// Run ships every Interval until ctx is done.
func (a AuditShipper) Run(ctx context.Context) error {
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	for {
		if _, err := ShipAudit(ctx, a.Catalog, a.Store, a.Station, time.Now().Add(a.Lock), a.Log); err != nil && ctx.Err() == nil {
			a.Log.Warn("custody trail not archived yet; will try again", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
