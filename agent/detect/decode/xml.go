package decode

import (
	"strings"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// XMLSink is a Sink that also receives markup declarations (DOCTYPE and
// what it declares, processing instructions), raw and unexpanded: they are
// where XXE and entity bombs live.
type XMLSink interface {
	Sink
	Declaration(raw string)
}

// XML walks an XML (or SOAP) document: element text and attribute values
// are reported under element local names (namespace prefixes dropped),
// attributes as Attr steps. Entities are never expanded: references stay
// in the text as written, and DOCTYPE internal subsets are passed to
// Declaration untouched. The tokenizer is lenient the way HTML-ish parsers
// of real applications are; a document with no element at all is a
// SyntaxError.
func XML(s string, lim Limits, sink XMLSink) error {
	x := xmlDecoder{s: s, lim: lim, sink: sink}
	return x.run()
}

type xmlDecoder struct {
	s        string
	i        int
	lim      Limits
	sink     XMLSink
	depth    int
	items    int
	elements int
}

func (x *xmlDecoder) count() error {
	x.items++
	if x.items > x.lim.MaxItems {
		return ErrTooMany
	}
	return nil
}

func (x *xmlDecoder) run() error {
	for x.i < len(x.s) {
		lt := strings.IndexByte(x.s[x.i:], '<')
		if lt < 0 {
			if err := x.text(x.s[x.i:]); err != nil {
				return err
			}
			break
		}
		if err := x.text(x.s[x.i : x.i+lt]); err != nil {
			return err
		}
		x.i += lt
		rest := x.s[x.i:]
		var err error
		switch {
		case strings.HasPrefix(rest, "<!--"):
			x.skipPast("-->")
		case strings.HasPrefix(rest, "<![CDATA["):
			x.i += len("<![CDATA[")
			end := strings.Index(x.s[x.i:], "]]>")
			if end < 0 {
				end = len(x.s) - x.i
			}
			err = x.text(x.s[x.i : x.i+end])
			x.i = min(len(x.s), x.i+end+3)
		case strings.HasPrefix(rest, "<!"):
			err = x.declaration()
		case strings.HasPrefix(rest, "<?"):
			start := x.i
			x.skipPast("?>")
			if !strings.HasPrefix(rest, "<?xml ") && !strings.HasPrefix(rest, "<?xml?") {
				x.sink.Declaration(x.s[start:x.i])
			}
		case strings.HasPrefix(rest, "</"):
			x.skipPast(">")
			if x.depth > 0 {
				x.depth--
				x.sink.Leave()
			}
		default:
			err = x.element()
		}
		if err != nil {
			return err
		}
	}
	for ; x.depth > 0; x.depth-- {
		x.sink.Leave()
	}
	if x.elements == 0 {
		return &SyntaxError{Offset: 0, Msg: "no XML element"}
	}
	return nil
}

func (x *xmlDecoder) skipPast(end string) {
	if j := strings.Index(x.s[x.i:], end); j >= 0 {
		x.i += j + len(end)
	} else {
		x.i = len(x.s)
	}
}

// declaration reads <!DOCTYPE ...> including a [...] internal subset, with
// quoted strings, so that '>' inside an entity value does not end it.
func (x *xmlDecoder) declaration() error {
	start := x.i
	depth := 0
	var quote byte
	for x.i++; x.i < len(x.s); x.i++ {
		c := x.s[x.i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '>' && depth <= 0:
			x.i++
			x.sink.Declaration(x.s[start:x.i])
			return x.count()
		}
	}
	x.sink.Declaration(x.s[start:])
	return x.count()
}

func (x *xmlDecoder) text(t string) error {
	if strings.TrimSpace(t) == "" || x.depth == 0 {
		return nil
	}
	if err := x.count(); err != nil {
		return err
	}
	x.sink.Value(t)
	return nil
}

func isNameByte(c byte) bool {
	return c > ' ' && c != '>' && c != '/' && c != '=' && c != '<' && c != '"' && c != '\''
}

func localName(n string) string {
	if i := strings.LastIndexByte(n, ':'); i >= 0 && i+1 < len(n) {
		return n[i+1:]
	}
	return n
}

func (x *xmlDecoder) element() error {
	x.i++ // <
	start := x.i
	for x.i < len(x.s) && isNameByte(x.s[x.i]) {
		x.i++
	}
	name := x.s[start:x.i]
	if name == "" {
		// A lone '<' in text.
		return x.text("<")
	}
	if x.depth >= x.lim.MaxDepth {
		return ErrTooDeep
	}
	if err := x.count(); err != nil {
		return err
	}
	x.elements++
	x.sink.Enter(point.Step{Kind: point.Field, Name: localName(name)})
	x.depth++
	for x.i < len(x.s) {
		c := x.s[x.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			x.i++
		case c == '>':
			x.i++
			return nil
		case c == '/':
			x.i++
			if x.i < len(x.s) && x.s[x.i] == '>' {
				x.i++
				x.depth--
				x.sink.Leave()
				return nil
			}
		default:
			if err := x.attribute(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *xmlDecoder) attribute() error {
	start := x.i
	for x.i < len(x.s) && isNameByte(x.s[x.i]) {
		x.i++
	}
	name := x.s[start:x.i]
	if name == "" {
		x.i++ // stray quote or '<': skip it
		return nil
	}
	for x.i < len(x.s) && (x.s[x.i] == ' ' || x.s[x.i] == '\t' || x.s[x.i] == '\n' || x.s[x.i] == '\r') {
		x.i++
	}
	value := ""
	if x.i < len(x.s) && x.s[x.i] == '=' {
		x.i++
		for x.i < len(x.s) && (x.s[x.i] == ' ' || x.s[x.i] == '\t' || x.s[x.i] == '\n' || x.s[x.i] == '\r') {
			x.i++
		}
		if x.i < len(x.s) && (x.s[x.i] == '"' || x.s[x.i] == '\'') {
			q := x.s[x.i]
			end := strings.IndexByte(x.s[x.i+1:], q)
			if end < 0 {
				end = len(x.s) - x.i - 1
			}
			value = x.s[x.i+1 : x.i+1+end]
			x.i = min(len(x.s), x.i+end+2)
		} else {
			vs := x.i
			for x.i < len(x.s) && x.s[x.i] > ' ' && x.s[x.i] != '>' {
				x.i++
			}
			value = x.s[vs:x.i]
		}
	}
	if name == "xmlns" || strings.HasPrefix(name, "xmlns:") {
		return nil
	}
	if err := x.count(); err != nil {
		return err
	}
	x.sink.Enter(point.Step{Kind: point.Attr, Name: localName(name)})
	x.sink.Value(value)
	x.sink.Leave()
	return nil
}

// LooksLikeXML reports whether s (trimmed) starts like an XML document: an
// XML declaration, a DOCTYPE, or a root element closed at the end.
func LooksLikeXML(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<!DOCTYPE") || strings.HasPrefix(s, "<!ENTITY") {
		return true
	}
	return len(s) > 3 && s[0] == '<' && s[len(s)-1] == '>' && strings.Contains(s, "</") &&
		(s[1] >= 'a' && s[1] <= 'z' || s[1] >= 'A' && s[1] <= 'Z')
}
