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
		{"both urls", "rooms:\n  - {id: r1, url: rtsp://cam/x, url_file: " + good + "}\n", []string{"rooms[0]: give exactly one of url, url_file and listen"}},
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

// rooms[].listen: a room whose recorder pushes. Every problem of the
// listening rooms is reported at once, by key path, and never with the
// content of a credentials file.
func TestRoomListenValidation(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "room-3.credentials")
	os.WriteFile(creds, []byte("recorder:Sup3rS3cret\n"), 0o600)
	base := "station: st1\ndata_dir: " + dir + "/data\nadmin: {listen: '127.0.0.1:9420'}\n"
	for _, tc := range []struct {
		name  string
		rooms string
		want  []string
	}{
		{"two rooms, one server", "rooms:\n" +
			"  - {id: r3, listen: 'rtsp://0.0.0.0:8554/room-3', credentials_file: " + creds + "}\n" +
			"  - {id: r4, listen: 'rtsp://0.0.0.0:8554/room-4', credentials_file: " + creds + "}\n", nil},
		{"url and listen", "rooms:\n  - {id: r3, url: 'rtsp://cam/x', listen: 'rtsp://0.0.0.0:8554/room-3', credentials_file: " + creds + "}\n",
			[]string{"rooms[0]: give exactly one of url, url_file and listen"}},
		{"url_file and listen", "rooms:\n  - {id: r3, url_file: " + creds + ", listen: 'rtsp://0.0.0.0:8554/room-3', credentials_file: " + creds + "}\n",
			[]string{"rooms[0]: give exactly one of url, url_file and listen"}},
		{"no credentials_file", "rooms:\n  - {id: r3, listen: 'rtsp://0.0.0.0:8554/room-3'}\n",
			[]string{"rooms[0].credentials_file: required with listen"}},
		{"credentials_file without listen", "rooms:\n  - {id: r3, url: 'rtsp://cam/x', credentials_file: " + creds + "}\n",
			[]string{"rooms[0].credentials_file: only with listen"}},
		{"everything wrong at once", "rooms:\n" +
			"  - {id: r3, listen: 'rtsp://0.0.0.0:8554/room-3', credentials_file: " + creds + ", transport: udp}\n" +
			"  - {id: r4, listen: 'rtsp://0.0.0.0:8554/room-3', credentials_file: " + creds + "}\n" +
			"  - {id: r5, listen: 'rtsp://127.0.0.1:8554/room-5', credentials_file: " + creds + "}\n" +
			"  - {id: r6, listen: 'rtsp://recorder:Sup3rS3cret@0.0.0.0:8554/room-6', credentials_file: " + creds + "}\n" +
			"  - {id: r7, listen: 'rtsp://0.0.0.0:9420/room-7', credentials_file: " + creds + "}\n" +
			"  - {id: r8, listen: 'rtsp://0.0.0.0/room-8', credentials_file: " + creds + "}\n" +
			"  - {id: r9, listen: 'rtsp://0.0.0.0:8554', credentials_file: " + creds + "}\n",
			[]string{
				`rooms[0].transport: "udp": a push is taken over tcp only`,
				"rooms[1].listen: rtsp://0.0.0.0:8554/room-3 is also rooms[0]'s: each room needs its own path",
				`rooms[2].listen: port 8554 is listened on at "0.0.0.0" by rooms[0]`,
				"rooms[3].listen: holds credentials; put them in credentials_file",
				"rooms[4].listen: port 9420 is the admin API's (admin.listen)",
				"rooms[5].listen: rtsp://0.0.0.0/room-8: want host:port",
				"rooms[6].listen: rtsp://0.0.0.0:8554: want a path naming the room",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, base+tc.rooms)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				sec, err := cfg.ReadSecrets()
				if err != nil {
					t.Fatal(err)
				}
				if c := sec.RoomCredentials["r4"]; c.User != "recorder" || c.Password != "Sup3rS3cret" {
					t.Errorf("credentials of r4 not read")
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
			if strings.Contains(err.Error(), "Sup3rS3cret") {
				t.Errorf("a password appears in the problems:\n%s", err)
			}
		})
	}
}

// A credentials file is a secret file: private, and never quoted.
func TestRoomCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		os.Chmod(p, mode)
		return p
	}
	open := write("open", "recorder:Sup3rS3cret\n", 0o644)
	bad := write("bad", "Sup3rS3cret\n", 0o600)
	cfg, err := Parse([]byte("station: st1\ndata_dir: " + dir + "/data\nrooms:\n" +
		"  - {id: r3, listen: 'rtsp://0.0.0.0:8554/room-3', credentials_file: " + open + "}\n" +
		"  - {id: r4, listen: 'rtsp://0.0.0.0:8554/room-4', credentials_file: " + bad + "}\n" +
		"  - {id: r5, listen: 'rtsp://0.0.0.0:8554/room-5', credentials_file: " + dir + "/none}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.ReadSecrets()
	for _, want := range []string{
		"rooms[0].credentials_file: " + open + ": mode 0644 lets other users read or change it; run chmod 600",
		"rooms[1].credentials_file: " + bad + ": no ':'; want user:password",
		"rooms[2].credentials_file: " + dir + "/none: no such file",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "Sup3rS3cret") {
		t.Fatal("a secret in an error")
	}
}
