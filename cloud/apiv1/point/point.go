// Package point is the one textual syntax for the address of a value inside
// an HTTP request ("point", see docs/POINTS.md). The node's detector reports
// points, rules and masking select values by point patterns, events carry
// points to the cloud, and the console shows them: all of them parse and
// print through this package, which is pure Go with no dependencies beyond
// the standard library so that both the node and the cloud can import it.
//
// A point is a root followed by steps:
//
//	query.id                       query argument "id"
//	header.authorization|jwt.payload.sub
//	body|json.user.password        JSON field inside the body
//	body|multipart.avatar:filename file name of a multipart part
//	body|xml.order.item[2]@sku     attribute of the third <item>
//	path[1]                        second path segment
//
// Structural decoders (json, xml, form, multipart, jwt, base64, gzip,
// deflate, graphql) are layers written with "|"; transparent transforms such
// as percent-decoding or HTML entities are not part of a point.
package point

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Root is the part of the request a point starts from.
type Root uint8

// Roots. The zero Root is invalid, so the zero Point is invalid too.
const (
	RootPath   Root = iota + 1 // the request path; path[N] is its Nth segment
	RootQuery                  // the query string; query.NAME is one argument
	RootHeader                 // header.NAME, NAME in lower case
	RootCookie                 // cookie.NAME
	RootBody                   // the raw request body
	rootAny                    // "*" in patterns: any root
)

var rootNames = [...]string{
	RootPath:   "path",
	RootQuery:  "query",
	RootHeader: "header",
	RootCookie: "cookie",
	RootBody:   "body",
	rootAny:    "*",
}

func (r Root) String() string {
	if int(r) < len(rootNames) {
		return rootNames[r]
	}
	return "invalid"
}

// Kind says what a step does.
type Kind uint8

const (
	// Field selects a named child: a query argument, a header, a JSON
	// object member, an XML element, a form or multipart field.
	Field Kind = iota + 1
	// Index selects the Nth element of an array, path or repeated XML
	// element.
	Index
	// Layer decodes the value so far with a structural decoder (json, xml,
	// form, multipart, jwt, base64, gzip, deflate, graphql).
	Layer
	// Attr selects an XML attribute.
	Attr
	// Meta selects a property of the value rather than the value: ":name"
	// (the key itself), ":filename", ":content-type" of a multipart part.
	Meta
	// Any matches exactly one Field, Index or Attr step (patterns only).
	Any
	// AnyDeep matches zero or more steps of any kind (patterns only).
	AnyDeep
)

// Structural decoding layers. A layer name outside this list is a parse
// error, so a typo in a rule cannot silently match nothing.
const (
	LayerJSON      = "json"
	LayerXML       = "xml"
	LayerForm      = "form"
	LayerMultipart = "multipart"
	LayerJWT       = "jwt"
	LayerBase64    = "base64"
	LayerGzip      = "gzip"
	LayerDeflate   = "deflate"
	LayerGraphQL   = "graphql"
)

// Meta properties.
const (
	MetaName        = "name"         // the key of a field, not its value
	MetaFilename    = "filename"     // multipart part file name
	MetaContentType = "content-type" // multipart part content type
)

var layers = map[string]bool{
	LayerJSON: true, LayerXML: true, LayerForm: true, LayerMultipart: true,
	LayerJWT: true, LayerBase64: true, LayerGzip: true, LayerDeflate: true,
	LayerGraphQL: true,
}

var metas = map[string]bool{MetaName: true, MetaFilename: true, MetaContentType: true}

// Step is one step of a point after its root.
type Step struct {
	Kind  Kind
	Name  string // Field, Layer, Attr, Meta
	Index int    // Index
}

// Point is the address of one value in a request. Points are immutable
// values: the builder methods return a new Point and never modify the
// receiver or share its storage.
type Point struct {
	root  Root
	steps []Step
}

// New returns the point with the given root and steps. Header names are
// lower-cased; steps are copied.
func New(root Root, steps ...Step) Point {
	p := Point{root: root, steps: append([]Step(nil), steps...)}
	p.normalize()
	return p
}

// Own returns the point with the given root and steps without copying
// them: the point takes ownership of steps, which the caller must never
// modify afterwards. It is for decoders that build many points from one
// backing array; header names must already be lower case.
func Own(root Root, steps []Step) Point {
	return Point{root: root, steps: steps[:len(steps):len(steps)]}
}

// Path returns the point of the whole request path.
func Path() Point { return Point{root: RootPath} }

// Query returns the point of query argument name (or of the whole query
// string when name is empty).
func Query(name string) Point { return rootField(RootQuery, name) }

// Header returns the point of request header name.
func Header(name string) Point { return rootField(RootHeader, strings.ToLower(name)) }

// Cookie returns the point of cookie name.
func Cookie(name string) Point { return rootField(RootCookie, name) }

