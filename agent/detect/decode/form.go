package decode

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Form splits application/x-www-form-urlencoded data (a query string or a
// form body) into names and values, decoding '+' and percent escapes once.
// Repeated names are all reported, in order (HTTP parameter pollution keeps
// every value). It stops after maxPairs pairs and reports whether it did.
func Form(s string, maxPairs int, fn func(name, value, rawName, rawValue string)) (truncated bool) {
	n := 0
	for len(s) > 0 {
		var pair string
		if i := strings.IndexByte(s, '&'); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair, s = s, ""
		}
		if pair == "" {
			continue
		}
		if n == maxPairs {
			return true
		}
		n++
		name, value, _ := strings.Cut(pair, "=")
		fn(FormUnescape(name), FormUnescape(value), name, value)
	}
	return false
}

// PlusMatters reports whether a raw form value may hold a '+' a client
// sent unescaped, meaning itself, where reading it as a space changes what
// the value says: a '+' next to something other than a letter or a digit
// ("'+alert(1)+'", "1)+("), in a value whose spaces are escaped as %20
// (the '+' then cannot be one) or that has at most two. Text typed into a
// form has its spaces as '+', many of them, next to punctuation too
// ("see+(e.g.+this)"); between words ("hello+world") both readings say
// the same.
func PlusMatters(raw string) bool {
	if strings.IndexByte(raw, '+') < 0 {
		return false
	}
	n := strings.Count(raw, "+")
	// UTF-7 starts every encoded run with '+' ("+ADw-script+AD4-").
	if strings.Contains(raw, "+AD") && (strings.Contains(raw, "+ADw-") || strings.Contains(raw, "+AD4-") || strings.Contains(raw, "+ACI-")) {
		return true
	}
	if n > 2 && !strings.Contains(raw, "%20") {
		// JSFuck has nothing but symbols for a '+' to stand between as a
		// space ("(![]+[])[+!+[]]").
		return !strings.ContainsFunc(raw, func(r rune) bool { return r < 0x80 && alnum(byte(r)) })
	}
	for i := range len(raw) {
		if raw[i] != '+' {
			continue
		}
		if i > 0 && !alnum(raw[i-1]) || i+1 < len(raw) && !alnum(raw[i+1]) {
			return true
		}
	}
	return false
}

// PlusAsSpace returns v with its '+' read as spaces, as a server that
// form-decodes v once more would, when v has a '+' between two other
// characters and no space of its own: text already spaced keeps its
// pluses ("C++ and C#"), and so does an address ("john+news@example.com").
func PlusAsSpace(v string) (string, bool) {
	i := strings.IndexByte(v, '+')
	if i < 0 || strings.IndexByte(v, ' ') >= 0 || emailAddress(v) {
		return "", false
	}
	for i < len(v) {
		// A run of them stands for as many spaces ("1++union++select").
		e := i
		for e < len(v) && v[e] == '+' {
			e++
		}
		if i > 0 && e < len(v) && e-i <= 2 {
			return strings.ReplaceAll(v, "+", " "), true
		}
		k := strings.IndexByte(v[e:], '+')
		if k < 0 {
			break
		}
		i = e + k
	}
	return "", false
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }

// FormUnescape decodes '+' to space and %XX once. Malformed escapes stay.
func FormUnescape(s string) string {
	plus := strings.IndexByte(s, '+')
	if plus < 0 {
		return Percent(s)
	}
	pct := strings.IndexByte(s, '%')
	if pct < 0 {
		return strings.ReplaceAll(s, "+", " ")
	}
	return percent(s, min(plus, pct), true)
}

// Cookies splits a Cookie header into names and values. It is lenient the
// way servers are: pairs separated by ';', or by a ',' that another pair
// follows ("a=1, b=2", headers joined by a proxy), whitespace trimmed,
// surrounding double quotes dropped from values. Any other ',' is part of
// the value ("alert.call(null,1)").
func Cookies(s string, maxPairs int, fn func(name, value string)) (truncated bool) {
	n := 0
	for len(s) > 0 {
		var pair string
		if i := cookieSeparator(s); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			pair, s = s, ""
		}
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		if n == maxPairs {
			return true
		}
		n++
		name, value, _ := strings.Cut(pair, "=")
		value = strings.TrimSpace(value)
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
		}
		fn(strings.TrimSpace(name), value)
	}
	return false
}

