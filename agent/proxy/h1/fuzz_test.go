package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzRequest feeds arbitrary bytes to the request parser and the chunked
// decoder: no panic, bounded output, and every refusal is an *Error with a
// known reason.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
		"GET http://a/b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
	} {
		f.Add([]byte(seed))
	}
	known := map[string]bool{}
	for _, r := range Reasons {
		known[r] = true
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(data), 16)
		req, _, err := ReadRequest(br, Limits{MaxHeaderBytes: 4096, MaxHeaders: 16}, nil)
		var he *Error
		switch {
		case err == nil:
		case errors.As(err, &he):
			if !known[he.Reason] || he.Status < 400 || he.Status > 505 {
				t.Fatalf("unexpected refusal %d %q", he.Status, he.Reason)
			}
			return
		default:
			return // I/O errors of the reader
		}
		if req.Chunked && req.ContentLength != -1 || !req.Chunked && req.ContentLength < 0 {
			t.Fatalf("inconsistent framing: %+v", req)
		}
		hosts := 0
		for _, h := range req.Headers {
			if strings.EqualFold(h.Name, "Host") {
				hosts++
			}
		}
		if req.Minor == 1 && hosts != 1 {
			t.Fatalf("HTTP/1.1 request with %d Host fields accepted", hosts)
		}
		if req.Chunked {
			n, _ := io.Copy(io.Discard, NewChunkedReader(br, 16))
			if n > int64(len(data)) {
				t.Fatalf("decoded %d bytes from %d", n, len(data))
			}
		}
	})
}
