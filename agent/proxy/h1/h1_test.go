package h1

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

var testLimits = Limits{MaxHeaderBytes: 8192, MaxHeaders: 32}

func read(t testing.TB, raw string) (*Request, *bufio.Reader, error) {
	t.Helper()
	br := bufio.NewReaderSize(strings.NewReader(raw), 64) // small: exercise ErrBufferFull
	req, _, err := ReadRequest(br, testLimits, nil)
	return req, br, err
}

func TestRequestAccepted(t *testing.T) {
	req, br, err := read(t, "\r\nPOST /a/b?x=1 HTTP/1.1\r\nHost: shop.example:8080\r\nContent-Length: 5\r\nX-Empty:\r\nConnection: keep-alive, X-Hop\r\nExpect: 100-continue\r\n\r\nhello")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || req.Target != "/a/b?x=1" || req.Minor != 1 || req.Host != "shop.example:8080" {
		t.Errorf("request line: %+v", req)
	}
	if req.ContentLength != 5 || req.Chunked || !req.KeepAlive || !req.Expect100 {
		t.Errorf("framing: %+v", req)
	}
	if got := strings.Join(req.Connection, ","); got != "keep-alive,x-hop" {
		t.Errorf("connection options = %q", got)
	}
	if req.Get("x-empty") != "" || len(req.Headers) != 5 {
		t.Errorf("headers = %q", req.Headers)
	}
	body, _ := io.ReadAll(br)
	if string(body) != "hello" {
		t.Errorf("body left on the reader = %q", body)
	}
}

