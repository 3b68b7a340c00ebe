package decode

import (
	"strings"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// GraphQL walks a GraphQL document and reports the values of field
// arguments under the names of their fields: in
//
//	{ user(id: "1") { posts(first: 5, where: {title: "x"}) { id } } }
//
// "1" is at user.id, 5 at user.posts.first and "x" at
// user.posts.where.title. Variable references and directives carry no
// literal and are skipped; variables themselves travel in the JSON
// "variables" object, which the engine walks as JSON.
func GraphQL(doc string, lim Limits, sink Sink) error {
	g := gqlDecoder{lx: gqlLexer{s: doc}, lim: lim, sink: sink}
	return g.run()
}

type gqlTok struct {
	kind byte // 'n' name, 's' string, '#' number, '$' variable, or the punctuator itself; 0 at end
	text string
}

type gqlLexer struct {
	s string
	i int
}

func (l *gqlLexer) next() (gqlTok, error) {
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == 0xEF || c == 0xBB || c == 0xBF:
			l.i++
		case c == '#':
			if j := strings.IndexByte(l.s[l.i:], '\n'); j >= 0 {
				l.i += j
			} else {
				l.i = len(l.s)
			}
		case c == '"':
			return l.str()
		case c == '$':
			l.i++
			n := l.name()
			return gqlTok{kind: '$', text: n}, nil
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			return gqlTok{kind: 'n', text: l.name()}, nil
		case c == '-' || c >= '0' && c <= '9':
			start := l.i
			l.i++
			for l.i < len(l.s) && (l.s[l.i] >= '0' && l.s[l.i] <= '9' || l.s[l.i] == '.' || l.s[l.i] == 'e' || l.s[l.i] == 'E' || l.s[l.i] == '+' || l.s[l.i] == '-') {
				l.i++
			}
			return gqlTok{kind: '#', text: l.s[start:l.i]}, nil
		case c == '.':
			if strings.HasPrefix(l.s[l.i:], "...") {
				l.i += 3
				return gqlTok{kind: '.'}, nil
			}
			return gqlTok{}, &SyntaxError{Offset: l.i, Msg: "unexpected '.'"}
		case strings.IndexByte("{}()[]:=@!|&", c) >= 0:
			l.i++
			return gqlTok{kind: c}, nil
		default:
			return gqlTok{}, &SyntaxError{Offset: l.i, Msg: "unexpected character in GraphQL document"}
		}
	}
	return gqlTok{}, nil
}

func (l *gqlLexer) name() string {
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			l.i++
			continue
		}
		break
	}
	return l.s[start:l.i]
}

func (l *gqlLexer) str() (gqlTok, error) {
	if strings.HasPrefix(l.s[l.i:], `"""`) {
		end := strings.Index(l.s[l.i+3:], `"""`)
		if end < 0 {
			return gqlTok{}, &SyntaxError{Offset: l.i, Msg: "unterminated block string"}
		}
		t := l.s[l.i+3 : l.i+3+end]
		l.i += end + 6
		return gqlTok{kind: 's', text: t}, nil
	}
	start := l.i + 1
	for j := start; j < len(l.s); j++ {
		switch l.s[j] {
		case '\\':
			j++
		case '\n':
			return gqlTok{}, &SyntaxError{Offset: j, Msg: "newline in string"}
		case '"':
			l.i = j + 1
			t := l.s[start:j]
			if strings.IndexByte(t, '\\') >= 0 {
				// GraphQL escapes are JSON's: reuse the JSON string decoder.
				d := jsonDecoder{s: l.s[start-1 : j+1]}
				if v, err := d.str(); err == nil {
					t = v
				}
			}
			return gqlTok{kind: 's', text: t}, nil
		}
	}
	return gqlTok{}, &SyntaxError{Offset: l.i, Msg: "unterminated string"}
}

type gqlDecoder struct {
	lx    gqlLexer
	lim   Limits
	sink  Sink
	tok   gqlTok
	items int
	depth int
}

func (g *gqlDecoder) advance() error {
	t, err := g.lx.next()
	g.tok = t
	return err
}

func (g *gqlDecoder) count() error {
	g.items++
	if g.items > g.lim.MaxItems {
		return ErrTooMany
	}
	return nil
}

