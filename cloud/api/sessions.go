package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/ratelimit"
	"github.com/palisadewaf/palisade/cloud/store"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

var errBadLogin = unauthorized("invalid email or password")

// login checks a password and opens a session. Attempts are limited per
// client address and per account; an unknown account costs as much time
// as a wrong password, and gets the same answer.
func (s *Server) login(r *http.Request, p *principal) (any, error) {
	var req apitypes.LoginRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if req.Email == "" || req.Password == "" {
		return nil, unauthorized("credentials required: email and password")
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	now := s.cfg.Now()
	for _, l := range []struct {
		lim  *ratelimit.Limiter
		key  string
		what string
	}{{s.loginByIP, p.ip, "client address"}, {s.loginByAccount, email, "account"}} {
		if ok, wait := l.lim.Allow(l.key, 1, now); !ok {
			s.metrics.Logins.WithLabelValues("rate_limited").Inc()
			return nil, tooManyRequests(wait, "too many login attempts from this "+l.what+"; retry later")
		}
	}
	if len(req.Password) > auth.MaxPasswordLen {
		s.metrics.Logins.WithLabelValues("failed").Inc()
		return nil, errBadLogin
	}
	u, err := s.store.GetUserByEmail(r.Context(), email)
	if err != nil {
		if !isNotFound(err) {
			return nil, err
		}
		auth.VerifyPassword(s.dummyHash, req.Password)
		s.metrics.Logins.WithLabelValues("failed").Inc()
		return nil, errBadLogin
	}
	ok, err := auth.VerifyPassword(u.PasswordHash, req.Password)
	if err != nil || !ok || u.Disabled {
		s.metrics.Logins.WithLabelValues("failed").Inc()
		reason := "wrong password"
		if u.Disabled {
			reason = "user disabled"
		}
		if err := s.store.RecordAudit(r.Context(), u.TenantID, store.Actor{Kind: store.ActorUser, ID: strconv.FormatInt(u.ID, 10), Name: u.Email, IP: p.ip},
			store.AuditEntry{Action: "user.login_failed", ObjectKind: "user", ObjectID: strconv.FormatInt(u.ID, 10), Details: map[string]any{"reason": reason}}); err != nil {
			s.log.Warn("audit failed login", "err", err)
		}
		return nil, errBadLogin
	}
	secret, hash := auth.NewSecret(auth.KindSession)
	ss := store.Session{TenantID: u.TenantID, UserID: u.ID, Hash: hash, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.cfg.SessionTTL).UTC(), ClientIP: p.ip}
	by := store.Actor{Kind: store.ActorUser, ID: strconv.FormatInt(u.ID, 10), Name: u.Email, IP: p.ip}
	if err := s.store.CreateSession(r.Context(), by, &ss); err != nil {
		return nil, err
	}
	s.metrics.Logins.WithLabelValues("ok").Inc()
	return apitypes.LoginResponse{Token: secret, ExpiresAt: ss.ExpiresAt, User: u}, nil
}

func (s *Server) logout(r *http.Request, p *principal) (any, error) {
	if p.kind != auth.KindSession {
		return nil, badRequest("logout ends a session; revoke an API token with DELETE /api/v1/tokens/{id}")
	}
	return nil, s.store.DeleteSession(r.Context(), p.actor(), p.tenantID, p.sessionID)
}

func (s *Server) me(r *http.Request, p *principal) (any, error) {
	t, err := s.store.GetTenant(r.Context(), p.tenantID)
	if err != nil {
		return nil, err
	}
	via := "session"
	if p.kind == auth.KindAPIToken {
		via = "api_token"
	}
	scopes := make([]string, 0, len(p.scopes))
	for _, sc := range p.scopes {
		scopes = append(scopes, string(sc))
	}
	return apitypes.Me{User: p.user, Tenant: t, Via: via, Scopes: scopes}, nil
}

// changePassword lets every user, read-only ones included, change their
// own password: it is their account, not the tenant's data.
func (s *Server) changePassword(r *http.Request, p *principal) (any, error) {
	var req apitypes.ChangePasswordRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if p.kind != auth.KindSession {
		return nil, forbidden("a password is changed from a login session, not with an API token")
	}
	if ok, err := auth.VerifyPassword(p.user.PasswordHash, req.Current); err != nil || !ok {
		return nil, badRequest("body: current: not the password of this user")
	}
	if err := auth.CheckPassword(req.New); err != nil {
		return nil, badRequest("body: new: %v", err)
	}
	h, err := auth.HashPassword(req.New, s.cfg.PasswordParams)
	if err != nil {
		return nil, err
	}
	_, err = s.store.UpdateUser(r.Context(), p.actor(), p.tenantID, p.user.ID, store.UserUpdate{PasswordHash: &h})
	return nil, err
}

func (s *Server) getTenant(r *http.Request, p *principal) (any, error) {
	return s.store.GetTenant(r.Context(), p.tenantID)
}
