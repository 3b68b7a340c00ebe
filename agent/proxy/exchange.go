package proxy

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/palisadewaf/palisade/agent/proxy/h1"
)

// responseLimits bound upstream response heads: more generous than
// requests (Set-Cookie and CSP fields grow large), still bounded.
var responseLimits = h1.Limits{MaxHeaderBytes: 256 << 10, MaxHeaders: 1000}

// forward sends an inspected request to the application and relays the
// response. body is what was read for inspection; rest, when not nil, is
// the remainder of a body over the inspection limit, streamed after it. It
// reports whether the client connection can carry another request.
func (c *clientConn) forward(s *settings, a *app, req *h1.Request, fwd *forwarding, body []byte, rest io.Reader) bool {
	addr := a.upstream
	if addr == "" {
		addr = c.local.String() // transparent mode: where the client was going
	}
	head := c.requestHead(req, fwd, addr, len(body), rest != nil)
	// A request can be sent again only when the proxy holds all of it.
	replayable := rest == nil && idempotent(req.Method)
	var u *upConn
	var resp *h1.Response
	for attempt := 0; ; attempt++ {
		var err error
		if u, err = c.upstream(s, a, addr, fwd); err != nil {
			return c.upstreamFailed(a, err)
		}
		if err = c.send(u, head, body, rest, req); err == nil {
			resp, _, err = h1.ReadResponse(u.br, responseLimits, nil)
		}
		if err == nil {
			break
		}
		c.drop(u)
		// The usual keep-alive race: the upstream closed an idle
		// connection while this request was on its way. Once is enough.
		if u.reused && attempt == 0 && replayable && closedBeforeAnswer(err) {
			continue
		}
		return c.upstreamFailed(a, classify("protocol", err))
	}
	// Interim responses: 103 Early Hints is worth passing on; 100 is an
	// answer to an Expect the proxy already answered itself.
	for resp.Status >= 100 && resp.Status < 200 && resp.Status != 101 {
		if resp.Status != 100 && req.Minor == 1 {
			c.bw.Write(c.responseHead(resp, h1.NoBody, false, req.Minor))
			c.bw.Flush()
		}
		var err error
		if resp, _, err = h1.ReadResponse(u.br, responseLimits, nil); err != nil {
			c.drop(u)
			return c.upstreamFailed(a, classify("protocol", err))
		}
	}
	if resp.Status == 101 {
		if req.Upgrade != "websocket" {
			c.drop(u)
			return c.upstreamFailed(a, classify("protocol", errors.New("101 without a WebSocket upgrade")))
		}
		c.tunnel(a, u, resp)
		return false
	}
	return c.relay(s, a, req, u, resp)
}

func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// closedBeforeAnswer: the connection ended before any byte of a response.
func closedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// upstream returns a connection to addr for a.
func (c *clientConn) upstream(s *settings, a *app, addr string, fwd *forwarding) (*upConn, error) {
	if a.proxyProtocol {
		want := proxyHeader{src: c.peer, dst: c.local}
		if fwd.client != c.peer.Addr() {
			want.src = netip.AddrPortFrom(fwd.client, 0) // known from X-Forwarded-For: no port
		}
		if c.pinned != nil {
			if c.pinnedFor == want && c.pinnedAddr() == addr && !c.pinned.stale() {
				c.pinned.reused = true
				return c.pinned, nil
			}
			c.pinned.close()
			c.pinned = nil
		}
		u, err := c.p.dial(s, addr, a.upstreamTLS, &want)
		if err != nil {
			return nil, err
		}
		u.addr = addr
		c.pinned, c.pinnedFor = u, want
		return u, nil
	}
	key := addr
	if a.upstreamTLS != nil {
		key = "tls " + addr
	}
	if u := c.p.pools.get(key).take(s.idleTimeout); u != nil {
		return u, nil
	}
	u, err := c.p.dial(s, addr, a.upstreamTLS, nil)
	if err != nil {
		return nil, err
	}
	u.addr, u.poolKey = addr, key
	return u, nil
}

func (c *clientConn) pinnedAddr() string { return c.pinned.addr }

// release returns u for reuse, or closes it.
func (c *clientConn) release(s *settings, u *upConn, reusable bool) {
	if u == c.pinned {
		if !reusable {
			c.drop(u)
		}
		return
	}
	if !reusable {
		u.close()
		return
	}
	c.p.pools.get(u.poolKey).put(u, s.maxIdleUpstream)
}

func (c *clientConn) drop(u *upConn) {
	u.close()
	if u == c.pinned {
		c.pinned = nil
	}
}

