// Package h1 parses HTTP/1.x messages strictly, for a proxy that must never
// read a message differently from the application behind it (request
// smuggling, RFC 9112 §11.2).
//
// Anything a conforming peer would not send is an error, not a guess: bare
// LF line endings, obs-fold continuation lines, whitespace before a colon,
// control characters in fields, Content-Length together with
// Transfer-Encoding, repeated or malformed Content-Length, any transfer
// coding but a single "chunked", a missing or repeated Host. Each error
// carries the status to answer and a short reason from a fixed set, fit
// for a metric label.
//
// The parser reads a whole head into one buffer and hands out substrings of
// one string conversion of it, so a request costs a handful of allocations.
package h1

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Error is a malformed or unacceptable message.
type Error struct {
	Status int    // status to answer: 400, 413, 414, 431, 501, 505
	Reason string // one of the Reason* constants
}

func (e *Error) Error() string {
	return "malformed HTTP/1 message: " + e.Reason + " (" + strconv.Itoa(e.Status) + ")"
}

// Reasons a message is refused. They label a counter: keep the set small
// and fixed.
const (
	ReasonRequestLine      = "request_line"
	ReasonVersion          = "version"
	ReasonURITooLong       = "uri_too_long"
	ReasonHeaderTooLarge   = "header_too_large"
	ReasonTooManyHeaders   = "too_many_headers"
	ReasonHeaderSyntax     = "header_syntax"
	ReasonObsFold          = "obs_fold"
	ReasonBareLF           = "bare_lf"
	ReasonCLAndTE          = "content_length_with_transfer_encoding"
	ReasonContentLength    = "content_length"
	ReasonTransferEncoding = "transfer_encoding"
	ReasonHost             = "host"
	ReasonMethod           = "method"
	ReasonChunked          = "chunked_syntax"
	ReasonTruncated        = "truncated"
)

// Reasons lists every reason, for pre-creating metric series.
var Reasons = []string{ReasonRequestLine, ReasonVersion, ReasonURITooLong, ReasonHeaderTooLarge,
	ReasonTooManyHeaders, ReasonHeaderSyntax, ReasonObsFold, ReasonBareLF, ReasonCLAndTE,
	ReasonContentLength, ReasonTransferEncoding, ReasonHost, ReasonMethod, ReasonChunked, ReasonTruncated}

func fail(status int, reason string) *Error { return &Error{Status: status, Reason: reason} }

// Limits bound the work and memory spent on one head.
type Limits struct {
	MaxHeaderBytes int // whole head, request line included
	MaxHeaders     int
}

// Header is one field line, name as sent.
type Header struct {
	Name, Value string
}

// Request is a parsed request head.
type Request struct {
	Method string
	// Target is the request-target as sent, converted from absolute-form
	// to origin-form ("/path?query"); "*" for OPTIONS *.
	Target string
	Minor  int // 1 for HTTP/1.1, 0 for HTTP/1.0
	// Headers in order, as sent (Host included).
	Headers []Header
	// Host is the request's authority: the Host field, or the authority of
	// an absolute-form target.
	Host string
	// ContentLength is the body length; -1 with Chunked.
	ContentLength int64
	Chunked       bool
	// KeepAlive says the client wants the connection kept after this
	// exchange (HTTP/1.1 without "close", HTTP/1.0 with "keep-alive").
	KeepAlive bool
	// Upgrade is the lower-cased Upgrade field when Connection lists
	// "upgrade"; empty otherwise.
	Upgrade string
	// Expect100 is set by "Expect: 100-continue".
	Expect100 bool
	// Connection holds the lower-cased options of the Connection field:
	// the fields they name are hop-by-hop.
	Connection []string
	// HeadBytes is the size of the head on the wire.
	HeadBytes int
}

