package proxy

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palisadewaf/palisade/agent/xdp"
)

// PrefixSet is an immutable set of IPv4 and IPv6 prefixes, each with an
// optional expiry, answering "does any live prefix contain this address?"
// with one map look-up per prefix length in use.
type PrefixSet struct {
	v4, v6 prefixTable
}

type prefixTable struct {
	bits    []int // lengths in use, longest first
	byBits  map[int]map[netip.Prefix]time.Time
	entries int
}

// NewPrefixSet builds a set from entries (their Prefix and Expires).
func NewPrefixSet(entries []xdp.Entry) *PrefixSet {
	s := &PrefixSet{}
	for _, e := range entries {
		p := e.Prefix.Masked()
		t := &s.v6
		if p.Addr().Is4() {
			t = &s.v4
		}
		if t.byBits == nil {
			t.byBits = map[int]map[netip.Prefix]time.Time{}
		}
		m := t.byBits[p.Bits()]
		if m == nil {
			m = map[netip.Prefix]time.Time{}
			t.byBits[p.Bits()] = m
			t.bits = append(t.bits, p.Bits())
		}
		m[p] = e.Expires
		t.entries++
	}
	for _, t := range []*prefixTable{&s.v4, &s.v6} {
		slices.Sort(t.bits)
		slices.Reverse(t.bits)
	}
	return s
}

// Contains reports whether a live prefix of the set holds a.
func (s *PrefixSet) Contains(a netip.Addr, now time.Time) bool {
	if s == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	t := &s.v6
	if a.Is4() {
		t = &s.v4
	}
	for _, bits := range t.bits {
		p, err := a.Prefix(bits)
		if err != nil {
			continue
		}
		if exp, ok := t.byBits[bits][p]; ok && (exp.IsZero() || now.Before(exp)) {
			return true
		}
	}
	return false
}

// Len is the number of prefixes in the set, expired ones included.
func (s *PrefixSet) Len() int {
	if s == nil {
		return 0
	}
	return s.v4.entries + s.v6.entries
}

// GrayList is the L7 gray list: sources whose attacks are blocked in
// safe_blocking mode. It lives in the proxy only (the XDP filter knows
// allow and deny). Entries come from the configuration (replaced on
// reload) and from the admin API (kept across reloads); rulesets will add
// their own the same way. Reads are lock-free.
type GrayList struct {
	mu      sync.Mutex
	entries map[netip.Prefix]xdp.Entry
	set     atomic.Pointer[PrefixSet]
}

// NewGrayList returns an empty gray list.
func NewGrayList() *GrayList {
	g := &GrayList{entries: map[netip.Prefix]xdp.Entry{}}
	g.set.Store(NewPrefixSet(nil))
	return g
}

// Contains reports whether a is graylisted now.
func (g *GrayList) Contains(a netip.Addr) bool {
	return g.set.Load().Contains(a, time.Now())
}

// Add puts e into the list, replacing an entry for the same prefix.
func (g *GrayList) Add(e xdp.Entry) {
	e.Prefix = e.Prefix.Masked()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.entries[e.Prefix] = e
	g.rebuild()
}

// Remove deletes a prefix; it reports whether it was there.
func (g *GrayList) Remove(p netip.Prefix) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	p = p.Masked()
	_, ok := g.entries[p]
	delete(g.entries, p)
	g.rebuild()
	return ok
}

// ReplaceSource swaps every entry of one source (the configuration file on
// reload) for entries, leaving the others alone.
func (g *GrayList) ReplaceSource(src xdp.Source, entries []xdp.Entry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p, e := range g.entries {
		if e.Source == src {
			delete(g.entries, p)
		}
	}
	for _, e := range entries {
		e.Source = src
		e.Prefix = e.Prefix.Masked()
		g.entries[e.Prefix] = e
	}
	g.rebuild()
}

// Entries lists the entries sorted by prefix, expired ones dropped.
func (g *GrayList) Entries() []xdp.Entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	out := make([]xdp.Entry, 0, len(g.entries))
	for _, e := range g.entries {
		if !e.Expired(now) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b xdp.Entry) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	return out
}

// Sweep drops expired entries; it returns how many.
func (g *GrayList) Sweep(now time.Time) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for p, e := range g.entries {
		if e.Expired(now) {
			delete(g.entries, p)
			n++
		}
	}
	if n > 0 {
		g.rebuild()
	}
	return n
}

// Len is the number of entries.
func (g *GrayList) Len() int { return g.set.Load().Len() }

func (g *GrayList) rebuild() {
	entries := make([]xdp.Entry, 0, len(g.entries))
	for _, e := range g.entries {
		entries = append(entries, e)
	}
	g.set.Store(NewPrefixSet(entries))
}
