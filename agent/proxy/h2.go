package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
)

// h2Handler serves HTTP/2 connections (TLS with ALPN "h2", or cleartext
// with prior knowledge) with net/http's HTTP/2 server, and forwards their
// requests as HTTP/1.1 with net/http's transport. HTTP/2 framing leaves no
// room for the HTTP/1 smuggling tricks; the server checks lengths against
// DATA frames itself.
type h2Handler struct {
	p         *Proxy
	transport *http.Transport
}

func newH2Handler(p *Proxy) *h2Handler {
	h := &h2Handler{p: p}
	h.transport = h.newTransport(nil)
	return h
}

// newTransport returns a transport to upstreams; with pp, every connection
// it opens starts with that PROXY v2 header.
func (h *h2Handler) newTransport(pp *proxyHeader) *http.Transport {
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		s := h.p.settings.Load()
		ctx, cancel := context.WithTimeout(ctx, s.dialTimeout)
		defer cancel()
		c, err := h.p.opts.Dial(ctx, network, addr)
		if err != nil || pp == nil {
			return c, err
		}
		if _, err := c.Write(appendProxyV2(nil, pp.src, pp.dst)); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return &http.Transport{
		DialContext:         dial,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

func (h *h2Handler) closeIdle() { h.transport.CloseIdleConnections() }

// h2Conn is one client's HTTP/2 connection.
type h2Conn struct {
	h      *h2Handler
	key    string
	peer   netip.AddrPort
	local  netip.AddrPort
	tls    bool
	st     *connState
	active atomic.Int32

	mu        sync.Mutex
	ppTripper *http.Transport // for applications with PROXY protocol
}

func (h *h2Handler) serve(nc net.Conn, key string, peer, local netip.AddrPort, isTLS bool, st *connState) {
	s := h.p.settings.Load()
	c := &h2Conn{h: h, key: key, peer: peer, local: local, tls: isTLS, st: st}
	defer func() {
		c.mu.Lock()
		if c.ppTripper != nil {
			c.ppTripper.CloseIdleConnections()
		}
		c.mu.Unlock()
	}()
	// One net/http server per connection, speaking HTTP/2 only: the
	// connection is always handed over after its preface (prior
	// knowledge) or after TLS with ALPN "h2", decrypted already.
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	closed := make(chan struct{})
	var once sync.Once
	srv := &http.Server{
		Handler:        c,
		Protocols:      &protocols,
		HTTP2:          &http.HTTP2Config{MaxConcurrentStreams: 250},
		MaxHeaderBytes: s.limits.MaxHeaderBytes,
		IdleTimeout:    s.idleTimeout,
		ErrorLog:       log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, cs http.ConnState) {
			if cs == http.StateClosed || cs == http.StateHijacked {
				once.Do(func() { close(closed) })
			}
		},
	}
	// The wrapper hides *tls.Conn, so that the server reads the decrypted
	// stream as HTTP/2 with prior knowledge.
	srv.Serve(&oneConnListener{c: h2Stream{nc}, local: nc.LocalAddr()})
	<-closed
}

// h2Stream is a client connection as the HTTP/2 server sees it.
type h2Stream struct{ net.Conn }

// oneConnListener hands one connection to http.Server.Serve, then reports
// itself closed (Serve returns; the connection is served on).
type oneConnListener struct {
	c     net.Conn
	local net.Addr
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if l.c == nil {
		return nil, net.ErrClosed
	}
	c := l.c
	l.c = nil
	return c, nil
}

func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return l.local }

func (c *h2Conn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.active.Add(1) == 1 {
		c.st.busy.Store(true)
	}
	defer func() {
		if c.active.Add(-1) == 0 {
			c.st.busy.Store(false)
		}
	}()
	p := c.h.p
	start := time.Now()
	s := p.settings.Load()
	g := s.groups[c.key]
	if g == nil {
		http.Error(w, "Service unavailable", http.StatusServiceUnavailable)
		return
	}
	a := g.route(r.Host)
	if a == nil {
		p.metrics.unmatched.Inc()
		http.Error(w, "Misdirected request", http.StatusMisdirectedRequest)
		return
	}
	am := a.metrics
	headBytes := len(r.Method) + len(r.RequestURI) + len(r.Host)
	fwd := forwarding{peer: c.peer.Addr()}
	for name, vs := range r.Header {
		kind := forwardingKind(name)
		for _, v := range vs {
			headBytes += len(name) + len(v) + 4
			if kind != notForwarding {
				fwd.collect(kind, v)
			}
		}
	}
	fwd.resolve(s.trusted)
	am.bytesIn.Add(float64(headBytes))
	ex := &exchange{start: start, method: r.Method, host: r.Host, target: r.RequestURI, client: fwd.client}
	path, query := splitTarget(r.RequestURI)
	ad := p.admit(a, path, fwd.client)
	if rf := ad.refusal; rf != nil {
		ex.target = path // the query had no say
		ex.requestID, ex.status = c.writeBlock(w, s, a, r, rf.status, rf.retryAfter), rf.status
		v := rf.verdict(ad.mode)
		p.record(a, &v, ex)
		return
	}

	var body []byte
	var rest io.Reader
	if r.Body != nil && r.ContentLength != 0 {
		buf := getBodyBuf()
		defer putBodyBuf(buf)
		var truncated bool
		var err error
		body, truncated, err = readUpTo(r.Body, a.inspection.MaxBodyBytes, (*buf)[:0])
		*buf = body
		am.bytesIn.Add(float64(len(body)))
		if err != nil {
			return // the stream was reset
		}
		if truncated {
			rest = r.Body
			if a.inspection.Oversize == config.OversizeBlock && ad.mode != ModeOff {
				v := verdict{block: true, decision: DecisionBlocked, mode: ad.mode}
				ex.requestID, ex.status = c.writeBlock(w, s, a, r, 413, 0), 413
				p.record(a, &v, ex)
				return
			}
		}
	}
	dreq := &detect.Request{
		Method:          r.Method,
		Host:            r.Host,
		Path:            path,
		RawQuery:        query,
		Header:          r.Header,
		Body:            body,
		ContentType:     r.Header.Get("Content-Type"),
		ContentEncoding: r.Header.Get("Content-Encoding"),
		BodyTruncated:   rest != nil,
	}
	v := p.inspect(a, &ad, dreq, fwd.client)
	if v.block {
		ex.requestID, ex.status = c.writeBlock(w, s, a, r, http.StatusForbidden, 0), http.StatusForbidden
		p.record(a, &v, ex)
		return
	}
	ex.status = c.forward(w, r, s, a, &fwd, body, rest)
	p.record(a, &v, ex)
}

