// Package apitypes holds the JSON documents of the cloud's public API
// (/api/v1, for people and scripts), shared by the server (cloud/api) and
// its client (cloud/client). The documents nodes exchange with the cloud
// are in cloud/apiv1.
//
// Resources (users, applications, nodes, events, ...) are sent as the
// store's types, whose JSON tags are their API form and hide what must not
// leave the server (hashes); the aliases below name them here.
package apitypes

import (
	"time"

	"github.com/palisadewaf/palisade/cloud/store"
)

// Resources as the API sends them.
type (
	Tenant       = store.Tenant
	User         = store.User
	APIToken     = store.APIToken
	App          = store.App
	EnrollToken  = store.EnrollToken
	Node         = store.Node
	Event        = store.Event
	AggregateRow = store.AggregateRow
	Attack       = store.Attack
	TrafficRow   = store.TrafficRow
	AuditEntry   = store.AuditEntry
)

// List is a page of items. Next, when set, is the cursor of the next page
// (query parameter "cursor").
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// LoginRequest is the body of POST /api/v1/auth/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// LoginResponse carries the session secret, shown this once.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// Me describes the caller: GET /api/v1/auth/me.
type Me struct {
	User   User     `json:"user"`
	Tenant Tenant   `json:"tenant"`
	Via    string   `json:"via"` // "session" or "api_token"
	Scopes []string `json:"scopes"`
}

// ChangePasswordRequest is the body of POST /api/v1/auth/password.
type ChangePasswordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// CreateUserRequest is the body of POST /api/v1/users.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

// UpdateUserRequest is the body of PATCH /api/v1/users/{id}; absent fields
// stay as they are.
type UpdateUserRequest struct {
	Name     *string `json:"name,omitempty"`
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
}

// CreateTokenRequest is the body of POST /api/v1/tokens. An admin may
// create a token for another user of the tenant (UserID); the scopes must
// be granted by that user's role.
type CreateTokenRequest struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	UserID    int64      `json:"user_id,omitempty"`
}

// TokenCreated carries a new API token's secret, shown this once.
type TokenCreated struct {
	Token  APIToken `json:"token"`
	Secret string   `json:"secret"`
}

// CreateAppRequest is the body of POST /api/v1/apps.
type CreateAppRequest struct {
	Name           string   `json:"name"`
	Description    string   `json:"description,omitempty"`
	FiltrationMode string   `json:"filtration_mode"`
	Hosts          []string `json:"hosts,omitempty"`
}

// UpdateAppRequest is the body of PATCH /api/v1/apps/{id}; absent fields
// stay as they are.
type UpdateAppRequest struct {
	Name           *string   `json:"name,omitempty"`
	Description    *string   `json:"description,omitempty"`
	FiltrationMode *string   `json:"filtration_mode,omitempty"`
	Hosts          *[]string `json:"hosts,omitempty"`
}

// CreateEnrollTokenRequest is the body of POST /api/v1/enroll-tokens.
// The token expires after TTLSeconds (default one hour, at most a week).
type CreateEnrollTokenRequest struct {
	Name       string `json:"name"`
	TTLSeconds int64  `json:"ttl_seconds,omitempty"`
}

// EnrollTokenCreated carries a new enrollment token's secret, shown once.
type EnrollTokenCreated struct {
	Token  EnrollToken `json:"token"`
	Secret string      `json:"secret"`
}

// NodeView is a node with its state computed at the time of the answer.
type NodeView struct {
	Node
	State store.NodeState `json:"state"`
}

// Aggregation is the answer of GET /api/v1/events/aggregate.
type Aggregation struct {
	By     string         `json:"by"`
	Bucket string         `json:"bucket,omitempty"` // a Go duration, "1h0m0s"
	Rows   []AggregateRow `json:"rows"`
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status  string `json:"status"` // "ok" or what is wrong
	Version string `json:"version"`
}
