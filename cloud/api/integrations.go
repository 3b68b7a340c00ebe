package api

import (
	"crypto/rand"
	"net/http"
	"net/url"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Integrations: where trigger notifications go, their delivery log, and
// a "send test" action (cloud/notify delivers).

const maxIntegrationURL = 2048

func (s *Server) listIntegrations(r *http.Request, p *principal) (any, error) {
	is, err := s.store.ListIntegrations(r.Context(), p.tenantID)
	return apitypes.List[apitypes.Integration]{Items: is}, err
}

func (s *Server) integration(r *http.Request, p *principal) (store.Integration, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Integration{}, err
	}
	in, err := s.store.GetIntegration(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return in, notFound("integration")
	}
	return in, err
}

func (s *Server) getIntegration(r *http.Request, p *principal) (any, error) {
	return s.integration(r, p)
}

func (s *Server) createIntegration(r *http.Request, p *principal) (any, error) {
	var req apitypes.CreateIntegrationRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if err := checkName("name", req.Name, 128); err != nil {
		return nil, err
	}
	if req.Kind != store.IntegrationWebhook && req.Kind != store.IntegrationSlack {
		return nil, badRequest("body: kind %q is not %s or %s", clip(req.Kind, 32), store.IntegrationWebhook, store.IntegrationSlack)
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(req.URL) > maxIntegrationURL {
		return nil, badRequest("body: url must be an http or https URL without credentials, at most %d bytes", maxIntegrationURL)
	}
	in := store.Integration{TenantID: p.tenantID, Name: req.Name, Kind: req.Kind, URL: req.URL, Secret: "whsec_" + rand.Text()}
	if err := s.store.CreateIntegration(r.Context(), p.actor(), &in); isConflict(err) {
		return nil, conflict("an integration named %q exists", req.Name)
	} else if err != nil {
		return nil, err
	}
	return apitypes.IntegrationCreated{Integration: in, Secret: in.Secret}, nil
}

func (s *Server) deleteIntegration(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteIntegration(r.Context(), p.actor(), p.tenantID, id); isNotFound(err) {
		return nil, notFound("integration")
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

// testIntegration sends a test message, once, and answers how it went.
func (s *Server) testIntegration(r *http.Request, p *principal) (any, error) {
	in, err := s.integration(r, p)
	if err != nil {
		return nil, err
	}
	return s.dispatcher.SendTest(r.Context(), in)
}

func (s *Server) listDeliveries(r *http.Request, p *principal) (any, error) {
	in, err := s.integration(r, p)
	if err != nil {
		return nil, err
	}
	q := &query{r: r}
	limit := q.int("limit", 100, 1, 1000)
	if q.err != nil {
		return nil, q.err
	}
	ds, err := s.store.ListDeliveries(r.Context(), p.tenantID, in.ID, int(limit))
	return apitypes.List[apitypes.Delivery]{Items: ds}, err
}

// integrationRoutes are the rows of the route table for integrations.
// They say where the tenant's data goes: apps:write to change them.
func (s *Server) integrationRoutes() []route {
	const get, post, del = http.MethodGet, http.MethodPost, http.MethodDelete
	ok, created, none := http.StatusOK, http.StatusCreated, http.StatusNoContent
	return []route{
		{method: get, path: "/api/v1/integrations", summary: "List integrations", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.List[apitypes.Integration]{}, status: ok, h: s.listIntegrations},
		{method: post, path: "/api/v1/integrations", summary: "Create a webhook or Slack integration; the signing secret is in this answer only", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.CreateIntegrationRequest{}, resp: apitypes.IntegrationCreated{}, status: created, h: s.createIntegration},
		{method: get, path: "/api/v1/integrations/{id}", summary: "Get an integration", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.Integration{}, status: ok, h: s.getIntegration},
		{method: del, path: "/api/v1/integrations/{id}", summary: "Delete an integration and its delivery log", access: userAccess, scope: auth.ScopeAppsWrite,
			status: none, h: s.deleteIntegration},
		{method: post, path: "/api/v1/integrations/{id}/test", summary: "Send a test message once; answers the delivery", access: userAccess, scope: auth.ScopeAppsWrite,
			resp: apitypes.Delivery{}, status: ok, h: s.testIntegration},
		{method: get, path: "/api/v1/integrations/{id}/deliveries", summary: "The integration's delivery log, newest first", access: userAccess, scope: auth.ScopeAppsRead,
			query: []param{{"limit", "integer", "at most this many deliveries (1-1000, default 100)"}},
			resp:  apitypes.List[apitypes.Delivery]{}, status: ok, h: s.listDeliveries},
	}
}