// MinBase64 is the shortest value Base64 tries to decode: shorter strings
// are ordinary words far more often than they are encoded payloads.
const MinBase64 = 6

// Base64 decodes s when it looks like base64 (standard or URL alphabet,
// padded or not, optionally after a data: URL prefix) of text. Binary
// results (images, random tokens, hashes) are refused, so that only
// decodings a detector can use are walked.
func Base64(s string) (string, bool) {
	if strings.HasPrefix(s, "data:") {
		if i := strings.Index(s, ";base64,"); i >= 0 {
			s = s[i+len(";base64,"):]
		}
	}
	s = strings.TrimRight(s, "=")
	if len(s) < MinBase64 || len(s)%4 == 1 {
		return "", false
	}
	if sp := strings.Count(s, " "); sp > 0 && sp*16 <= len(s) && s[0] != ' ' {
		// A '+' read as a space by a form decoder: the sender did not
		// escape it, the application may still decode what it meant.
		// Prose has a space every few bytes, not one in sixteen.
		s = strings.ReplaceAll(s, " ", "+")
	}
	url, std := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_':
			url = true
		case c == '+' || c == '/':
			std = true
		default:
			return "", false
		}
	}
	if url && std {
		return "", false
	}
	enc := base64.RawStdEncoding
	if url {
		enc = base64.RawURLEncoding
	}
	// Look at the head first: most base64 in requests is binary, and
	// deciding that from 48 bytes avoids decoding a whole image.
	head := s[:min(len(s), 64)]
	if len(head) < len(s) {
		var buf [48]byte
		n, err := enc.Decode(buf[:], []byte(head))
		if err != nil || !mostlyText(buf[:n]) {
			return "", false
		}
	}
	// Short values (tokens, ids) decode on the stack: most are refused,
	// and then nothing is allocated.
	var small [48]byte
	var b []byte
	if enc.DecodedLen(len(s)) <= len(small) {
		var src [64]byte
		n, err := enc.Decode(small[:], src[:copy(src[:], s)])
		if err != nil {
			return "", false
		}
		b = small[:n]
	} else {
		var err error
		if b, err = enc.DecodeString(s); err != nil {
			return "", false
		}
	}
	if !mostlyText(b) {
		return "", false
	}
	return string(b), true
}

// mostlyText reports whether b is UTF-8 with at most 1 control or invalid
// byte in 20, and has some letters (a decoding of a plain word into bytes
// 0x20-0x7e by chance is rare, but not rare enough without that).
func mostlyText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	bad, letters := 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		case c == '\t' || c == '\n' || c == '\r' || c >= 0x20 && c < 0x7f:
		case c >= 0x80:
			// Accept UTF-8; count invalid sequences as bad.
			j := i + 1
			for j < len(b) && j < i+4 && b[j]&0xC0 == 0x80 {
				j++
			}
			if j == i+1 || !validUTF8(b[i:j]) {
				bad++
			}
			i = j - 1
		default:
			bad++
		}
	}
	if letters == 0 {
		// Expressions without a word in them ("${7*7}", "<%= 7*7 %>")
		// are still text when every byte is printable and they are
		// bracketed; decodings of random tokens rarely are both.
		// Filter syntax is text too ("*))%00", "*)(|(cn=*"): printable
		// bytes holding an operator of the languages injected.
		return bad == 0 && (bracketed(b) || printableWith(b, "*|&;'\"`/\\"))
	}
	// Few letters are text too when every byte is printable and an
	// operator of the languages injected is among them ("'or 123.22=123.22"),
	// or a percent escape: percent-encoded text encoded again
	// ("%2A%29%29%2500").
	return bad*20 <= len(b) && (letters*8 >= len(b) || bad == 0 && printableWith(b, "*|&;'\"`=<>(/\\%"))
}

