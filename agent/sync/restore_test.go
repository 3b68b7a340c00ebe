package sync

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// TestRestartWithoutCloud is principle 2: a node restarted while the cloud
// is down filters with its last known good ruleset from disk.
func TestRestartWithoutCloud(t *testing.T) {
	c := newCloud(t)
	state := t.TempDir()
	first := newNode(t, c.keyring(), openTestFilter(t), state)
	if err := first.syncer.ApplySigned(c.sign(ruleset(3))); err != nil {
		t.Fatal(err)
	}
	names, err := os.ReadDir(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[0].Name() != lastGoodFile {
		t.Errorf("state directory holds %v, want only %s (no temporary file left)", names, lastGoodFile)
	}

	// A fresh process: new engine, new gray list, a filter whose maps
	// were emptied (the worst case).
	second := newNode(t, c.keyring(), openTestFilter(t), state)
	second.syncer.FetchFailed(errors.New("dial tcp 198.18.0.1:443: connection refused"))
	ok, err := second.syncer.Restore()
	if err != nil || !ok {
		t.Fatalf("Restore = %v, %v", ok, err)
	}
	if v := second.syncer.Version(); v != 3 {
		t.Errorf("restored version %d, want 3", v)
	}
	if !second.engine.Rules().Sensitive(7, point.MustParse("body|json.user.password")) {
		t.Error("restored ruleset's sensitive point not in force")
	}
	if _, ok := second.prefixes(xdp.Deny)["198.18.66.6/32"]; !ok {
		t.Error("restored deny entry not in the XDP map")
	}
	if second.syncs(ResultFetchError) != 1 {
		t.Error("fetch failure not counted")
	}
}

func TestRestoreRefusesTamperedFile(t *testing.T) {
	c := newCloud(t)
	state := t.TempDir()
	first := newNode(t, c.keyring(), openTestFilter(t), state)
	if err := first.syncer.ApplySigned(c.sign(ruleset(3))); err != nil {
		t.Fatal(err)
	}
	sr, err := loadLastGood(state)
	if err != nil {
		t.Fatal(err)
	}
	// Someone with write access to the state directory allows themselves.
	sr.Payload = []byte(strings.Replace(string(sr.Payload), `"198.18.10.0/24"`, `"198.18.66.0/24"`, 1))
	if err := saveLastGood(state, sr); err != nil {
		t.Fatal(err)
	}
	second := newNode(t, c.keyring(), openTestFilter(t), state)
	if _, err := second.syncer.Restore(); !errors.Is(err, apiv1.ErrBadSignature) {
		t.Fatalf("Restore of a tampered file = %v, want a bad signature", err)
	}
	if second.syncer.Version() != 0 || len(second.prefixes(xdp.Allow)) != 0 {
		t.Error("tampered ruleset partly applied")
	}
	if value(t, second.syncer.m.signatureFailures) != 1 {
		t.Error("signature failure not counted")
	}
}

func TestRestoreNothingSaved(t *testing.T) {
	c := newCloud(t)
	n := newNode(t, c.keyring(), openTestFilter(t), t.TempDir())
	if ok, err := n.syncer.Restore(); ok || err != nil {
		t.Fatalf("Restore with an empty state directory = %v, %v", ok, err)
	}
}

func TestStandaloneRulesFile(t *testing.T) {
	f := openTestFilter(t)
	n := &node{t: t, filter: f, engine: detect.New(detect.Options{})}
	s, err := New(Config{Engine: n.engine, Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(doc string) {
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`
ruleset_version: 2
rules:
  - id: 1
    kind: sensitive
    sensitive: {point: "body|json.card"}
  - id: 2
    kind: detector
    detector: {attack_type: log4shell, regex: '\$\{jndi:', experimental: true}
ip_list:
  - {list: deny, prefix: 198.18.66.6, reason: scanner}
  - {list: allow, prefix: "fd00:10::/64"}
`)
	if err := s.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	if s.Version() != 2 || !n.engine.Rules().Sensitive(0, point.MustParse("body|json.card")) {
		t.Errorf("rules file not in force: version %d", s.Version())
	}
	if e, ok := n.prefixes(xdp.Deny)["198.18.66.6/32"]; !ok || e.Reason != "scanner" {
		t.Errorf("deny entry from the rules file: %+v %v", e, ok)
	}

	// A broken edit is refused and the file's previous content stays in
	// force; a reverted version number is accepted from the operator.
	write("rules:\n  - {id: 1, kind: detector, detector: {attack_type: x, regex: '('}}\n")
	if err := s.ApplyFile(path); err == nil {
		t.Fatal("a rules file with a bad regex applied")
	}
	if _, ok := n.prefixes(xdp.Deny)["198.18.66.6/32"]; !ok || s.Version() != 2 {
		t.Error("refused rules file changed the ruleset in force")
	}
	write("ruleset_version: 1\nip_list: []\n")
	if err := s.ApplyFile(path); err != nil {
		t.Fatal(err)
	}
	if len(n.prefixes(xdp.Deny)) != 0 || s.Version() != 1 {
		t.Errorf("emptied rules file: deny %v, version %d", n.prefixes(xdp.Deny), s.Version())
	}
	if err := s.ApplySigned(&apiv1.SignedRuleset{}); err == nil {
		t.Error("a standalone node accepted a signed ruleset without a pinned key")
	}
}
