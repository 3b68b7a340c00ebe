package attack

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/corazawaf/libinjection-go"
)

// libinjectionTable reads the sqlKeywords table from the libinjection-go
// sources the build uses.
func libinjectionTable(t *testing.T) map[string]byte {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/corazawaf/libinjection-go").Output()
	if err != nil {
		t.Fatalf("locate libinjection-go: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "sqli_data.go"))
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]byte{}
	for _, m := range regexp.MustCompile(`(?m)^\s+"([^"]+)":\s+'(.)',`).FindAllStringSubmatch(string(src), -1) {
		table[m[1]] = m[2][0]
	}
	if len(table) < 9000 {
		t.Fatalf("read %d entries of sqlKeywords, expected over 9000", len(table))
	}
	return table
}

// TestLibinjectionWordsComplete checks that libinjectionWords holds every
// word entry of libinjection's table, so that libinjectionCannotMatch
// never mistakes a keyword for a plain word.
func TestLibinjectionWordsComplete(t *testing.T) {
	word := regexp.MustCompile(`^[A-Z0-9_. ]+$`)
	for k := range libinjectionTable(t) {
		if k[0] == '0' || !word.MatchString(k) {
			continue // fingerprints; symbol operators (no letters) are typed by the tokenizer
		}
		if !libinjectionWords[strings.ToLower(k)] {
			t.Errorf("libinjection keyword %q missing from libinjectionWords", k)
		}
		if len(k) > maxLibinjectionWord {
			t.Errorf("libinjection keyword %q longer than maxLibinjectionWord", k)
		}
	}
}

// TestLibinjectionFingerprintsNeedMore checks the other half of
// libinjectionCannotMatch's argument: no fingerprint libinjection flags is
// made only of plain words (N), numbers (1), symbol operators (O), commas,
// dots and colons.
func TestLibinjectionFingerprintsNeedMore(t *testing.T) {
	plain := regexp.MustCompile(`^[N1O,.:]+$`)
	n := 0
	for k, typ := range libinjectionTable(t) {
		if k[0] != '0' || typ != 'F' {
			continue
		}
		n++
		if plain.MatchString(k[1:]) {
			t.Errorf("libinjection flags fingerprint %q, made of plain tokens only", k[1:])
		}
	}
	if n < 8000 {
		t.Fatalf("%d fingerprints read, expected over 8000", n)
	}
}

// TestLibinjectionCannotMatchAgrees runs libinjection on random values
// that libinjectionCannotMatch judges, made of keywords, plain words,
// numbers and the separators it accepts: whenever it says libinjection
// cannot match, libinjection must not.
func TestLibinjectionCannotMatchAgrees(t *testing.T) {
	pieces := []string{"union", "select", "or", "and", "1", "0x1f", "1e5", "sku", "shoes", "group", "by", "not", "in",
		"like", "sleep", "user", "a.b", "information_schema.tables", "12", "3.5", ".", ",", "+", "-", "/", " ", "  ",
		"9ab", "char", "x", "true", "null", "order", "having", "xor", "div", "1union", "_id", "0b1", "version",
		"current", "path", "next", "value", "for", "full", "outer", "at", "time", "zone", "degree", "server", ":", "::", "https://a.example/"}
	rng := rand.New(rand.NewPCG(5, 8))
	skipped := 0
	for n := 0; n < 200000; n++ {
		var b strings.Builder
		for k := rng.IntN(7); k >= 0; k-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			if rng.IntN(2) == 0 {
				b.WriteByte(' ')
			}
		}
		v := b.String()
		if rng.IntN(3) == 0 {
			v = strings.ToUpper(v)
		}
		lv := strings.ToLower(v)
		if !libinjectionCannotMatch(lv) {
			continue
		}
		skipped++
		if ok, fp := libinjection.IsSQLi(v); ok {
			t.Fatalf("%q: libinjectionCannotMatch, but libinjection flags it (fingerprint %s)", v, fp)
		}
	}
	if skipped < 1000 {
		t.Fatalf("only %d values judged; the generator no longer exercises the check", skipped)
	}
}
