package ingest

import (
	"log/slog"
	"time"

	"custodian/hardware/camera"
	"custodian/storage/catalog"
	"custodian/storage/staging"
)

// Env is what every source needs from the daemon.
type Env struct {
	Station  string
	Location *time.Location // camera clocks are read in the station's zone
	Devices  camera.Devices
	Catalog  *catalog.Catalog
	Staging  *staging.Staging
	Log      *slog.Logger
	Metrics  *Metrics
	Now      func() time.Time
	// Paused, when set and true, holds back new copies (e.g. staging is short
	// of space); cameras keep their footage meanwhile.
	Paused func() bool
}
