package signkey

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "ruleset.pem")
	first, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("first start: %v, created %v", err, created)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode().Perm())
	}
	again, created, err := LoadOrCreate(path)
	if err != nil || created || again.KeyID() != first.KeyID() {
		t.Fatalf("second start: %v, created %v, key %s vs %s", err, created, again.KeyID(), first.KeyID())
	}
	// What one start signs, a node pinning the key verifies.
	kr, err := apiv1.NewKeyring(first.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	rs := &apiv1.Ruleset{Version: 1, RulesetVersion: 1, Rules: []apiv1.Rule{}, IPList: []apiv1.IPEntry{}}
	sr, err := again.Sign(rs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Open(sr); err != nil {
		t.Fatal(err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil {
		t.Error("a world-readable key loaded")
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(bad); err == nil {
		t.Error("garbage loaded as a key")
	}
}
