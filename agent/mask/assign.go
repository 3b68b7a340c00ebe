package mask

// textKind says how a text encodes values, which decides where an inline
// value ends.
type textKind int

const (
	// plain texts are not searched for inline values (points, names).
	plain textKind = iota
	// encoded texts keep values percent-encoded (a request target as
	// sent): '&', ';', spaces and quotes delimit values unambiguously.
	encoded
	// decoded texts (decoded values, log messages) may hold a value that
	// itself contains '&', '=', quotes, spaces or line breaks once
	// decoded: nothing tells where it ends, so an unquoted value runs to
	// the end of the text (unless it is a known sensitive value).
	decoded
)

// findAssignments finds the values of sensitive names written inline in a
// text: "password=x" (query, form, cookie), "\"token\": \"x\"" (JSON),
// "Authorization: Bearer x" (header lines), "<pin>x</pin>" (XML). It is how
// a raw query string, a raw body or a log message gets its sensitive values
// masked when nobody parsed it into points.
func (n *names) findAssignments(text string, dst []span, kind textKind) []span {
	if kind == plain {
		return dst
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '=' && c != ':' && c != '>' {
			continue
		}
		name, ok := nameBefore(text, i, c)
		if !ok || !n.sensitive(name) {
			continue
		}
		if s, e := valueAfter(text, i, c, kind); e > s {
			dst = append(dst, span{start: s, end: e})
		}
	}
	return dst
}

// nameBefore returns the name that ends at the separator text[i]: the
// word before '=', before ':' (quoted or not, spaces allowed), or the tag
// of an XML element opened by '<name>'.
func nameBefore(text string, i int, sep byte) (string, bool) {
	j := i
	if sep == ':' {
		for j > 0 && (text[j-1] == ' ' || text[j-1] == '\t') {
			j--
		}
	}
	quoted := sep != '>' && j > 0 && (text[j-1] == '"' || text[j-1] == '\'')
	if quoted {
		j--
	}
	k := j
	for k > 0 && j-k < 128 && isNameByte(text[k-1]) {
		k--
	}
	if k == j {
		return "", false
	}
	if sep == '>' && (k == 0 || text[k-1] != '<') {
		return "", false
	}
	return text[k:j], true
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '$' || c == '[' || c == ']'
}

// valueAfter returns the span of the value that follows the separator at i.
func valueAfter(text string, i int, sep byte, kind textKind) (int, int) {
	v := i + 1
	if sep == ':' {
		for v < len(text) && (text[v] == ' ' || text[v] == '\t') {
			v++
		}
	}
	if v >= len(text) {
		return v, v
	}
	if q := text[v]; sep != '>' && (q == '"' || q == '\'') {
		if kind == decoded {
			// The closing quote may be part of the value.
			return v + 1, len(text)
		}
		e := v + 1
		for e < len(text) && text[e] != q {
			if text[e] == '\\' {
				e++
			}
			e++
		}
		return v + 1, min(e, len(text))
	}
	e := v
	for e < len(text) && !endsValue(text, e, sep, kind) {
		e++
	}
	return v, e
}

// endsValue reports whether text[e] ends an unquoted value after sep.
// After '>' the value runs to the next tag. In an encoded text, separators
// and quotes end a value (a header value after ':' runs on over spaces:
// "Bearer x"). In a decoded text nothing does: the value may span lines
// (a private key), and runs to the end of the text.
func endsValue(text string, e int, sep byte, kind textKind) bool {
	if kind == decoded {
		return false
	}
	c := text[e]
	if sep == '>' {
		return c == '<'
	}
	if c == '\r' || c == '\n' {
		return true
	}
	switch c {
	case '&', ';', ',', '"', '\'', '<', '>', '}', ']', ')':
		return true
	case ' ', '\t':
		return sep == '='
	}
	return false
}
