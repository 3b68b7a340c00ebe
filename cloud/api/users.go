package api

import (
	"context"
	"net/http"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

func (s *Server) listUsers(r *http.Request, p *principal) (any, error) {
	us, err := s.store.ListUsers(r.Context(), p.tenantID)
	return apitypes.List[apitypes.User]{Items: us}, err
}

func (s *Server) getUser(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("user")
	}
	return u, err
}

func (s *Server) createUser(r *http.Request, p *principal) (any, error) {
	var req apitypes.CreateUserRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	if req.Name != "" {
		if err := checkName("name", req.Name, 128); err != nil {
			return nil, err
		}
	}
	if _, err := auth.ParseRole(req.Role); err != nil {
		return nil, badRequest("body: role: %v", err)
	}
	if err := auth.CheckPassword(req.Password); err != nil {
		return nil, badRequest("body: password: %v", err)
	}
	h, err := auth.HashPassword(req.Password, s.cfg.PasswordParams)
	if err != nil {
		return nil, err
	}
	u := store.User{TenantID: p.tenantID, Email: email, Name: req.Name, Role: req.Role, PasswordHash: h}
	if err := s.store.CreateUser(r.Context(), p.actor(), &u); err != nil {
		if isConflict(err) {
			return nil, conflict("a user with email %s already exists", email)
		}
		return nil, err
	}
	return u, nil
}

func (s *Server) updateUser(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req apitypes.UpdateUserRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	up := store.UserUpdate{Name: req.Name, Role: req.Role, Disabled: req.Disabled}
	if req.Name != nil && *req.Name != "" {
		if err := checkName("name", *req.Name, 128); err != nil {
			return nil, err
		}
	}
	if req.Role != nil {
		if _, err := auth.ParseRole(*req.Role); err != nil {
			return nil, badRequest("body: role: %v", err)
		}
	}
	if req.Password != nil {
		if err := auth.CheckPassword(*req.Password); err != nil {
			return nil, badRequest("body: password: %v", err)
		}
		h, err := auth.HashPassword(*req.Password, s.cfg.PasswordParams)
		if err != nil {
			return nil, err
		}
		up.PasswordHash = &h
	}
	demotes := (req.Role != nil && *req.Role != string(auth.RoleAdmin)) || (req.Disabled != nil && *req.Disabled)
	if demotes {
		if err := s.keepAnAdmin(r.Context(), p.tenantID, id); err != nil {
			return nil, err
		}
	}
	u, err := s.store.UpdateUser(r.Context(), p.actor(), p.tenantID, id, up)
	if isNotFound(err) {
		return nil, notFound("user")
	}
	return u, err
}

func (s *Server) deleteUser(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := s.keepAnAdmin(r.Context(), p.tenantID, id); err != nil {
		return nil, err
	}
	err = s.store.DeleteUser(r.Context(), p.actor(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("user")
	}
	return nil, err
}

// keepAnAdmin refuses to demote, disable or delete the tenant's last
// enabled admin: nobody could manage the tenant's users after that.
func (s *Server) keepAnAdmin(ctx context.Context, tenantID, userID int64) error {
	us, err := s.store.ListUsers(ctx, tenantID)
	if err != nil {
		return err
	}
	admins, target := 0, false
	for _, u := range us {
		if u.Role == string(auth.RoleAdmin) && !u.Disabled {
			admins++
			target = target || u.ID == userID
		}
	}
	if target && admins == 1 {
		return conflict("user %d is the tenant's last admin; make another admin first", userID)
	}
	return nil
}
