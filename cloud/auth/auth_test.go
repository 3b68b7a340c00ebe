package auth

import (
	"slices"
	"strings"
	"testing"
)

// cheap keeps the tests fast; the format and the check are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "correct horse batterY"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse battery", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$2a$10$abc", "$argon2id$v=19$m=x$a$b", "$argon2id$v=18$m=64,t=1,p=1$c2FsdA$a2V5"} {
		if ok, err := VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("hash %q: ok=%v err=%v, want an error", bad, ok, err)
		}
	}
	if CheckPassword("short") == nil || CheckPassword(strings.Repeat("x", MaxPasswordLen+1)) == nil {
		t.Error("out-of-bounds password accepted")
	}
	if CheckPassword(RandomPassword()) != nil {
		t.Error("random password refused")
	}
}

func TestSecrets(t *testing.T) {
	for _, k := range []Kind{KindSession, KindAPIToken, KindNode, KindEnrollment} {
		s, h := NewSecret(k)
		if KindOf(s) != k {
			t.Errorf("KindOf(%q) = %q, want %q", s, KindOf(s), k)
		}
		if !slices.Equal(HashSecret(s), h) {
			t.Errorf("hash of %s secret not reproducible", k)
		}
		s2, _ := NewSecret(k)
		if s == s2 {
			t.Errorf("two %s secrets are equal", k)
		}
	}
	for _, bad := range []string{"", "pcs_", "pcx_" + strings.Repeat("A", 43), "pcs_" + strings.Repeat("*", 43), "pcs_" + strings.Repeat("A", 44)} {
		if k := KindOf(bad); k != "" {
			t.Errorf("KindOf(%q) = %q, want none", bad, k)
		}
	}
}

func TestRoles(t *testing.T) {
	for _, r := range Roles {
		if _, err := ParseRole(string(r)); err != nil {
			t.Error(err)
		}
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("unknown role accepted")
	}
	// Only an admin manages users; a read-only user writes nothing.
	for _, r := range Roles {
		granted, _ := Grant(r, []Scope{ScopeUsersWrite})
		if (len(granted) == 1) != (r == RoleAdmin) {
			t.Errorf("role %s: users:write granted=%v", r, granted)
		}
	}
	for _, s := range ScopesOf(RoleReadOnly) {
		if strings.HasSuffix(string(s), ":write") || s == ScopeNodesEnroll {
			t.Errorf("read-only role grants %s", s)
		}
	}
	granted, refused := Grant(RoleDeploy, []Scope{ScopeNodesEnroll, ScopeEventsRead})
	if !slices.Equal(granted, []Scope{ScopeNodesEnroll}) || !slices.Equal(refused, []Scope{ScopeEventsRead}) {
		t.Errorf("deploy grant: %v refused %v", granted, refused)
	}
	if _, err := ParseScopes([]string{"events:read", "events:delete"}); err == nil {
		t.Error("unknown scope accepted")
	}
}