// printableWith reports whether b is printable ASCII holding one of the
// bytes in set.
func printableWith(b []byte, set string) bool {
	has := false
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
		has = has || strings.IndexByte(set, c) >= 0
	}
	return has
}

// bracketed reports whether b is printable ASCII holding an opening
// bracket ({, <, () and, after it, the matching closing one.
func bracketed(b []byte) bool {
	var open, want byte
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return false
		}
		switch {
		case open == 0 && c == '{':
			open, want = c, '}'
		case open == 0 && c == '<':
			open, want = c, '>'
		case open == 0 && c == '(':
			open, want = c, ')'
		case open != 0 && c == want:
			want = 0
		}
	}
	return open != 0 && want == 0
}

// validUTF8 reports whether b is one valid multi-byte sequence or more.
// (It once compared b with strings.ToValidUTF8 of it, which is the same
// test with a copy.)
func validUTF8(b []byte) bool {
	return len(b) > 1 && utf8.Valid(b)
}

// JWT splits a JSON Web Token (optionally after "Bearer ") into its decoded
// header and payload, both JSON. The signature is ignored.
func JWT(s string) (header, payload string, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	if !strings.HasPrefix(s, "eyJ") || strings.Count(s, ".") != 2 {
		return "", "", false
	}
	parts := strings.SplitN(s, ".", 3)
	h, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	p, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err1 != nil || err2 != nil || len(h) == 0 || h[0] != '{' {
		return "", "", false
	}
	return string(h), string(p), true
}

// ErrBomb means a compressed body inflated past the allowed ratio or size.
var ErrBomb = errors.New("compressed body exceeds the inflation limit")

// Inflate decompresses a request body sent with Content-Encoding gzip,
// x-gzip or deflate (zlib or raw). It stops with ErrBomb as soon as the
// output would exceed maxOut bytes or maxRatio times the input, so a
// compression bomb costs at most maxOut bytes of memory and the work to
// produce them.
func Inflate(data []byte, encoding string, maxOut, maxRatio int) ([]byte, error) {
	limit := min(maxOut, len(data)*maxRatio+1024)
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		r = zr
	case "deflate":
		// RFC 9110 says zlib; many clients send raw deflate. Try zlib first.
		if len(data) >= 2 && (uint16(data[0])<<8|uint16(data[1]))%31 == 0 && data[0]&0x0f == 8 {
			r = flate.NewReader(bytes.NewReader(data[2:]))
		} else {
			r = flate.NewReader(bytes.NewReader(data))
		}
	default:
		return nil, fmt.Errorf("content encoding %q is not supported", encoding)
	}
	out := make([]byte, 0, min(limit, 4*len(data)+512))
	buf := bytes.NewBuffer(out)
	n, err := io.Copy(buf, io.LimitReader(r, int64(limit)+1))
	if n > int64(limit) {
		return buf.Bytes()[:limit], ErrBomb
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return buf.Bytes(), fmt.Errorf("inflate %s body: %w", encoding, err)
	}
	return buf.Bytes(), nil
}

// cookieSeparator returns the index of the first ';' in s, or of an
// earlier ',' that a cookie name and '=' follow; -1 when there is none.
func cookieSeparator(s string) int {
	semi := strings.IndexByte(s, ';')
	end := len(s)
	if semi >= 0 {
		end = semi
	}
	for i := 0; i < end; i++ {
		if s[i] != ',' {
			continue
		}
		j := i + 1
		for j < end && s[j] == ' ' {
			j++
		}
		k := j
		for k < end && s[k] != '=' && s[k] != ',' && s[k] != ' ' && s[k] != '(' && s[k] != ')' && s[k] != '"' {
			k++
		}
		if k > j && k < end && s[k] == '=' {
			return i
		}
	}
	return semi
}
