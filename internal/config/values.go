package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/dustin/go-humanize"
	"gopkg.in/yaml.v3"

	"custodian/retention"
)

// The typed values below are parsed once, while decoding: a bad one is a
// problem with its key path and line, and a decoded Config holds only
// values that parsed. Each keeps its text, to show it as written.

// unmarshal sets *out to what parse makes of the scalar n. UnmarshalYAML is
// never called for null, so a value left empty keeps its default.
func unmarshal[T any](n *yaml.Node, want string, out *T, parse func(string) (T, error)) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want " + want)
	}
	v, err := parse(n.Value)
	if err != nil {
		return err
	}
	*out = v
	return nil
}

// must is for the defaults, which always parse.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Size is a number of bytes written as humanize reads it: "32MiB", "20MB",
// "50 GiB" or "0".
type Size struct {
	text string
	n    int64
}

// parseSize reads a size; "" unsets it.
func parseSize(s string) (Size, error) {
	if s == "" {
		return Size{}, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n > math.MaxInt64 {
		return Size{}, fmt.Errorf("%q: want a size such as 32MiB, 20MB or 0", s)
	}
	return Size{text: s, n: int64(n)}, nil
}

// Bytes is the size in bytes.
func (s Size) Bytes() int64 { return s.n }

func (s Size) String() string { return s.text }

// set is false for a size the file left out or gave as "".
func (s Size) set() bool { return s.text != "" }

// UnmarshalYAML parses the size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	return unmarshal(n, "a size such as 32MiB, 20MB or 0", s, parseSize)
}

// MarshalYAML writes the text back.
func (s Size) MarshalYAML() (any, error) { return s.text, nil }

// Standard is the standard retention period: whole calendar months, never
// under the legal minimum.
type Standard struct{ retention.Period }

func parseStandard(s string) (Standard, error) {
	p, err := retention.ParseStandard(s)
	return Standard{p}, err
}

// UnmarshalYAML parses the period with retention.ParseStandard.
func (p *Standard) UnmarshalYAML(n *yaml.Node) error {
	return unmarshal(n, "months or years such as 6mo or 1y", p, parseStandard)
}

// MarshalYAML writes the period in months.
func (p Standard) MarshalYAML() (any, error) { return p.String(), nil }

// Zone is the station's time zone: an IANA name, or "Local".
type Zone struct {
	name string
	loc  *time.Location
}

func parseZone(name string) (Zone, error) {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Zone{}, fmt.Errorf("%q: %v", name, err)
	}
	return Zone{name: name, loc: loc}, nil
}

// Location is the zone.
func (z Zone) Location() *time.Location { return z.loc }

func (z Zone) String() string { return z.name }

// UnmarshalYAML loads the zone.
func (z *Zone) UnmarshalYAML(n *yaml.Node) error {
	return unmarshal(n, "a time zone such as Asia/Shanghai", z, parseZone)
}

// MarshalYAML writes the name back.
func (z Zone) MarshalYAML() (any, error) { return z.name, nil }

// When bounds a row of the devices table: "", a date (2026-11-21) or a time.
// A date, or a time without offset, is in the station's zone, which is only
// known once the whole file is read: In applies it.
type When struct {
	text  string
	t     time.Time // in UTC when !zoned: the wall clock to place in a zone
	zoned bool
}

const wantWhen = "a date (2026-11-21) or a time (2026-11-21T08:30:00+08:00)"

// parseWhen reads an RFC 3339 time, a date or a time without offset.
func parseWhen(s string) (When, error) {
	if s == "" {
		return When{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return When{text: s, t: t, zoned: true}, nil
	}
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return When{text: s, t: t}, nil
		}
	}
	return When{}, fmt.Errorf("%q: want %s", s, wantWhen)
}

// In is the instant, a date or a time without offset read in loc; zero for "".
func (w When) In(loc *time.Location) time.Time {
	if w.zoned || w.text == "" {
		return w.t
	}
	return time.Date(w.t.Year(), w.t.Month(), w.t.Day(), w.t.Hour(), w.t.Minute(), w.t.Second(), w.t.Nanosecond(), loc)
}

func (w When) String() string { return w.text }

// UnmarshalYAML parses the date or time.
func (w *When) UnmarshalYAML(n *yaml.Node) error { return unmarshal(n, wantWhen, w, parseWhen) }

// MarshalYAML writes the text back.
func (w When) MarshalYAML() (any, error) { return w.text, nil }

// Secret is a value that must never be shown: fmt prints it redacted.
// string(s) is the value.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString redacts %#v too.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalYAML redacts a printed config.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }
