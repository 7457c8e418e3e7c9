package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// An archive that stops reading in the middle of an upload (its TCP window
// closed) costs the stall timeout, not forever, and is a network failure:
// transient, retried, never local.
func TestUploadToAPeerThatStopsReading(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					if _, ok := req.URL.Query()["location"]; ok {
						body := `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">us-east-1</LocationConstraint>`
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: " +
							strconv.Itoa(len(body)) + "\r\n\r\n" + body))
						continue
					}
					if req.Method == http.MethodHead { // no such object yet
						c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
						continue
					}
					if req.Header.Get("Expect") == "100-continue" {
						c.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
					}
					<-done // a PUT: never read its body
					return
				}
			}()
		}
	}()
	a, err := New(Config{Endpoint: ln.Addr().String(), Bucket: "evidence", AccessKey: "k", SecretKey: "s",
		PartSize: 64 << 20, WriteStall: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), 48<<20)
	sum := sha256.Sum256(data)
	start := time.Now()
	_, err = a.Put(context.Background(), PutRequest{Key: "st01/k.mp4", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Body: bytes.NewReader(data), Metadata: map[string]string{}, RetainUntil: time.Now().Add(time.Hour)})
	took := time.Since(start)
	if err == nil || KindOf(err) != KindNetwork {
		t.Fatalf("err %v kind %q, want a network failure", err, KindOf(err))
	}
	if took > 20*time.Second {
		t.Fatalf("a stalled upload took %v", took)
	}
}
