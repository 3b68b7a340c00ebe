package apiv1

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// testSigningKey is the key the golden signed ruleset is signed with. It is
// derived from a fixed seed so that the golden file is reproducible
// (Ed25519 signatures are deterministic); it protects nothing.
func testSigningKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x5a}, ed25519.SeedSize))
}

func readGoldenRuleset(t *testing.T) *Ruleset {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "ruleset.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rs Ruleset
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		t.Fatalf("decode golden ruleset: %v", err)
	}
	return &rs
}

// checkGolden compares got with a golden file, or rewrites it with -update.
func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s", path, got)
	}
}

func TestRulesetGolden(t *testing.T) {
	rs := readGoldenRuleset(t)
	if err := rs.Validate(); err != nil {
		t.Fatalf("golden ruleset does not validate: %v", err)
	}
	if len(rs.Rules) != 7 || len(rs.IPList) != 4 {
		t.Fatalf("golden ruleset lost content: %d rules, %d entries", len(rs.Rules), len(rs.IPList))
	}
	if !rs.Rules[0].Sensitive.Point.Covers(point.MustParse("body|json.user.password")) {
		t.Errorf("sensitive point decoded as %s", rs.Rules[0].Sensitive.Point)
	}
	got, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "ruleset.json", append(got, '\n'))
}

