package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

func (s *Server) listTokens(r *http.Request, p *principal) (any, error) {
	userID := p.user.ID
	if p.can(auth.ScopeUsersRead) {
		userID = 0 // the whole tenant
	}
	ts, err := s.store.ListAPITokens(r.Context(), p.tenantID, userID)
	return apitypes.List[apitypes.APIToken]{Items: ts}, err
}

// createToken issues an API token for the caller or, for an admin, for
// another user of the tenant. Its scopes must be granted by that user's
// role, and a caller using an API token cannot hand out scopes it lacks.
func (s *Server) createToken(r *http.Request, p *principal) (any, error) {
	var req apitypes.CreateTokenRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if err := checkName("name", req.Name, 128); err != nil {
		return nil, err
	}
	if len(req.Scopes) == 0 {
		return nil, badRequest("body: scopes is empty; name at least one of %s", scopeList())
	}
	scopes, err := auth.ParseScopes(req.Scopes)
	if err != nil {
		return nil, badRequest("body: scopes: %v", err)
	}
	if req.ExpiresAt != nil && !req.ExpiresAt.After(s.cfg.Now()) {
		return nil, badRequest("body: expires_at is in the past")
	}
	owner := p.user
	if req.UserID != 0 && req.UserID != p.user.ID {
		if !p.can(auth.ScopeUsersWrite) {
			return nil, forbidden("creating a token for another user needs scope %s", auth.ScopeUsersWrite)
		}
		owner, err = s.store.GetUser(r.Context(), p.tenantID, req.UserID)
		if isNotFound(err) {
			return nil, notFound("user")
		}
		if err != nil {
			return nil, err
		}
	}
	if _, refused := auth.Grant(auth.Role(owner.Role), scopes); len(refused) > 0 {
		return nil, badRequest("body: scopes: role %s does not grant %s", owner.Role, joinScopes(refused))
	}
	for _, sc := range scopes {
		if !p.can(sc) {
			return nil, forbidden("cannot grant scope %s, which the caller lacks", sc)
		}
	}
	secret, hash := auth.NewSecret(auth.KindAPIToken)
	t := store.APIToken{TenantID: p.tenantID, UserID: owner.ID, Name: req.Name, Hash: hash, Scopes: scopeStrings(scopes), ExpiresAt: req.ExpiresAt}
	if err := s.store.CreateAPIToken(r.Context(), p.actor(), &t); err != nil {
		return nil, err
	}
	return apitypes.TokenCreated{Token: t, Secret: secret}, nil
}

// revokeToken revokes one's own token, or any of the tenant's for a
// caller with users:write. Another user's token is "not found" to others.
func (s *Server) revokeToken(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetAPIToken(r.Context(), p.tenantID, id)
	if isNotFound(err) || (err == nil && t.UserID != p.user.ID && !p.can(auth.ScopeUsersWrite)) {
		return nil, notFound("API token")
	}
	if err != nil {
		return nil, err
	}
	if t.RevokedAt != nil {
		return nil, conflict("API token %d is already revoked", id)
	}
	return nil, s.store.RevokeAPIToken(r.Context(), p.actor(), p.tenantID, id, s.cfg.Now())
}

func scopeStrings(ss []auth.Scope) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

func joinScopes(ss []auth.Scope) string { return strings.Join(scopeStrings(ss), ", ") }

func scopeList() string { return joinScopes(auth.Scopes) }
