package mask

// findAssignments finds the values of sensitive names written inline in a
// text: "password=x" (query, form, cookie), "\"token\": \"x\"" (JSON),
// "Authorization: Bearer x" (header lines), "<pin>x</pin>" (XML). It is how
// a raw query string, a raw body or a log message gets its sensitive values
// masked when nobody parsed it into points.
func (n *names) findAssignments(text string, dst []span) []span {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '=' && c != ':' && c != '>' {
			continue
		}
		name, ok := nameBefore(text, i, c)
		if !ok || !n.sensitive(name) {
			continue
		}
		if s, e := valueAfter(text, i, c); e > s {
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
func valueAfter(text string, i int, sep byte) (int, int) {
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
	for e < len(text) && !endsValue(text[e], sep) {
		e++
	}
	return v, e
}

// endsValue reports whether c ends an unquoted value after sep. After ':' a
// header value runs to the end of the line, spaces included ("Bearer x").
func endsValue(c byte, sep byte) bool {
	switch sep {
	case '>':
		return c == '<'
	case ':':
		return c == '\r' || c == '\n' || c == ',' || c == ';' || c == '&' || c == '}' || c == ']' || c == '"'
	default:
		switch c {
		case '&', ';', ',', ' ', '\t', '\r', '\n', '"', '\'', '<', '>', '}', ']', ')':
			return true
		}
		return false
	}
}
