// Package decode holds the decoders the detection engine applies to request
// values: transparent transforms (percent, HTML entities, JS and unicode
// escapes), which rewrite a value in place of itself, and structural
// decoders (form, JSON, XML, multipart, cookies, JWT, base64, GraphQL,
// gzip/deflate), which split a value into addressed parts.
//
// Every decoder is bounded: it never allocates more than a small multiple
// of its input, never recurses deeper than its limit, and returns an error
// instead of doing unbounded work. None of them expands XML entities.
package decode

import (
	"strings"
	"unicode/utf8"
)

// MaxTransformRounds bounds how many times Normalize repeats its decoders
// to undo double and triple encoding (four: a path arrives already
// decoded once by the server).
const MaxTransformRounds = 4

// Normalize undoes the transparent encodings an attacker may wrap a value
// in: percent-encoding (%XX and %uXXXX, repeatedly, for double encoding),
// HTML character references (&lt; &#60; &#x3c;), and JS escapes (\xXX,
// \uXXXX, \u{XXXX}). '+' is not touched: it means a space only inside
// form-urlencoded data, whose decoder handles it. The result is s itself
// when there is nothing to decode, so the common case does not allocate.
func Normalize(s string) string { return normalize(s, true) }

// NormalizeKeepingPlus is Normalize without the one guess it makes: a '+'
// that percent-decoding reveals stays a '+' ("%23%7B1%2B1%7D" in a cookie
// is "#{1+1}"), where Normalize reads it as the space of a form encoded
// twice. The engine scans both readings when they differ.
func NormalizeKeepingPlus(s string) string { return normalize(s, false) }

func normalize(s string, plusAsSpace bool) string {
	if len(s) < 64 && !encoded(s) {
		return s
	}
	for range MaxTransformRounds {
		t := s
		if strings.IndexByte(t, '%') >= 0 {
			t = Percent(t)
			// A value that was percent-encoded twice went through form
			// encoding first, where '+' is a space: "1%2BOR%2B1%3D1".
			// An address keeps its plus ("john%2Bnews%40example.com").
			if plusAsSpace && t != s && strings.IndexByte(t, '+') >= 0 && strings.IndexByte(t, ' ') < 0 && !emailAddress(t) {
				t = strings.ReplaceAll(t, "+", " ")
			}
		}
		if strings.IndexByte(t, '&') >= 0 {
			t = HTMLEntities(t)
		}
		if strings.IndexByte(t, '\\') >= 0 {
			t = JSEscapes(t)
		}
		if t == s {
			return s
		}
		s = t
	}
	return s
}

// emailAddress reports whether s is one e-mail address: a local part, one
// '@', and a host name with a dot.
func emailAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || strings.Count(s, "@") != 1 || len(s) > 254 {
		return false
	}
	host := s[at+1:]
	if !strings.Contains(host, ".") {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	for i := 0; i < at; i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".+-_", c) >= 0) {
			return false
		}
	}
	return true
}