// Body returns the point of the raw request body.
func Body() Point { return Point{root: RootBody} }

func rootField(r Root, name string) Point {
	if name == "" {
		return Point{root: r}
	}
	return Point{root: r, steps: []Step{{Kind: Field, Name: name}}}
}

func (p *Point) normalize() {
	if p.root == RootHeader && len(p.steps) > 0 && p.steps[0].Kind == Field {
		p.steps[0].Name = strings.ToLower(p.steps[0].Name)
	}
}

// Root returns the point's root.
func (p Point) Root() Root { return p.root }

// Steps returns a copy of the steps after the root.
func (p Point) Steps() []Step { return append([]Step(nil), p.steps...) }

// Len returns the number of steps after the root.
func (p Point) Len() int { return len(p.steps) }

// Step returns the ith step after the root.
func (p Point) Step(i int) Step { return p.steps[i] }

// IsZero reports whether p is the zero (invalid) Point.
func (p Point) IsZero() bool { return p.root == 0 }

// Equal reports whether p and q address the same value.
func (p Point) Equal(q Point) bool {
	if p.root != q.root || len(p.steps) != len(q.steps) {
		return false
	}
	for i := range p.steps {
		if p.steps[i] != q.steps[i] {
			return false
		}
	}
	return true
}

func (p Point) with(s Step) Point {
	steps := make([]Step, len(p.steps)+1)
	copy(steps, p.steps)
	steps[len(p.steps)] = s
	q := Point{root: p.root, steps: steps}
	if len(steps) == 1 {
		q.normalize()
	}
	return q
}

// Field returns p extended by the named child.
func (p Point) Field(name string) Point { return p.with(Step{Kind: Field, Name: name}) }

// Index returns p extended by the ith element.
func (p Point) Index(i int) Point { return p.with(Step{Kind: Index, Index: i}) }

// Layer returns p decoded by the structural decoder layer (one of the Layer
// constants).
func (p Point) Layer(layer string) Point { return p.with(Step{Kind: Layer, Name: layer}) }

// Attr returns p extended by the XML attribute name.
func (p Point) Attr(name string) Point { return p.with(Step{Kind: Attr, Name: name}) }

// Meta returns the property prop (one of the Meta constants) of p.
func (p Point) Meta(prop string) Point { return p.with(Step{Kind: Meta, Name: prop}) }

// Parent returns p without its last step; the parent of a root is itself.
func (p Point) Parent() Point {
	if len(p.steps) == 0 {
		return p
	}
	return Point{root: p.root, steps: p.steps[: len(p.steps)-1 : len(p.steps)-1]}
}

// Parse parses the textual form of a point (see docs/POINTS.md). It rejects
// wildcards; use ParsePattern for those.
func Parse(s string) (Point, error) {
	p, err := parse(s, false)
	if err != nil {
		return Point{}, fmt.Errorf("parse point %q: %w", s, err)
	}
	return p, nil
}

// MustParse is Parse for constants in code and tests; it panics on error.
func MustParse(s string) Point {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

// String returns the canonical textual form, which Parse accepts and maps
// back to an equal Point.
func (p Point) String() string {
	if p.root == 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(8 + 12*len(p.steps))
	p.appendTo(&b)
	return b.String()
}

// AppendText implements encoding.TextAppender.
func (p Point) AppendText(b []byte) ([]byte, error) {
	return append(b, p.String()...), nil
}

// MarshalText implements encoding.TextMarshaler.
func (p Point) MarshalText() ([]byte, error) {
	if p.root == 0 {
		return nil, errors.New("marshal point: zero point")
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Point) UnmarshalText(b []byte) error {
	q, err := Parse(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

func (p Point) appendTo(b *strings.Builder) {
	b.WriteString(p.root.String())
	for _, s := range p.steps {
		switch s.Kind {
		case Field:
			if isBare(s.Name) {
				b.WriteByte('.')
				b.WriteString(s.Name)
			} else {
				b.WriteByte('[')
				b.WriteString(strconv.Quote(s.Name))
				b.WriteByte(']')
			}
		case Index:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.Index))
			b.WriteByte(']')
		case Layer:
			b.WriteByte('|')
			b.WriteString(s.Name)
		case Attr:
			b.WriteByte('@')
			if isBare(s.Name) {
				b.WriteString(s.Name)
			} else {
				b.WriteByte('[')
				b.WriteString(strconv.Quote(s.Name))
				b.WriteByte(']')
			}
		case Meta:
			b.WriteByte(':')
			b.WriteString(s.Name)
		case Any:
			b.WriteString(".*")
		case AnyDeep:
			b.WriteString(".**")
		}
	}
}

// isBare reports whether name can be written without quotes.
func isBare(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isBareByte(name[i]) {
			return false
		}
	}
	return true
}

func isBareByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '$'
}

// MaxIndex bounds [N] so that parsing never overflows and points stay short.
const MaxIndex = 1<<31 - 1

