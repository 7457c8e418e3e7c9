package retention

import (
	"strings"
	"testing"
	"time"
)

func TestParseStandard(t *testing.T) {
	for _, tc := range []struct {
		in      string
		months  int
		errWant string
	}{
		{"6mo", 6, ""},
		{"18mo", 18, ""},
		{"1y", 12, ""},
		{"1y6mo", 18, ""},
		{"5mo", 0, "5mo is shorter than the legal minimum of 6 months"},
		{"180d", 0, "days and weeks are not calendar months"},
		{"26w", 0, "days and weeks are not calendar months"},
		{"6", 0, "unknown unit"},
		{"", 0, "empty period"},
		{"mo", 0, "want months or years"},
		{"6m", 0, "unknown unit"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParseStandard(tc.in)
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("err %v, want %q", err, tc.errWant)
				}
				return
			}
			if err != nil || p.Months != tc.months {
				t.Fatalf("got %v, %v; want %d months", p, err, tc.months)
			}
		})
	}
}

func TestAddTo(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	six := Period{Months: 6}
	for _, tc := range []struct {
		name  string
		start time.Time
		loc   *time.Location
		want  time.Time
	}{
		{"plain", time.Date(2026, 11, 21, 8, 30, 15, 0, time.UTC), time.UTC, time.Date(2027, 5, 21, 8, 30, 15, 0, time.UTC)},
		// 31 August has no 28 February twin: the period runs into March.
		{"month end rolls over", time.Date(2026, 8, 31, 12, 0, 0, 0, time.UTC), time.UTC, time.Date(2027, 3, 3, 12, 0, 0, 0, time.UTC)},
		// 30 Nov 20:00 UTC is 1 Dec 04:00 in Shanghai: counted from 1 Dec local.
		{"station zone", time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC), shanghai, time.Date(2027, 5, 31, 20, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := six.AddTo(tc.start, tc.loc)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if got.Sub(tc.start) < 181*24*time.Hour {
				t.Errorf("six months shorter than 181 days: %s", got.Sub(tc.start))
			}
		})
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"6mo", "1y6mo", "180d", "", "99999mo", "1y1y1y", "6\x00mo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseStandard(s)
		if err != nil {
			return
		}
		if p.Months < MinStandardMonths {
			t.Fatalf("%q accepted as %d months", s, p.Months)
		}
		start := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
		if end := p.AddTo(start, time.UTC); end.Before(start.AddDate(0, MinStandardMonths, -3)) {
			t.Fatalf("%q ends %s", s, end)
		}
	})
}
