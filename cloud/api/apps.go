package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/store"
)

// FiltrationModes are the filtration modes of DESIGN.md.
var FiltrationModes = []string{"off", "monitoring", "safe_blocking", "block"}

const maxHosts = 64

func checkMode(m string) error {
	for _, v := range FiltrationModes {
		if m == v {
			return nil
		}
	}
	return badRequest("body: filtration_mode %q is not one of %s", clip(m, 32), strings.Join(FiltrationModes, ", "))
}

func checkHosts(hosts []string) error {
	if len(hosts) > maxHosts {
		return badRequest("body: hosts has %d entries, limit %d", len(hosts), maxHosts)
	}
	for _, h := range hosts {
		if err := checkHostname("hosts entry", h); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) listApps(r *http.Request, p *principal) (any, error) {
	as, err := s.store.ListApps(r.Context(), p.tenantID)
	return apitypes.List[apitypes.App]{Items: as}, err
}

func (s *Server) getApp(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetApp(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("application")
	}
	return a, err
}

func (s *Server) createApp(r *http.Request, p *principal) (any, error) {
	var req apitypes.CreateAppRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if err := checkName("name", req.Name, 128); err != nil {
		return nil, err
	}
	if err := checkText("description", req.Description, 1024); err != nil {
		return nil, err
	}
	if err := checkMode(req.FiltrationMode); err != nil {
		return nil, err
	}
	if err := checkHosts(req.Hosts); err != nil {
		return nil, err
	}
	a := store.App{TenantID: p.tenantID, Name: req.Name, Description: req.Description, FiltrationMode: req.FiltrationMode, Hosts: req.Hosts}
	if err := s.store.CreateApp(r.Context(), p.actor(), &a); err != nil {
		if isConflict(err) {
			return nil, conflict("an application named %q exists", req.Name)
		}
		return nil, err
	}
	s.forgetApps(p.tenantID)
	return a, nil
}

func (s *Server) updateApp(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var req apitypes.UpdateAppRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if req.Name != nil {
		if err := checkName("name", *req.Name, 128); err != nil {
			return nil, err
		}
	}
	if req.Description != nil {
		if err := checkText("description", *req.Description, 1024); err != nil {
			return nil, err
		}
	}
	if req.FiltrationMode != nil {
		if err := checkMode(*req.FiltrationMode); err != nil {
			return nil, err
		}
	}
	if req.Hosts != nil {
		if err := checkHosts(*req.Hosts); err != nil {
			return nil, err
		}
	}
	a, err := s.store.UpdateApp(r.Context(), p.actor(), p.tenantID, id, store.AppUpdate{
		Name: req.Name, Description: req.Description, FiltrationMode: req.FiltrationMode, Hosts: req.Hosts})
	switch {
	case isNotFound(err):
		return nil, notFound("application")
	case isConflict(err):
		return nil, conflict("an application named %q exists", *req.Name)
	}
	return a, err
}

func (s *Server) deleteApp(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	err = s.store.DeleteApp(r.Context(), p.actor(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("application")
	}
	s.forgetApps(p.tenantID)
	return nil, err
}

// appsTTL is how long ingest trusts its copy of a tenant's application
// ids. An application created on another replica is known here within it.
const appsTTL = 10 * time.Second

// tenantApps returns the ids of the tenant's applications, from a short
// cache: ingest checks every event's application and must not query for
// each batch.
func (s *Server) tenantApps(ctx context.Context, tenantID int64) (map[int64]bool, error) {
	now := s.cfg.Now()
	s.appsMu.Lock()
	set, ok := s.apps[tenantID]
	s.appsMu.Unlock()
	if ok && now.Before(set.expires) {
		return set.ids, nil
	}
	as, err := s.store.ListApps(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ids := make(map[int64]bool, len(as))
	for _, a := range as {
		ids[a.ID] = true
	}
	s.appsMu.Lock()
	s.apps[tenantID] = appSet{ids: ids, expires: now.Add(appsTTL)}
	s.appsMu.Unlock()
	return ids, nil
}

func (s *Server) forgetApps(tenantID int64) {
	s.appsMu.Lock()
	delete(s.apps, tenantID)
	s.appsMu.Unlock()
}
