package api

import (
	"net/http"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
)

// route is one endpoint: the router, the authentication in front of it and
// the OpenAPI document are all made from these.
type route struct {
	method  string
	path    string // a net/http pattern path, with {name} wildcards
	summary string
	access  access
	scope   auth.Scope // for userAccess; "" = any user
	query   []param    // the query parameters it accepts; others are refused
	body    any        // a value of the request body type; nil = no body
	resp    any        // a value of the response type; nil = no content
	status  int        // the status of success
	h       func(r *http.Request, p *principal) (any, error)
}

// param is a documented query parameter.
type param struct {
	name string
	typ  string // OpenAPI type: string, integer
	doc  string
}

var (
	pageParams = []param{
		{"limit", "integer", "at most this many items (1-1000, default 100)"},
		{"cursor", "string", "the next cursor of the previous page"},
	}
	eventFilterParams = []param{
		{"from", "string", "RFC 3339 time: events at or after it"},
		{"to", "string", "RFC 3339 time: events before it"},
		{"app", "integer", "application id"},
		{"attack_type", "string", "attack type: sqli, xss, rce, ptrav, ..."},
		{"source", "string", "source IP address or CIDR (v4 or v6)"},
		{"decision", "string", "blocked, passed or monitored"},
		{"point", "string", "point, in the point syntax (docs/POINTS.md)"},
		{"node", "string", "node id"},
	}
)

