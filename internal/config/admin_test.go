package config

import (
	"strings"
	"testing"
	"time"
)

func TestConfigStorageAndAdmin(t *testing.T) {
	tests := []struct {
		name, yaml string
		problems   []string
	}{
		{"defaults", "station: st01\n", nil},
		{"thresholds", "station: st01\nstorage: {require_marker: true, free_warning_percent: 20, free_critical_percent: 10, check_interval: 1m}\n", nil},
		{"critical above warning", "station: st01\nstorage: {free_warning_percent: 5, free_critical_percent: 10}\n",
			[]string{"storage.free_critical_percent: want 0 < free_critical_percent (10) < free_warning_percent (5) < 100"}},
		{"interval too short", "station: st01\nstorage: {check_interval: 10ms}\n",
			[]string{"storage.check_interval: 10ms is shorter than 1s"}},
		{"tls half given", "station: st01\nadmin: {tls_cert_file: /etc/custodian/tls.crt}\n",
			[]string{"admin.tls_cert_file: give both tls_cert_file and tls_key_file, or neither"}},
		{"socket", "station: st01\nadmin: {socket: ./var/admin.sock, users_file: /etc/custodian/users}\n", nil},
		{"socket too long", "station: st01\nadmin: {socket: /run/" + strings.Repeat("x", 103) + "}\n",
			[]string{"admin.socket: longer than 107 bytes, the most a Unix socket's path may have"}},
		{"typo", "station: st01\nstorage: {require_markr: true}\n",
			[]string{`storage.require_markr: unknown key (line 2); did you mean "require_marker"?`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.yaml))
			if tc.problems == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.problems)
			}
			want := strings.Join(tc.problems, "\n")
			if err.Error() != want {
				t.Fatalf("got\n%s\nwant\n%s", err, want)
			}
			_ = cfg
		})
	}
	cfg, err := Parse([]byte("station: st01\ndata_dir: /srv/c\nstorage: {require_marker: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Health(nil)
	if len(h.Volumes) != 2 || h.Volumes[0].Path != "/srv/c/staging" || h.Volumes[1].Marker != "/srv/c/.custodian-volume" ||
		h.FreeWarning != 0.15 || h.FreeCritical != 0.05 || h.Interval != 30*time.Second {
		t.Fatalf("health config %+v", h)
	}
}
