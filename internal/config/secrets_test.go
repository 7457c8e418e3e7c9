package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Load reports the problems of the text and of the secret files together,
// as `custodian serve` prints them.
func TestLoadReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	_, err := load(t, "station: st01\ndata_dir: "+dir+"/data\ncolour: red\n"+
		"archive: {endpoint: 'h:9000', bucket: evidence, access_key_file: "+dir+"/none, secret_key_file: "+dir+"/none}\n"+
		"rooms: [{id: r1, url_file: "+dir+"/none.url}]\n")
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"  colour: unknown key (line 3)",
		"  archive.access_key_file: " + dir + "/none: no such file or directory",
		"  archive.secret_key_file: " + dir + "/none: no such file or directory",
		"  rooms[0].url_file: " + dir + "/none.url: no such file or directory",
	}
	if !strings.HasPrefix(lines[0], "config ") || strings.Join(lines[1:], "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

// Parse reads no secret file: that is ReadSecrets' job.
func TestParseReadsNoSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg, err := Parse([]byte("station: st01\ndata_dir: " + dir + "\n" +
		"archive: {endpoint: 'h:9000', bucket: evidence, access_key_file: " + dir + "/a, secret_key_file: " + dir + "/s}\n" +
		"rooms: [{id: r1, url_file: " + dir + "/r1.url}, {id: r2, url: 'rtsp://cam/x'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.ReadSecrets(); err == nil || !strings.Contains(err.Error(), "archive.access_key_file: "+dir+"/a: no such file") {
		t.Fatalf("secrets without their files: %v", err)
	}
	for name, content := range map[string]string{"a": "AKIA1\n", "s": "Sup3rS3cret\n", "r1.url": "rtsp://officer:pw1@10.0.0.5/live\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600)
	}
	sec, err := cfg.ReadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if sec.ArchiveAccessKey != "AKIA1" || sec.ArchiveSecretKey != "Sup3rS3cret" ||
		sec.RoomURLs["r1"] != "rtsp://officer:pw1@10.0.0.5/live" || sec.RoomURLs["r2"] != "rtsp://cam/x" {
		t.Fatalf("secrets %#v", map[string]string{"access": string(sec.ArchiveAccessKey), "secret": string(sec.ArchiveSecretKey),
			"r1": string(sec.RoomURLs["r1"]), "r2": string(sec.RoomURLs["r2"])})
	}
}

// A Config, and Secrets, print without a secret.
func TestSecretsNeverShown(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s"), []byte("Sup3rS3cret\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c"), []byte("recorder:pw1\n"), 0o600)
	cfg, err := load(t, "station: st01\ndata_dir: "+dir+"/d\n"+
		"archive: {endpoint: 'h:9000', bucket: evidence, access_key_file: "+dir+"/s, secret_key_file: "+dir+"/s}\n"+
		"rooms: [{id: r1, url: 'rtsp://officer:pw1@10.0.0.5/live'}, {id: r2, listen: 'rtsp://0.0.0.0:8554/r2', credentials_file: "+dir+"/c}]\n")
	if err != nil {
		t.Fatal(err)
	}
	sec, err := cfg.ReadSecrets()
	if err != nil {
		t.Fatal(err)
	}
	if sec.RoomCredentials["r2"].Password != "pw1" {
		t.Fatal("r2's credentials not read")
	}
	show := func(how, s string) {
		if strings.Contains(s, "Sup3rS3cret") || strings.Contains(s, "pw1") {
			t.Errorf("%s shows a secret: %s", how, s)
		}
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{*cfg, cfg.Rooms, sec} {
			show(format, fmt.Sprintf(format, v))
		}
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	show("yaml", string(b))
	if !strings.Contains(string(b), "url: '[redacted]'") || !strings.Contains(string(b), "part_size: 32 MiB") {
		t.Errorf("printed config:\n%s", b)
	}
}

func TestReadToken(t *testing.T) {
	const token = "cli-test-token-0123456789abcdef"
	dir := t.TempDir()
	for _, tc := range []struct{ name, content, want string }{
		{"good", "  " + token + "\n", ""},
		{"short", "abc\n", "the token is shorter than 16 characters"},
		{"space inside", "abcdefgh ijklmnopqrs", "printable ASCII without spaces"},
		{"binary", "abcdefghijklmnop\x00q", "printable ASCII without spaces"},
	} {
		p := filepath.Join(dir, tc.name)
		os.WriteFile(p, []byte(tc.content), 0o600)
		tok, err := AdminConfig{TokenFile: p}.ReadToken()
		switch {
		case tc.want == "" && (err != nil || tok != token):
			t.Errorf("%s: %q %v", tc.name, tok, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "abcdefgh")):
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	if _, err := (AdminConfig{TokenFile: filepath.Join(dir, "none")}).ReadToken(); err == nil {
		t.Error("missing token file accepted")
	}
}

// A secret file other users may read is refused, as sshd refuses a key:
// every such file at once, with the fix, never with its content.
func TestSecretFilesMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"a": 0o644, "s": 0o640, "r1.url": 0o604, "tok": 0o660, "ok": 0o600, "ro": 0o400} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("Sup3rS3cretValue\n"), 0o600)
		os.Chmod(p, mode)
	}
	cfg, err := Parse([]byte("station: st01\ndata_dir: " + dir + "\n" +
		"archive: {endpoint: 'h:9000', bucket: evidence, access_key_file: " + dir + "/a, secret_key_file: " + dir + "/s}\n" +
		"rooms: [{id: r1, url_file: " + dir + "/r1.url}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.ReadSecrets()
	for _, want := range []string{
		"archive.access_key_file: " + dir + "/a: mode 0644 lets other users read or change it; run chmod 600 " + dir + "/a",
		"archive.secret_key_file: " + dir + "/s: mode 0640",
		"rooms[0].url_file: " + dir + "/r1.url: mode 0604",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "Sup3rS3cret") {
		t.Fatal("a secret in an error")
	}
	if _, err := (AdminConfig{TokenFile: dir + "/tok"}).ReadToken(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("token 0660: %v", err)
	}
	for _, ok := range []string{"ok", "ro"} {
		if tok, err := (AdminConfig{TokenFile: dir + "/" + ok}).ReadToken(); err != nil || tok != "Sup3rS3cretValue" {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestReadUsersFile: the users file holds hashes; others may not read it.
func TestReadUsersFile(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{"open": 0o640, "private": 0o600} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("wang.li supervisor $2a$11$Sup3rS3cret\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	_, err := AdminConfig{UsersFile: filepath.Join(dir, "open")}.ReadUsersFile()
	if err == nil || !strings.HasPrefix(err.Error(), "admin.users_file "+dir+"/open: mode 0640") || strings.Contains(err.Error(), "Sup3r") {
		t.Errorf("group-readable users file: %v", err)
	}
	if b, err := (AdminConfig{UsersFile: filepath.Join(dir, "private")}).ReadUsersFile(); err != nil || !strings.Contains(string(b), "wang.li") {
		t.Errorf("private users file: %v", err)
	}
}
