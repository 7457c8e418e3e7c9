package upload

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"time"

	"custodian/storage/archive"
	"custodian/storage/catalog"
)

// auditKey names a chunk in the archive.
func auditKey(station string, first, last uint64) string {
	return fmt.Sprintf("%s/audit/%012d-%012d.jsonl", station, first, last)
}

// ShipAudit uploads every closed chunk of the custody trail not yet in the
// archive, each locked (COMPLIANCE until retainUntil, and a legal hold, so
// that nobody can remove the trail), and proven on arrival like a recording.
// A chunk closes at catalog.AuditChunkSize events, or with fewer when its
// first event was recorded before closeBefore: a quiet station's last
// events are anchored within the hour, not whenever a thousand more come.
func ShipAudit(ctx context.Context, c *catalog.Catalog, store archive.ObjectStore, station string, retainUntil, closeBefore time.Time, log *slog.Logger) (int, error) {
	chunks, err := c.AuditChunks()
	if err != nil {
		return 0, fmt.Errorf("ship audit: %w", err)
	}
	next := uint64(1)
	if len(chunks) > 0 {
		next = chunks[len(chunks)-1].Last + 1
	}
	last, err := c.LastEventSeq()
	if err != nil {
		return 0, fmt.Errorf("ship audit: %w", err)
	}
	shipped := 0
	for next <= last {
		end := next + catalog.AuditChunkSize - 1
		if end > last {
			at, err := c.EventTime(next)
			if err != nil {
				return shipped, fmt.Errorf("ship audit %d: %w", next, err)
			}
			if !at.Before(closeBefore) {
				break // still open
			}
			end = last
		}
		b, err := c.EventBytes(next, end)
		if err != nil {
			return shipped, fmt.Errorf("ship audit %d-%d: %w", next, end, err)
		}
		sum := sha256.Sum256(b)
		ch := catalog.AuditChunk{First: next, Last: end, Key: auditKey(station, next, end), SHA256: hex.EncodeToString(sum[:])}
		info, err := store.Put(ctx, archive.PutRequest{Key: ch.Key, SHA256: ch.SHA256, Size: int64(len(b)), Body: bytes.NewReader(b),
			Metadata: map[string]string{archive.MetaSHA256: ch.SHA256, archive.MetaStation: station}, RetainUntil: retainUntil, LegalHold: true})
		if err != nil {
			return shipped, fmt.Errorf("ship audit %s: %w", ch.Key, err)
		}
		ch.Version = info.VersionID
		if err := c.PutAuditChunk(ch); err != nil {
			return shipped, fmt.Errorf("ship audit %s: %w", ch.Key, err)
		}
		log.Info("custody trail chunk archived", "key", ch.Key, "version", ch.Version, "sha256", ch.SHA256)
		shipped++
		next = end + 1
	}
	return shipped, nil
}

// VerifyAudit checks the custody trail: the hash chain in the catalog, then
// every archived chunk against the catalog's events, byte for byte. It
// names the first bad event.
func VerifyAudit(ctx context.Context, c *catalog.Catalog, store archive.ObjectStore) (int, error) {
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
		local, err := c.EventBytes(ch.First, ch.Last)
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
					return n, &catalog.ChainError{Seq: ch.First + uint64(i), Reason: "differs from the archived trail " + ch.Key}
				}
			}
			return n, &catalog.ChainError{Seq: ch.First, Reason: "differs from the archived trail " + ch.Key}
		}
	}
	return n, nil
}

// DefaultMaxChunkAge: a chunk of the custody trail is closed and archived
// at the latest this long after its first event.
const DefaultMaxChunkAge = time.Hour

// AuditShipper ships closed chunks of the custody trail to the archive:
// every Interval the chunks full or older than MaxChunkAge, and at
// shutdown whatever is open.
type AuditShipper struct {
	Catalog     *catalog.Catalog
	Store       archive.ObjectStore
	Station     string
	Interval    time.Duration
	MaxChunkAge time.Duration // 0: DefaultMaxChunkAge
	// RetainUntil is the COMPLIANCE lock date of a chunk closed at t (the
	// retention rule's); a legal hold keeps it beyond that.
	RetainUntil func(t time.Time) time.Time
	Log         *slog.Logger
}

// shutdownShip bounds the last shipment at shutdown.
const shutdownShip = 30 * time.Second

// Run ships every Interval until ctx is done, then once more with
// everything open, so that a stopped station leaves no event unanchored.
func (a AuditShipper) Run(ctx context.Context) error {
	maxAge := cmp.Or(a.MaxChunkAge, DefaultMaxChunkAge)
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	for {
		now := time.Now()
		if _, err := ShipAudit(ctx, a.Catalog, a.Store, a.Station, a.RetainUntil(now), now.Add(-maxAge), a.Log); err != nil && ctx.Err() == nil {
			a.Log.Warn("custody trail not archived yet; will try again", "err", err)
		}
		select {
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownShip)
			defer cancel()
			now := time.Now()
			if _, err := ShipAudit(last, a.Catalog, a.Store, a.Station, a.RetainUntil(now), now.Add(time.Hour), a.Log); err != nil {
				a.Log.Warn("custody trail not archived at shutdown; the next start ships it", "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}
