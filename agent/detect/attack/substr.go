package attack

import (
	"iter"
	"slices"
	"strings"
)

// occurrences yields, left to right, the index of each occurrence of sub
// in s, each searched for after the end of the one before: the loop over
// a value's markers that most detectors are.
func occurrences(s, sub string) iter.Seq[int] {
	return func(yield func(int) bool) {
		for from := 0; from <= len(s); {
			k := strings.Index(s[from:], sub)
			if k < 0 || !yield(from+k) {
				return
			}
			from += k + max(len(sub), 1)
		}
	}
}

// byteOccurrences yields, left to right, the index of each c in s.
func byteOccurrences(s string, c byte) iter.Seq[int] {
	return func(yield func(int) bool) {
		for from := 0; from < len(s); {
			k := strings.IndexByte(s[from:], c)
			if k < 0 || !yield(from+k) {
				return
			}
			from += k + 1
		}
	}
}

// substrings finds which of a fixed list of strings occurs in a value, in
// one pass over the value instead of one strings.Index per entry. A
// bitmap of the entries' first two bytes rejects most positions with one
// load; the entries starting with a hit are then compared in place.
type substrings struct {
	list    []string
	first   bigrams          // the first two bytes of every entry
	byFirst map[uint16][]int // entries (indexes into list) by their first two bytes
}

// bigrams is a set of byte pairs.
type bigrams [1 << 16 / 64]uint64

func (b *bigrams) add(c0, c1 byte) {
	k := uint16(c0)<<8 | uint16(c1)
	b[k/64] |= 1 << (k % 64)
}

func (b *bigrams) has(c0, c1 byte) bool {
	k := uint16(c0)<<8 | uint16(c1)
	return b[k/64]&(1<<(k%64)) != 0
}

// newSubstrings indexes list; every entry must be at least two bytes long.
func newSubstrings(list []string) *substrings {
	if len(list) > 256 {
		panic("attack: substrings list longer than 256 entries")
	}
	s := &substrings{list: list, byFirst: map[uint16][]int{}}
	for i, e := range list {
		if len(e) < 2 {
			panic("attack: substrings entry shorter than two bytes: " + e)
		}
		s.first.add(e[0], e[1])
		k := uint16(e[0])<<8 | uint16(e[1])
		s.byFirst[k] = append(s.byFirst[k], i)
	}
	return s
}

// index returns the first entry of the list (in list order) that occurs
// in v and the index of its first occurrence, as a loop of strings.Index
// over the list would; ok is false when none occurs.
func (s *substrings) index(v string) (entry, at int, ok bool) {
	best, bestAt := len(s.list), -1
	for i := 0; i+1 < len(v); i++ {
		if !s.first.has(v[i], v[i+1]) {
			continue
		}
		for _, e := range s.byFirst[uint16(v[i])<<8|uint16(v[i+1])] {
			// Positions only grow, so the first time an entry is seen is
			// its first occurrence; a later entry never displaces an
			// earlier one.
			if e < best && strings.HasPrefix(v[i:], s.list[e]) {
				best, bestAt = e, i
			}
		}
	}
	if bestAt < 0 {
		return 0, 0, false
	}
	return best, bestAt, true
}

// containsFold reports whether strings.ToLower(name) contains an entry
// (entries are lower case). ASCII names are folded on the fly; others
// take strings.ToLower, whose Unicode folding can yield ASCII letters.
func (s *substrings) containsFold(name string) bool {
	var buf [64]byte
	if len(name) > len(buf) {
		_, _, ok := s.index(strings.ToLower(name))
		return ok
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 {
			_, _, ok := s.index(strings.ToLower(name))
			return ok
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return s.indexBytes(buf[:len(name)])
}

// indexBytes reports whether any entry occurs in v.
func (s *substrings) indexBytes(v []byte) bool {
	for i := 0; i+1 < len(v); i++ {
		if !s.first.has(v[i], v[i+1]) {
			continue
		}
		for _, e := range s.byFirst[uint16(v[i])<<8|uint16(v[i+1])] {
			if w := s.list[e]; len(v)-i >= len(w) && string(v[i:i+len(w)]) == w {
				return true
			}
		}
	}
	return false
}

// each calls fn, in list order, with every entry that occurs in v and the
// index of its first occurrence, until fn returns true; it reports
// whether fn did. It is the loop
//
//	for e, w := range list { if i := strings.Index(v, w); i >= 0 && fn(e, i) { return true } }
//
// in one pass over v. Lists must have at most 256 entries.
func (s *substrings) each(v string, fn func(entry, at int) bool) bool {
	type hit struct{ entry, at int }
	var buf [16]hit
	hits := buf[:0]
	var seen [4]uint64
	for i := 0; i+1 < len(v); i++ {
		if !s.first.has(v[i], v[i+1]) {
			continue
		}
		for _, e := range s.byFirst[uint16(v[i])<<8|uint16(v[i+1])] {
			if seen[e/64]&(1<<(e%64)) == 0 && strings.HasPrefix(v[i:], s.list[e]) {
				seen[e/64] |= 1 << (e % 64)
				hits = append(hits, hit{e, i})
			}
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return a.entry - b.entry })
	for _, h := range hits {
		if fn(h.entry, h.at) {
			return true
		}
	}
	return false
}
