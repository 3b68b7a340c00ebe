package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

// cheapHash keeps password hashing out of the tests' time; the code path
// is the production one.
var cheapHash = auth.Params{Memory: 64, Time: 1, Threads: 1}

type testServer struct {
	api   *Server
	store store.Store
}

func newTestServer(t testing.TB, opts ...func(*Config)) *testServer {
	t.Helper()
	st := sqltest.OpenSQLite(t)
	cfg := Config{
		Store:           st,
		Log:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		Version:         "test",
		PasswordParams:  cheapHash,
		LoginsPerMinute: 1000,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{api: s, store: st}
}

// do sends a request: body is sent as is when it is a string or []byte,
// else as JSON.
func (ts *testServer) do(t testing.TB, method, path, token string, body any) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = bytes.NewBufferString(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	ts.api.ServeHTTP(w, req)
	return w
}

// decode reads a JSON answer, failing the test on an unexpected status.
func decode[T any](t testing.TB, w *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, w.Body)
	}
	return v
}

// tenantFixture is a tenant with one user per role, each logged in.
type tenantFixture struct {
	id     int64
	users  map[auth.Role]store.User
	tokens map[auth.Role]string // session tokens
}

var fixturePassword = "fixture-password-1"

func (ts *testServer) tenant(t *testing.T, name string) tenantFixture {
	t.Helper()
	ctx := context.Background()
	tn, err := ts.store.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, name)
	if err != nil {
		t.Fatal(err)
	}
	f := tenantFixture{id: tn.ID, users: map[auth.Role]store.User{}, tokens: map[auth.Role]string{}}
	h, err := auth.HashPassword(fixturePassword, cheapHash)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range auth.Roles {
		u := store.User{TenantID: tn.ID, Email: string(role) + "@" + name + ".test", Role: string(role), PasswordHash: h}
		if err := ts.store.CreateUser(ctx, store.Actor{Kind: store.ActorSystem}, &u); err != nil {
			t.Fatal(err)
		}
		f.users[role] = u
		login := decode[apitypes.LoginResponse](t, ts.do(t, "POST", "/api/v1/auth/login", "",
			apitypes.LoginRequest{Email: u.Email, Password: fixturePassword}), http.StatusOK)
		f.tokens[role] = login.Token
	}
	return f
}

func (f tenantFixture) admin() string { return f.tokens[auth.RoleAdmin] }

// tenantOnly is a tenant with one admin session, for fuzz targets (which
// have a testing.F, not a testing.T).
func (ts *testServer) tenantOnly(tb testing.TB) tenantFixture {
	tb.Helper()
	ctx := context.Background()
	tn, err := ts.store.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	h, _ := auth.HashPassword(fixturePassword, cheapHash)
	u := store.User{TenantID: tn.ID, Email: "admin@fuzz.test", Role: "admin", PasswordHash: h}
	if err := ts.store.CreateUser(ctx, store.Actor{Kind: store.ActorSystem}, &u); err != nil {
		tb.Fatal(err)
	}
	secret, hash := auth.NewSecret(auth.KindSession)
	ss := store.Session{TenantID: tn.ID, UserID: u.ID, Hash: hash, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := ts.store.CreateSession(ctx, store.Actor{Kind: store.ActorSystem}, &ss); err != nil {
		tb.Fatal(err)
	}
	return tenantFixture{id: tn.ID, users: map[auth.Role]store.User{auth.RoleAdmin: u}, tokens: map[auth.Role]string{auth.RoleAdmin: secret}}
}
