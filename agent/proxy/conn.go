package proxy

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/proxy/h1"
)

// h2Preface is what an HTTP/2 client with prior knowledge sends first.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// clientConn is one client connection speaking HTTP/1.x.
type clientConn struct {
	p       *Proxy
	key     string
	nc      net.Conn // the client connection (a *tls.Conn when TLS)
	st      *connState
	dr      *deadlineReader
	dw      *deadlineWriter
	br      *bufio.Reader
	bw      *bufio.Writer
	peer    netip.AddrPort
	local   netip.AddrPort // the address the client connected to
	tls     bool
	scratch []byte
	out     []byte // head being built
	// pinned is the upstream connection dedicated to this client when the
	// application gets PROXY protocol headers (a header describes one
	// client, so such connections are never shared).
	pinned    *upConn
	pinnedFor proxyHeader
	// status is the status of the last response written to the client.
	status int
	// unread says the proxy answered before reading the whole request
	// body, so the connection must linger before it closes.
	unread bool
}

// Lingering close bounds: how long and how much of an unread request body
// the proxy drains after answering early (nginx's lingering_time and
// net/http's post-handler read do the same job).
const (
	lingerTime  = 5 * time.Second
	lingerBytes = 1 << 20
)

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 8<<10) }}
)

func (p *Proxy) serveConn(nc net.Conn, key string) {
	defer nc.Close()
	s := p.settings.Load()
	peer, local := addrOf(nc.RemoteAddr()), addrOf(nc.LocalAddr())
	limit := s.maxConnsPerSource
	if !p.sources.acquire(peer.Addr(), limit) {
		p.metrics.connsRefused.Inc()
		return
	}
	defer p.sources.release(peer.Addr(), limit)
	p.metrics.connsAccepted.Inc()
	p.metrics.active.Inc()
	defer p.metrics.active.Dec()

	st := p.state(nc)
	if st == nil {
		st = &connState{}
	}
	g := s.groups[key]
	if g == nil {
		return // listener removed by a reload since accept
	}
	isTLS := false
	if g.tls != nil {
		tc := tls.Server(nc, g.tls)
		tc.SetDeadline(time.Now().Add(s.readHeaderTimeout))
		if err := tc.Handshake(); err != nil {
			return
		}
		tc.SetDeadline(time.Time{})
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			p.h2.serve(tc, key, peer, local, true, st)
			return
		}
		nc, isTLS = tc, true
	}
	c := &clientConn{p: p, key: key, nc: nc, st: st, peer: peer, local: local, tls: isTLS}
	c.dr = &deadlineReader{c: nc}
	c.dw = &deadlineWriter{c: nc, timeout: s.writeTimeout}
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(c.dr)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset(c.dw)
	defer func() {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.bw.Reset(nil)
		writerPool.Put(c.bw)
		if c.pinned != nil {
			c.pinned.close()
		}
	}()

	c.dr.fixed(s.readHeaderTimeout)
	if c.priorKnowledgeH2() {
		p.h2.serve(&bufferedConn{Conn: nc, r: c.br}, key, peer, local, isTLS, st)
		return
	}
	c.serve()
	if c.unread {
		c.lingerClose()
	}
}

// lingerClose ends a connection whose request body was left unread.
// Closing a socket with bytes in its receive buffer makes the kernel send
// RST, which can destroy the answer (a 413, a 403) before the client reads
// it; so half-close, then discard what the client still sends until it
// closes, bounded in bytes and time.
func (c *clientConn) lingerClose() {
	if c.bw.Flush() != nil {
		return
	}
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c.nc, lingerBytes)
}

// priorKnowledgeH2 reports whether the client opened with the HTTP/2
// preface. It reads only as far as the bytes keep matching, so an HTTP/1
// request shorter than the preface never waits for bytes that won't come.
func (c *clientConn) priorKnowledgeH2() bool {
	for n := 1; ; n++ {
		if _, err := c.br.Peek(n); err != nil {
			return false
		}
		// Compare whatever arrived already, then ask for one byte more.
		n = min(c.br.Buffered(), len(h2Preface))
		b, _ := c.br.Peek(n)
		if string(b) != h2Preface[:n] {
			return false
		}
		if n == len(h2Preface) {
			return true
		}
	}
}

