// Package text makes untrusted names safe: the ids custodian accepts, and the
// printable form of anything a device or a person typed.
package text

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidID reports whether s is fit to be a device serial, officer number,
// dock or room id: 1-32 ASCII letters, digits, '.', '_' or '-', not starting
// with '.'. Such ids are safe in paths, object keys, index keys and logs.
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// MaxPrintable bounds how much of an untrusted name is shown.
const MaxPrintable = 512

// Printable makes an untrusted name safe to log and show: invalid UTF-8 bytes
// become \xNN, control and format characters become \u{...}, and the result
// is cut at MaxPrintable bytes. Valid names, Chinese ones included, pass
// through unchanged.
func Printable(s string) string {
	if len(s) <= MaxPrintable && utf8.ValidString(s) && !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if b.Len() >= MaxPrintable {
			b.WriteString("…")
			break
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u{%x}`, r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\\' || r == utf8.RuneError
}
