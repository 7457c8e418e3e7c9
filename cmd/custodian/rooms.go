package main

import (
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"custodian/ingest"
	"custodian/ingest/room"
	"custodian/internal/config"
)

// roomSet is the daemon's interview-room recorders.
type roomSet []*room.Room

// buildRooms reads each room's URL or, for a room that listens, the
// credentials its recorder pushes with (url_file and credentials_file are
// read here, once, at start) and builds its recorder under
// <data_dir>/rooms/<id>.
func buildRooms(cfg *config.Config, env ingest.Env, reg prometheus.Registerer) (roomSet, error) {
	sec, err := cfg.ReadSecrets()
	if err != nil {
		return nil, configError{err}
	}
	m := room.NewMetrics(reg)
	var out roomSet
	for _, rc := range cfg.Rooms {
		if reg != nil {
			id := rc.ID
			room.WatchSession(reg, id, func() bool {
				_, open, err := env.Catalog.OpenSession(id)
				return err == nil && open
			})
		}
		out = append(out, room.New(room.Config{
			ID:         rc.ID,
			URL:        string(sec.RoomURLs[rc.ID]),
			Listen:     rc.Listen,
			Publisher:  sec.RoomCredentials[rc.ID],
			Transport:  rc.Transport,
			Segment:    rc.Segment.D(),
			AlertAfter: rc.AlertAfter.D(),
			MaxDrift:   rc.MaxDrift.D(),
			Dir:        filepath.Join(cfg.DataDir, "rooms", rc.ID),
		}, env, m))
	}
	return out, nil
}

// RoomConnected implements admin.Rooms.
func (rs roomSet) RoomConnected(id string) (configured, connected bool) {
	for _, r := range rs {
		if r.ID() == id {
			return true, r.Connected()
		}
	}
	return false, false
}

// CutSegment implements admin.Rooms.
func (rs roomSet) CutSegment(id string, at time.Time) {
	for _, r := range rs {
		if r.ID() == id {
			r.Cut(at)
		}
	}
}

// Status lists every room's live state.
func (rs roomSet) Status() []room.Status {
	out := make([]room.Status, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Status())
	}
	return out
}