// encoded reports whether s has a byte that starts an encoding Normalize
// undoes; one pass, for short values, where three IndexByte calls cost
// more than the loop.
func encoded(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '%' || c == '&' || c == '\\' {
			return true
		}
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func hexRune(s string) (rune, bool) {
	var r rune
	for i := 0; i < len(s); i++ {
		v, ok := unhex(s[i])
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// Percent decodes %XX and the non-standard %uXXXX (IIS) escapes once.
// Malformed escapes are kept as they are.
func Percent(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	return percent(s, i, false)
}

// percent decodes s from i, its first '%' (or '+' when plus is set), and
// '+' to space when plus is set: one copy for both, and since '+' and ' '
// are neither hex digits nor 'u', decoding them together gives what
// decoding one after the other does.
func percent(s string, i int, plus bool) string {
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if c == '+' && plus {
				c = ' '
			}
			b = append(b, c)
			continue
		}
		if i+2 < len(s) {
			if hi, ok := unhex(s[i+1]); ok {
				if lo, ok := unhex(s[i+2]); ok {
					c = hi<<4 | lo
					if a, ok := overlongASCII(c, s[i+3:]); ok {
						b = append(b, a)
						i += 5
						continue
					}
					b = append(b, c)
					i += 2
					continue
				}
			}
		}
		if i+5 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			if r, ok := hexRune(s[i+2 : i+6]); ok {
				b = appendRune(b, r)
				i += 5
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// overlongASCII folds an overlong two-byte UTF-8 encoding of an ASCII
// byte, lead (0xC0 or 0xC1) then a percent-encoded continuation in rest
// ("%c0%af" for '/'), to that byte: decoders that once accepted it (IIS,
// old Tomcat) turned "..%c0%af" into "../", so a detector must too.
func overlongASCII(lead byte, rest string) (byte, bool) {
	if lead&0xFE != 0xC0 || len(rest) < 3 || rest[0] != '%' {
		return 0, false
	}
	hi, ok1 := unhex(rest[1])
	lo, ok2 := unhex(rest[2])
	if !ok1 || !ok2 {
		return 0, false
	}
	cont := hi<<4 | lo
	if cont&0xC0 != 0x80 {
		return 0, false
	}
	a := (lead&1)<<6 | cont&0x3F
	if a|0x20 >= 'a' && a|0x20 <= 'z' {
		// A letter so spelled ("%c1%af" is 'o') is what fuzzers send for
		// a separator; read as a letter it would hide the path it breaks.
		return 0, false
	}
	return a, true
}

// appendRune appends r, mapping the fullwidth ASCII forms (U+FF01..FF5E)
// that IIS and some frameworks fold to ASCII onto ASCII, so that
// %uFF1Cscript%uFF1E is seen as <script>, and the slashes best-fit
// mappings turn into path separators (%u2215, U+2044, U+2216, U+FE68).
func appendRune(b []byte, r rune) []byte {
	if r >= 0xFF01 && r <= 0xFF5E {
		return append(b, byte(r-0xFF01+0x21))
	}
	switch r {
	case 0x2215, 0x2044:
		return append(b, '/')
	case 0x2216, 0xFE68:
		return append(b, '\\')
	}
	if r < utf8.RuneSelf {
		return append(b, byte(r))
	}
	return utf8.AppendRune(b, r)
}

// octalEscape decodes a legacy JS octal escape of a printable ASCII
// character at the start of s, "\\74" or "\\146", and returns its length;
// 0 when there is none.
func octalEscape(s string) (rune, int) {
	var r rune
	n := 1
	for n < len(s) && n <= 3 && s[n] >= '0' && s[n] <= '7' {
		r = r*8 + rune(s[n]-'0')
		n++
	}
	if n < 3 || r < 0x20 || r > 0x7e {
		return 0, 0
	}
	return r, n
}

// octalEscapes counts the octal escapes octalEscape decodes in s. One is
// a Windows path as likely as a string ("C:\\100x"); script written in
// them has many ("['\\146\\151\\154...']").
func octalEscapes(s string) int {
	c := 0
	for i := range len(s) {
		if s[i] == '\\' {
			if _, n := octalEscape(s[i:]); n > 0 {
				c++
			}
		}
	}
	return c
}

// JSEscapes decodes \xXX, \uXXXX and \u{X...} escapes once, and the
// legacy octal escapes of printable characters (\74, \146) in a value
// that has two or more. Other backslashes are kept.
func JSEscapes(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b []byte
	start := 0
	octal := octalEscapes(s[i:]) >= 2
	for i < len(s) {
		if s[i] != '\\' || i+1 >= len(s) {
			i++
			continue
		}
		var r rune
		n := 0
		if octal {
			r, n = octalEscape(s[i:])
		}
		switch s[i+1] {
		case 'x', 'X':
			if i+4 <= len(s) {
				if v, ok := hexRune(s[i+2 : i+4]); ok {
					r, n = v, 4
				}
			}
		case 'u', 'U':
			if i+6 <= len(s) {
				if v, ok := hexRune(s[i+2 : i+6]); ok {
					r, n = v, 6
				}
			}
			if n == 0 && i+3 < len(s) && s[i+2] == '{' {
				if end := strings.IndexByte(s[i+3:min(len(s), i+12)], '}'); end > 0 {
					if v, ok := hexRune(s[i+3 : i+3+end]); ok && v <= utf8.MaxRune {
						r, n = v, end+4
					}
				}
			}
		}
		if n == 0 {
			i += 2
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[start:i]...)
		b = appendRune(b, r)
		i += n
		start = i
	}
	if b == nil {
		return s
	}
	return string(append(b, s[start:]...))
}

// HTMLEntities decodes HTML character references once: numeric ones
// (&#60; &#x3c;, with or without the ';') and the named ones that matter
// for markup and scripts. Unknown names are kept. In a value that is
// itself markup (it has a tag), escaped angle brackets and quotes stay
// escaped: a browser reads them there as text, or as part of the
// attribute value they sit in, never as a tag or the attribute's end
// ("<code>&lt;script&gt;</code>" shows a tag).
func HTMLEntities(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	markup := hasTag(s)
	var b []byte
	start := 0
	for i < len(s) {
		if s[i] != '&' {
			i++
			continue
		}
		r, n := entity(s[i:])
		if n == 0 || markup && (r == '<' || r == '>' || r == '"' || r == '\'') {
			i += max(n, 1)
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(s))
		}
		b = append(b, s[start:i]...)
		b = appendRune(b, r)
		i += n
		start = i
	}
	if b == nil {
		return s
	}
	return string(append(b, s[start:]...))
}

// hasTag reports whether s has a literal tag: '<' then a letter, '/' or
// '!'.
func hasTag(s string) bool {
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 || i+1 >= len(s) {
			return false
		}
		if c := s[i+1] | 0x20; c >= 'a' && c <= 'z' || s[i+1] == '/' || s[i+1] == '!' {
			return true
		}
		s = s[i+1:]
	}
}

var namedEntities = map[string]rune{
	"lt": '<', "gt": '>', "amp": '&', "quot": '"', "apos": '\'', "sol": '/',
	"bsol": '\\', "lpar": '(', "rpar": ')', "semi": ';', "colon": ':',
	"equals": '=', "num": '#', "percnt": '%', "excl": '!', "grave": '`',
	"lcub": '{', "rcub": '}', "lsqb": '[', "rsqb": ']', "comma": ',',
	"period": '.', "Tab": '\t', "NewLine": '\n', "nbsp": ' ', "verbar": '|',
	"dollar": '$', "ast": '*', "plus": '+', "quest": '?', "commat": '@',
	"lowbar": '_', "Hat": '^', "vert": '|', "midast": '*', "tab": '\t', "newline": '\n',
}

// entity decodes one character reference at the start of s ("&...").
func entity(s string) (rune, int) {
	if len(s) < 3 {
		return 0, 0
	}
	if s[1] == '#' {
		i, base := 2, rune(10)
		if s[2] == 'x' || s[2] == 'X' {
			i, base = 3, 16
		}
		j := i
		var r rune
		// Leading zeros are free ("&#0000000000000000000060;" is '<' to
		// a browser); the digits after them are bounded.
		sig := 0
		for j < len(s) && sig < 16 && r <= utf8.MaxRune {
			c := s[j]
			var d rune
			switch {
			case c >= '0' && c <= '9':
				d = rune(c - '0')
			case base == 16 && (c|0x20) >= 'a' && (c|0x20) <= 'f':
				d = rune(c|0x20-'a') + 10
			default:
				goto done
			}
			r = r*base + d
			if r > 0 {
				sig++
			}
			j++
		}
	done:
		if j == i || r > utf8.MaxRune {
			return 0, 0
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		return r, j
	}
	end := strings.IndexByte(s[1:min(len(s), 10)], ';')
	if end <= 0 {
		return 0, 0
	}
	if r, ok := namedEntities[s[1:1+end]]; ok {
		return r, end + 2
	}
	return 0, 0
}

// StripInvisible returns s without the characters that render as nothing
// and that parsers of SQL, HTML and shells do not read as separators: NUL,
// the zero-width space and joiners (U+200B..U+200F), the bidirectional
// controls (U+202A..U+202E, U+2066..U+2069), the word joiner and invisible
// operators (U+2060..U+2064), the byte order mark (U+FEFF), the soft
// hyphen (U+00AD) and the Mongolian vowel separator (U+180E). A filter
// that removes them, or a database that ignores them, turns
// "un\u200bion se\u200blect" into "union select". ok is false, and s
// returned as is, when there is none.
func StripInvisible(s string) (string, bool) {
	// The first byte that can start one: NUL or the lead byte of U+00AD,
	// U+180E, U+20xx or U+FEFF. A short value is read in one loop; in a
	// long one IndexByte per lead byte is faster (vectorized), and most
	// values have none.
	i := -1
	if len(s) < 64 {
		for k := 0; k < len(s); k++ {
			if c := s[k]; c == 0 || c == 0xC2 || c == 0xE1 || c == 0xE2 || c == 0xEF {
				i = k
				break
			}
		}
	} else {
		for _, lead := range [...]byte{0, 0xC2, 0xE1, 0xE2, 0xEF} {
			if k := strings.IndexByte(s, lead); k >= 0 && (i < 0 || k < i) {
				i = k
			}
		}
	}
	if i < 0 {
		return s, false
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	found := false
	for k := i; k < len(s); {
		r, n := utf8.DecodeRuneInString(s[k:])
		if invisible(r) {
			found = true
		} else {
			b = append(b, s[k:k+n]...) // invalid bytes stay as they are
		}
		k += n
	}
	if !found {
		return s, false
	}
	return string(b), true
}

// StripBreaks returns s without its tabs and line breaks when they cut a
// tag from its '<' ("<\tscript\t>") or spell a word out letter by letter
// ("a\tl\te\tr\tt(1)", from "a&Tab;l&Tab;e..."), and whether it did: a
// browser strips them from a URL, and a filter that normalizes whitespace
// joins them; prose has neither.
func StripBreaks(s string) (string, bool) {
	if strings.IndexByte(s, '\t') < 0 && strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\r') < 0 {
		return s, false
	}
	split, tagged := 0, false
	for i := 1; i+1 < len(s); i++ {
		c := s[i]
		if c != '\t' && c != '\n' && c != '\r' {
			continue
		}
		j := i
		for j < len(s) && (s[j] == '\t' || s[j] == '\n' || s[j] == '\r') {
			j++
		}
		if j < len(s) && letter(s[j]) {
			switch {
			case s[i-1] == '<':
				tagged = true
			case c == '\t' && letter(s[i-1]) && (i < 2 || !letter(s[i-2])):
				split++ // one letter, a tab, the next letter
			}
		}
		i = j - 1
	}
	// A backslash before a line break continues the line in a shell:
	// "/et\\\nc/pa\\\nsswd" is /etc/passwd.
	continued := strings.Contains(s, "\\\n")
	if !tagged && split < 3 && !continued {
		return s, false
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if continued && c == '\\' && i+1 < len(s) && s[i+1] == '\n' {
			continue
		}
		if c != '\t' && c != '\n' && c != '\r' {
			b = append(b, c)
		}
	}
	return string(b), true
}

// caseMappedLetters are the letters whose Unicode case mapping lands on
// ASCII, and the ASCII letter FoldCaseMapped reads them as: "İ".ToLower
// is "i̇", "ı" and "ſ" upper-case to 'I' and 'S', the Kelvin sign
// lower-cases to 'k'.
var caseMappedLetters = map[rune]rune{'\u0130': 'I', '\u0131': 'i', '\u017f': 's', '\u212a': 'K'}

var caseMapped = func() *strings.Replacer {
	var pairs []string
	for r, a := range caseMappedLetters {
		pairs = append(pairs, string(r), string(a))
	}
	return strings.NewReplacer(pairs...)
}()

// wideASCII returns the ASCII character a fullwidth form (U+FF01..U+FF5E,
// U+3000 for the space) stands for.
func wideASCII(r rune) (rune, bool) {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFF01 + 0x21, true
	case r == 0x3000:
		return ' ', true
	}
	return 0, false
}

// FoldCaseMapped returns s with those letters, and the fullwidth forms of
// ASCII (U+FF01..U+FF5E, and U+3000 for the space), as the ASCII they map
// to, and whether it had any: an application that changes a value's case
// after the WAF saw it ("<SCRİPT>", "<ſcript>") turns them into a tag, and
// one that normalizes it to NFKC, or a database whose collation equates
// them, reads "＇ UNION SELECT" and "＜script＞" as the ASCII ones.
func FoldCaseMapped(s string) (string, bool) {
	if !hasHighByte(s) {
		return s, false // the common case, in one pass
	}
	cased := strings.Contains(s, "\xc4\xb0") || strings.Contains(s, "\xc4\xb1") || strings.Contains(s, "\xc5\xbf") || strings.Contains(s, "\xe2\x84\xaa")
	// In Chinese, Japanese or Korean text fullwidth punctuation is the
	// script's own ("你好（测试），"): only a value otherwise in ASCII is
	// folded.
	wide := (strings.Contains(s, "\xef\xbc") || strings.Contains(s, "\xef\xbd") || strings.Contains(s, "\xe3\x80\x80")) && !hasCJK(s)
	if !cased && !wide {
		return s, false
	}
	if cased {
		s = caseMapped.Replace(s)
	}
	if wide {
		s = foldFullwidth(s)
	}
	return s, true
}

func hasHighByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// hasCJK reports whether s has a Han, kana or Hangul character.
func hasCJK(s string) bool {
	for _, r := range s {
		if r >= 0x3040 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7AF || r >= 0xF900 && r <= 0xFAFF {
			return true
		}
	}
	return false
}

// foldFullwidth maps the fullwidth forms of ASCII to ASCII, keeping every
// other byte (invalid UTF-8 included) as it is.
func foldFullwidth(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if i+2 < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if a, ok := wideASCII(r); ok && n == 3 {
				b = append(b, byte(a))
				i += 3
				continue
			}
		}
		b = append(b, s[i])
		i++
	}
	return string(b)
}