func (g *gqlDecoder) run() error {
	if err := g.advance(); err != nil {
		return err
	}
	if g.tok.kind == 0 {
		return &SyntaxError{Msg: "empty GraphQL document"}
	}
	for g.tok.kind != 0 {
		switch {
		case g.tok.kind == '{':
			if err := g.selection(); err != nil {
				return err
			}
		case g.tok.kind == 'n': // query, mutation, subscription, fragment, names, "on"
			if err := g.advance(); err != nil {
				return err
			}
		case g.tok.kind == '(': // variable definitions: skip, defaults included
			if err := g.skipGroup('(', ')'); err != nil {
				return err
			}
		case g.tok.kind == '@':
			if err := g.directive(); err != nil {
				return err
			}
		default:
			if err := g.advance(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (g *gqlDecoder) skipGroup(open, close byte) error {
	depth := 0
	for {
		switch g.tok.kind {
		case open:
			depth++
		case close:
			depth--
		case 0:
			return &SyntaxError{Offset: g.lx.i, Msg: "unbalanced GraphQL document"}
		}
		if err := g.advance(); err != nil {
			return err
		}
		if depth == 0 {
			return nil
		}
	}
}

func (g *gqlDecoder) directive() error {
	if err := g.advance(); err != nil { // @
		return err
	}
	if err := g.advance(); err != nil { // name
		return err
	}
	if g.tok.kind == '(' {
		return g.skipGroup('(', ')')
	}
	return nil
}

// selection reads "{ ... }" at g.tok.
func (g *gqlDecoder) selection() error {
	g.depth++
	if g.depth > g.lim.MaxDepth {
		return ErrTooDeep
	}
	defer func() { g.depth-- }()
	if err := g.advance(); err != nil {
		return err
	}
	for {
		switch g.tok.kind {
		case '}':
			return g.advance()
		case 0:
			return &SyntaxError{Offset: g.lx.i, Msg: "unterminated selection set"}
		case '.': // fragment spread or inline fragment
			if err := g.advance(); err != nil {
				return err
			}
			if g.tok.kind == 'n' {
				if err := g.advance(); err != nil {
					return err
				}
			}
			if g.tok.kind == 'n' { // "on Type"
				if err := g.advance(); err != nil {
					return err
				}
			}
		case '@':
			if err := g.directive(); err != nil {
				return err
			}
		case '{':
			if err := g.selection(); err != nil {
				return err
			}
		case 'n':
			if err := g.field(); err != nil {
				return err
			}
		default:
			return &SyntaxError{Offset: g.lx.i, Msg: "unexpected token in selection set"}
		}
	}
}

// field reads "[alias:] name [(args)] [directives] [{...}]" at g.tok.
func (g *gqlDecoder) field() error {
	name := g.tok.text
	if err := g.advance(); err != nil {
		return err
	}
	if g.tok.kind == ':' { // alias
		if err := g.advance(); err != nil {
			return err
		}
		if g.tok.kind != 'n' {
			return &SyntaxError{Offset: g.lx.i, Msg: "want field name after alias"}
		}
		name = g.tok.text
		if err := g.advance(); err != nil {
			return err
		}
	}
	if err := g.count(); err != nil {
		return err
	}
	g.sink.Enter(point.Step{Kind: point.Field, Name: name})
	defer g.sink.Leave()
	if g.tok.kind == '(' {
		if err := g.arguments(); err != nil {
			return err
		}
	}
	for g.tok.kind == '@' {
		if err := g.directive(); err != nil {
			return err
		}
	}
	if g.tok.kind == '{' {
		return g.selection()
	}
	return nil
}

func (g *gqlDecoder) arguments() error {
	if err := g.advance(); err != nil { // (
		return err
	}
	for g.tok.kind != ')' {
		if g.tok.kind != 'n' {
			return &SyntaxError{Offset: g.lx.i, Msg: "want argument name"}
		}
		name := g.tok.text
		if err := g.advance(); err != nil {
			return err
		}
		if g.tok.kind != ':' {
			return &SyntaxError{Offset: g.lx.i, Msg: "want ':' after argument name"}
		}
		if err := g.advance(); err != nil {
			return err
		}
		g.sink.Enter(point.Step{Kind: point.Field, Name: name})
		err := g.value(0)
		g.sink.Leave()
		if err != nil {
			return err
		}
	}
	return g.advance()
}

func (g *gqlDecoder) value(depth int) error {
	if depth > g.lim.MaxDepth {
		return ErrTooDeep
	}
	switch g.tok.kind {
	case 's', '#', 'n':
		if err := g.count(); err != nil {
			return err
		}
		g.sink.Value(g.tok.text)
		return g.advance()
	case '$':
		return g.advance()
	case '[':
		if err := g.advance(); err != nil {
			return err
		}
		for i := 0; g.tok.kind != ']'; i++ {
			if g.tok.kind == 0 {
				return &SyntaxError{Offset: g.lx.i, Msg: "unterminated list"}
			}
			g.sink.Enter(point.Step{Kind: point.Index, Index: i})
			err := g.value(depth + 1)
			g.sink.Leave()
			if err != nil {
				return err
			}
		}
		return g.advance()
	case '{':
		if err := g.advance(); err != nil {
			return err
		}
		for g.tok.kind != '}' {
			if g.tok.kind != 'n' {
				return &SyntaxError{Offset: g.lx.i, Msg: "want object field name"}
			}
			name := g.tok.text
			if err := g.advance(); err != nil {
				return err
			}
			if g.tok.kind != ':' {
				return &SyntaxError{Offset: g.lx.i, Msg: "want ':' in object value"}
			}
			if err := g.advance(); err != nil {
				return err
			}
			g.sink.Enter(point.Step{Kind: point.Field, Name: name})
			err := g.value(depth + 1)
			g.sink.Leave()
			if err != nil {
				return err
			}
		}
		return g.advance()
	}
	return &SyntaxError{Offset: g.lx.i, Msg: "want a value"}
}

// LooksLikeGraphQL reports whether s starts like a GraphQL executable
// document.
func LooksLikeGraphQL(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	for _, kw := range []string{"query", "mutation", "subscription", "fragment"} {
		if strings.HasPrefix(s, kw) && (len(s) == len(kw) || !isGQLNameByte(s[len(kw)])) {
			return true
		}
	}
	return strings.HasPrefix(s, "{") && !strings.HasPrefix(s, `{"`)
}

func isGQLNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