func parse(s string, pattern bool) (Point, error) {
	var p Point
	i := 0
	for i < len(s) && (isBareByte(s[i]) || s[i] == '*') {
		i++
	}
	switch r := s[:i]; r {
	case "path":
		p.root = RootPath
	case "query":
		p.root = RootQuery
	case "header":
		p.root = RootHeader
	case "cookie":
		p.root = RootCookie
	case "body":
		p.root = RootBody
	case "*":
		if !pattern {
			return Point{}, errors.New("wildcard root outside a pattern")
		}
		p.root = rootAny
	case "":
		return Point{}, errors.New("missing root (path, query, header, cookie, body)")
	default:
		return Point{}, fmt.Errorf("unknown root %q (want path, query, header, cookie, body)", r)
	}
	for i < len(s) {
		var st Step
		c := s[i]
		i++
		switch c {
		case '.':
			name, n := bare(s[i:])
			if n == 0 && strings.HasPrefix(s[i:], "*") {
				if !pattern {
					return Point{}, fmt.Errorf("wildcard at offset %d outside a pattern", i)
				}
				if strings.HasPrefix(s[i:], "**") {
					st, n = Step{Kind: AnyDeep}, 2
				} else {
					st, n = Step{Kind: Any}, 1
				}
				if i+n < len(s) && isBareByte(s[i+n]) {
					return Point{}, fmt.Errorf("partial wildcard at offset %d: a wildcard stands for a whole name", i)
				}
			} else {
				if n == 0 {
					return Point{}, fmt.Errorf("empty name at offset %d (quote it: [\"...\"])", i)
				}
				st = Step{Kind: Field, Name: name}
			}
			i += n
		case '[':
			if strings.HasPrefix(s[i:], "*]") {
				if !pattern {
					return Point{}, fmt.Errorf("wildcard at offset %d outside a pattern", i)
				}
				st = Step{Kind: Any}
				i += 2
				break
			}
			var n int
			var err error
			st, n, err = bracket(s[i:])
			if err != nil {
				return Point{}, fmt.Errorf("at offset %d: %w", i, err)
			}
			i += n
		case '|':
			name, n := bare(s[i:])
			if !layers[name] {
				return Point{}, fmt.Errorf("unknown layer %q at offset %d", name, i)
			}
			st = Step{Kind: Layer, Name: name}
			i += n
		case '@':
			name, n := bare(s[i:])
			if n == 0 && strings.HasPrefix(s[i:], "[\"") {
				q, m, err := quoted(s[i+1:])
				if err != nil {
					return Point{}, fmt.Errorf("attribute at offset %d: %w", i, err)
				}
				if i+1+m >= len(s) || s[i+1+m] != ']' {
					return Point{}, fmt.Errorf("attribute at offset %d: missing ]", i)
				}
				name, n = q, m+2
			} else if n == 0 {
				return Point{}, fmt.Errorf("empty attribute name at offset %d", i)
			}
			st = Step{Kind: Attr, Name: name}
			i += n
		case ':':
			name, n := bare(s[i:])
			if !metas[name] {
				return Point{}, fmt.Errorf("unknown property %q at offset %d (want name, filename, content-type)", name, i)
			}
			st = Step{Kind: Meta, Name: name}
			i += n
		default:
			return Point{}, fmt.Errorf("unexpected %q at offset %d", c, i-1)
		}
		p.steps = append(p.steps, st)
	}
	p.normalize()
	return p, nil
}

func bare(s string) (string, int) {
	n := 0
	for n < len(s) && isBareByte(s[n]) {
		n++
	}
	return s[:n], n
}

// bracket parses what follows '[': an index or a quoted name, and the ']'.
func bracket(s string) (Step, int, error) {
	if strings.HasPrefix(s, `"`) {
		name, n, err := quoted(s)
		if err != nil {
			return Step{}, 0, err
		}
		if n >= len(s) || s[n] != ']' {
			return Step{}, 0, errors.New("missing ] after quoted name")
		}
		return Step{Kind: Field, Name: name}, n + 1, nil
	}
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 || n >= len(s) || s[n] != ']' {
		return Step{}, 0, errors.New(`want [N] or ["name"]`)
	}
	if n > 1 && s[0] == '0' {
		return Step{}, 0, errors.New("index with leading zero")
	}
	v, err := strconv.ParseUint(s[:n], 10, 31)
	if err != nil {
		return Step{}, 0, fmt.Errorf("index %s: out of range", s[:n])
	}
	return Step{Kind: Index, Index: int(v)}, n + 1, nil
}

// quoted parses a Go double-quoted string at the start of s and returns its
// value and length.
func quoted(s string) (string, int, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", 0, fmt.Errorf("bad quoted name %s: %w", s[:i+1], err)
			}
			return v, i + 1, nil
		}
	}
	return "", 0, errors.New("unterminated quoted name")
}
