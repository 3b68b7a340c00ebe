package point

import "fmt"

// Pattern selects points. It is written in the point syntax plus two
// wildcards: "*" stands for exactly one name, index or attribute (and, as
// the root, for any root), "**" for any number of steps, layers included:
//
//	query.*                    every query argument
//	body|json.**.password      a "password" member at any depth of a JSON body
//	*.**.token                 "token" anywhere in the request
//
// A pattern without wildcards selects exactly one point.
type Pattern struct {
	p Point
}

// MaxDeepWildcards bounds the "**" in one pattern, which bounds the work of
// matching it.
const MaxDeepWildcards = 3

// ParsePattern parses a pattern.
func ParsePattern(s string) (Pattern, error) {
	p, err := parse(s, true)
	if err == nil {
		deep := 0
		for _, st := range p.steps {
			if st.Kind == AnyDeep {
				deep++
			}
		}
		if deep > MaxDeepWildcards {
			err = fmt.Errorf("%d \"**\" wildcards, limit %d", deep, MaxDeepWildcards)
		}
	}
	if err != nil {
		return Pattern{}, fmt.Errorf("parse point pattern %q: %w", s, err)
	}
	return Pattern{p: p}, nil
}

// MustParsePattern is ParsePattern for constants; it panics on error.
func MustParsePattern(s string) Pattern {
	p, err := ParsePattern(s)
	if err != nil {
		panic(err)
	}
	return p
}

// PatternOf returns the pattern that selects exactly p.
func PatternOf(p Point) Pattern { return Pattern{p: p} }

// IsZero reports whether pat is the zero Pattern, which matches nothing.
func (pat Pattern) IsZero() bool { return pat.p.root == 0 }

// String returns the canonical textual form of the pattern.
func (pat Pattern) String() string { return pat.p.String() }

// MarshalText implements encoding.TextMarshaler.
func (pat Pattern) MarshalText() ([]byte, error) { return pat.p.MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (pat *Pattern) UnmarshalText(b []byte) error {
	q, err := ParsePattern(string(b))
	if err != nil {
		return err
	}
	*pat = q
	return nil
}

// Match reports whether pat selects exactly point q.
func (pat Pattern) Match(q Point) bool {
	if !pat.rootMatch(q) {
		return false
	}
	return match(pat.p.steps, q.steps, false)
}

// Covers reports whether q is the point pat selects or lies beneath it: a
// field of it, an element of it, or any decoding of it. A sensitive
// "query.card" covers "query.card|base64" and a rule disabling a detector
// at "body|json.html" covers "body|json.html.fragment".
func (pat Pattern) Covers(q Point) bool {
	if !pat.rootMatch(q) {
		return false
	}
	return match(pat.p.steps, q.steps, true)
}

func (pat Pattern) rootMatch(q Point) bool {
	return pat.p.root != 0 && q.root != 0 && (pat.p.root == rootAny || pat.p.root == q.root)
}

// match matches pattern steps ps against point steps qs; with prefix, qs may
// continue after ps is exhausted.
func match(ps, qs []Step, prefix bool) bool {
	for len(ps) > 0 {
		s := ps[0]
		if s.Kind == AnyDeep {
			// Collapse runs of "**" and try every split point. Patterns are
			// short, so the backtracking stays small.
			for len(ps) > 0 && ps[0].Kind == AnyDeep {
				ps = ps[1:]
			}
			if len(ps) == 0 {
				return true
			}
			for i := 0; i <= len(qs); i++ {
				if match(ps, qs[i:], prefix) {
					return true
				}
			}
			return false
		}
		if len(qs) == 0 || !stepMatch(s, qs[0]) {
			return false
		}
		ps, qs = ps[1:], qs[1:]
	}
	return prefix || len(qs) == 0
}

func stepMatch(p, q Step) bool {
	if p.Kind == Any {
		return q.Kind == Field || q.Kind == Index || q.Kind == Attr
	}
	return p == q
}
