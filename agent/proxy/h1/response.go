package h1

import (
	"bufio"
	"strings"
)

// Response is a parsed response head from an upstream.
type Response struct {
	Status int
	// Reason is the reason phrase as sent (may be empty).
	Reason  string
	Minor   int
	Headers []Header
	// ContentLength is -1 when the field is absent.
	ContentLength int64
	Chunked       bool
	// Close: the upstream will close the connection after this response.
	Close      bool
	Connection []string
	HeadBytes  int
}

// Framing is how a response body ends.
type Framing int

const (
	NoBody      Framing = iota // 1xx, 204, 304, or a response to HEAD
	FixedLength                // Content-Length bytes
	ChunkedBody                // chunked transfer coding
	UntilClose                 // until the upstream closes the connection
)

// Framing says how the body of r, a response to method, is delimited.
func (r *Response) Framing(method string) Framing {
	switch {
	case method == "HEAD" || r.Status < 200 || r.Status == 204 || r.Status == 304:
		return NoBody
	case r.Chunked:
		return ChunkedBody
	case r.ContentLength >= 0:
		return FixedLength
	}
	return UntilClose
}

// Get returns the first value of the named field (case-insensitive).
func (r *Response) Get(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// ReadResponse reads and parses one response head. The same rules apply as
// to requests: an upstream whose framing is ambiguous gets a 502, not a
// guess.
func ReadResponse(br *bufio.Reader, lim Limits, scratch []byte) (*Response, []byte, error) {
	buf, err := readHead(br, lim.MaxHeaderBytes, scratch, false)
	if err != nil {
		return nil, buf, err
	}
	head := string(buf)
	resp := &Response{HeadBytes: len(head), ContentLength: -1}
	eol := strings.Index(head, "\r\n")
	if err := resp.parseStatusLine(head[:eol]); err != nil {
		return nil, buf, err
	}
	fields, err := parseFields(head[eol+2:], lim.MaxHeaders, make([]Header, 0, 16))
	if err != nil {
		return nil, buf, err
	}
	resp.Headers = fields
	return resp, buf, resp.interpret()
}

func (r *Response) parseStatusLine(line string) error {
	// HTTP/1.1 200 OK  (the reason phrase may be empty, the space not)
	if len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return fail(502, ReasonRequestLine)
	}
	switch line[:8] {
	case "HTTP/1.1":
		r.Minor = 1
	case "HTTP/1.0":
		r.Minor = 0
	default:
		return fail(502, ReasonVersion)
	}
	code := line[9:12]
	for i := 0; i < 3; i++ {
		if code[i] < '0' || code[i] > '9' {
			return fail(502, ReasonRequestLine)
		}
	}
	r.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if r.Status < 100 {
		return fail(502, ReasonRequestLine)
	}
	if len(line) > 13 {
		r.Reason = line[13:]
		if !validValue(r.Reason) {
			return fail(502, ReasonRequestLine)
		}
	}
	return nil
}

func (r *Response) interpret() error {
	lengths, encodings := 0, 0
	var te string
	closeToken, keepAliveToken := false, false
	for _, h := range r.Headers {
		switch {
		case strings.EqualFold(h.Name, "Content-Length"):
			lengths++
			n, ok := parseContentLength(h.Value)
			if lengths > 1 || !ok {
				return fail(502, ReasonContentLength)
			}
			r.ContentLength = n
		case strings.EqualFold(h.Name, "Transfer-Encoding"):
			encodings++
			te = h.Value
		case strings.EqualFold(h.Name, "Connection"):
			for opt := range strings.SplitSeq(h.Value, ",") {
				opt = strings.ToLower(trimOWS(opt))
				switch opt {
				case "":
					continue
				case "close":
					closeToken = true
				case "keep-alive":
					keepAliveToken = true
				}
				r.Connection = append(r.Connection, opt)
			}
		}
	}
	if encodings > 0 {
		if lengths > 0 || encodings > 1 || !strings.EqualFold(te, "chunked") {
			return fail(502, ReasonTransferEncoding)
		}
		r.Chunked = true
		r.ContentLength = -1
	}
	r.Close = closeToken || (r.Minor == 0 && !keepAliveToken)
	return nil
}
