// Package camera knows body cameras as custodian meets them on a dock: the
// file-name profiles, the devices table, device sidecar files, and how to
// open a camera's file without following a link.
package camera

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"custodian/internal/text"
)

// ProfileSpec is a profile as data, the form a site writes in its config to
// add a camera model without new code.
type ProfileSpec struct {
	Name string `yaml:"name"`
	// Pattern is a regular expression matched against the whole file name.
	// Named groups it may use: device, officer, start, seq, flag, ext.
	Pattern string `yaml:"pattern"`
	// TimeLayout is the Go layout of the start group (camera local time).
	TimeLayout string `yaml:"time_layout"`
	// Important and Locked list flag group values (any case) that mean the
	// officer marked the file important, or a trigger locked it.
	Important []string `yaml:"important"`
	Locked    []string `yaml:"locked"`
	// DoneSuffix names a completion marker the camera writes beside a finished
	// file (name+suffix); when present the file is taken without waiting to settle.
	DoneSuffix string `yaml:"done_suffix"`
}

// Profile reads camera file names.
type Profile struct {
	spec ProfileSpec
	re   *regexp.Regexp
}

var knownGroups = map[string]bool{"device": true, "officer": true, "start": true, "seq": true, "flag": true, "ext": true}

// Compile checks a spec and builds its profile. It reports every problem at once.
func Compile(s ProfileSpec) (*Profile, error) {
	var errs []error
	if !text.ValidID(s.Name) {
		errs = append(errs, fmt.Errorf("name %q: want 1-32 letters, digits, '.', '_' or '-'", s.Name))
	}
	re, err := regexp.Compile(s.Pattern)
	if err != nil {
		errs = append(errs, fmt.Errorf("pattern: %w", err))
	} else {
		for _, g := range re.SubexpNames()[1:] {
			if g != "" && !knownGroups[g] {
				errs = append(errs, fmt.Errorf("pattern: unknown group %q (known: device, officer, start, seq, flag, ext)", g))
			}
		}
		if re.SubexpIndex("start") >= 0 && s.TimeLayout == "" {
			errs = append(errs, errors.New("time_layout: required when the pattern has a start group"))
		}
	}
	if s.TimeLayout != "" {
		if _, err := time.Parse(s.TimeLayout, time.Date(2026, 11, 21, 8, 30, 15, 0, time.UTC).Format(s.TimeLayout)); err != nil {
			errs = append(errs, fmt.Errorf("time_layout %q: %w", s.TimeLayout, err))
		}
	}
	if strings.ContainsAny(s.DoneSuffix, "/\x00") {
		errs = append(errs, fmt.Errorf("done_suffix %q: must not contain '/'", s.DoneSuffix))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Profile{spec: s, re: re}, nil
}

// Name of the profile.
func (p *Profile) Name() string { return p.spec.Name }

// DoneSuffix is the completion marker suffix, or "".
func (p *Profile) DoneSuffix() string { return p.spec.DoneSuffix }

// Meta is what a file name says. Parsed is false when the profile could not
// read the name; Ext and Kind are filled in any case.
type Meta struct {
	Parsed    bool
	Device    string
	Officer   string
	Start     time.Time // zero when the name has none or it is not a real date
	BadTime   bool      // the name has a start that is not a valid date
	Seq       int
	Important bool
	Locked    bool
	Ext       string // lower case, without the dot
	Kind      string // video, photo, audio, other
}

// MaxNameLen bounds the names a profile will try to read; longer names are
// ingested as unparsed.
const MaxNameLen = 255

// Parse reads a file name. Camera times are read in loc.
func (p *Profile) Parse(name string, loc *time.Location) Meta {
	m := Meta{Ext: extOf(name)}
	m.Kind = kindOf(m.Ext)
	if len(name) > MaxNameLen {
		return m
	}
	sub := p.re.FindStringSubmatch(name)
	if sub == nil {
		return m
	}
	group := func(g string) string {
		if i := p.re.SubexpIndex(g); i >= 0 {
			return sub[i]
		}
		return ""
	}
	m.Parsed = true
	if d := group("device"); text.ValidID(d) {
		m.Device = d
	}
	if o := group("officer"); text.ValidID(o) {
		m.Officer = o
	}
	if s := group("start"); s != "" {
		t, err := time.ParseInLocation(p.spec.TimeLayout, s, loc)
		if err != nil {
			m.BadTime = true
		} else {
			m.Start = t
		}
	}
	if s := group("seq"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			m.Seq = n
		}
	}
	flag := group("flag")
	m.Important = containsFold(p.spec.Important, flag)
	m.Locked = containsFold(p.spec.Locked, flag)
	if e := group("ext"); e != "" {
		m.Ext = strings.ToLower(e)
		m.Kind = kindOf(m.Ext)
	}
	return m
}

func containsFold(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func extOf(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 || len(name)-i-1 > 8 {
		return ""
	}
	e := strings.ToLower(name[i+1:])
	for _, c := range e {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return ""
		}
	}
	return e
}

var kinds = map[string]string{
	"mp4": "video", "mov": "video", "avi": "video", "ts": "video", "mkv": "video", "m4v": "video", "3gp": "video", "h264": "video", "h265": "video",
	"jpg": "photo", "jpeg": "photo", "png": "photo", "bmp": "photo",
	"wav": "audio", "amr": "audio", "mp3": "audio", "aac": "audio", "m4a": "audio",
}

func kindOf(ext string) string {
	if k, ok := kinds[ext]; ok {
		return k
	}
	return "other"
}

// Built-in profiles. gat947 follows the GA/T 947-style names recorders use:
// <device>_<officer>_<YYYYMMDDhhmmss>_<seq>[_<flag>].<ext>, leniently ('-' as
// separator too, any case). generic reads nothing from the name.
var builtins = []ProfileSpec{
	{
		Name: "gat947",
		Pattern: `^(?P<device>[A-Za-z0-9]{5,20})[_-](?P<officer>[0-9]{1,12})[_-](?P<start>[0-9]{14})` +
			`[_-](?P<seq>[0-9]{1,6})(?:[_-](?P<flag>[A-Za-z]{1,12}))?\.(?P<ext>[A-Za-z0-9]{1,5})$`,
		TimeLayout: "20060102150405",
		Important:  []string{"IMP", "IMPORTANT"},
		Locked:     []string{"LOCK", "LOCKED"},
	},
	{
		Name:    "generic",
		Pattern: `^[^/]+$`,
	},
}

// Builtins returns the built-in profile specs.
func Builtins() []ProfileSpec { return append([]ProfileSpec(nil), builtins...) }

// Profiles resolves profile names: the built-ins plus a site's own, which may
// not reuse a built-in name.
type Profiles map[string]*Profile

// NewProfiles compiles the built-ins and extra.
func NewProfiles(extra []ProfileSpec) (Profiles, error) {
	out := Profiles{}
	var errs []error
	for i, s := range append(Builtins(), extra...) {
		p, err := Compile(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("profile %q: %w", s.Name, err))
			continue
		}
		if _, dup := out[s.Name]; dup {
			errs = append(errs, fmt.Errorf("profile %q (#%d): name already used", s.Name, i))
			continue
		}
		out[s.Name] = p
	}
	return out, errors.Join(errs...)
}
