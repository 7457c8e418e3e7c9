package disk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"custodian/internal/text"
)

// SMART is what smartctl says about a disk. Passed is nil when the health
// is unknown (smartctl missing, no permission, a virtual disk); Note says why.
type SMART struct {
	Passed       *bool  `json:"passed,omitempty"`
	Model        string `json:"model,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Temperature  int    `json:"temperature_celsius,omitempty"`
	PowerOnHours int    `json:"power_on_hours,omitempty"`
	Note         string `json:"note,omitempty"`
}

// smartTimeout bounds one smartctl run; a dying disk can hang a query.
const smartTimeout = 20 * time.Second

// smartctlOutput is the part of `smartctl --json` custodian reads.
type smartctlOutput struct {
	Smartctl struct {
		ExitStatus int `json:"exit_status"`
		Messages   []struct {
			String   string `json:"string"`
			Severity string `json:"severity"`
		} `json:"messages"`
	} `json:"smartctl"`
	ModelName    string `json:"model_name"`
	SerialNumber string `json:"serial_number"`
	SmartStatus  *struct {
		Passed bool `json:"passed"`
	} `json:"smart_status"`
	Temperature struct {
		Current int `json:"current"`
	} `json:"temperature"`
	PowerOnTime struct {
		Hours int `json:"hours"`
	} `json:"power_on_time"`
}

// readSMART asks smartctl for a disk's overall health. smartctl's exit code
// is a bit mask that is non-zero for a failing disk too, so the JSON decides.
func readSMART(ctx context.Context, smartctl, dev string) SMART {
	path, err := exec.LookPath(smartctl)
	if err != nil {
		return SMART{Note: "smartctl not installed"}
	}
	ctx, cancel := context.WithTimeout(ctx, smartTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "--json", "--info", "--health", "--attributes", dev)
	cmd.Stdout = &out
	runErr := cmd.Run()
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return SMART{Note: fmt.Sprintf("smartctl: %v", runErr)}
	}
	return parseSMART(out.Bytes())
}

// parseSMART reads smartctl's JSON output.
func parseSMART(b []byte) SMART {
	var o smartctlOutput
	if err := json.Unmarshal(b, &o); err != nil {
		return SMART{Note: "smartctl: unreadable output"}
	}
	s := SMART{
		Model:        text.Printable(o.ModelName),
		Serial:       text.Printable(o.SerialNumber),
		Temperature:  o.Temperature.Current,
		PowerOnHours: o.PowerOnTime.Hours,
	}
	if o.SmartStatus != nil {
		passed := o.SmartStatus.Passed
		s.Passed = &passed
		return s
	}
	var msgs []string
	for _, m := range o.Smartctl.Messages {
		msgs = append(msgs, m.String)
	}
	s.Note = "smartctl: " + text.Printable(strings.Join(msgs, "; "))
	if len(msgs) == 0 {
		s.Note = fmt.Sprintf("smartctl: no health status (exit status %d)", o.Smartctl.ExitStatus)
	}
	return s
}

type smartCache struct {
	at time.Time
	s  SMART
}

func (m *Monitor) smartOf(ctx context.Context, dev blockDevice) SMART {
	if dev.virtual {
		return SMART{Note: "not a physical disk"}
	}
	now := m.cfg.Now()
	m.mu.Lock()
	c, ok := m.smart[dev.disk]
	m.mu.Unlock()
	if ok && now.Sub(c.at) < m.cfg.SMARTInterval {
		return c.s
	}
	s := readSMART(ctx, m.cfg.Smartctl, "/dev/"+dev.disk)
	m.mu.Lock()
	m.smart[dev.disk] = smartCache{at: now, s: s}
	m.mu.Unlock()
	return s
}
