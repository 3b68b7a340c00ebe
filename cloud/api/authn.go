package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

// access says which credential a route takes.
type access int

const (
	public        access = iota // none: health, the OpenAPI document, login
	userAccess                  // a session or an API token, with the route's scope
	nodeAccess                  // a node credential
	enrollAccess                // a one-time enrollment token
	anyCredential               // any valid credential (unknown endpoints)
)

// principal is who is calling, once authenticated.
type principal struct {
	kind     auth.Kind // "" for public routes
	tenantID int64
	ip       string

	user      store.User // sessions and API tokens
	sessionID int64
	tokenID   int64
	scopes    []auth.Scope

	node       store.Node // node credentials
	enrollHash []byte     // enrollment tokens
}

// can says whether the principal holds scope s.
func (p *principal) can(s auth.Scope) bool { return slices.Contains(p.scopes, s) }

// actor is the principal as the audit log records it.
func (p *principal) actor() store.Actor {
	switch p.kind {
	case auth.KindSession:
		return store.Actor{Kind: store.ActorUser, ID: strconv.FormatInt(p.user.ID, 10), Name: p.user.Email, IP: p.ip}
	case auth.KindAPIToken:
		return store.Actor{Kind: store.ActorToken, ID: strconv.FormatInt(p.tokenID, 10), Name: p.user.Email, IP: p.ip}
	case auth.KindNode:
		return store.Actor{Kind: store.ActorNode, ID: p.node.ID, Name: p.node.Name, IP: p.ip}
	}
	return store.Actor{Kind: store.ActorSystem, IP: p.ip}
}

// touchEvery is how stale an API token's last-used time may get: updating
// it on every request would turn every read into a write.
const touchEvery = time.Minute

var errNoCredentials = unauthorized("missing credentials: send Authorization: Bearer <token>")

// authenticate finds the principal of r for a route of the given access.
func (s *Server) authenticate(r *http.Request, a access) (*principal, error) {
	p := &principal{ip: s.clientIP(r)}
	if a == public {
		return p, nil
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoCredentials
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, unauthorized("Authorization must be: Bearer <token>")
	}
	secret = strings.TrimSpace(secret)
	kind := auth.KindOf(secret)
	if kind == "" {
		return nil, unauthorized("invalid credentials")
	}
	want := map[access][]auth.Kind{
		userAccess:    {auth.KindSession, auth.KindAPIToken},
		nodeAccess:    {auth.KindNode},
		enrollAccess:  {auth.KindEnrollment},
		anyCredential: {auth.KindSession, auth.KindAPIToken, auth.KindNode, auth.KindEnrollment},
	}[a]
	if !slices.Contains(want, kind) {
		return nil, unauthorized(fmt.Sprintf("this endpoint does not take a %s", kindName(kind)))
	}
	p.kind = kind
	hash := auth.HashSecret(secret)
	ctx := r.Context()
	now := s.cfg.Now()
	switch kind {
	case auth.KindSession:
		ss, u, err := s.store.SessionByHash(ctx, hash)
		if err != nil {
			return nil, credentialError(err)
		}
		if !now.Before(ss.ExpiresAt) {
			return nil, unauthorized("session expired: log in again")
		}
		if u.Disabled {
			return nil, unauthorized("user disabled")
		}
		p.tenantID, p.user, p.sessionID = u.TenantID, u, ss.ID
		p.scopes = auth.ScopesOf(auth.Role(u.Role))
	case auth.KindAPIToken:
		t, u, err := s.store.APITokenByHash(ctx, hash)
		if err != nil {
			return nil, credentialError(err)
		}
		switch {
		case t.RevokedAt != nil:
			return nil, unauthorized("API token revoked")
		case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
			return nil, unauthorized("API token expired")
		case u.Disabled:
			return nil, unauthorized("user disabled")
		}
		p.tenantID, p.user, p.tokenID = u.TenantID, u, t.ID
		want, _ := auth.ParseScopes(t.Scopes)
		p.scopes, _ = auth.Grant(auth.Role(u.Role), want)
		if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > touchEvery {
			if err := s.store.TouchAPIToken(ctx, t.ID, now); err != nil {
				s.log.Warn("record API token use", "token_id", t.ID, "err", err)
			}
		}
	case auth.KindNode:
		n, err := s.store.NodeByCredential(ctx, hash)
		if err != nil {
			return nil, credentialError(err)
		}
		if n.RevokedAt != nil {
			return nil, unauthorized("node revoked: enroll it again")
		}
		p.tenantID, p.node = n.TenantID, n
	case auth.KindEnrollment:
		// The enrollment handler spends the token; here it is only read.
		p.enrollHash = hash
	}
	return p, nil
}

func credentialError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return unauthorized("invalid credentials")
	}
	return fmt.Errorf("authenticate: %w", err)
}

func kindName(k auth.Kind) string {
	switch k {
	case auth.KindSession:
		return "user session"
	case auth.KindAPIToken:
		return "API token"
	case auth.KindNode:
		return "node credential"
	}
	return "enrollment token"
}

// clientIP is the address of the client: the peer, or for a peer in
// TrustedProxies the last X-Forwarded-For hop that is not one.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// wrap puts authentication, the scope check, query checking and error
// answers in front of a route's handler.
func (s *Server) wrap(rt *route) http.Handler {
	return s.instrument(rt.path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r, rt.access)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if rt.access == userAccess && rt.scope != "" && !p.can(rt.scope) {
			s.writeError(w, r, forbidden("%s needs scope %s, which this %s lacks (role %s)", rt.method+" "+rt.path, rt.scope, kindName(p.kind), p.user.Role))
			return
		}
		for name := range r.URL.Query() {
			if !slices.ContainsFunc(rt.query, func(q param) bool { return q.name == name }) {
				s.writeError(w, r, badRequest("unknown query parameter %q", name))
				return
			}
		}
		v, err := rt.h(r, p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if rt.status == http.StatusNoContent {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if sw, ok := v.(selfWriting); ok {
			sw.writeResponse(w)
			return
		}
		writeJSON(w, rt.status, v)
	}))
}
