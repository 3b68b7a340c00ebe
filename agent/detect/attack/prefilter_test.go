package attack

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPrefilterShortcutsOnTokens checks Scan's two shortcuts, for values
// of digits, dots and dashes (numbers, dates, addresses: only ssrf.url
// looks at them) and for values of letters and digits, against
// ScanWithoutPrefilter in every place a value can be, in parameters that
// take a host and in others.
func TestPrefilterShortcutsOnTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []string{"localhost", "localhost4", "LOCALHOST4", "metadata", "0", "whoami", "ifconfig", "id", "system32", "passwd"}
	for range 20000 {
		alpha := "0123456789.-"
		if rng.IntN(3) == 0 {
			alpha = "0123456789abcdefx"
		}
		b := make([]byte, 1+rng.IntN(14))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		values = append(values, string(b))
	}
	for _, v := range values {
		for _, w := range []Where{InPath, InPathSegment, InQuery, InName, InHeader, InCookie, InBody, InField} {
			for _, name := range []string{"q", "url", "file"} {
				c := &Context{Where: w, Name: name, Header: "x-data"}
				var with, without []string
				Scan(v, c, nil, func(m Match) { with = append(with, m.DetectorID) })
				ScanWithoutPrefilter(v, c, nil, func(m Match) { without = append(without, m.DetectorID) })
				if !slices.Equal(with, without) {
					t.Fatalf("%q at %v in %q: %v with the prefilter, %v without", v, w, name, with, without)
				}
			}
		}
	}
}