func letter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func invisible(r rune) bool {
	switch {
	case r == 0, r == 0xAD, r == 0x180E, r == 0xFEFF:
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Locate returns the offset in origin of offset i of reading, one of the
// readings the engine derives from a value: StripInvisible, StripBreaks
// and the unescaping of quotes delete characters, FoldCaseMapped replaces
// letters with the ASCII they fold to, and the '+' readings trade '+' and
// ' '. Walking both rune by rune, a rune of reading is matched to the next
// rune of origin it equals or folds from, and any other rune of origin was
// deleted. A detection is reported in the value the request carried, not
// in the reading it was found in: masking knows the values, and an excerpt
// shows what was sent. i at or past the end of reading, or a reading that
// does not come from origin, maps to len(origin).
func Locate(origin, reading string, i int) int {
	if origin == reading {
		return min(max(i, 0), len(origin))
	}
	o := 0
	for r := 0; r < len(reading) && o < len(origin); {
		rc, rn := utf8.DecodeRuneInString(reading[r:])
		oc, on := utf8.DecodeRuneInString(origin[o:])
		if !sameReading(oc, rc) {
			o += on // deleted from the reading
			continue
		}
		if r >= i {
			return o
		}
		r, o = r+rn, o+on
	}
	return len(origin)
}

// sameReading reports whether rune o of a value reads as rune r.
func sameReading(o, r rune) bool {
	if o == r || o == ' ' && r == '+' || o == '+' && r == ' ' {
		return true
	}
	if a, ok := wideASCII(o); ok {
		return r == a
	}
	a, ok := caseMappedLetters[o]
	return ok && r == a
}