// Get returns the first value of the named field (case-insensitive).
func (r *Request) Get(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// HasBody says whether a body follows the head.
func (r *Request) HasBody() bool { return r.Chunked || r.ContentLength > 0 }

// maxEmptyLines is how many empty lines are skipped before a request line
// (RFC 9112 §2.2 asks to ignore at least one).
const maxEmptyLines = 4

// ReadRequest reads and parses one request head. io.EOF means the client
// closed the connection cleanly before sending anything.
func ReadRequest(br *bufio.Reader, lim Limits, scratch []byte) (*Request, []byte, error) {
	buf, err := readHead(br, lim.MaxHeaderBytes, scratch, true)
	if err != nil {
		return nil, buf, err
	}
	req, err := parseRequest(string(buf), lim)
	return req, buf, err
}

// readHead reads bytes up to and including the empty line ending a head.
// With skipLeading (request heads), empty lines before the first line are
// dropped; without it (trailer sections), an empty line alone is a valid,
// empty section.
func readHead(br *bufio.Reader, max int, buf []byte, skipLeading bool) ([]byte, error) {
	buf = buf[:0]
	lineStart := 0
	empties := 0
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > max {
			if lineStart == 0 {
				return buf, fail(414, ReasonURITooLong)
			}
			return buf, fail(431, ReasonHeaderTooLarge)
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if len(buf) == 0 && errors.Is(err, io.EOF) {
				return buf, io.EOF
			}
			if errors.Is(err, io.EOF) {
				return buf, fail(400, ReasonTruncated)
			}
			return buf, err
		}
		line := buf[lineStart:]
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return buf, fail(400, ReasonBareLF)
		}
		if len(line) == 2 {
			// The empty line ends the head; an empty section (no first
			// line) is only valid for trailers.
			if lineStart > 0 || !skipLeading {
				return buf, nil
			}
			if empties++; empties > maxEmptyLines {
				return buf, fail(400, ReasonRequestLine)
			}
			buf = buf[:0]
			continue
		}
		lineStart = len(buf)
	}
}

func parseRequest(head string, lim Limits) (*Request, error) {
	req := &Request{HeadBytes: len(head), ContentLength: 0}
	eol := strings.Index(head, "\r\n")
	if err := req.parseRequestLine(head[:eol]); err != nil {
		return nil, err
	}
	fields, err := parseFields(head[eol+2:], lim.MaxHeaders, make([]Header, 0, 16))
	if err != nil {
		return nil, err
	}
	req.Headers = fields
	return req, req.interpret()
}

