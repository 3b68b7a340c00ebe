// Package sensitive recognises values that must never be stored by the
// cloud: payment card numbers, JSON Web Tokens, private keys, cloud access
// keys, bearer tokens. Nodes mask such values before they report an event
// (DESIGN.md, principle 1); the cloud looks again at every text field it is
// about to store and refuses an event that still carries one. This is the
// second line of defence, so it favours few false positives over finding
// every secret: each pattern is specific (Luhn-valid card numbers with a
// real leading digit, JWTs with a JSON header, ...).
package sensitive

import (
	"regexp"
	"slices"
	"strings"
)

// Kind names what was found.
type Kind string

const (
	Card          Kind = "card_number"
	JWT           Kind = "jwt"
	PrivateKey    Kind = "private_key"
	AWSAccessKey  Kind = "aws_access_key"
	BearerToken   Kind = "bearer_token"
	PalisadeToken Kind = "palisade_secret"
)

// Kinds lists every kind Find reports.
var Kinds = []Kind{Card, JWT, PrivateKey, AWSAccessKey, BearerToken, PalisadeToken}

var patterns = []struct {
	kind Kind
	re   *regexp.Regexp
}{
	// A JWT's header and payload are base64url JSON objects: "eyJ" is `{"`.
	{JWT, regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)},
	{PrivateKey, regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)},
	{AWSAccessKey, regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{BearerToken, regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{20,}`)},
	{PalisadeToken, regexp.MustCompile(`\bpc[sten]_[A-Za-z0-9_-]{43}`)},
}

// Find returns the kind of the first sensitive value in s, or "".
func Find(s string) Kind {
	if hasCardNumber(s) {
		return Card
	}
	for _, p := range patterns {
		// A cheap pre-check keeps the common case (no candidate) fast.
		if !mayContain(p.kind, s) {
			continue
		}
		if p.re.MatchString(s) {
			return p.kind
		}
	}
	return ""
}

func mayContain(k Kind, s string) bool {
	switch k {
	case JWT:
		return strings.Contains(s, "eyJ")
	case PrivateKey:
		return strings.Contains(s, "PRIVATE KEY")
	case AWSAccessKey:
		return strings.Contains(s, "AKIA") || strings.Contains(s, "ASIA")
	case BearerToken:
		return len(s) >= 27
	case PalisadeToken:
		return strings.Contains(s, "pc")
	}
	return true
}

// cardGroupings are the ways card numbers are printed in groups: 4-4-4-4
// (Visa, Mastercard, Discover), 4-6-5 and 4-6-4 (Amex, Diners), and 4-4-4-4-3
// (19-digit cards). Other groupings (a UUID's 8-4-4, a phone number) are not
// card numbers, whatever Luhn says.
var cardGroupings = [][]int{{4, 4, 4, 4}, {4, 6, 5}, {4, 6, 4}, {4, 4, 4, 4, 3}}

// hasCardNumber looks for a run of 13 to 19 digits, whole or in the
// groupings of cardGroupings, that starts with 2-6 (the major networks)
// and passes the Luhn check. Only whole runs count: 13 digits inside a
// longer number are not a card number.
func hasCardNumber(s string) bool {
	var digits [19]byte
	var groups [8]int
	n, g := 0, 0
	tooLong := false
	flush := func() bool {
		ok := !tooLong && n >= 13 && digits[0] >= '2' && digits[0] <= '6' && grouped(groups[:g+1]) && luhn(digits[:n])
		n, g, tooLong = 0, 0, false
		groups = [8]int{}
		return ok
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n < len(digits) {
				digits[n] = c
				n++
				groups[g]++
			} else {
				tooLong = true
			}
		case (c == ' ' || c == '-') && n > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' &&
			s[i-1] >= '0' && s[i-1] <= '9':
			// A single separator between digits continues the run in a
			// new group.
			if g++; g == len(groups) {
				tooLong = true
				g--
			}
		default:
			if flush() {
				return true
			}
		}
	}
	return flush()
}

// grouped says whether digit groups are a card number's: one group, or
// one of cardGroupings.
func grouped(gs []int) bool {
	if len(gs) == 1 {
		return true
	}
	for _, want := range cardGroupings {
		if slices.Equal(gs, want) {
			return true
		}
	}
	return false
}

func luhn(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
