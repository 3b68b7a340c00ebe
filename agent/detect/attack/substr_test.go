package attack

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveIndex is what substrings.index replaces: strings.Index over the
// list, first entry found wins.
func naiveIndex(list []string, v string) (int, int, bool) {
	for e, s := range list {
		if i := strings.Index(v, s); i >= 0 {
			return e, i, true
		}
	}
	return 0, 0, false
}

// TestSubstringsMatchesIndexLoop checks the one-pass finder against the
// loop it replaces on random values built from pieces of the entries, so
// that overlapping, repeated and partial entries are common.
func TestSubstringsMatchesIndexLoop(t *testing.T) {
	for _, list := range [][]string{scannerAgents, shellPaths, {"ab", "abc", "bc", "cab", "b/"}} {
		set := newSubstrings(list)
		rng := rand.New(rand.NewPCG(1, uint64(len(list))))
		for n := 0; n < 20000; n++ {
			var b strings.Builder
			for k := rng.IntN(6); k >= 0; k-- {
				e := list[rng.IntN(len(list))]
				switch rng.IntN(4) {
				case 0:
					e = e[:rng.IntN(len(e))] // a prefix only
				case 1:
					e = e[rng.IntN(len(e)):] // a suffix only
				case 2:
					b.WriteString("mozilla/5.0 (x11; linux) ")
				}
				b.WriteString(e)
			}
			v := b.String()
			we, wi, wok := naiveIndex(list, v)
			ge, gi, gok := set.index(v)
			if we != ge || wi != gi || wok != gok {
				t.Fatalf("%q: index = %d,%d,%v; strings.Index loop = %d,%d,%v", v, ge, gi, gok, we, wi, wok)
			}
		}
	}
}

// TestFoldedHelpersMatchOriginals checks the allocation-free parameter-name
// and prose checks against the code they replace, on random names and
// texts mixing cases, spaces, punctuation and non-ASCII letters.
func TestFoldedHelpersMatchOriginals(t *testing.T) {
	pieces := []string{"url", "Src", "IMG", "page", "Path", "x", "_", " ", "\t", "\n", "The", "quick", "brown", ",", ".", "é", "\u212a", "\u00a0", "\u0085", "io", "12", "it's", "--", "LoAd"}
	rng := rand.New(rand.NewPCG(2, 3))
	for n := 0; n < 50000; n++ {
		var b strings.Builder
		for k := rng.IntN(24); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(3) == 0 {
				b.WriteByte(' ')
			}
		}
		s := b.String()
		for _, set := range []struct {
			s    *substrings
			list []string
		}{{hostParams, hostParams.list}, {includeParams, includeParams.list}} {
			_, _, want := naiveIndex(set.list, strings.ToLower(s))
			if got := set.s.containsFold(s); got != want {
				t.Fatalf("%q: containsFold = %v, want %v", s, got, want)
			}
		}
		if got, want := isProse(s), isProseUnicode(s); got != want {
			t.Fatalf("%q: isProse = %v, the strings.Fields version says %v", s, got, want)
		}
	}
}

// TestSubstringsEachMatchesIndexLoop checks each against the loop it
// replaces: the same entries, first occurrences and order, stopping at the
// same one.
func TestSubstringsEachMatchesIndexLoop(t *testing.T) {
	for _, list := range [][]string{codeCalls, probePaths, {"ab", "abc", "bc", "cab", "b/"}} {
		set := newSubstrings(list)
		rng := rand.New(rand.NewPCG(3, uint64(len(list))))
		for n := 0; n < 20000; n++ {
			var b strings.Builder
			for k := rng.IntN(6); k >= 0; k-- {
				e := list[rng.IntN(len(list))]
				if rng.IntN(3) == 0 {
					e = e[:rng.IntN(len(e))]
				}
				b.WriteString(e)
			}
			v := b.String()
			accept := func(e, i int) bool { return (e+i)%3 == 0 }
			var want, got []int
			for e, w := range list {
				if i := strings.Index(v, w); i >= 0 {
					want = append(want, e, i)
					if accept(e, i) {
						break
					}
				}
			}
			set.each(v, func(e, i int) bool { got = append(got, e, i); return accept(e, i) })
			if !slices.Equal(want, got) {
				t.Fatalf("%q: each visits %v, the strings.Index loop %v", v, got, want)
			}
		}
	}
}

func TestOccurrences(t *testing.T) {
	for _, tc := range []struct {
		s, sub string
		want   []int
	}{
		{"a${b${c", "${", []int{1, 4}},
		{"${{", "${", []int{0}},
		{"aaaa", "aa", []int{0, 2}}, // each searched after the end of the one before
		{"abc", "x", nil},
		{"", "x", nil},
		{"ab", "", []int{0, 1, 2}},
	} {
		var got []int
		for i := range occurrences(tc.s, tc.sub) {
			got = append(got, i)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("occurrences(%q, %q) = %v, want %v", tc.s, tc.sub, got, tc.want)
		}
	}
	var got []int
	for i := range byteOccurrences("(a(b)(", '(') {
		got = append(got, i)
		if i == 2 {
			break // a loop that stops early stops the iterator
		}
	}
	if !slices.Equal(got, []int{0, 2}) {
		t.Errorf("byteOccurrences = %v", got)
	}
}
