package upload

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
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

// Lister is an archive that can name what it holds under a prefix.
type Lister interface {
	archive.ObjectStore
	List(ctx context.Context, prefix string) ([]archive.ObjectInfo, error)
}

// VerifyAudit checks the custody trail: the hash chain in the catalog, then
// the chunks the archive itself lists under the station's audit prefix
// (the catalog's list of what it shipped is not trusted: a catalog whose
// list was deleted and whose chain was rewritten consistently still fails
// here). The archived chunks must follow each other from event 1 without
// a hole or overlap, each must chain on from the one before, and each must
// equal the catalog's events byte for byte. It names the first missing,
// altered or reordered event. Events after the last chunk are checked by
// the local chain only.
func VerifyAudit(ctx context.Context, c *catalog.Catalog, store Lister, station string) (int, error) {
	return verifyAudit(ctx, c, store, station, nil)
}

// verifyAudit is VerifyAudit telling progress, if not nil, how far the
// local pass got.
func verifyAudit(ctx context.Context, c *catalog.Catalog, store Lister, station string, progress *Progress) (int, error) {
	// The local checks read the whole trail once (about 12 s at a million
	// recordings): they stop when the caller leaves or the daemon stops.
	var tell func(int)
	if progress != nil {
		tell = progress.set
	}
	n, _, err := c.VerifyAll(ctx, tell)
	if err != nil {
		return n, err
	}
	if store == nil {
		return n, nil
	}
	objs, err := store.List(ctx, auditPrefix(station))
	if err != nil {
		return n, fmt.Errorf("list the archived trail: %w", err)
	}
	next, prevHash := uint64(1), ""
	startHash := map[string]string{} // key -> the hash its chunk chains on from
	for _, o := range objs {
		first, last, ok := parseAuditKey(station, o.Key)
		if !ok {
			return n, &catalog.ChainError{Seq: next, Reason: "an object the trail does not name is in its archive prefix: " + o.Key}
		}
		if h, again := startHash[o.Key]; again { // another version of a chunk: the same events
			if _, err := verifyChunk(ctx, c, store, o, first, last, h); err != nil {
				return n, err
			}
			continue
		}
		startHash[o.Key] = prevHash
		if first != next {
			return n, &catalog.ChainError{Seq: next, Reason: fmt.Sprintf("the archived trail has no chunk from it (next is %s)", o.Key)}
		}
		if prevHash, err = verifyChunk(ctx, c, store, o, first, last, prevHash); err != nil {
			return n, err
		}
		next = last + 1
	}
	return n, checkShipped(c, objs)
}

// verifyChunk checks one archived chunk against its predecessor's last
// hash and against the catalog, and returns its own last hash.
func verifyChunk(ctx context.Context, c *catalog.Catalog, store archive.ObjectStore, o archive.ObjectInfo, first, last uint64, prevHash string) (string, error) {
	rc, err := store.Get(ctx, o.Key, o.VersionID)
	if err != nil {
		return "", fmt.Errorf("archived chunk %s: %w", o.Key, err)
	}
	archived, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	rc.Close()
	if err != nil {
		return "", fmt.Errorf("archived chunk %s: %w", o.Key, err)
	}
	lines := bytes.Split(bytes.TrimSuffix(archived, []byte{'\n'}), []byte{'\n'})
	if uint64(len(lines)) != last-first+1 {
		return "", &catalog.ChainError{Seq: first, Reason: fmt.Sprintf("archived chunk %s holds %d events", o.Key, len(lines))}
	}
	for i, line := range lines {
		var e catalog.Event
		seq := first + uint64(i)
		if json.Unmarshal(line, &e) != nil || e.Seq != seq || e.Prev != prevHash || e.Sum() != e.Hash {
			return "", &catalog.ChainError{Seq: seq, Reason: "broken in the archived trail " + o.Key}
		}
		prevHash = e.Hash
	}
	local, err := c.EventBytes(first, last)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(archived, local) {
		ll := bytes.Split(local, []byte{'\n'})
		for i := range min(len(lines), len(ll)) {
			if !bytes.Equal(lines[i], ll[i]) {
				return "", &catalog.ChainError{Seq: first + uint64(i), Reason: "differs from the archived trail " + o.Key}
			}
		}
		return "", &catalog.ChainError{Seq: first, Reason: "differs from the archived trail " + o.Key}
	}
	return prevHash, nil
}

// checkShipped: every chunk the catalog says it shipped is in the archive.
func checkShipped(c *catalog.Catalog, objs []archive.ObjectInfo) error {
	chunks, err := c.AuditChunks()
	if err != nil {
		return err
	}
	held := make(map[string]bool, len(objs))
	for _, o := range objs {
		held[o.Key+"\x00"+o.VersionID] = true
	}
	for _, ch := range chunks {
		if !held[ch.Key+"\x00"+ch.Version] {
			return &catalog.ChainError{Seq: ch.First, Reason: "the catalog says chunk " + ch.Key + " was archived; the archive has no such version"}
		}
	}
	return nil
}

func auditPrefix(station string) string { return station + "/audit/" }

// parseAuditKey reads the event range of a chunk's key (see auditKey).
func parseAuditKey(station, key string) (first, last uint64, ok bool) {
	rest, ok := strings.CutPrefix(key, auditPrefix(station))
	if !ok {
		return 0, 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".jsonl")
	a, b, cut := strings.Cut(rest, "-")
	if !ok || !cut || len(a) != 12 || len(b) != 12 {
		return 0, 0, false
	}
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	return first, last, err1 == nil && err2 == nil && first >= 1 && first <= last
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
