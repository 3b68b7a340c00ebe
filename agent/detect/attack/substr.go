package attack

import "strings"

// substrings finds which of a fixed list of strings occurs in a value, in
// one pass over the value instead of one strings.Index per entry. A
// bitmap of the entries' first two bytes rejects most positions with one
// load; the entries starting with a hit are then compared in place.
type substrings struct {
	list    []string
	first   [1 << 16 / 64]uint64 // bit b0<<8|b1 set: some entry starts with b0 b1
	byFirst map[uint16][]int     // entries (indexes into list) by their first two bytes
}

// newSubstrings indexes list; every entry must be at least two bytes long.
func newSubstrings(list []string) *substrings {
	s := &substrings{list: list, byFirst: map[uint16][]int{}}
	for i, e := range list {
		if len(e) < 2 {
			panic("attack: substrings entry shorter than two bytes: " + e)
		}
		k := uint16(e[0])<<8 | uint16(e[1])
		s.first[k/64] |= 1 << (k % 64)
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
		k := uint16(v[i])<<8 | uint16(v[i+1])
		if s.first[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		for _, e := range s.byFirst[k] {
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
