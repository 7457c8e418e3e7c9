package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"J0123456_012345.MP4", "J0123456_012345.MP4"},
		{"执法记录仪.mp4", "执法记录仪.mp4"},
		{"bad\xffname", `bad\xffname`},
		{"line\nbreak\x1b[31m", `line\u{a}break\u{1b}[31m`},
		{"a\\b", `a\\b`},
		{"rtl\u202etxt", `rtl\u{202e}txt`},
	}
	for _, tc := range tests {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := Printable(strings.Repeat("\xff", 1000))
	if len(long) > MaxPrintable+8 || !utf8.ValidString(long) {
		t.Errorf("long name not bounded: %d bytes", len(long))
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"plain", "bad\xff", "\x1b[2J", "执法", "a\\xff", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Printable(s)
		if !utf8.ValidString(p) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range p {
			if unsafeRune(r) && r != '\\' {
				t.Fatalf("unsafe rune %U out of %q", r, s)
			}
		}
		if len(p) > MaxPrintable+len("…")+12 {
			t.Fatalf("unbounded: %d bytes", len(p))
		}
	})
}
