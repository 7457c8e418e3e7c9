package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a config duration such as "5s", "90m", "7d" or "1d12h".
type Duration struct {
	text string
	d    time.Duration
}

func durationOf(d time.Duration) Duration { return Duration{text: d.String(), d: d} }

// parseDuration reads a duration; "" unsets it (then a list entry gets its
// default, any other key the problem "empty duration").
func parseDuration(s string) (Duration, error) {
	if s == "" {
		return Duration{}, nil
	}
	d, err := ParseDuration(s)
	return Duration{text: s, d: d}, err
}

// D is the duration.
func (d Duration) D() time.Duration { return d.d }

func (d Duration) String() string { return d.text }

// set is false for a duration the file left out or gave as "".
func (d Duration) set() bool { return d.text != "" }

// UnmarshalYAML parses the duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	return unmarshal(n, "a duration such as 5s, 10m or 7d", d, parseDuration)
}

// MarshalYAML writes the text back.
func (d Duration) MarshalYAML() (any, error) { return d.text, nil }

// check returns a problem, or "".
func (d Duration) check(least time.Duration) string {
	switch {
	case !d.set():
		return "empty duration"
	case d.d < least:
		return fmt.Sprintf("%s is shorter than %s", d.text, least)
	}
	return ""
}

var units = []struct {
	suffix string
	d      time.Duration
}{
	{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute},
	{"h", time.Hour}, {"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour},
}

// ParseDuration reads a sequence of <number><unit> with units ms, s, m, h, d
// (24 h) and w; "0" alone is zero. Months vary in length, so "mo" is only
// accepted where a calendar period is meant (retention).
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	if s == "0" {
		return 0, nil
	}
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	var total time.Duration
	for s != "" {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("%q: want a duration such as 5s, 10m, 36h or 7d", orig)
		}
		n, _ := strconv.Atoi(s[:i]) // at most 9 digits
		s = s[i:]
		if strings.HasPrefix(s, "mo") {
			return 0, fmt.Errorf("%q: months are calendar periods and are not allowed here", orig)
		}
		var unit time.Duration
		for _, u := range units {
			if strings.HasPrefix(s, u.suffix) && (u.suffix != "m" || !strings.HasPrefix(s, "ms")) {
				unit, s = u.d, s[len(u.suffix):]
				break
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf("%q: unknown unit (use ms, s, m, h, d or w)", orig)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}