// TestSignedRulesetGolden pins the envelope and the signature: a signer in
// any language that signs the same payload bytes with the same key must
// produce this file.
func TestSignedRulesetGolden(t *testing.T) {
	s, err := NewSigner(testSigningKey())
	if err != nil {
		t.Fatal(err)
	}
	sr, err := s.Sign(readGoldenRuleset(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(sr, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "ruleset_signed.json", append(got, '\n'))

	raw, err := os.ReadFile(filepath.Join("testdata", "ruleset_signed.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden SignedRuleset
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	kr, err := NewKeyring(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := kr.Open(&golden)
	if err != nil {
		t.Fatalf("golden signed ruleset refused: %v", err)
	}
	if rs.RulesetVersion != 42 || len(rs.IPList) != 4 {
		t.Errorf("opened ruleset %d with %d entries", rs.RulesetVersion, len(rs.IPList))
	}
}

func TestOpenRefusesTampering(t *testing.T) {
	key := testSigningKey()
	s, _ := NewSigner(key)
	kr, _ := NewKeyring(s.PublicKey())
	good, err := s.Sign(readGoldenRuleset(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Open(good); err != nil {
		t.Fatalf("good ruleset refused: %v", err)
	}
	clone := func() *SignedRuleset {
		c := *good
		c.Payload = bytes.Clone(good.Payload)
		c.Signature = bytes.Clone(good.Signature)
		return &c
	}
	_, other, _ := ed25519.GenerateKey(nil)
	otherSigner, _ := NewSigner(other)
	forged, err := otherSigner.Sign(readGoldenRuleset(t))
	if err != nil {
		t.Fatal(err)
	}
	forgedWithPinnedID := *forged
	forgedWithPinnedID.KeyID = s.KeyID()

	cases := []struct {
		name   string
		sr     *SignedRuleset
		target error
	}{
		{"payload byte flipped", func() *SignedRuleset {
			c := clone()
			// Turn the deny entry into an allow entry: same length, still
			// valid JSON, only the signature can tell.
			i := bytes.Index(c.Payload, []byte(`"list":"deny"`))
			copy(c.Payload[i:], `"list":"alow"`)
			return c
		}(), ErrBadSignature},
		{"payload with trailing space", func() *SignedRuleset {
			c := clone()
			c.Payload = append(c.Payload, ' ')
			return c
		}(), ErrBadSignature},
		{"signature bit flipped", func() *SignedRuleset {
			c := clone()
			c.Signature[10] ^= 0x01
			return c
		}(), ErrBadSignature},
		{"signature truncated", func() *SignedRuleset {
			c := clone()
			c.Signature = c.Signature[:32]
			return c
		}(), ErrBadSignature},
		{"unsigned", func() *SignedRuleset {
			c := clone()
			c.Signature = nil
			return c
		}(), ErrUnsigned},
		{"unknown key", forged, ErrUnknownKey},
		{"other key claiming the pinned id", &forgedWithPinnedID, ErrBadSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := kr.Open(c.sr)
			if !errors.Is(err, c.target) {
				t.Fatalf("Open = %v, %v; want %v", rs, err, c.target)
			}
			if !IsSignatureError(err) {
				t.Errorf("%v is not classed as a signature error", err)
			}
		})
	}
}

func TestOpenRefusesInvalidSignedContent(t *testing.T) {
	s, _ := NewSigner(testSigningKey())
	kr, _ := NewKeyring(s.PublicKey())
	sign := func(payload string) *SignedRuleset {
		return &SignedRuleset{Payload: []byte(payload), Signature: ed25519.Sign(testSigningKey(), []byte(payload)), KeyID: s.KeyID()}
	}
	cases := map[string]string{
		"unknown field":    `{"version":1,"ruleset_version":1,"tenant_id":1,"issued":"2026-11-22T12:00:00Z","rules":[],"ip_list":[],"extra":1}`,
		"wrong version":    `{"version":2,"ruleset_version":1,"tenant_id":1,"issued":"2026-11-22T12:00:00Z","rules":[],"ip_list":[]}`,
		"bad regex":        `{"version":1,"ruleset_version":1,"tenant_id":1,"issued":"2026-11-22T12:00:00Z","rules":[{"id":1,"kind":"detector","detector":{"attack_type":"x","regex":"("}}],"ip_list":[]}`,
		"bad point":        `{"version":1,"ruleset_version":1,"tenant_id":1,"issued":"2026-11-22T12:00:00Z","rules":[{"id":1,"kind":"sensitive","sensitive":{"point":"nowhere.x"}}],"ip_list":[]}`,
		"trailing data":    `{"version":1,"ruleset_version":1,"tenant_id":1,"issued":"2026-11-22T12:00:00Z","rules":[],"ip_list":[]} {}`,
		"uncanonical cidr": `{"version":1,"ruleset_version":1,"tenant_id":1,"issued":"2026-11-22T12:00:00Z","rules":[],"ip_list":[{"id":1,"list":"deny","prefix":"198.18.0.1/15","origin":"manual","created":"2026-11-22T12:00:00Z"}]}`,
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			rs, err := kr.Open(sign(payload))
			if err == nil {
				t.Fatalf("Open accepted %s: %+v", payload, rs)
			}
			if IsSignatureError(err) {
				t.Errorf("a well-signed document was refused as a signature error: %v", err)
			}
		})
	}
}

func TestRuleValidate(t *testing.T) {
	bad := []struct {
		name string
		rule Rule
		want string
	}{
		{"two bodies", Rule{ID: 1, Kind: KindSensitive, Sensitive: &SensitiveRule{Point: point.MustParsePattern("query.a")},
			RateLimit: &RateLimitRule{Requests: 1, PeriodSeconds: 1}}, "exactly one"},
		{"kind and body differ", Rule{ID: 1, Kind: KindDetector, Sensitive: &SensitiveRule{Point: point.MustParsePattern("query.a")}}, "without a detector body"},
		{"patch matching everything", Rule{ID: 1, Kind: KindVirtualPatch, VirtualPatch: &VirtualPatchRule{}}, "no condition"},
		{"bad mode", Rule{ID: 1, Kind: KindFiltrationMode, FiltrationMode: &FiltrationModeRule{Mode: "strict"}}, "not one of"},
		{"relative prefix", Rule{ID: 1, Kind: KindFiltrationMode, FiltrationMode: &FiltrationModeRule{Mode: "block", PathPrefix: "api"}}, "does not start with /"},
		{"zero rate", Rule{ID: 1, Kind: KindRateLimit, RateLimit: &RateLimitRule{Requests: 0, PeriodSeconds: 60}}, "must be positive"},
		{"attack type with spaces", Rule{ID: 1, Kind: KindDetector, Detector: &DetectorRule{AttackType: "my type", Regex: "x"}}, "identifier"},
		{"unknown kind", Rule{ID: 1, Kind: "waf", Sensitive: &SensitiveRule{Point: point.MustParsePattern("query.a")}}, "unknown kind"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an error saying %q", err, c.want)
			}
		})
	}
}

func TestPublicKeyText(t *testing.T) {
	pub := testSigningKey().Public().(ed25519.PublicKey)
	got, err := ParsePublicKey(FormatPublicKey(pub))
	if err != nil || !got.Equal(pub) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, s := range []string{"", "ed25519:", "ed25519:AAAA", "rsa:" + FormatPublicKey(pub)[8:]} {
		if _, err := ParsePublicKey(s); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", s)
		}
	}
}
