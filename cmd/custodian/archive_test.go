package main

import (
	"testing"
	"time"

	"custodian/retention"
	"custodian/storage/catalog"
)

func TestRetainUntil(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	f := retainUntil(retention.Period{Months: 6}, shanghai)
	received := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		start    time.Time
		received time.Time
		want     time.Time
	}{
		{"start + 6 months", time.Date(2026, 11, 21, 0, 30, 15, 0, time.UTC), received, time.Date(2027, 5, 21, 0, 30, 15, 0, time.UTC)},
		{"rounded up to the second", time.Date(2026, 11, 21, 0, 30, 15, 1, time.UTC), received, time.Date(2027, 5, 21, 0, 30, 16, 0, time.UTC)},
		{"station zone decides the month", time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC), received, time.Date(2027, 5, 31, 20, 0, 0, 0, time.UTC)},
		{"reset camera clock counts from receipt", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), received, time.Date(2027, 5, 23, 9, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := f(catalog.Recording{StartedAt: tc.start, ReceivedAt: tc.received})
			if !got.Equal(tc.want) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
