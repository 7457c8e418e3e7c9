package config

import (
	"strings"
	"testing"
	"time"
)

// A typed value is parsed once, while decoding: a bad one is a problem with
// its key path and line, and the value keeps its default.
func TestTypedValues(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	base := "station: st01\n"
	for _, tc := range []struct {
		name, yaml string
		problems   []string
		check      func(*Config) bool
	}{
		{"sizes", "retention: {min_free: 50 GiB}\n", nil,
			func(c *Config) bool {
				return c.Retention.MinFree.Bytes() == 50<<30 && c.Retention.MinFree.String() == "50 GiB"
			}},
		{"decimal size", "retention: {min_free: 20MB}\n", nil, func(c *Config) bool { return c.RetentionPolicy().MinFree == 20e6 }},
		{"bad size", "retention:\n  min_free: lots\n",
			[]string{`retention.min_free: "lots": want a size such as 32MiB, 20MB or 0 (line 3)`}, nil},
		{"empty size", "retention: {min_free: ''}\n", []string{`retention.min_free: "": want a size such as 50GiB, or 0`}, nil},
		{"standard in years", "retention: {standard: 1y}\n", nil,
			func(c *Config) bool {
				return c.Retention.Standard.Months == 12 && strings.Contains(c.RetentionSummary(), "standard=12mo ")
			}},
		{"standard too short", "retention: {standard: 5mo}\n",
			[]string{"retention.standard: 5mo is shorter than the legal minimum of 6 months (line 2)"}, nil},
		{"duration", "storage: {check_interval: 1d12h}\n", nil, func(c *Config) bool { return c.Health(nil).Interval == 36*time.Hour }},
		{"duration list", "storage: {check_interval: [1s]}\n",
			[]string{"storage.check_interval: want a duration such as 5s, 10m or 7d (line 2)"}, nil},
		{"zone", "timezone: Mars/Olympus\n", []string{`timezone: "Mars/Olympus": unknown time zone Mars/Olympus (line 2)`}, nil},
		{"dates in the station's zone", "timezone: Asia/Shanghai\ndevices:\n  - {serial: J1, officer: '1', from: 2026-11-01, to: '2026-12-01T08:00:00Z'}\n", nil,
			func(c *Config) bool {
				d := c.DeviceTable()[0]
				return d.From.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)) && d.To.Equal(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
			}},
		{"wrong type", "log: {level: [a]}\n", []string{"log.level: cannot unmarshal !!seq into string (line 2)"}, nil},
		{"key twice", "station: st02\n", []string{"station: given twice (lines 1 and 2)"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(base + tc.yaml))
			if tc.problems != nil {
				if err == nil || err.Error() != strings.Join(tc.problems, "\n") {
					t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(tc.problems, "\n"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(cfg) {
				t.Errorf("decoded %+v", cfg)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5s", 5 * time.Second, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"250ms", 250 * time.Millisecond, true},
		{"2w", 14 * 24 * time.Hour, true},
		{"0", 0, true},
		{"", 0, false},
		{"6mo", 0, false},
		{"5", 0, false},
		{"-5s", 0, false},
		{"5x", 0, false},
		{"99999999999s", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tc.in, got, err)
		}
	}
}
