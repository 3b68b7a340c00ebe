package sensitive

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	cases := []struct {
		in   string
		want Kind
	}{
		// Card numbers: test numbers of the networks, plain and grouped.
		{"4111111111111111", Card},
		{"card=4111 1111 1111 1111&x=1", Card},
		{"5500-0000-0000-0004", Card},
		{"378282246310005", Card}, // Amex, 15 digits
		{"6011111111111117", Card},
		{"4111111111111112", ""},       // Luhn fails
		{"1111111111111117", ""},       // no network starts with 1
		{"41111111111111110000", ""},   // 20 digits: not a card
		{"ts=1746352272000000000", ""}, // a timestamp
		{"4111 **** **** 1111", ""},    // masked by the node
		{"id=1' OR 1=1--", ""},
		{"41111111  11111111", ""}, // two separators break the run
		{"4111-1111-1111-1111", Card},
		{"3782 822463 10005", Card},                  // Amex grouping
		{"41111111-1111-1111-abcd-0123456789ab", ""}, // a UUID's 8-4-4 is no card
		{"4111 1111 11111111", ""},                   // nor a 4-4-8
		// JWTs.
		{"Authorization: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", JWT},
		{"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", JWT},
		{"eyJhbGciOiJub25lIn0", ""},
		// Keys and tokens.
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIB", PrivateKey},
		{"-----BEGIN PRIVATE KEY-----", PrivateKey},
		{"-----BEGIN PUBLIC KEY-----", ""},
		{"key=AKIAIOSFODNN7EXAMPLE", AWSAccessKey},
		{"AKIAIOSFODNN7EXAMPL", ""},
		{"Bearer 0123456789abcdefghijKLMNOP", BearerToken},
		{"bearer ****", ""},
		{"pct_" + strings.Repeat("A", 43), PalisadeToken},
		{"", ""},
		{"<script>alert(1)</script>", ""},
	}
	for _, c := range cases {
		if got := Find(c.in); got != c.want {
			t.Errorf("Find(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzFind checks that Find never panics and that a Luhn-valid card number
// is found wherever it is embedded between non-digits.
func FuzzFind(f *testing.F) {
	f.Add("prefix ", " suffix")
	f.Add("", "")
	f.Add("eyJ", "-----BEGIN")
	f.Fuzz(func(t *testing.T, before, after string) {
		Find(before + after)
		if strings.ContainsAny(lastByte(before)+firstByte(after), "0123456789 -") {
			return
		}
		if got := Find(before + "4111111111111111" + after); got == "" {
			t.Fatalf("card number between %q and %q not found", before, after)
		}
	})
}

func lastByte(s string) string {
	if s == "" {
		return ""
	}
	return s[len(s)-1:]
}

func firstByte(s string) string {
	if s == "" {
		return ""
	}
	return s[:1]
}
