package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/store"
)

func TestLogin(t *testing.T) {
	ts2 := newTestServer(t, func(c *Config) { c.LoginsPerMinute = 3 })
	g := ts2.tenant2(t)
	for i, pw := range []string{"wrong-password-1", "wrong-password-2"} {
		w := ts2.do(t, "POST", "/api/v1/auth/login", "", apitypes.LoginRequest{Email: g.Email, Password: pw})
		if w.Code != http.StatusUnauthorized || errorOf(t, w).Message != "invalid email or password" {
			t.Fatalf("wrong password %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := ts2.do(t, "POST", "/api/v1/auth/login", "", apitypes.LoginRequest{Email: "nobody@x.test", Password: "whatever-it-is"})
	if w.Code != http.StatusUnauthorized || errorOf(t, w).Message != "invalid email or password" {
		t.Fatalf("unknown account: %d %s", w.Code, w.Body)
	}
	w = ts2.do(t, "POST", "/api/v1/auth/login", "", apitypes.LoginRequest{Email: g.Email, Password: fixturePassword})
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("fourth attempt in a minute with a limit of 3: %d, want 429", w.Code)
	}
	if w := ts2.do(t, "POST", "/api/v1/auth/login", "", "{}"); w.Code != http.StatusUnauthorized {
		t.Fatalf("login without credentials: %d, want 401", w.Code)
	}
	es, _ := ts2.store.ListAudit(t.Context(), g.TenantID, store.AuditFilter{Action: "user.login_failed"})
	if len(es) != 2 {
		t.Fatalf("%d failed logins audited, want 2", len(es))
	}
}

// tenant2 is a tenant with one admin, created without logging in.
func (ts *testServer) tenant2(t *testing.T) store.User {
	t.Helper()
	tn, err := ts.store.CreateTenant(t.Context(), store.Actor{Kind: store.ActorSystem}, "solo")
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{TenantID: tn.ID, Email: "solo@x.test", Role: "admin", PasswordHash: mustHash(t, fixturePassword)}
	if err := ts.store.CreateUser(t.Context(), store.Actor{Kind: store.ActorSystem}, &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSessionsAndPasswords(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	tok := f.tokens["analyst"]
	me := decode[apitypes.Me](t, ts.do(t, "GET", "/api/v1/auth/me", tok, nil), http.StatusOK)
	if me.User.Role != "analyst" || me.Via != "session" || me.Tenant.Name != "acme" {
		t.Fatalf("me: %+v", me)
	}
	if w := ts.do(t, "POST", "/api/v1/auth/password", tok, apitypes.ChangePasswordRequest{Current: fixturePassword, New: "short"}); w.Code != http.StatusBadRequest {
		t.Fatalf("weak new password: %d", w.Code)
	}
	if w := ts.do(t, "POST", "/api/v1/auth/password", tok, apitypes.ChangePasswordRequest{Current: fixturePassword, New: "a-much-better-password"}); w.Code != http.StatusNoContent {
		t.Fatalf("change password: %d %s", w.Code, w.Body)
	}
	// The change ended the session; the new password opens a new one.
	if w := ts.do(t, "GET", "/api/v1/auth/me", tok, nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("old session after a password change: %d", w.Code)
	}
	login := decode[apitypes.LoginResponse](t, ts.do(t, "POST", "/api/v1/auth/login", "",
		apitypes.LoginRequest{Email: f.users["analyst"].Email, Password: "a-much-better-password"}), http.StatusOK)
	if w := ts.do(t, "POST", "/api/v1/auth/logout", login.Token, nil); w.Code != http.StatusNoContent {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := ts.do(t, "GET", "/api/v1/auth/me", login.Token, nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("session after logout: %d", w.Code)
	}
	// A disabled user is locked out at once.
	admin := f.admin()
	id := itoa(f.users["deploy"].ID)
	decode[apitypes.User](t, ts.do(t, "PATCH", "/api/v1/users/"+id, admin, apitypes.UpdateUserRequest{Disabled: ptr(true)}), http.StatusOK)
	if w := ts.do(t, "GET", "/api/v1/auth/me", f.tokens["deploy"], nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("disabled user's session: %d", w.Code)
	}
	// The last admin cannot be demoted, disabled or deleted.
	adminID := itoa(f.users["admin"].ID)
	for _, w := range []*testResponse{
		ts.do(t, "PATCH", "/api/v1/users/"+adminID, admin, apitypes.UpdateUserRequest{Role: ptr("analyst")}),
		ts.do(t, "PATCH", "/api/v1/users/"+adminID, admin, apitypes.UpdateUserRequest{Disabled: ptr(true)}),
		ts.do(t, "DELETE", "/api/v1/users/"+adminID, admin, nil),
	} {
		if w.Code != http.StatusConflict || !strings.Contains(errorOf(t, w).Message, "last admin") {
			t.Errorf("last admin: %d %s", w.Code, w.Body)
		}
	}
	u := decode[apitypes.User](t, ts.do(t, "POST", "/api/v1/users", admin,
		apitypes.CreateUserRequest{Email: "New.Person@acme.test", Name: "New Person", Role: "read-only", Password: "new-person-password"}), http.StatusCreated)
	if u.Email != "new.person@acme.test" {
		t.Fatalf("email not normalised: %q", u.Email)
	}
	if w := ts.do(t, "POST", "/api/v1/users", admin,
		apitypes.CreateUserRequest{Email: "new.person@acme.test", Role: "admin", Password: "new-person-password"}); w.Code != http.StatusConflict {
		t.Fatalf("duplicate email: %d", w.Code)
	}
}

func TestAPITokens(t *testing.T) {
	ts := newTestServer(t)
	f := ts.tenant(t, "acme")
	analyst := f.tokens["analyst"]
	created := decode[apitypes.TokenCreated](t, ts.do(t, "POST", "/api/v1/tokens", analyst,
		apitypes.CreateTokenRequest{Name: "siem", Scopes: []string{"events:read"}}), http.StatusCreated)
	if !strings.HasPrefix(created.Secret, "pct_") {
		t.Fatalf("token: %+v", created)
	}
	// The token reads events and nothing else its user could.
	if w := ts.do(t, "GET", "/api/v1/events", created.Secret, nil); w.Code != http.StatusOK {
		t.Fatalf("token reading events: %d", w.Code)
	}
	if w := ts.do(t, "GET", "/api/v1/apps", created.Secret, nil); w.Code != http.StatusForbidden {
		t.Fatalf("token without apps:read listing apps: %d", w.Code)
	}
	// No scope beyond the role, no scope beyond the calling token.
	if w := ts.do(t, "POST", "/api/v1/tokens", analyst, apitypes.CreateTokenRequest{Name: "x", Scopes: []string{"users:write"}}); w.Code != http.StatusBadRequest {
		t.Fatalf("analyst asking for users:write: %d", w.Code)
	}
	wide := decode[apitypes.TokenCreated](t, ts.do(t, "POST", "/api/v1/tokens", analyst,
		apitypes.CreateTokenRequest{Name: "wide", Scopes: []string{"tokens:write", "events:read"}}), http.StatusCreated)
	if w := ts.do(t, "POST", "/api/v1/tokens", wide.Secret, apitypes.CreateTokenRequest{Name: "x", Scopes: []string{"apps:write"}}); w.Code != http.StatusForbidden {
		t.Fatalf("token minting a scope it lacks: %d", w.Code)
	}
	// An admin issues a read-only user's token; the user cannot.
	ro := f.users["read-only"]
	if w := ts.do(t, "POST", "/api/v1/tokens", f.tokens["read-only"], apitypes.CreateTokenRequest{Name: "x", Scopes: []string{"events:read"}}); w.Code != http.StatusForbidden {
		t.Fatalf("read-only creating a token: %d", w.Code)
	}
	decode[apitypes.TokenCreated](t, ts.do(t, "POST", "/api/v1/tokens", f.admin(),
		apitypes.CreateTokenRequest{Name: "ro-siem", Scopes: []string{"events:read"}, UserID: ro.ID}), http.StatusCreated)
	// The analyst sees only their own tokens, the admin all.
	if l := decode[apitypes.List[apitypes.APIToken]](t, ts.do(t, "GET", "/api/v1/tokens", analyst, nil), http.StatusOK); len(l.Items) != 2 {
		t.Fatalf("analyst lists %d tokens, want 2", len(l.Items))
	}
	if l := decode[apitypes.List[apitypes.APIToken]](t, ts.do(t, "GET", "/api/v1/tokens", f.admin(), nil), http.StatusOK); len(l.Items) != 3 {
		t.Fatalf("admin lists %d tokens, want 3", len(l.Items))
	}
	// Demoting the user demotes the token: scopes are re-checked on use.
	decode[apitypes.User](t, ts.do(t, "PATCH", "/api/v1/users/"+itoa(f.users["analyst"].ID), f.admin(), apitypes.UpdateUserRequest{Role: ptr("deploy")}), http.StatusOK)
	if w := ts.do(t, "GET", "/api/v1/events", created.Secret, nil); w.Code != http.StatusForbidden {
		t.Fatalf("token of a demoted user: %d, want 403", w.Code)
	}
	// Revoked tokens stop at once.
	if w := ts.do(t, "DELETE", "/api/v1/tokens/"+itoa(created.Token.ID), f.admin(), nil); w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d", w.Code)
	}
	if w := ts.do(t, "GET", "/api/v1/events", created.Secret, nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d, want 401", w.Code)
	}
}
