package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds the body of every request but ingest.
const maxBodyBytes = 1 << 20

// decodeBody decodes r's JSON body into dst strictly: one JSON object,
// no unknown field, every field of its type, within maxBytes. Errors name
// what was wrong, for a person to fix.
func decodeBody(r *http.Request, dst any, maxBytes int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "body: Content-Type must be application/json"}
		}
	}
	return decodeJSON(http.MaxBytesReader(nil, r.Body, maxBytes), dst, maxBytes)
}

// decodeJSON is decodeBody's decoding, shared with ingest.
func decodeJSON(body io.Reader, dst any, maxBytes int64) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err, maxBytes)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("body: more than one JSON value")
	}
	return nil
}

func bodyError(err error, maxBytes int64) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("body: empty, expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body: JSON ends too early")
	case errors.As(err, &syntax):
		return badRequest("body: invalid JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("body: expected a JSON %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return badRequest("body: field %q must be %s, got %s", typ.Field, jsonKind(typ.Type.String()), typ.Value)
	case errors.As(err, &tooBig), errors.Is(err, errDecompressedTooLarge):
		return tooLarge("body: larger than %d bytes", maxBytes)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("body: unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return badRequest("body: %v", err)
}

// jsonKind names a Go type the way a JSON user thinks of it.
func jsonKind(goType string) string {
	switch {
	case goType == "string" || goType == "*string" || strings.HasSuffix(goType, "Decision"):
		return "a string"
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case goType == "time.Time" || goType == "*time.Time":
		return "an RFC 3339 time"
	case strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]") || goType == "slice":
		return "an array"
	case strings.HasPrefix(goType, "map") || goType == "struct":
		return "an object"
	}
	return goType
}

// query reads URL query parameters, refusing any the route does not
// declare and recording the first malformed one.
type query struct {
	r   *http.Request
	err error
}

func (q *query) fail(name, format string, args ...any) {
	if q.err == nil {
		q.err = badRequest("query parameter %s: %s", name, fmt.Sprintf(format, args...))
	}
}

func (q *query) str(name string) string {
	v := q.r.URL.Query()
	if len(v[name]) > 1 {
		q.fail(name, "given more than once")
	}
	return v.Get(name)
}

func (q *query) int(name string, def, lo, hi int64) int64 {
	s := q.str(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		q.fail(name, "want an integer from %d to %d", lo, hi)
		return def
	}
	return n
}

func (q *query) optInt(name string) *int64 {
	s := q.str(name)
	if s == "" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		q.fail(name, "want a non-negative integer")
		return nil
	}
	return &n
}

func (q *query) time(name string) time.Time {
	s := q.str(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		q.fail(name, "want an RFC 3339 time such as 2026-05-04T10:00:00Z")
	}
	return t
}

func (q *query) duration(name string, def, lo, hi time.Duration) time.Duration {
	s := q.str(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		q.fail(name, "want a duration from %v to %v, such as 1h", lo, hi)
		return def
	}
	return d
}

// prefix reads an address (as a /32 or /128) or a CIDR.
func (q *query) prefix(name string) netip.Prefix {
	s := q.str(name)
	if s == "" {
		return netip.Prefix{}
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			q.fail(name, "want an IP address or CIDR")
		}
		return p
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		q.fail(name, "want an IP address or CIDR")
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, a.BitLen())
}

// oneOf reads a value from a closed list.
func (q *query) oneOf(name string, allowed ...string) string {
	s := q.str(name)
	if s == "" {
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	q.fail(name, "want one of %s", strings.Join(allowed, ", "))
	return ""
}

// text reads free text of at most max bytes.
func (q *query) text(name string, max int) string {
	s := q.str(name)
	if len(s) > max {
		q.fail(name, "longer than %d bytes", max)
		return ""
	}
	return s
}