// requestHead builds the head sent upstream: the request line, Host
// first, the client's fields minus hop-by-hop and forwarding ones, the
// proxy's forwarding fields, and framing for the body as it will be sent.
func (c *clientConn) requestHead(req *h1.Request, fwd *forwarding, addr string, bodyLen int, stream bool) []byte {
	b := c.out[:0]
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, req.Target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	if req.Host != "" {
		b = append(b, req.Host...)
	} else {
		b = append(b, addr...) // HTTP/1.0 without Host
	}
	b = append(b, "\r\n"...)
	for _, h := range req.Headers {
		if hopByHop(h.Name) || forwardingKind(h.Name) != notForwarding || equalFold(h.Name, "host") ||
			namedByConnection(h.Name, req.Connection) {
			continue
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = fwd.appendFields(b, req.Host, c.tls)
	switch {
	case stream && req.Chunked:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	case stream:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, req.ContentLength, 10)
		b = append(b, "\r\n"...)
	case req.HasBody() || bodyLen > 0:
		// A chunked body read whole goes on with a Content-Length: the
		// application sees one unambiguous framing.
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(bodyLen), 10)
		b = append(b, "\r\n"...)
	}
	if req.Upgrade == "websocket" {
		b = append(b, "Connection: Upgrade\r\nUpgrade: "...)
		b = append(b, req.Get("Upgrade")...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.out = b
	return b
}

// errClientAborted: the client stopped sending a streamed body.
var errClientAborted = errors.New("client closed the connection during the request body")

// send writes the request to the upstream.
func (c *clientConn) send(u *upConn, head, body []byte, rest io.Reader, req *h1.Request) error {
	u.bw.Write(head)
	switch {
	case rest == nil:
		u.bw.Write(body)
	case req.Chunked:
		buf := getCopyBuf()
		defer putCopyBuf(buf)
		u.bw.Write(h1.AppendChunk((*buf)[:0], body))
		for {
			n, err := rest.Read(*buf)
			if n > 0 {
				writeChunk(u.bw, (*buf)[:n])
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return &clientError{err}
			}
		}
		u.bw.WriteString("0\r\n\r\n")
	default:
		u.bw.Write(body)
		want := req.ContentLength - int64(len(body))
		n, err := io.Copy(u.bw, rest)
		if err != nil {
			return &clientError{err}
		}
		if n < want {
			return &clientError{errClientAborted}
		}
	}
	return u.bw.Flush()
}

// clientError is a failure on the client's side while forwarding.
type clientError struct{ err error }

func (e *clientError) Error() string { return e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

func writeChunk(w *bufio.Writer, p []byte) {
	var hex [16]byte
	w.Write(strconv.AppendInt(hex[:0], int64(len(p)), 16))
	w.WriteString("\r\n")
	w.Write(p)
	w.WriteString("\r\n")
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func getCopyBuf() *[]byte  { return copyBufs.Get().(*[]byte) }
func putCopyBuf(b *[]byte) { copyBufs.Put(b) }

// responseHead builds the head sent to the client.
func (c *clientConn) responseHead(resp *h1.Response, framing h1.Framing, closeClient bool, clientMinor int) []byte {
	b := c.out[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	if resp.Reason != "" {
		b = append(b, resp.Reason...)
	} else {
		b = append(b, statusText(resp.Status)...)
	}
	b = append(b, "\r\n"...)
	for _, h := range resp.Headers {
		if hopByHop(h.Name) || namedByConnection(h.Name, resp.Connection) {
			continue
		}
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	switch framing {
	case h1.FixedLength:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, resp.ContentLength, 10)
		b = append(b, "\r\n"...)
	case h1.NoBody:
		// HEAD and 304 answers keep the length of the body they stand for.
		if resp.ContentLength >= 0 && resp.Status >= 200 && resp.Status != 204 {
			b = append(b, "Content-Length: "...)
			b = strconv.AppendInt(b, resp.ContentLength, 10)
			b = append(b, "\r\n"...)
		}
	case h1.ChunkedBody, h1.UntilClose:
		if clientMinor == 1 {
			b = append(b, "Transfer-Encoding: chunked\r\n"...)
		}
	}
	if closeClient {
		b = append(b, "Connection: close\r\n"...)
	} else if clientMinor == 0 {
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.out = b
	return b
}

// relay copies a response to the client.
func (c *clientConn) relay(s *settings, a *app, req *h1.Request, u *upConn, resp *h1.Response) bool {
	framing := resp.Framing(req.Method)
	c.status = resp.Status
	closeClient := !req.KeepAlive || c.p.closing.Load()
	if req.Minor == 0 && (framing == h1.ChunkedBody || framing == h1.UntilClose) {
		closeClient = true // HTTP/1.0 has no chunked: the end of the body is the close
	}
	head := c.responseHead(resp, framing, closeClient, req.Minor)
	c.bw.Write(head)
	out := int64(len(head))

	var n int64
	var upErr, clientErr error
	switch framing {
	case h1.FixedLength:
		n, upErr, clientErr = copyBody(c.bw, u.br, resp.ContentLength)
	case h1.ChunkedBody:
		cr := h1.NewChunkedReader(u.br, 64)
		n, upErr, clientErr = c.copyStream(cr, req.Minor == 1)
		if upErr == nil && clientErr == nil && req.Minor == 1 {
			c.bw.Write(h1.AppendLastChunk(c.out[:0], cr.Trailers))
		}
	case h1.UntilClose:
		n, upErr, clientErr = c.copyStream(u.br, req.Minor == 1)
		if upErr == nil && clientErr == nil && req.Minor == 1 {
			c.bw.WriteString("0\r\n\r\n")
		}
	}
	if clientErr == nil {
		clientErr = c.bw.Flush()
	}
	a.metrics.bytesOut.Add(float64(out + n))
	if upErr != nil {
		// The upstream failed mid-body: the client has a partial response
		// and must learn it from the connection closing.
		a.metrics.upstreamError(classify("protocol", upErr).kind)
		c.drop(u)
		return false
	}
	c.release(s, u, clientErr == nil && !resp.Close && framing != h1.UntilClose)
	return clientErr == nil && !closeClient
}

// copyBody copies exactly n bytes, telling upstream and client errors apart.
func copyBody(dst *bufio.Writer, src *bufio.Reader, n int64) (int64, error, error) {
	var done int64
	for done < n {
		if src.Buffered() == 0 {
			if _, err := src.Peek(1); err != nil {
				return done, eofUnexpected(err), nil
			}
		}
		chunk, _ := src.Peek(int(min(int64(src.Buffered()), n-done)))
		w, werr := dst.Write(chunk)
		src.Discard(w)
		done += int64(w)
		if werr != nil {
			return done, nil, werr
		}
	}
	return done, nil, nil
}

func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// copyStream copies a body of unknown length, chunk-encoding it for
// HTTP/1.1 clients, and flushes whenever the upstream has nothing more
// ready, so that streamed responses (server-sent events) stream.
func (c *clientConn) copyStream(src io.Reader, chunked bool) (int64, error, error) {
	buf := getCopyBuf()
	defer putCopyBuf(buf)
	var done int64
	for {
		n, err := src.Read(*buf)
		if n > 0 {
			done += int64(n)
			if chunked {
				writeChunk(c.bw, (*buf)[:n])
			} else {
				c.bw.Write((*buf)[:n])
			}
			if werr := c.bw.Flush(); werr != nil {
				return done, nil, werr
			}
		}
		if err == io.EOF {
			return done, nil, nil
		}
		if err != nil {
			return done, err, nil
		}
	}
}

// tunnel relays a switched protocol (WebSocket) in both directions until
// either side closes. The handshake was inspected; frames are not.
func (c *clientConn) tunnel(a *app, u *upConn, resp *h1.Response) {
	defer u.close()
	if c.pinned == u {
		c.pinned = nil
	}
	c.status = 101
	b := c.out[:0]
	b = append(b, "HTTP/1.1 101 Switching Protocols\r\n"...)
	for _, h := range resp.Headers {
		b = append(b, h.Name...)
		b = append(b, ": "...)
		b = append(b, h.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.bw.Write(b)
	if c.bw.Flush() != nil {
		return
	}
	a.metrics.bytesOut.Add(float64(len(b)))
	c.dr.none()
	u.dr.none()
	c.dw.timeout, u.dw.timeout = 0, 0
	c.nc.SetWriteDeadline(time.Time{})
	u.nc.SetWriteDeadline(time.Time{})
	done := make(chan struct{}, 2)
	pipe := func(dst interface{ Write([]byte) (int, error) }, src io.Reader, closeWrite func()) {
		io.Copy(dst, src)
		closeWrite()
		done <- struct{}{}
	}
	go pipe(u.nc, c.br, func() { halfClose(u.nc) })
	go pipe(c.nc, u.br, func() { halfClose(c.nc) })
	<-done
	// One side is done; give the other a bounded time to finish.
	deadline := time.Now().Add(5 * time.Second)
	c.nc.SetDeadline(deadline)
	u.nc.SetDeadline(deadline)
	<-done
}

func halfClose(c any) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}

// upstreamFailed answers 502 or 504 and counts the failure.
func (c *clientConn) upstreamFailed(a *app, err error) bool {
	var ce *clientError
	if errors.As(err, &ce) {
		return false // the client went away; nobody to answer
	}
	var ue *upstreamError
	if !errors.As(err, &ue) {
		ue = classify("protocol", err)
	}
	a.metrics.upstreamError(ue.kind)
	c.p.log.Debug("upstream failed", "app", a.name, "kind", ue.kind, "error", ue.err)
	status := 502
	if ue.kind == "timeout" {
		status = 504
	}
	c.writeSimple(status, statusText(status)+"\n", false)
	return false
}