// serve reads requests until the client or the proxy ends the connection.
func (c *clientConn) serve() {
	for first := true; ; first = false {
		if !first && c.br.Buffered() == 0 {
			c.dr.fixed(c.p.settings.Load().idleTimeout)
			if _, err := c.br.Peek(1); err != nil {
				return // idle timeout, close, or shutdown closing idle connections
			}
		}
		// The configuration current when the request starts applies to
		// all of it, however long the connection has been open.
		s := c.p.settings.Load()
		if !first {
			c.dr.fixed(s.readHeaderTimeout)
		}
		c.st.busy.Store(true)
		req, scratch, err := h1.ReadRequest(c.br, s.limits, c.scratch)
		c.scratch = scratch
		if err != nil {
			c.refuse(err)
			return
		}
		keep := c.handle(s, req)
		c.st.busy.Store(false)
		if !keep || c.p.closing.Load() {
			return
		}
	}
}

// refuse answers a request the parser refused, and counts it.
func (c *clientConn) refuse(err error) {
	var he *h1.Error
	switch {
	case errors.As(err, &he):
		c.p.metrics.malformed.WithLabelValues(he.Reason).Inc()
		c.writeSimple(he.Status, "Bad request: "+he.Reason+"\n", false)
	case errors.Is(err, io.EOF):
	case isTimeout(err):
		c.p.metrics.malformed.WithLabelValues("read_header_timeout").Inc()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handle serves one request; it reports whether the connection can carry
// another.
func (c *clientConn) handle(s *settings, req *h1.Request) bool {
	start := time.Now()
	c.status = 0
	g := s.groups[c.key]
	if g == nil {
		c.writeSimple(503, "Service unavailable\n", false)
		return false
	}
	a := g.route(req.Host)
	if a == nil {
		c.p.metrics.unmatched.Inc()
		c.writeSimple(421, "Misdirected request\n", false)
		return false
	}
	am := a.metrics
	am.bytesIn.Add(float64(req.HeadBytes))

	fwd := forwarding{peer: c.peer.Addr()}
	for _, h := range req.Headers {
		if k := forwardingKind(h.Name); k != notForwarding {
			fwd.collect(k, h.Value)
		}
	}
	fwd.resolve(s.trusted)
	ex := &exchange{start: start, method: req.Method, host: req.Host, target: req.Target, client: fwd.client}

	path, query := splitTarget(req.Target)
	ad := c.p.admit(a, path, fwd.client)
	if r := ad.refusal; r != nil {
		// The body is left unread: the connection goes with it.
		keep := req.KeepAlive && !req.HasBody()
		ex.requestID, ex.target = newRequestID(), path // the query had no say
		c.writeBlock(s, a, req, ex.requestID, r.status, r.retryAfter, keep)
		ex.status = c.status
		v := r.verdict(ad.mode)
		c.p.record(a, &v, ex)
		return keep
	}

	// Read the body up to the inspection limit.
	var body []byte
	var rest io.Reader // the part of the body beyond the limit, streamed
	var bodyBuf *[]byte
	if req.HasBody() {
		if req.Expect100 {
			c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if c.bw.Flush() != nil {
				return false
			}
		}
		c.dr.progress(s.bodyReadTimeout)
		var r io.Reader
		if req.Chunked {
			r = h1.NewChunkedReader(c.br, s.limits.MaxHeaders)
		} else {
			r = io.LimitReader(c.br, req.ContentLength)
		}
		bodyBuf = getBodyBuf()
		defer putBodyBuf(bodyBuf)
		var truncated bool
		var err error
		body, truncated, err = readUpTo(r, a.inspection.MaxBodyBytes, (*bodyBuf)[:0])
		*bodyBuf = body
		am.bytesIn.Add(float64(len(body)))
		if err != nil {
			var he *h1.Error
			if errors.As(err, &he) {
				c.p.metrics.malformed.WithLabelValues(he.Reason).Inc()
				c.writeSimple(he.Status, "Bad request: "+he.Reason+"\n", false)
			}
			return false
		}
		if truncated {
			rest = &countingReader{r: r, n: am.bytesIn}
			if a.inspection.Oversize == config.OversizeBlock && ad.mode != ModeOff {
				v := verdict{block: true, decision: DecisionBlocked, mode: ad.mode}
				ex.requestID = newRequestID()
				c.writeBlock(s, a, req, ex.requestID, 413, 0, false)
				c.unread = true
				ex.status = c.status
				c.p.record(a, &v, ex)
				return false
			}
		}
	}

	dreq := &detect.Request{
		Method:   req.Method,
		Host:     req.Host,
		Path:     path,
		RawQuery: query,
		Header: headerMap(len(req.Headers), func(fn func(name, value string)) {
			for _, h := range req.Headers {
				fn(h.Name, h.Value)
			}
		}),
		Body:            body,
		ContentType:     req.Get("Content-Type"),
		ContentEncoding: req.Get("Content-Encoding"),
		BodyTruncated:   rest != nil,
	}
	v := c.p.inspect(a, &ad, dreq, fwd.client)
	if v.block {
		keep := rest == nil && req.KeepAlive
		ex.requestID = newRequestID()
		c.writeBlock(s, a, req, ex.requestID, 403, 0, keep)
		c.unread = rest != nil
		ex.status = c.status
		c.p.record(a, &v, ex)
		return keep
	}
	keep := c.forward(s, a, req, &fwd, body, rest)
	ex.status = c.status
	c.p.record(a, &v, ex)
	return keep && req.KeepAlive
}

// readUpTo reads r into buf until EOF or until more than limit bytes came;
// truncated says there is more.
func readUpTo(r io.Reader, limit int64, buf []byte) ([]byte, bool, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if over := int64(len(buf)) + int64(len(room)) - limit; over > 0 {
			room = room[:int64(len(room))-over]
			if len(room) == 0 {
				// At the limit: one more byte says whether there is more.
				var one [1]byte
				n, err := r.Read(one[:])
				if n > 0 {
					return append(buf, one[0]), true, nil
				}
				if err == io.EOF {
					return buf, false, nil
				}
				if err != nil {
					return buf, false, err
				}
				continue
			}
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
}

var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBodyBuf() *[]byte { return bodyBufs.Get().(*[]byte) }

func putBodyBuf(b *[]byte) {
	if cap(*b) <= 256<<10 {
		*b = (*b)[:0]
		bodyBufs.Put(b)
	}
}

// countingReader counts the bytes of a streamed body.
type countingReader struct {
	r io.Reader
	n prometheus.Counter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(float64(n))
	return n, err
}

// writeSimple answers with a short plain-text response.
func (c *clientConn) writeSimple(status int, text string, keep bool) {
	c.status = status
	b := c.out[:0]
	b = appendStatusLine(b, status)
	b = append(b, "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(text)), 10)
	if !keep {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\n\r\n"...)
	b = append(b, text...)
	c.out = b[:0]
	c.bw.Write(b)
	c.bw.Flush()
}

// writeBlock answers with the block page; retryAfter, when not 0, is a
// Retry-After in seconds (429).
func (c *clientConn) writeBlock(s *settings, a *app, req *h1.Request, requestID string, status int, retryAfter int64, keep bool) {
	ctype, page := renderBlockPage(s, req.Get("Accept"), blockPageData{RequestID: requestID, Status: status, App: a.name})
	c.status = status
	b := c.out[:0]
	b = appendStatusLine(b, status)
	b = append(b, "Content-Type: "...)
	b = append(b, ctype...)
	b = append(b, "\r\nCache-Control: no-store\r\nX-Request-Id: "...)
	b = append(b, requestID...)
	if retryAfter > 0 {
		b = append(b, "\r\nRetry-After: "...)
		b = strconv.AppendInt(b, retryAfter, 10)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(page)), 10)
	if !keep {
		b = append(b, "\r\nConnection: close"...)
	} else if req.Minor == 0 {
		b = append(b, "\r\nConnection: keep-alive"...)
	}
	b = append(b, "\r\n\r\n"...)
	c.out = b[:0]
	c.bw.Write(b)
	c.bw.Write(page)
	c.bw.Flush()
	a.metrics.bytesOut.Add(float64(len(b) + len(page)))
}

func appendStatusLine(b []byte, status int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, statusText(status)...)
	return append(b, "\r\n"...)
}

// bufferedConn is a connection whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) {
	if b.r.Buffered() > 0 {
		return b.r.Read(p)
	}
	return b.Conn.Read(p)
}
