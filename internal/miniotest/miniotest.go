// Package miniotest starts a throw-away MinIO server for tests: a free
// loopback port, random credentials, a temporary data directory.
package miniotest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Need skips the test when what it needs is absent, and fails it under CI
// (CI=true), where a skipped real-server test would hide a regression.
func Need(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI: %s", what)
	}
	t.Skip(what)
}

// Binary finds the MinIO server: $CUSTODIAN_MINIO, else .cache/bin/minio in
// this directory or a parent, else minio on PATH. It returns "" when none.
func Binary() string {
	if p := os.Getenv("CUSTODIAN_MINIO"); p != "" {
		return p
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			p := filepath.Join(dir, ".cache", "bin", "minio")
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	return ""
}

// Server is a running MinIO.
type Server struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string
	Dir       string

	t      testing.TB
	bin    string
	proc   *os.Process
	exited chan error
	log    *os.File
}

// Start starts MinIO or skips (fails under CI) when no binary is found. The
// server is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		Need(t, "no MinIO server: set CUSTODIAN_MINIO or run `make deps`")
	}
	s := &Server{
		t:         t,
		bin:       bin,
		AccessKey: "ak" + randomHex(8),
		SecretKey: "sk" + randomHex(16),
		Dir:       t.TempDir(),
	}
	var err error
	s.log, err = os.Create(filepath.Join(s.Dir, "minio.log"))
	if err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		s.Endpoint = freeAddr(t)
		err = s.start()
		if err == nil || attempt == 3 {
			break
		}
	}
	if err != nil {
		t.Fatalf("start minio: %v\n%s", err, s.Log())
	}
	t.Cleanup(func() {
		s.Stop()
		s.log.Close()
	})
	return s
}

// Stop kills the server; its data stays for Restart.
func (s *Server) Stop() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Signal(syscall.SIGKILL)
	<-s.exited
	s.proc = nil
}

// Restart starts the server again on the same address and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond) // the port may linger briefly
	}
	s.t.Fatalf("restart minio: %v\n%s", err, s.Log())
}

// Log is the server's output so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log.Name())
	return string(b)
}

func (s *Server) start() error {
	cmd := exec.Command(s.bin, "server", filepath.Join(s.Dir, "data"),
		"--address", s.Endpoint, "--console-address", freeAddr(s.t), "--quiet")
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=on",
	)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("minio exited: %v", err)
		default:
		}
		// An anonymous S3 call answers 403 once the object layer is up;
		// the health endpoints say ready earlier than that.
		resp, err := http.Get("http://" + s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusForbidden {
				s.proc, s.exited = cmd.Process, exited
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-exited
	return errors.New("minio not ready after 30s")
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
