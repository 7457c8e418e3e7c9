package config

import (
	"strings"
	"testing"
	"time"

	"custodian/hardware/clock"
)

func TestConfigClock(t *testing.T) {
	tests := []struct {
		name, yaml string
		problems   []string
	}{
		{"defaults", "station: st01\n", nil},
		{"test rig", "station: st01\nclock: {require_sync: false, max_error: 1s, max_step: 1m, check_interval: 5s}\n", nil},
		{"too small", "station: st01\nclock: {max_error: 0, max_step: 500ms, check_interval: 100ms}\n", []string{
			"clock.max_error: 0 is shorter than 1ms",
			"clock.max_step: 500ms is shorter than 1s",
			"clock.check_interval: 100ms is shorter than 1s"}},
		{"beyond the kernel", "station: st01\nclock: {max_error: 20s}\n",
			[]string{"clock.max_error: 20s is longer than 16s, where the kernel itself reports the clock unsynchronised"}},
		{"typo", "station: st01\nclock: {require_synch: false}\n",
			[]string{`clock.require_synch: unknown key (line 2); did you mean "require_sync"?`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml))
			if tc.problems == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := strings.Join(tc.problems, "\n"); err == nil || err.Error() != want {
				t.Fatalf("got\n%v\nwant\n%s", err, want)
			}
		})
	}
	cfg, err := Parse([]byte("station: st01\nclock: {require_sync: false, max_step: 1m}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.ClockMonitor(nil)
	if !c.IgnoreSync || c.MaxStep != time.Minute || c.MaxError != clock.DefaultMaxError || c.Interval != clock.DefaultInterval {
		t.Fatalf("clock config %+v", c)
	}
}