// writeBlock answers with the block page and returns the request id on it;
// retryAfter, when not 0, is a Retry-After in seconds (429).
func (c *h2Conn) writeBlock(w http.ResponseWriter, s *settings, a *app, r *http.Request, status int, retryAfter int64) string {
	id := newRequestID()
	ctype, page := renderBlockPage(s, r.Header.Get("Accept"), blockPageData{RequestID: id, Status: status, App: a.name})
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Request-Id", id)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(retryAfter, 10))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	w.Write(page)
	a.metrics.bytesOut.Add(float64(len(page)))
	return id
}

// transportFor returns the transport for a's upstream connections.
func (c *h2Conn) transportFor(a *app) *http.Transport {
	if !a.proxyProtocol {
		return c.h.transport
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ppTripper == nil {
		c.ppTripper = c.h.newTransport(&proxyHeader{src: c.peer, dst: c.local})
	}
	return c.ppTripper
}

// forward relays the request to the upstream and returns the status the
// client got.
func (c *h2Conn) forward(w http.ResponseWriter, r *http.Request, s *settings, a *app, fwd *forwarding, body []byte, rest io.Reader) int {
	addr := a.upstream
	if addr == "" {
		addr = c.local.String()
	}
	scheme := "http"
	if a.upstreamTLS != nil {
		scheme = "https"
	}
	var reqBody io.Reader = bytes.NewReader(body)
	length := int64(len(body))
	if rest != nil {
		reqBody = io.MultiReader(reqBody, rest)
		length = r.ContentLength // -1 when unknown: chunked to the upstream
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, scheme+"://"+addr+r.RequestURI, reqBody)
	if err != nil {
		http.Error(w, "Bad request", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	out.Host = r.Host
	out.ContentLength = length
	if length == 0 {
		out.Body = http.NoBody
	}
	for name, vs := range r.Header {
		if hopByHop(name) || forwardingKind(name) != notForwarding {
			continue
		}
		out.Header[name] = vs
	}
	host := strings.NewReplacer(`"`, "", `\`, "").Replace(r.Host)
	for k, v := range fwd.fields(host, c.tls) {
		out.Header.Set(k, v)
	}
	// Waiting for the response head is bounded; the body is not.
	timer := time.AfterFunc(s.responseTimeout, cancel)
	resp, err := c.transportFor(a).RoundTrip(out)
	timedOut := !timer.Stop()
	if err != nil {
		kind, status := "protocol", http.StatusBadGateway
		var ne net.Error
		switch {
		case timedOut || (errors.As(err, &ne) && ne.Timeout()):
			kind, status = "timeout", http.StatusGatewayTimeout
		case errors.As(err, new(*net.OpError)):
			kind = "connect"
		}
		a.metrics.upstreamError(kind)
		http.Error(w, http.StatusText(status), status)
		return status
	}
	defer resp.Body.Close()
	for name, vs := range resp.Header {
		if hopByHop(name) {
			continue
		}
		w.Header()[name] = vs
	}
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	buf := getCopyBuf()
	defer putCopyBuf(buf)
	var n int64
	for {
		k, err := resp.Body.Read(*buf)
		if k > 0 {
			if _, werr := w.Write((*buf)[:k]); werr != nil {
				break
			}
			n += int64(k)
			rc.Flush()
		}
		if err != nil {
			if err != io.EOF {
				a.metrics.upstreamError("protocol")
			}
			break
		}
	}
	a.metrics.bytesOut.Add(float64(n))
	return resp.StatusCode
}
