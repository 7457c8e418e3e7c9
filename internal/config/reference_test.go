package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// load writes text to a file and loads it as the daemon does: parsed,
// validated and its secret files checked.
func load(t *testing.T, text string) (*Config, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "custodian.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(p)
}

// The reference config must stay valid and equal Defaults(): every key it
// shows has its default value, except the examples.
func TestReferenceConfig(t *testing.T) {
	b, err := os.ReadFile("../../configs/custodian.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dock := t.TempDir()
	secrets := t.TempDir()
	os.WriteFile(filepath.Join(secrets, "s3-access"), []byte("access\n"), 0o600)
	os.WriteFile(filepath.Join(secrets, "s3-secret"), []byte("secret\n"), 0o600)
	os.MkdirAll(filepath.Join(secrets, "rooms"), 0o700)
	os.WriteFile(filepath.Join(secrets, "rooms", "interview-1.url"), []byte("rtsp://user:pw@127.0.0.1:8554/cam\n"), 0o600)
	os.WriteFile(filepath.Join(secrets, "rooms", "interview-2.credentials"), []byte("recorder:pw\n"), 0o600)
	text := strings.NewReplacer("/srv/custodian/docks/dock-a", dock, "/etc/custodian", secrets).Replace(string(b))
	got, err := load(t, text)
	if err != nil {
		t.Fatalf("reference config invalid:\n%v", err)
	}

	want := Defaults()
	// The examples, each with the defaults of what it leaves to them.
	want.Station = "st01"
	want.Docks = []DockConfig{{ID: "dock-a", Path: dock}}
	dockDefaults(&want.Docks[0])
	want.Rooms = []RoomConfig{{ID: "interview-1", URLFile: secrets + "/rooms/interview-1.url"},
		{ID: "interview-2", Listen: "rtsp://0.0.0.0:8554/interview-2", CredentialsFile: secrets + "/rooms/interview-2.credentials"}}
	roomDefaults(&want.Rooms[0])
	roomDefaults(&want.Rooms[1])
	want.Archive = &ArchiveConfig{Endpoint: "127.0.0.1:9000", Bucket: "evidence",
		AccessKeyFile: secrets + "/s3-access", SecretKeyFile: secrets + "/s3-secret"}
	archiveDefaults(want.Archive)
	if len(got.Profiles) != 1 || len(got.Devices) != 2 {
		t.Errorf("examples missing: %d profiles, %d devices", len(got.Profiles), len(got.Devices))
	}
	want.Profiles, want.Devices = got.Profiles, got.Devices

	gv, wv := reflect.ValueOf(*got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if !gv.Type().Field(i).IsExported() {
			continue // what validation derives, not what the file says
		}
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s differs from Defaults():\n got %+v\nwant %+v", gv.Type().Field(i).Name, g, w)
		}
	}
}

func TestQuickstartConfig(t *testing.T) {
	b, err := os.ReadFile("../../configs/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "var/docks/dock-a"), 0o755)
	text := strings.ReplaceAll(string(b), "./var/", dir+"/var/")
	if _, err := load(t, text); err != nil {
		t.Fatalf("quickstart config invalid:\n%v", err)
	}
}