func TestRequestForms(t *testing.T) {
	for _, tc := range []struct {
		raw, target, host string
		keepAlive         bool
		upgrade           string
	}{
		{"GET http://shop.example/x?y HTTP/1.1\r\nHost: other\r\n\r\n", "/x?y", "shop.example", true, ""},
		{"GET https://shop.example?y HTTP/1.1\r\nHost: shop.example\r\n\r\n", "/?y", "shop.example", true, ""},
		{"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "*", "a", true, ""},
		{"GET / HTTP/1.0\r\n\r\n", "/", "", false, ""},
		{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "/", "", true, ""},
		{"GET / HTTP/1.1\r\nHost: [fd00::1]:80\r\nConnection: close\r\n\r\n", "/", "[fd00::1]:80", false, ""},
		{"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n", "/ws", "a", true, "websocket"},
		{"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n", "/ws", "a", true, ""},
	} {
		req, _, err := read(t, tc.raw)
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		if req.Target != tc.target || req.Host != tc.host || req.KeepAlive != tc.keepAlive || req.Upgrade != tc.upgrade {
			t.Errorf("%q: got target %q host %q keep-alive %v upgrade %q", tc.raw, req.Target, req.Host, req.KeepAlive, req.Upgrade)
		}
	}
}

// Every framing ambiguity a front end and a back end could read two ways,
// and every syntax error, is refused with a fixed reason.
func TestRequestRefused(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		status    int
		reason    string
	}{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400, ReasonCLAndTE},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400, ReasonCLAndTE},
		{"duplicate CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n", 400, ReasonContentLength},
		{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\n", 400, ReasonContentLength},
		{"CL sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n", 400, ReasonContentLength},
		{"CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4\r\n\r\n", 400, ReasonContentLength},
		{"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, ReasonContentLength},
		{"CL huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, ReasonContentLength},
		{"TE unknown", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", 501, ReasonTransferEncoding},
		{"TE list", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, ReasonTransferEncoding},
		{"TE twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501, ReasonTransferEncoding},
		{"TE in 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, ReasonTransferEncoding},
		{"space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", 400, ReasonHeaderSyntax},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n", 400, ReasonObsFold},
		{"obs-fold tab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n", 400, ReasonObsFold},
		{"bare LF in fields", "GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n", 400, ReasonBareLF},
		{"bare LF request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400, ReasonBareLF},
		{"bare LF end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400, ReasonBareLF},
		{"bare CR", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n", 400, ReasonHeaderSyntax},
		{"NUL", "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\x002\r\n\r\n", 400, ReasonHeaderSyntax},
		{"no colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", 400, ReasonHeaderSyntax},
		{"bad name", "GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n", 400, ReasonHeaderSyntax},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400, ReasonHost},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, ReasonHost},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, ReasonHost},
		{"userinfo host", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, ReasonHost},
		{"version", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, ReasonVersion},
		{"garbage version", "GET / HTCPCP/1.0\r\nHost: a\r\n\r\n", 400, ReasonRequestLine},
		{"bare CR in request line", "GET / HTTP/1.1\r0Host: a\r\n\r\n", 400, ReasonRequestLine},
		{"two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, ReasonRequestLine},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, ReasonRequestLine},
		{"relative target", "GET a HTTP/1.1\r\nHost: a\r\n\r\n", 400, ReasonRequestLine},
		{"asterisk not OPTIONS", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, ReasonRequestLine},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 405, ReasonMethod},
		{"too many fields", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: 1\r\n", 32) + "\r\n", 431, ReasonTooManyHeaders},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", 431, ReasonHeaderTooLarge},
		{"uri too long", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, ReasonURITooLong},
		{"truncated", "GET / HTTP/1.1\r\nHost: a\r\n", 400, ReasonTruncated},
		{"many empty lines", strings.Repeat("\r\n", 5) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, ReasonRequestLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := read(t, tc.raw)
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("error = %v, want an *Error", err)
			}
			if he.Status != tc.status || he.Reason != tc.reason {
				t.Fatalf("got %d %s, want %d %s", he.Status, he.Reason, tc.status, tc.reason)
			}
		})
	}
}

func TestRequestCleanEOF(t *testing.T) {
	if _, _, err := read(t, ""); err != io.EOF {
		t.Fatalf("error = %v, want io.EOF", err)
	}
}

func TestChunked(t *testing.T) {
	raw := "5;name=\"v;1\"\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Sum: 1\r\n\r\nNEXT"
	br := bufio.NewReaderSize(strings.NewReader(raw), 16)
	cr := NewChunkedReader(br, 8)
	body, err := io.ReadAll(cr)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "hello, chunked!" {
		t.Fatalf("body = %q", body)
	}
	if len(cr.Trailers) != 1 || cr.Trailers[0] != (Header{"X-Sum", "1"}) {
		t.Fatalf("trailers = %q", cr.Trailers)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "NEXT" {
		t.Fatalf("left on the reader: %q", rest)
	}
	reencoded := AppendLastChunk(AppendChunk(nil, body), cr.Trailers)
	if string(reencoded) != "f\r\nhello, chunked!\r\n0\r\nX-Sum: 1\r\n\r\n" {
		t.Fatalf("re-encoded = %q", reencoded)
	}
}

func TestChunkedRefused(t *testing.T) {
	for _, raw := range []string{
		"5 \r\nhello\r\n0\r\n\r\n",       // space after size
		" 5\r\nhello\r\n0\r\n\r\n",       // space before size
		"0x5\r\nhello\r\n0\r\n\r\n",      // prefix
		"-5\r\nhello\r\n0\r\n\r\n",       // sign
		"5\nhello\r\n0\r\n\r\n",          // bare LF after size
		"5\r\nhelloXX0\r\n\r\n",          // no CRLF after data
		"5\r\nhello\n0\r\n\r\n",          // bare LF after data
		"fffffffffffffffff\r\n",          // overflow
		"\r\nhello\r\n",                  // empty size
		"5;a\x00b\r\nhello\r\n0\r\n\r\n", // control character in extension
		"0\r\nX-A: 1\r\n 2\r\n\r\n",      // obs-fold in trailers
		"0\r\nX-A 1\r\n\r\n",             // bad trailer
		"5\r\nhel",                       // truncated
	} {
		_, err := io.ReadAll(NewChunkedReader(bufio.NewReader(strings.NewReader(raw)), 8))
		if err == nil {
			t.Errorf("%q: accepted", raw)
		}
	}
}

func TestResponse(t *testing.T) {
	for _, tc := range []struct {
		raw, method string
		status      int
		framing     Framing
		close       bool
	}{
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "GET", 200, FixedLength, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, ChunkedBody, false},
		{"HTTP/1.1 200 OK\r\n\r\n", "GET", 200, UntilClose, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", "HEAD", 200, NoBody, false},
		{"HTTP/1.1 204 \r\n\r\n", "GET", 204, NoBody, false},
		{"HTTP/1.1 304 Not Modified\r\nConnection: close\r\n\r\n", "GET", 304, NoBody, true},
		{"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", 200, FixedLength, true},
		{"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "GET", 101, NoBody, false},
	} {
		resp, _, err := ReadResponse(bufio.NewReader(strings.NewReader(tc.raw)), testLimits, nil)
		if err != nil {
			t.Errorf("%q: %v", tc.raw, err)
			continue
		}
		if resp.Status != tc.status || resp.Framing(tc.method) != tc.framing || resp.Close != tc.close {
			t.Errorf("%q: status %d framing %d close %v", tc.raw, resp.Status, resp.Framing(tc.method), resp.Close)
		}
	}
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
	} {
		if _, _, err := ReadResponse(bufio.NewReader(strings.NewReader(raw)), testLimits, nil); err == nil {
			t.Errorf("%q: accepted", raw)
		}
	}
}
