package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigArchiveAndRetention(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	access := write("access", "custodian-st01\n", 0o600)
	secret := write("secret", "Sup3rS3cretValue\n", 0o600)
	twoLines := write("two", "Sup3rS3cretValue\nsecond-line\n", 0o600)
	empty := write("empty", "\n", 0o600)
	base := "station: st01\ndata_dir: " + dir + "/data\n"
	archive := func(extra string) string {
		return base + "archive:\n  endpoint: 127.0.0.1:9000\n  bucket: evidence\n  access_key_file: " + access +
			"\n  secret_key_file: " + secret + "\n" + extra
	}
	for _, tc := range []struct {
		name string
		yaml string
		want []string // problems, each a substring of one line; none: valid
	}{
		{"local-only", base, nil},
		{"archive", archive("  max_uploads: 2\n  part_size: 16MiB\n  bandwidth_limit: 20MB\n"), nil},
		{"retention 12mo", base + "retention: {standard: 12mo}\n", nil},
		{"retention too short", base + "retention: {standard: 5mo}\n",
			[]string{"retention.standard: 5mo is shorter than the legal minimum of 6 months"}},
		{"retention in days", base + "retention: {standard: 180d}\n",
			[]string{"retention.standard: \"180d\": use months (mo) or years (y)"}},
		{"retention typo key", base + "retention: {standrad: 6mo}\n", []string{"retention.standrad: unknown key"}},
		{"archive typo key", archive("  max_upload: 2\n"), []string{"archive.max_upload: unknown key"}},
		{"missing fields", base + "archive: {secure: false}\n", []string{
			"archive.endpoint: required", "archive.bucket:", "archive.access_key_file: required", "archive.secret_key_file: required"}},
		{"endpoint with credentials", strings.Replace(archive(""), "127.0.0.1:9000", "http://u:Pa55word@127.0.0.1:9000", 1),
			[]string{"archive.endpoint: want host:port only"}},
		{"secret file absent", strings.Replace(archive(""), secret, dir+"/nope", 1),
			[]string{"archive.secret_key_file: " + dir + "/nope: no such file or directory"}},
		{"secret file two lines", strings.Replace(archive(""), secret, twoLines, 1),
			[]string{"archive.secret_key_file: " + twoLines + ": more than one line"}},
		{"secret file empty", strings.Replace(archive(""), secret, empty, 1),
			[]string{"archive.secret_key_file: " + empty + ": empty"}},
		{"ca without tls", archive("  ca_file: " + access + "\n"), []string{"archive.ca_file: needs secure: true"}},
		{"bad sizes", archive("  part_size: 1MiB\n  bandwidth_limit: fast\n  max_uploads: -1\n"), []string{
			"archive.part_size: 1MiB: want 5MiB to 5GiB", "archive.bandwidth_limit: \"fast\"", "archive.max_uploads: -1: want 1 to 64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := load(t, tc.yaml)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Retention.Standard.Months < 6 {
					t.Errorf("standard period %v", cfg.Retention.Standard)
				}
				return
			}
			if err == nil {
				t.Fatal("config accepted")
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("problems\n%s\nlack %q", msg, w)
				}
			}
			for _, secret := range []string{"Sup3rS3cretValue", "Pa55word", "second-line"} {
				if strings.Contains(msg, secret) {
					t.Errorf("problems show a secret:\n%s", msg)
				}
			}
		})
	}
}

func TestConfigArchiveDefaults(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "s"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := Parse([]byte("station: st01\ndata_dir: " + dir + "/d\narchive: {endpoint: 'h:9000', bucket: evidence, access_key_file: " +
		dir + "/a, secret_key_file: " + dir + "/s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	sec, err := cfg.ReadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.Archive.ClientConfig(sec)
	if cfg.Archive.MaxUploads != 4 || sc.PartSize != 32<<20 || sc.AccessKey != "x" || sc.SecretKey != "x" || cfg.UploadConfig().BandwidthLimit != 0 {
		t.Errorf("defaults: %+v part %d", cfg.Archive, sc.PartSize)
	}
	if p := cfg.RetentionPolicy(); p.Standard.Months != 6 || p.MinFree != 0 || p.Grace != 7*24*time.Hour || !p.Archive {
		t.Errorf("retention defaults %+v", p)
	}
}