func (r *Request) parseRequestLine(line string) error {
	sp1 := strings.IndexByte(line, ' ')
	if sp1 <= 0 {
		return fail(400, ReasonRequestLine)
	}
	sp2 := strings.IndexByte(line[sp1+1:], ' ')
	if sp2 <= 0 {
		return fail(400, ReasonRequestLine)
	}
	sp2 += sp1 + 1
	r.Method, r.Target = line[:sp1], line[sp1+1:sp2]
	proto := line[sp2+1:]
	if !isToken(r.Method) {
		return fail(400, ReasonRequestLine)
	}
	for i := 0; i < len(r.Target); i++ {
		if c := r.Target[i]; c <= ' ' || c >= 0x7f {
			return fail(400, ReasonRequestLine)
		}
	}
	switch proto {
	case "HTTP/1.1":
		r.Minor = 1
	case "HTTP/1.0":
		r.Minor = 0
	default:
		if len(proto) == 8 && strings.HasPrefix(proto, "HTTP/") && proto[5] >= '0' && proto[5] <= '9' && proto[6] == '.' {
			return fail(505, ReasonVersion)
		}
		return fail(400, ReasonRequestLine)
	}
	switch {
	case r.Method == "CONNECT":
		return fail(405, ReasonMethod)
	case r.Target == "*":
		if r.Method != "OPTIONS" {
			return fail(400, ReasonRequestLine)
		}
	case r.Target[0] == '/':
	default:
		// absolute-form: http://authority/path
		rest, ok := cutPrefixFold(r.Target, "http://")
		if !ok {
			if rest, ok = cutPrefixFold(r.Target, "https://"); !ok {
				return fail(400, ReasonRequestLine)
			}
		}
		slash := strings.IndexAny(rest, "/?")
		authority, path := rest, "/"
		if slash >= 0 {
			authority, path = rest[:slash], rest[slash:]
			if path[0] == '?' {
				path = "/" + path
			}
		}
		if !validHost(authority) || authority == "" {
			return fail(400, ReasonHost)
		}
		r.Host, r.Target = authority, path
	}
	return nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// parseFields parses field lines (each ending in CRLF) up to the empty line.
func parseFields(s string, maxFields int, out []Header) ([]Header, error) {
	for {
		eol := strings.IndexByte(s, '\r')
		if eol < 0 || eol+1 >= len(s) || s[eol+1] != '\n' {
			// readHead checked line endings; a CR inside a line is a
			// control character.
			return nil, fail(400, ReasonHeaderSyntax)
		}
		line := s[:eol]
		s = s[eol+2:]
		if line == "" {
			return out, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fail(400, ReasonObsFold)
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !isToken(line[:colon]) {
			return nil, fail(400, ReasonHeaderSyntax)
		}
		value := trimOWS(line[colon+1:])
		if !validValue(value) {
			return nil, fail(400, ReasonHeaderSyntax)
		}
		if len(out) == maxFields {
			return nil, fail(431, ReasonTooManyHeaders)
		}
		out = append(out, Header{Name: line[:colon], Value: value})
	}
}

// interpret derives framing and connection handling from the fields.
func (r *Request) interpret() error {
	var hosts, lengths, encodings int
	var te string
	keepAliveToken := false
	closeToken := false
	for _, h := range r.Headers {
		switch {
		case strings.EqualFold(h.Name, "Host"):
			hosts++
			if hosts > 1 || !validHost(h.Value) {
				return fail(400, ReasonHost)
			}
			if r.Host == "" { // an absolute-form target's authority wins
				r.Host = h.Value
			}
		case strings.EqualFold(h.Name, "Content-Length"):
			lengths++
			n, ok := parseContentLength(h.Value)
			if lengths > 1 || !ok {
				return fail(400, ReasonContentLength)
			}
			r.ContentLength = n
		case strings.EqualFold(h.Name, "Transfer-Encoding"):
			encodings++
			te = h.Value
		case strings.EqualFold(h.Name, "Connection"):
			for opt := range strings.SplitSeq(h.Value, ",") {
				opt = strings.ToLower(trimOWS(opt))
				if opt == "" {
					continue
				}
				if !isToken(opt) {
					return fail(400, ReasonHeaderSyntax)
				}
				switch opt {
				case "close":
					closeToken = true
				case "keep-alive":
					keepAliveToken = true
				}
				r.Connection = append(r.Connection, opt)
			}
		case strings.EqualFold(h.Name, "Expect"):
			if strings.EqualFold(h.Value, "100-continue") {
				r.Expect100 = true
			}
		}
	}
	if encodings > 0 {
		switch {
		case lengths > 0:
			return fail(400, ReasonCLAndTE)
		case r.Minor == 0:
			// RFC 9112 §6.1: faulty framing in HTTP/1.0.
			return fail(400, ReasonTransferEncoding)
		case encodings > 1 || !strings.EqualFold(te, "chunked"):
			return fail(501, ReasonTransferEncoding)
		}
		r.Chunked = true
		r.ContentLength = -1
	}
	if r.Minor == 1 && hosts == 0 {
		return fail(400, ReasonHost)
	}
	if r.Minor == 1 {
		r.KeepAlive = !closeToken
	} else {
		r.KeepAlive = keepAliveToken && !closeToken
	}
	for _, opt := range r.Connection {
		if opt == "upgrade" {
			r.Upgrade = strings.ToLower(r.Get("Upgrade"))
		}
	}
	return nil
}

// parseContentLength accepts 1*DIGIT only: no sign, no spaces, no lists.
func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// tchar per RFC 9110 §5.6.2.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// validValue accepts field-vchar, SP, HTAB and obs-text: no control
// characters (NUL, CR, LF and the rest).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// validHost accepts uri-host [":" port]: a reg-name, an IPv4 address or an
// IP literal in brackets; no userinfo, path or whitespace.
func validHost(s string) bool {
	if len(s) > 255 {
		return false
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		for i := 1; i < end; i++ {
			if c := s[i]; !(c == ':' || c == '.' || isHex(c)) {
				return false
			}
		}
		if port = s[end+1:]; port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			host, port = s[:i], s[i+1:]
		}
		for j := 0; j < len(host); j++ {
			if !regNameByte(host[j]) {
				return false
			}
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return len(port) <= 5
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// regNameByte: unreserved, pct-encoded and sub-delims of RFC 3986.
func regNameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~%!$&'()*+,;=", c) >= 0
}
