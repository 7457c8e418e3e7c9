package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"custodian/ingest/room"
)

func TestRoomConfigValidation(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.url")
	bad := filepath.Join(dir, "bad.url")
	os.WriteFile(good, []byte("rtsp://officer:pw@10.0.0.5/live\n"), 0o600)
	os.WriteFile(bad, []byte("http://officer:topsecret@10.0.0.5/live\n"), 0o600)
	base := "station: st1\ndata_dir: " + dir + "/data\n"
	for _, tc := range []struct {
		name  string
		rooms string
		want  []string // problems, by key path and text
	}{
		{"url_file", "rooms:\n  - {id: r1, url_file: " + good + "}\n", nil},
		{"inline url, udp", "rooms:\n  - {id: r1, url: rtsps://cam/x, transport: udp, segment: 10s}\n", nil},
		{"both urls", "rooms:\n  - {id: r1, url: rtsp://cam/x, url_file: " + good + "}\n", []string{"rooms[0]: give exactly one of url and url_file"}},
		{"no url", "rooms:\n  - {id: r1}\n", []string{"rooms[0].url_file: required"}},
		{"bad scheme, secret not shown", "rooms:\n  - {id: r1, url_file: " + bad + "}\n", []string{`rooms[0].url_file: scheme "http": want rtsp or rtsps`}},
		{"missing file", "rooms:\n  - {id: r1, url_file: " + dir + "/none}\n", []string{"rooms[0].url_file: " + dir + "/none: no such file"}},
		{"short segment, bad transport", "rooms:\n  - {id: r1, url: rtsp://cam/x, segment: 5s, transport: sctp}\n",
			[]string{`rooms[0].transport: "sctp": want tcp or udp`, "rooms[0].segment: 5s is shorter than 10s"}},
		{"duplicate id", "rooms:\n  - {id: r1, url: rtsp://cam/x}\n  - {id: r1, url: rtsp://cam/y}\n", []string{`rooms[1].id: duplicate room id "r1"`}},
		{"unknown key", "rooms:\n  - {id: r1, url: rtsp://cam/x, segmnet: 10m}\n", []string{`rooms[0].segmnet: unknown key`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, base+tc.rooms)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				r := cfg.Rooms[0]
				if r.Transport == "" || r.Segment.D() < 10*time.Second {
					t.Errorf("defaults not applied: %+v", r)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("problems\n%s\nlack %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("a password from url_file appears in the problems:\n%s", err)
			}
		})
	}
}

// rooms[].alert_after: how long a room may go without recording before the
// status alerts; a minute unless set, at least a second.
func TestRoomAlertAfter(t *testing.T) {
	base := "station: st1\ndata_dir: " + t.TempDir() + "/data\n"
	cfg, err := load(t, base+"rooms:\n  - {id: r1, url: rtsp://cam/x}\n  - {id: r2, url: rtsp://cam/y, alert_after: 5s}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Rooms[0].AlertAfter; got.D() != room.DefaultAlertAfter || got.String() != "1m" {
		t.Errorf("default alert_after %v (%s), want 1m", got.D(), got)
	}
	if got := cfg.Rooms[1].AlertAfter.D(); got != 5*time.Second {
		t.Errorf("alert_after %v, want 5s", got)
	}
	_, err = load(t, base+"rooms:\n  - {id: r1, url: rtsp://cam/x, alert_after: 500ms}\n")
	if err == nil || !strings.Contains(err.Error(), "rooms[0].alert_after: 500ms is shorter than 1s") {
		t.Errorf("alert_after 500ms: %v", err)
	}
}
