// Package tcpproxy is a TCP proxy for tests that can stop reading from its
// clients, as a peer whose receive window closed: the client's writes are
// accepted by the kernel until the buffers fill, then block. It never
// closes a connection by itself.
package tcpproxy

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from Addr to an upstream address.
type Proxy struct {
	Addr string

	ln       net.Listener
	upstream string

	mu     sync.Mutex
	paused bool
	resume chan struct{} // closed by Resume
	conns  []net.Conn
}

// Start listens on a free local port and forwards to upstream until the
// test ends.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), ln: ln, upstream: upstream, resume: make(chan struct{})}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Pause stops reading what clients send; what upstream sends still flows.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		p.paused, p.resume = true, make(chan struct{})
	}
}

// Resume reads from clients again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.resume)
	}
}

// gate blocks while the proxy is paused.
func (p *Proxy) gate() {
	p.mu.Lock()
	paused, resume := p.paused, p.resume
	p.mu.Unlock()
	if paused {
		<-resume
	}
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() {
			io.Copy(c, u)
			c.Close()
		}()
		go func() {
			p.copyGated(u, c)
			u.Close()
		}()
	}
}

// copyGated copies src to dst, reading nothing while paused. Its buffer is
// small so that a pause takes effect within a few KiB.
func (p *Proxy) copyGated(dst io.Writer, src io.Reader) {
	buf := make([]byte, 4096)
	for {
		p.gate()
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.Resume()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
