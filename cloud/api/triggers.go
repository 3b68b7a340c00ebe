package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/sensitive"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Triggers (docs/RULES.md#triggers): rules the cloud generates from what
// nodes report. The API manages them; ingest judges them after each batch
// is stored, so that a trigger fires within the upload that crossed its
// threshold.

// checkSources validates a batch's per-source counters: a malformed one
// refuses the batch, like malformed counters; one whose path still looks
// sensitive is dropped (and counted), like an event would be.
func (s *Server) checkSources(cs []apiv1.SourceCounters, nodeID string, apps map[int64]bool) ([]apiv1.SourceCounters, error) {
	keep := cs[:0]
	for i := range cs {
		c := &cs[i]
		if err := c.Validate(); err != nil {
			return nil, badRequest("body: sources[%d]: %v", i, err)
		}
		if c.AppID != 0 && !apps[c.AppID] {
			return nil, badRequest("body: sources[%d]: app_id %d is not an application of this tenant", i, c.AppID)
		}
		if k := sensitive.Find(c.Path); k != "" {
			s.metrics.RejectedSensitive.WithLabelValues(string(k)).Inc()
			s.log.Warn("dropped source counters whose path still carries a sensitive value", "node_id", nodeID, "field", "path", "kind", k)
			continue
		}
		keep = append(keep, *c)
	}
	return keep, nil
}

// evaluateTriggers judges the tenant's triggers after a batch is stored.
// The batch is safe whatever happens here: a failure is logged, and the
// next batch from the same sources judges them again.
func (s *Server) evaluateTriggers(ctx context.Context, tenantID int64, events []apiv1.Event, sources []apiv1.SourceCounters) {
	fired, err := s.triggers.Observe(ctx, tenantID, events, sources)
	if err != nil && ctx.Err() == nil {
		s.log.Error("evaluate triggers", "tenant_id", tenantID, "err", err)
	}
	if len(fired) > 0 {
		s.wakeRulesets(tenantID)
	}
}

func (s *Server) listTriggers(r *http.Request, p *principal) (any, error) {
	ts, err := s.store.ListTriggers(r.Context(), p.tenantID)
	return apitypes.List[apitypes.Trigger]{Items: ts}, err
}

func (s *Server) getTrigger(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	t, err := s.store.GetTrigger(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("trigger")
	}
	return t, err
}

// triggerFromBody decodes and validates a trigger, and checks that its
// application is the tenant's.
func (s *Server) triggerFromBody(r *http.Request, p *principal) (store.Trigger, error) {
	var req apitypes.TriggerRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return store.Trigger{}, err
	}
	t := store.Trigger{TenantID: p.tenantID, Name: req.Name, Enabled: req.Enabled == nil || *req.Enabled,
		AppID: req.AppID, Condition: req.Condition, Action: req.Action}
	if err := t.Validate(); err != nil {
		return t, badRequest("body: %v", err)
	}
	if err := checkName("name", t.Name, store.MaxTriggerName); err != nil {
		return t, err
	}
	if err := s.checkAppIDs(r.Context(), p.tenantID, t.AppID); err != nil {
		return t, err
	}
	if id := t.Action.IntegrationID; id != 0 {
		if _, err := s.store.GetIntegration(r.Context(), p.tenantID, id); isNotFound(err) {
			return t, badRequest("body: integration %d does not exist", id)
		} else if err != nil {
			return t, err
		}
	}
	return t, nil
}

func (s *Server) createTrigger(r *http.Request, p *principal) (any, error) {
	t, err := s.triggerFromBody(r, p)
	if err != nil {
		return nil, err
	}
	if err := s.store.CreateTrigger(r.Context(), p.actor(), &t); isConflict(err) {
		return nil, conflict("a trigger named %q exists", t.Name)
	} else if err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Server) replaceTrigger(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	t, err := s.triggerFromBody(r, p)
	if err != nil {
		return nil, err
	}
	t.ID = id
	switch err := s.store.ReplaceTrigger(r.Context(), p.actor(), &t); {
	case isNotFound(err):
		return nil, notFound("trigger")
	case isConflict(err):
		return nil, conflict("a trigger named %q exists", t.Name)
	case err != nil:
		return nil, err
	}
	return t, nil
}

func (s *Server) deleteTrigger(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteTrigger(r.Context(), p.actor(), p.tenantID, id); isNotFound(err) {
		return nil, notFound("trigger")
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

func (s *Server) listFirings(r *http.Request, p *principal) (any, error) {
	q := &query{r: r}
	trigger := q.int("trigger", 0, 0, 1<<53)
	limit := q.int("limit", 100, 1, 1000)
	if q.err != nil {
		return nil, q.err
	}
	fs, err := s.store.ListFirings(r.Context(), p.tenantID, trigger, int(limit))
	if err != nil {
		return nil, fmt.Errorf("firings: %w", err)
	}
	return apitypes.List[apitypes.Firing]{Items: fs}, nil
}

// triggerRoutes are the rows of the route table for triggers. Like rules,
// triggers are settings of applications: apps:read and apps:write.
func (s *Server) triggerRoutes() []route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	ok, created, none := http.StatusOK, http.StatusCreated, http.StatusNoContent
	return []route{
		{method: get, path: "/api/v1/triggers", summary: "List triggers", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.List[apitypes.Trigger]{}, status: ok, h: s.listTriggers},
		{method: post, path: "/api/v1/triggers", summary: "Create a trigger: a condition over reported events per source, and an action", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.TriggerRequest{}, resp: apitypes.Trigger{}, status: created, h: s.createTrigger},
		{method: get, path: "/api/v1/triggers/{id}", summary: "Get a trigger", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.Trigger{}, status: ok, h: s.getTrigger},
		{method: put, path: "/api/v1/triggers/{id}", summary: "Replace a trigger", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.TriggerRequest{}, resp: apitypes.Trigger{}, status: ok, h: s.replaceTrigger},
		{method: del, path: "/api/v1/triggers/{id}", summary: "Delete a trigger (the entries it made stay until they expire)", access: userAccess, scope: auth.ScopeAppsWrite,
			status: none, h: s.deleteTrigger},
		{method: get, path: "/api/v1/trigger-firings", summary: "What triggers fired, newest first", access: userAccess, scope: auth.ScopeAppsRead,
			query: []param{
				{"trigger", "integer", "only this trigger's firings"},
				{"limit", "integer", "at most this many firings (1-1000, default 100)"},
			}, resp: apitypes.List[apitypes.Firing]{}, status: ok, h: s.listFirings},
	}
}
