package decode

import (
	"errors"
	"mime"
	"strings"
)

// Part is one part of a multipart/form-data body. Data is a substring of
// the body.
type Part struct {
	Name        string
	Filename    string
	HasFilename bool
	ContentType string
	Data        string
}

// ErrNoBoundary means a multipart content type without a usable boundary.
var ErrNoBoundary = errors.New("multipart content type has no boundary")

// Boundary returns the boundary parameter of a multipart content type.
func Boundary(contentType string) (string, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		// Lenient fallback: attackers send malformed parameters that
		// servers still accept.
		// ASCII folding keeps offsets: strings.ToLower would turn an
		// invalid byte into a three-byte replacement character.
		i := indexASCIIFold(contentType, "boundary=")
		if i < 0 {
			return "", ErrNoBoundary
		}
		b := strings.Trim(strings.TrimSpace(strings.SplitN(contentType[i+9:], ";", 2)[0]), `"`)
		if b == "" {
			return "", ErrNoBoundary
		}
		return b, nil
	}
	if b := params["boundary"]; b != "" && len(b) <= 200 {
		return b, nil
	}
	return "", ErrNoBoundary
}

// indexASCIIFold is strings.Index with ASCII letters of s compared
// case-insensitively against the lower-case sub.
func indexASCIIFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		k := 0
		for k < len(sub) {
			c := s[i+k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[k] {
				break
			}
			k++
		}
		if k == len(sub) {
			return i
		}
	}
	return -1
}

// Multipart splits a multipart body into parts. It is lenient (LF line
// ends, missing final boundary) because the applications behind the node
// are, and reports at most maxParts parts.
func Multipart(body, boundary string, maxParts int, fn func(Part)) error {
	delim := "--" + boundary
	i := strings.Index(body, delim)
	if i < 0 {
		return &SyntaxError{Msg: "no multipart boundary in body"}
	}
	rest := body[i+len(delim):]
	for n := 0; ; n++ {
		if strings.HasPrefix(rest, "--") || rest == "" {
			return nil
		}
		if n == maxParts {
			return ErrTooMany
		}
		// Skip the rest of the boundary line.
		if j := strings.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[j+1:]
		} else {
			return nil
		}
		// Headers end at an empty line.
		var p Part
		for {
			j := strings.IndexByte(rest, '\n')
			if j < 0 {
				return &SyntaxError{Msg: "multipart headers not terminated"}
			}
			line := strings.TrimRight(rest[:j], "\r")
			rest = rest[j+1:]
			if line == "" {
				break
			}
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "content-disposition":
				p.Name, p.Filename, p.HasFilename = disposition(strings.TrimSpace(v))
			case "content-type":
				p.ContentType = strings.TrimSpace(v)
			}
		}
		end := strings.Index(rest, "\n"+delim)
		if end < 0 {
			p.Data = rest
			fn(p)
			return nil
		}
		p.Data = strings.TrimSuffix(rest[:end], "\r")
		fn(p)
		rest = rest[end+1+len(delim):]
	}
}

// disposition extracts name and filename from a Content-Disposition value,
// falling back to a lenient scan when mime rejects it.
func disposition(v string) (name, filename string, hasFilename bool) {
	if _, params, err := mime.ParseMediaType(v); err == nil {
		filename, hasFilename = params["filename"]
		return params["name"], filename, hasFilename
	}
	for _, f := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(f), "=")
		if !ok {
			continue
		}
		val = strings.Trim(val, `"`)
		switch strings.ToLower(k) {
		case "name":
			name = val
		case "filename", "filename*":
			filename, hasFilename = val, true
		}
	}
	return name, filename, hasFilename
}
