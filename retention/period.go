// Package retention decides what must be kept, and for how long.
package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinStandardMonths is the legal minimum of the standard class: footage is
// kept for no less than six calendar months after it was recorded.
const MinStandardMonths = 6

// DefaultStandard is the standard period when the config names none.
const DefaultStandard = "6mo"

// Period is a calendar period of whole months. Days are not accepted: a
// number of days is not a number of months (180 days is shorter than six
// months from most dates), so a period in days could undercut the law.
type Period struct {
	Months int
}

// ParsePeriod reads a period such as "6mo", "18mo", "1y" or "1y6mo".
func ParsePeriod(s string) (Period, error) {
	orig := s
	if s == "" {
		return Period{}, fmt.Errorf("empty period: want months or years such as 6mo or 1y")
	}
	var p Period
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 4 {
			return Period{}, fmt.Errorf("%q: want months or years such as 6mo, 18mo or 1y", orig)
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "mo"):
			p.Months += n
			s = s[2:]
		case strings.HasPrefix(s, "y"):
			p.Months += 12 * n
			s = s[1:]
		case strings.HasPrefix(s, "d"), strings.HasPrefix(s, "w"), strings.HasPrefix(s, "h"):
			return Period{}, fmt.Errorf("%q: use months (mo) or years (y); days and weeks are not calendar months", orig)
		default:
			return Period{}, fmt.Errorf("%q: unknown unit (use mo or y)", orig)
		}
	}
	return p, nil
}

// ParseStandard reads the standard retention period and refuses one shorter
// than the legal minimum.
func ParseStandard(s string) (Period, error) {
	p, err := ParsePeriod(s)
	if err != nil {
		return Period{}, fmt.Errorf("%w; the legal minimum is %d months", err, MinStandardMonths)
	}
	if p.Months < MinStandardMonths {
		return Period{}, fmt.Errorf("%s is shorter than the legal minimum of %d months", s, MinStandardMonths)
	}
	return p, nil
}

func (p Period) String() string { return strconv.Itoa(p.Months) + "mo" }

// AddTo is the end of the period that starts at t, counted in calendar
// months in the station's time zone loc. A day that the target month lacks
// (31 August + 6 months) rolls over into the next month, so the period is
// never shorter than asked.
func (p Period) AddTo(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).AddDate(0, p.Months, 0).UTC()
}
