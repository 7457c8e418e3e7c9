// Package miniotest starts a throw-away MinIO server for tests: a free
// loopback port, random credentials, a temporary data directory.
package miniotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"custodian/internal/testenv"
)

// Need skips the test when what it needs is absent, and fails it under CI
// (CI=true), where a skipped real-server test would hide a regression.
func Need(t testing.TB, what string) {
	t.Helper()
	testenv.Need(t, what)
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
	// Secure and CAFile are set by StartTLS: the server speaks TLS with a
	// certificate for 127.0.0.1 signed by the CA in CAFile.
	Secure bool
	CAFile string

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
	return start(t, false)
}

// StartTLS is Start with TLS, from a private CA (see Server.CAFile).
func StartTLS(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, secure bool) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		Need(t, "no MinIO server: set CUSTODIAN_MINIO or run `make deps`")
	}
	if fi, err := os.Stat(bin); err != nil || !fi.Mode().IsRegular() {
		Need(t, fmt.Sprintf("no MinIO server at %s", bin))
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
	if secure {
		s.Secure = true
		s.CAFile = writeCerts(t, s.Dir)
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

// Freeze stops the server process (SIGSTOP) without closing anything: its
// connections stay open and unanswered, as a hung archive's do.
func (s *Server) Freeze() {
	s.t.Helper()
	if err := s.proc.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("freeze minio: %v", err)
	}
}

// Thaw lets a frozen server run again (SIGCONT).
func (s *Server) Thaw() {
	s.t.Helper()
	if err := s.proc.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("thaw minio: %v", err)
	}
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
	args := []string{"server", filepath.Join(s.Dir, "data"),
		"--address", s.Endpoint, "--console-address", freeAddr(s.t), "--quiet"}
	client := http.DefaultClient
	scheme := "http://"
	if s.Secure {
		args = append(args, "--certs-dir", filepath.Join(s.Dir, "certs"))
		pool := x509.NewCertPool()
		caPEM, err := os.ReadFile(s.CAFile)
		if err != nil {
			return err
		}
		pool.AppendCertsFromPEM(caPEM)
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		scheme = "https://"
	}
	cmd := exec.Command(s.bin, args...)
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
		resp, err := client.Get(scheme + s.Endpoint + "/")
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

// writeCerts makes a CA and a server certificate for 127.0.0.1 signed by
// it, in the layout MinIO's --certs-dir wants, and returns the CA's path.
func writeCerts(t testing.TB, dir string) string {
	t.Helper()
	certs := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "custodian test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(certs, "public.crt"), "CERTIFICATE", der)
	write(filepath.Join(certs, "private.key"), "PRIVATE KEY", keyDER)
	caFile := filepath.Join(dir, "ca.pem")
	write(caFile, "CERTIFICATE", caDER)
	return caFile
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
