package camera

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"custodian/internal/text"
)

// Device is one row of the devices table: which officer had a camera. Pooled
// cameras have several rows with From/To windows; zero bounds are open.
type Device struct {
	Serial  string    `yaml:"serial"`
	Officer string    `yaml:"officer"`
	From    time.Time `yaml:"from"`
	To      time.Time `yaml:"to"`
}

// Devices is the devices table.
type Devices []Device

// Lookup says whether serial is registered and which officer had it at t.
func (d Devices) Lookup(serial string, t time.Time) (officer string, registered bool) {
	for _, e := range d {
		if e.Serial != serial {
			continue
		}
		registered = true
		if (e.From.IsZero() || !t.Before(e.From)) && (e.To.IsZero() || t.Before(e.To)) {
			return e.Officer, true
		}
	}
	return "", registered
}

// RegisteredSince is the earliest From of serial, zero when unbounded or unknown.
func (d Devices) RegisteredSince(serial string) time.Time {
	var since time.Time
	for _, e := range d {
		if e.Serial != serial {
			continue
		}
		if e.From.IsZero() {
			return time.Time{}
		}
		if since.IsZero() || e.From.Before(since) {
			since = e.From
		}
	}
	return since
}

// Clock plausibility bounds. A camera start far from the file's own mtime
// (which the same camera clock wrote, at the end of the file) is suspect;
// files are split well under this.
const (
	MaxClockSkewFuture = 10 * time.Minute
	MaxStartToMTime    = 24 * time.Hour
)

// EarliestPlausible is before any camera custodian will see; reset clocks
// land at 2000-01-01 or 2015-01-01, both caught by registration dates or mtime.
var EarliestPlausible = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)

// CheckClock says why a camera start time is implausible, or "" when it is not.
func CheckClock(start, mtime, received, registered time.Time) string {
	switch {
	case start.Before(EarliestPlausible):
		return fmt.Sprintf("start %s is before %s", start.UTC().Format(time.RFC3339), EarliestPlausible.Format("2006"))
	case !registered.IsZero() && start.Before(registered):
		return fmt.Sprintf("start %s is before the device was registered", start.UTC().Format(time.RFC3339))
	case start.After(received.Add(MaxClockSkewFuture)):
		return fmt.Sprintf("start %s is in the future", start.UTC().Format(time.RFC3339))
	case !mtime.IsZero() && (start.Sub(mtime) > MaxClockSkewFuture || mtime.Sub(start) > MaxStartToMTime):
		return fmt.Sprintf("start %s is far from the file time %s", start.UTC().Format(time.RFC3339), mtime.UTC().Format(time.RFC3339))
	}
	return ""
}

// Files a camera may keep at its root to name itself.
var deviceFiles = []string{"DEVICE.TXT", "device.txt", "device.json", "DEVICE.JSON"}

const maxDeviceFile = 4 << 10

// ReadDeviceID reads a camera's serial from DEVICE.TXT (first line) or
// device.json ({"serial": ...}) in its folder dir below the dock root. It
// never follows a symlink and never reads more than a few KiB. ok is false
// when there is none or it is not a valid id.
func ReadDeviceID(root *Root, dir string) (serial string, ok bool) {
	for _, name := range deviceFiles {
		b, err := readSmall(root, filepath.Join(dir, name))
		if err != nil {
			continue
		}
		if serial, ok := ParseDeviceFile(name, b); ok {
			return serial, true
		}
	}
	return "", false
}

// ParseDeviceFile reads a serial from the bytes of a DEVICE.TXT (first
// line) or a device.json ({"serial": ...} or {"device": ...}). The serial
// must be a valid id; anything else is not a serial.
func ParseDeviceFile(name string, b []byte) (string, bool) {
	var serial string
	if strings.HasSuffix(strings.ToLower(name), ".json") {
		var v struct {
			Serial string `json:"serial"`
			Device string `json:"device"`
		}
		if json.Unmarshal(b, &v) != nil {
			return "", false
		}
		serial = v.Serial
		if serial == "" {
			serial = v.Device
		}
	} else {
		serial, _, _ = strings.Cut(string(b), "\n")
	}
	serial = strings.TrimSpace(strings.TrimPrefix(serial, "\ufeff"))
	return serial, text.ValidID(serial)
}

func readSmall(root *Root, rel string) ([]byte, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxDeviceFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDeviceFile {
		return nil, errors.New("device file too large")
	}
	return b, nil
}
