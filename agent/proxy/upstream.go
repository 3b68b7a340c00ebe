package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// upConn is one connection to an upstream, with its buffers.
type upConn struct {
	addr     string
	poolKey  string
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	dr       *deadlineReader
	dw       *deadlineWriter
	reused   bool
	idleFrom time.Time
}

func (u *upConn) close() { u.nc.Close() }

// stale reports whether an idle connection was closed by the upstream
// meanwhile (the usual keep-alive race), without blocking: one read with a
// deadline in the past.
func (u *upConn) stale() bool {
	if u.br.Buffered() > 0 {
		return true // unsolicited bytes: not a clean connection
	}
	// Read the socket itself, not through br: its deadlineReader would
	// push the deadline a whole response timeout ahead and turn this check
	// into a wait. A byte arriving now is unsolicited: the connection is
	// not clean either way.
	u.nc.SetReadDeadline(time.Now())
	var one [1]byte
	n, err := u.nc.Read(one[:])
	u.dr.progress(u.dr.timeout) // the next read sets a real deadline again
	if n > 0 {
		return true
	}
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// staleCheckAfter is the idle time after which a pooled connection is
// checked for a close by the upstream before it is reused.
const staleCheckAfter = 500 * time.Millisecond

// pool keeps idle connections to one upstream address.
type pool struct {
	mu   sync.Mutex
	idle []*upConn
}

// pools holds a pool per upstream (address and TLS or not).
type pools struct {
	mu sync.Mutex
	m  map[string]*pool
}

func (ps *pools) get(key string) *pool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*pool{}
	}
	p := ps.m[key]
	if p == nil {
		p = &pool{}
		ps.m[key] = p
	}
	return p
}

// closeIdle closes every idle connection (shutdown).
func (ps *pools) closeIdle() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.m {
		p.mu.Lock()
		for _, u := range p.idle {
			u.close()
		}
		p.idle = nil
		p.mu.Unlock()
	}
}

// take returns a live idle connection, or nil.
func (p *pool) take(maxIdle time.Duration) *upConn {
	now := time.Now()
	for {
		p.mu.Lock()
		n := len(p.idle)
		if n == 0 {
			p.mu.Unlock()
			return nil
		}
		u := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		idle := now.Sub(u.idleFrom)
		// Upstreams close idle connections after seconds, not
		// microseconds: a connection back in the pool for less than
		// staleCheckAfter is taken as is, sparing a syscall per request
		// under load (a rare loss is retried for idempotent requests).
		if idle < maxIdle && (idle < staleCheckAfter || !u.stale()) {
			u.reused = true
			return u
		}
		u.close()
	}
}

// put keeps u for reuse, unless the pool is full.
func (p *pool) put(u *upConn, max int) {
	u.idleFrom = time.Now()
	p.mu.Lock()
	if len(p.idle) < max {
		p.idle = append(p.idle, u)
		u = nil
	}
	p.mu.Unlock()
	if u != nil {
		u.close()
	}
}

// upstreamError says what failed, for the status answered and the metric.
type upstreamError struct {
	kind string // connect, timeout, protocol
	err  error
}

func (e *upstreamError) Error() string { return "upstream " + e.kind + ": " + e.err.Error() }
func (e *upstreamError) Unwrap() error { return e.err }

func classify(kind string, err error) *upstreamError {
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		kind = "timeout"
	}
	return &upstreamError{kind: kind, err: err}
}

// dial opens a connection to addr, TLS when tlsCfg is set, and sends a
// PROXY v2 header first when pp is valid.
func (p *Proxy) dial(s *settings, addr string, tlsCfg *tls.Config, pp *proxyHeader) (*upConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.dialTimeout)
	defer cancel()
	nc, err := p.opts.Dial(ctx, "tcp", addr)
	if err != nil {
		return nil, classify("connect", err)
	}
	if pp != nil {
		nc.SetWriteDeadline(time.Now().Add(s.dialTimeout))
		if _, err := nc.Write(appendProxyV2(nil, pp.src, pp.dst)); err != nil {
			nc.Close()
			return nil, classify("connect", fmt.Errorf("send PROXY header: %w", err))
		}
		nc.SetWriteDeadline(time.Time{})
	}
	if tlsCfg != nil {
		tc := tls.Client(nc, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, classify("connect", fmt.Errorf("TLS handshake: %w", err))
		}
		nc = tc
	}
	u := &upConn{nc: nc}
	u.dr = &deadlineReader{c: nc}
	u.dr.progress(s.responseTimeout)
	u.dw = &deadlineWriter{c: nc, timeout: s.responseTimeout}
	u.br = bufio.NewReaderSize(u.dr, 8<<10)
	u.bw = bufio.NewWriterSize(u.dw, 8<<10)
	return u, nil
}

// proxyHeader is the addresses a PROXY v2 header carries.
type proxyHeader struct {
	src, dst netip.AddrPort
}

// deadlineReader bounds reads. With a progress timeout, every read gets a
// fresh deadline: a peer that stops sending for longer than timeout fails
// the read, however long the whole transfer takes. With a fixed deadline
// (request heads: slowloris sends a byte now and then), reads do not push
// it.
type deadlineReader struct {
	c       net.Conn
	timeout time.Duration
	extend  bool
	set     time.Time // when the deadline was last pushed
}

// progress switches to a progress timeout of d.
func (r *deadlineReader) progress(d time.Duration) {
	r.timeout, r.extend, r.set = d, true, time.Time{}
}

// fixed sets one deadline d from now for every read until the next switch.
func (r *deadlineReader) fixed(d time.Duration) {
	r.extend = false
	r.c.SetReadDeadline(time.Now().Add(d))
}

// none removes the deadline (tunnels after a protocol switch).
func (r *deadlineReader) none() {
	r.extend = false
	r.c.SetReadDeadline(time.Time{})
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	// Pushing the deadline costs a timer update; do it at most every
	// timeout/8, which keeps the effective limit within 12% of timeout.
	if r.extend {
		if now := time.Now(); now.Sub(r.set) > r.timeout/8 {
			r.c.SetReadDeadline(now.Add(r.timeout))
			r.set = now
		}
	}
	return r.c.Read(p)
}

// deadlineWriter gives writes a progress timeout, like deadlineReader.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
	set     time.Time
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	if w.timeout > 0 {
		if now := time.Now(); now.Sub(w.set) > w.timeout/8 {
			w.c.SetWriteDeadline(now.Add(w.timeout))
			w.set = now
		}
	}
	return w.c.Write(p)
}
