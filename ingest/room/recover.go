package room

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"custodian/ingest"
	"custodian/ingest/fmp4"
	"custodian/storage/catalog"
)

// recoverOpen seals every segment a crash left in the open directory, each
// cut back to its last complete fragment and flagged recovered. It returns
// the end of the newest one, where the crash gap begins.
func (r *Room) recoverOpen(jobs chan<- sealJob) (time.Time, string) {
	ents, err := os.ReadDir(r.openDir)
	if err != nil {
		r.env.Log.Error("cannot list open segments", keyRoom, r.cfg.ID, keyErr, err)
		return time.Time{}, ""
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), "."+fmp4.Ext) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // names sort by start time
	var last time.Time
	for _, name := range names {
		path := filepath.Join(r.openDir, name)
		seg, err := fmp4.Repair(path, r.cfg.ID)
		if errors.Is(err, fmp4.ErrNoFragment) {
			// Created, but the crash or a full disk came before its first
			// fragment: it holds no recording.
			if rerr := os.Remove(path); rerr != nil {
				r.env.Log.Error("cannot remove empty open segment", keyRoom, r.cfg.ID, keyPath, path, keyErr, rerr)
			} else {
				r.env.Log.Warn("removed open segment without media", keyRoom, r.cfg.ID, keySegment, name)
			}
			continue
		}
		if err != nil {
			r.env.Log.Error("open segment not recovered; left in place", keyRoom, r.cfg.ID, keyPath, path, keyErr, err)
			r.countError(ingest.ErrKindStage)
			continue
		}
		r.env.Log.Warn("recovered open segment", keyRoom, r.cfg.ID, keySegment, name, keySHA, seg.SHA256, keySize, seg.Size)
		jobs <- sealJob{seg: seg}
		if seg.End.After(last) {
			last = seg.End
		}
	}
	return last, catalog.GapCrash
}