func join(ps ...[]param) []param {
	var out []param
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// routeTable lists every endpoint under /api/v1, grouped by resource.
func (s *Server) routeTable() []route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	ok, created, none := http.StatusOK, http.StatusCreated, http.StatusNoContent
	return []route{
		{method: get, path: "/api/v1/openapi.json", summary: "This API's OpenAPI 3.1 document", access: public,
			resp: map[string]any{}, status: ok, h: s.openAPI},

		// Sessions and the caller.
		{method: post, path: "/api/v1/auth/login", summary: "Log in with email and password; answers a session token", access: public,
			body: apitypes.LoginRequest{}, resp: apitypes.LoginResponse{}, status: ok, h: s.login},
		{method: post, path: "/api/v1/auth/logout", summary: "End the calling session", access: userAccess,
			status: none, h: s.logout},
		{method: get, path: "/api/v1/auth/me", summary: "The calling user, tenant and scopes", access: userAccess,
			resp: apitypes.Me{}, status: ok, h: s.me},
		{method: post, path: "/api/v1/auth/password", summary: "Change one's own password (ends every session of the user)", access: userAccess,
			body: apitypes.ChangePasswordRequest{}, status: none, h: s.changePassword},
		{method: get, path: "/api/v1/tenant", summary: "The caller's tenant", access: userAccess,
			resp: apitypes.Tenant{}, status: ok, h: s.getTenant},

		// Users.
		{method: get, path: "/api/v1/users", summary: "List the tenant's users", access: userAccess, scope: auth.ScopeUsersRead,
			resp: apitypes.List[apitypes.User]{}, status: ok, h: s.listUsers},
		{method: post, path: "/api/v1/users", summary: "Create a user", access: userAccess, scope: auth.ScopeUsersWrite,
			body: apitypes.CreateUserRequest{}, resp: apitypes.User{}, status: created, h: s.createUser},
		{method: get, path: "/api/v1/users/{id}", summary: "Get a user", access: userAccess, scope: auth.ScopeUsersRead,
			resp: apitypes.User{}, status: ok, h: s.getUser},
		{method: patch, path: "/api/v1/users/{id}", summary: "Change a user's name, role, password or disabled flag", access: userAccess, scope: auth.ScopeUsersWrite,
			body: apitypes.UpdateUserRequest{}, resp: apitypes.User{}, status: ok, h: s.updateUser},
		{method: del, path: "/api/v1/users/{id}", summary: "Delete a user with their sessions and tokens", access: userAccess, scope: auth.ScopeUsersWrite,
			status: none, h: s.deleteUser},

		// API tokens.
		{method: get, path: "/api/v1/tokens", summary: "List API tokens: one's own, or all of the tenant's with users:read", access: userAccess,
			resp: apitypes.List[apitypes.APIToken]{}, status: ok, h: s.listTokens},
		{method: post, path: "/api/v1/tokens", summary: "Create an API token; the secret is in this answer only", access: userAccess, scope: auth.ScopeTokensWrite,
			body: apitypes.CreateTokenRequest{}, resp: apitypes.TokenCreated{}, status: created, h: s.createToken},
		{method: del, path: "/api/v1/tokens/{id}", summary: "Revoke an API token", access: userAccess, scope: auth.ScopeTokensWrite,
			status: none, h: s.revokeToken},

		// Applications.
		{method: get, path: "/api/v1/apps", summary: "List applications", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.List[apitypes.App]{}, status: ok, h: s.listApps},
		{method: post, path: "/api/v1/apps", summary: "Create an application", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.CreateAppRequest{}, resp: apitypes.App{}, status: created, h: s.createApp},
		{method: get, path: "/api/v1/apps/{id}", summary: "Get an application", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.App{}, status: ok, h: s.getApp},
		{method: patch, path: "/api/v1/apps/{id}", summary: "Change an application's settings", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.UpdateAppRequest{}, resp: apitypes.App{}, status: ok, h: s.updateApp},
		{method: del, path: "/api/v1/apps/{id}", summary: "Delete an application (its events stay)", access: userAccess, scope: auth.ScopeAppsWrite,
			status: none, h: s.deleteApp},

		// Node enrollment and nodes.
		{method: get, path: "/api/v1/enroll-tokens", summary: "List enrollment tokens", access: userAccess, scope: auth.ScopeNodesRead,
			resp: apitypes.List[apitypes.EnrollToken]{}, status: ok, h: s.listEnrollTokens},
		{method: post, path: "/api/v1/enroll-tokens", summary: "Create a one-time, expiring node enrollment token", access: userAccess, scope: auth.ScopeNodesEnroll,
			body: apitypes.CreateEnrollTokenRequest{}, resp: apitypes.EnrollTokenCreated{}, status: created, h: s.createEnrollToken},
		{method: del, path: "/api/v1/enroll-tokens/{id}", summary: "Delete an enrollment token", access: userAccess, scope: auth.ScopeNodesEnroll,
			status: none, h: s.deleteEnrollToken},
		{method: post, path: "/api/v1/nodes/enroll", summary: "Node: spend an enrollment token (as bearer) for the node's own credential", access: enrollAccess,
			body: apiv1.EnrollRequest{}, resp: apiv1.EnrollResponse{}, status: created, h: s.enroll},
		{method: get, path: "/api/v1/nodes", summary: "List nodes with their health", access: userAccess, scope: auth.ScopeNodesRead,
			resp: apitypes.List[apitypes.NodeView]{}, status: ok, h: s.listNodes},
		{method: get, path: "/api/v1/nodes/{id}", summary: "Get a node with its health", access: userAccess, scope: auth.ScopeNodesRead,
			resp: apitypes.NodeView{}, status: ok, h: s.getNode},
		{method: post, path: "/api/v1/nodes/{id}/revoke", summary: "Revoke a node's credential", access: userAccess, scope: auth.ScopeNodesWrite,
			resp: apitypes.NodeView{}, status: ok, h: s.revokeNode},

		// What nodes report.
		{method: post, path: "/api/v1/ingest", summary: "Node: upload events, counters and health (gzip accepted)", access: nodeAccess,
			body: apiv1.ReportBatch{}, resp: apiv1.IngestResult{}, status: ok, h: s.ingest},

		// Events and what is computed from them.
		{method: get, path: "/api/v1/events", summary: "Search events, newest first", access: userAccess, scope: auth.ScopeEventsRead,
			query: join(eventFilterParams, pageParams), resp: apitypes.List[apitypes.Event]{}, status: ok, h: s.searchEvents},
		{method: get, path: "/api/v1/events/aggregate", summary: "Count events by a field and optionally over time", access: userAccess, scope: auth.ScopeEventsRead,
			query: join(eventFilterParams, []param{
				{"by", "string", "attack_type, source_ip, point, decision, app_id, node_id, or empty for totals"},
				{"bucket", "string", "time bucket as a Go duration (1m to 31 days), e.g. 1h; omitted: no time axis"},
				{"limit", "integer", "at most this many groups (default 10 without bucket)"},
			}), resp: apitypes.Aggregation{}, status: ok, h: s.aggregateEvents},
		{method: get, path: "/api/v1/events/{id}", summary: "Get an event", access: userAccess, scope: auth.ScopeEventsRead,
			resp: apitypes.Event{}, status: ok, h: s.getEvent},
		{method: get, path: "/api/v1/attacks", summary: "Attacks: events grouped by application, type, point and source, split by an hour of silence", access: userAccess, scope: auth.ScopeEventsRead,
			query: join(eventFilterParams, []param{{"limit", "integer", "at most this many attacks (1-1000, default 100)"}}),
			resp:  apitypes.List[apitypes.Attack]{}, status: ok, h: s.listAttacks},
		{method: get, path: "/api/v1/traffic", summary: "Requests, blocked requests and attacks over time, from node counters", access: userAccess, scope: auth.ScopeEventsRead,
			query: []param{
				{"from", "string", "RFC 3339 time"}, {"to", "string", "RFC 3339 time"},
				{"app", "integer", "application id"}, {"node", "string", "node id"},
				{"bucket", "string", "time bucket as a Go duration, 1m to 31 days (default 1h)"},
			}, resp: apitypes.List[apitypes.TrafficRow]{}, status: ok, h: s.traffic},

		// The audit log.
		{method: get, path: "/api/v1/audit", summary: "The audit log, newest first", access: userAccess, scope: auth.ScopeAuditRead,
			query: []param{
				{"action", "string", "only entries of this action, e.g. app.update"},
				{"limit", "integer", "at most this many entries (1-1000, default 100)"},
				{"cursor", "string", "the next cursor of the previous page"},
			}, resp: apitypes.List[apitypes.AuditEntry]{}, status: ok, h: s.listAudit},
	}
}
