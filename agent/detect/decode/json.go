package decode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// Sink receives the structure a structural decoder finds, as a walk: Enter
// descends into a field, element or attribute, Leave returns, Value reports
// the leaf at the current position, Name reports the key just entered (so
// that attacks placed in names are seen too).
type Sink interface {
	Enter(s point.Step)
	Leave()
	Value(v string)
	Name(name string)
}

// Limits bound one structural decoding.
type Limits struct {
	MaxDepth int // nesting depth; deeper input is ErrTooDeep
	MaxItems int // values and names reported; more is ErrTooMany
}

// Errors a structural decoder returns. ErrTooDeep is what a nesting bomb
// produces; the engine reports it as a data_bomb detection.
var (
	ErrTooDeep = errors.New("nesting deeper than the limit")
	ErrTooMany = errors.New("more items than the limit")
)

// SyntaxError is a malformed document.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// JSON walks a JSON document, reporting every scalar (strings unescaped,
// numbers, true, false and null as written) and every object key.
func JSON(s string, lim Limits, sink Sink) error {
	d := jsonDecoder{s: s, lim: lim, sink: sink}
	d.skipSpace()
	if err := d.value(0); err != nil {
		return err
	}
	d.skipSpace()
	if d.i != len(d.s) {
		return d.errorf("data after the top-level value")
	}
	return nil
}

type jsonDecoder struct {
	s     string
	i     int
	items int
	lim   Limits
	sink  Sink
}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: d.i, Msg: fmt.Sprintf(format, args...)}
}

func (d *jsonDecoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jsonDecoder) count() error {
	d.items++
	if d.items > d.lim.MaxItems {
		return ErrTooMany
	}
	return nil
}

func (d *jsonDecoder) value(depth int) error {
	if d.i >= len(d.s) {
		return d.errorf("unexpected end")
	}
	switch c := d.s[d.i]; {
	case c == '{' || c == '[':
		if depth >= d.lim.MaxDepth {
			return ErrTooDeep
		}
		if c == '{' {
			return d.object(depth + 1)
		}
		return d.array(depth + 1)
	case c == '"':
		v, err := d.str()
		if err != nil {
			return err
		}
		if err := d.count(); err != nil {
			return err
		}
		d.sink.Value(v)
		return nil
	default:
		start := d.i
		for d.i < len(d.s) && isLiteralByte(d.s[d.i]) {
			d.i++
		}
		lit := d.s[start:d.i]
		if !validLiteral(lit) {
			d.i = start
			return d.errorf("invalid value")
		}
		if err := d.count(); err != nil {
			return err
		}
		d.sink.Value(lit)
		return nil
	}
}

func isLiteralByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'E'
}

func validLiteral(s string) bool {
	switch s {
	case "true", "false", "null":
		return true
	case "":
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

func (d *jsonDecoder) object(depth int) error {
	d.i++ // {
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return d.errorf("want object key")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return d.errorf("want ':'")
		}
		d.i++
		d.skipSpace()
		if err := d.count(); err != nil {
			return err
		}
		d.sink.Enter(point.Step{Kind: point.Field, Name: key})
		d.sink.Name(key)
		if err := d.value(depth); err != nil {
			return err
		}
		d.sink.Leave()
		d.skipSpace()
		if d.i >= len(d.s) {
			return d.errorf("unterminated object")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return nil
		default:
			return d.errorf("want ',' or '}'")
		}
	}
}

func (d *jsonDecoder) array(depth int) error {
	d.i++ // [
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return nil
	}
	for n := 0; ; n++ {
		d.skipSpace()
		d.sink.Enter(point.Step{Kind: point.Index, Index: n})
		if err := d.value(depth); err != nil {
			return err
		}
		d.sink.Leave()
		d.skipSpace()
		if d.i >= len(d.s) {
			return d.errorf("unterminated array")
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return nil
		default:
			return d.errorf("want ',' or ']'")
		}
	}
}

// str reads a string literal at d.i; it returns a substring of the input
// when there are no escapes.
func (d *jsonDecoder) str() (string, error) {
	start := d.i + 1
	j := start
	for j < len(d.s) {
		c := d.s[j]
		if c == '"' {
			d.i = j + 1
			return d.s[start:j], nil
		}
		if c == '\\' {
			break
		}
		j++
	}
	if j >= len(d.s) {
		return "", d.errorf("unterminated string")
	}
	b := make([]byte, 0, len(d.s[start:])/2+16)
	b = append(b, d.s[start:j]...)
	for j < len(d.s) {
		c := d.s[j]
		switch {
		case c == '"':
			d.i = j + 1
			return string(b), nil
		case c != '\\':
			b = append(b, c)
			j++
			continue
		}
		if j+1 >= len(d.s) {
			break
		}
		e := d.s[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if j+4 > len(d.s) {
				d.i = j
				return "", d.errorf("short \\u escape")
			}
			r, ok := hexRune(d.s[j : j+4])
			if !ok {
				d.i = j
				return "", d.errorf("bad \\u escape")
			}
			j += 4
			if utf16.IsSurrogate(r) && j+6 <= len(d.s) && d.s[j] == '\\' && d.s[j+1] == 'u' {
				if r2, ok := hexRune(d.s[j+2 : j+6]); ok {
					if c := utf16.DecodeRune(r, r2); c != utf8.RuneError {
						r = c
						j += 6
					}
				}
			}
			b = appendRune(b, r)
		default:
			d.i = j
			return "", d.errorf("bad escape \\%c", e)
		}
	}
	d.i = j
	return "", d.errorf("unterminated string")
}

// LooksLikeJSON reports whether s (trimmed) starts and ends like a JSON
// object or array, which is when the engine tries to parse a value as JSON.
func LooksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) >= 2 && (s[0] == '{' && s[len(s)-1] == '}' || s[0] == '[' && s[len(s)-1] == ']')
}
