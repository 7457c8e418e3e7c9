package retention

import (
	"testing"
	"time"

	"custodian/storage/catalog"
)

func TestRetainUntil(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	p := Policy{Standard: Period{Months: 6}, Location: shanghai}
	received := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		start  time.Time
		locked time.Time
		want   time.Time
	}{
		{"receipt + 6 months", time.Date(2026, 11, 21, 0, 30, 15, 0, time.UTC), time.Time{}, time.Date(2027, 5, 23, 9, 0, 0, 0, time.UTC)},
		{"a later start (fast camera) + 6 months, rounded up", time.Date(2026, 11, 23, 10, 30, 15, 1, time.UTC), time.Time{}, time.Date(2027, 5, 23, 10, 30, 16, 0, time.UTC)},
		{"station zone decides the month", time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC), time.Time{}, time.Date(2027, 5, 31, 20, 0, 0, 0, time.UTC)},
		{"60 days slow counts from receipt", time.Date(2026, 9, 24, 9, 0, 0, 0, time.UTC), time.Time{}, time.Date(2027, 5, 23, 9, 0, 0, 0, time.UTC)},
		{"reset camera clock counts from receipt", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, time.Date(2027, 5, 23, 9, 0, 0, 0, time.UTC)},
		{"a longer archive lock wins", time.Date(2026, 11, 21, 0, 30, 15, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := p.RetainUntil(&catalog.Recording{StartedAt: tc.start, ReceivedAt: received, RetainUntil: tc.locked})
			if !got.Equal(tc.want) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
