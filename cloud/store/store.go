// Package store is what the Palisade cloud keeps (tenants, users, sessions,
// API tokens, applications, nodes, events, counters, the audit log) and the
// one interface through which the rest of the cloud reads and changes it.
//
// The cloud is stateless over its store: every replica of palisade-cloud
// talks to the same database, so nothing here may be cached in memory in a
// way that outlives a request. Implementations live in subpackages
// (sqlstore serves SQLite and PostgreSQL); the suite in storetest is run
// against each of them.
//
// Isolation between tenants is part of the interface: every method that
// reads or changes an object of a tenant takes the tenant's id and answers
// ErrNotFound for another tenant's object, exactly as for a missing one.
// Every change takes an Actor and is written to the audit log in the same
// transaction as the change itself.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	// ErrNotFound: no such object in this tenant (it may exist elsewhere).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object would break a uniqueness rule (same name,
	// same email).
	ErrConflict = errors.New("already exists")
	// ErrEnrollTokenSpent: the enrollment token was used or has expired.
	ErrEnrollTokenSpent = errors.New("enrollment token used or expired")
	// ErrBadCursor: a page cursor that this store did not hand out.
	ErrBadCursor = errors.New("invalid page cursor")
)

// Store is the whole persistence interface of the cloud. It is composed of
// one interface per resource so that a new resource (rules, IP lists) adds
// its own interface and table set without touching the others.
type Store interface {
	Tenants
	Users
	Sessions
	APITokens
	Apps
	Nodes
	Events
	Audit
	Rules
	Triggers
	Integrations
	IPListDeltas

	// Ping says whether the database answers; /readyz uses it.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}

// Actor is who makes a change, as the audit log records it.
type Actor struct {
	Kind ActorKind
	// ID of the user, token or node; empty for the system.
	ID string
	// Name is what a person recognises: an email, a node name.
	Name string
	// IP is the client address of the request that made the change.
	IP string
}

// ActorKind names the kinds of Actor.
type ActorKind string

const (
	ActorSystem ActorKind = "system" // the serve command, bootstrap, admin CLI
	ActorUser   ActorKind = "user"   // a person with a session
	ActorToken  ActorKind = "token"  // a script with an API token
	ActorNode   ActorKind = "node"   // a node with its credential
)

// Tenants are the client organisations; each owns its users, applications,
// nodes and events.
type Tenants interface {
	CreateTenant(ctx context.Context, by Actor, name string) (Tenant, error)
	GetTenant(ctx context.Context, id int64) (Tenant, error)
	GetTenantByName(ctx context.Context, name string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
}

// Tenant is one client organisation.
type Tenant struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Users are the people who sign in to the console and the API.
type Users interface {
	CreateUser(ctx context.Context, by Actor, u *User) error
	GetUser(ctx context.Context, tenantID, id int64) (User, error)
	// GetUserByEmail looks across tenants: an email identifies one user.
	GetUserByEmail(ctx context.Context, email string) (User, error)
	ListUsers(ctx context.Context, tenantID int64) ([]User, error)
	UpdateUser(ctx context.Context, by Actor, tenantID, id int64, up UserUpdate) (User, error)
	// DeleteUser removes the user with their sessions and API tokens.
	DeleteUser(ctx context.Context, by Actor, tenantID, id int64) error
	// CountUsers counts users of every tenant (bootstrap: zero means a
	// fresh installation).
	CountUsers(ctx context.Context) (int, error)
}

// User is a person of one tenant.
type User struct {
	ID           int64      `json:"id"`
	TenantID     int64      `json:"tenant_id"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	Role         string     `json:"role"`
	PasswordHash string     `json:"-"`
	Disabled     bool       `json:"disabled"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	LastLoginAt  *time.Time `json:"last_login_at,omitempty"`
}

// UserUpdate changes the non-nil fields of a user.
type UserUpdate struct {
	Name         *string
	Role         *string
	Disabled     *bool
	PasswordHash *string
}

// Sessions are what a successful login gives: a bearer secret with an
// absolute expiry, kept as a hash.
type Sessions interface {
	// CreateSession stores s and records the login of its user.
	CreateSession(ctx context.Context, by Actor, s *Session) error
	// SessionByHash finds a session and its user by the hash of its secret.
	SessionByHash(ctx context.Context, hash []byte) (Session, User, error)
	DeleteSession(ctx context.Context, by Actor, tenantID, id int64) error
	// DeleteExpiredSessions removes sessions that expired before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}

// Session is one login of one user.
type Session struct {
	ID        int64
	TenantID  int64
	UserID    int64
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	ClientIP  string
}

// APITokens are long-lived, scoped, revocable bearer secrets for scripts
// and integrations, each acting for one user.
type APITokens interface {
	CreateAPIToken(ctx context.Context, by Actor, t *APIToken) error
	// APITokenByHash finds a token and the user it acts for.
	APITokenByHash(ctx context.Context, hash []byte) (APIToken, User, error)
	GetAPIToken(ctx context.Context, tenantID, id int64) (APIToken, error)
	// ListAPITokens lists a tenant's tokens, or one user's when userID != 0.
	ListAPITokens(ctx context.Context, tenantID, userID int64) ([]APIToken, error)
	RevokeAPIToken(ctx context.Context, by Actor, tenantID, id int64, at time.Time) error
	// TouchAPIToken records that the token was used at the given time.
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error
}

// APIToken is one API token. Its secret is never stored, only Hash.
type APIToken struct {
	ID         int64      `json:"id"`
	TenantID   int64      `json:"tenant_id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Hash       []byte     `json:"-"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Apps are the protected web applications of a tenant.
type Apps interface {
	CreateApp(ctx context.Context, by Actor, a *App) error
	GetApp(ctx context.Context, tenantID, id int64) (App, error)
	ListApps(ctx context.Context, tenantID int64) ([]App, error)
	UpdateApp(ctx context.Context, by Actor, tenantID, id int64, up AppUpdate) (App, error)
	DeleteApp(ctx context.Context, by Actor, tenantID, id int64) error
}

// App is one protected application. Its ID is the numeric application id
// nodes put in events (apiv1.Event.AppID).
type App struct {
	ID             int64     `json:"id"`
	TenantID       int64     `json:"tenant_id"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	FiltrationMode string    `json:"filtration_mode"`
	Hosts          []string  `json:"hosts"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// AppUpdate changes the non-nil fields of an application.
type AppUpdate struct {
	Name           *string
	Description    *string
	FiltrationMode *string
	Hosts          *[]string
}

// Nodes covers enrollment tokens and the nodes they admit.
type Nodes interface {
	CreateEnrollToken(ctx context.Context, by Actor, t *EnrollToken) error
	ListEnrollTokens(ctx context.Context, tenantID int64) ([]EnrollToken, error)
	DeleteEnrollToken(ctx context.Context, by Actor, tenantID, id int64) error
	// EnrollNode spends the enrollment token with the given hash (once, and
	// only before it expires) and creates n in the token's tenant; n.ID,
	// n.TenantID and n.EnrolledAt are set. A used, expired or unknown token
	// gives ErrEnrollTokenSpent.
	EnrollNode(ctx context.Context, tokenHash []byte, now time.Time, n *Node) error
	NodeByCredential(ctx context.Context, hash []byte) (Node, error)
	GetNode(ctx context.Context, tenantID int64, id string) (Node, error)
	ListNodes(ctx context.Context, tenantID int64) ([]Node, error)
	RevokeNode(ctx context.Context, by Actor, tenantID int64, id string, at time.Time) error
	// CountNodes counts the nodes of every tenant by state at now.
	CountNodes(ctx context.Context, now time.Time) (map[NodeState]int, error)
}

// EnrollToken admits one node to a tenant, once, before ExpiresAt.
type EnrollToken struct {
	ID        int64      `json:"id"`
	TenantID  int64      `json:"tenant_id"`
	Name      string     `json:"name"`
	Hash      []byte     `json:"-"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
	NodeID    string     `json:"node_id,omitempty"`
}

// Node is one enrolled palisade-agent and its last reported health.
type Node struct {
	ID             string     `json:"id"`
	TenantID       int64      `json:"tenant_id"`
	Name           string     `json:"name"`
	Hostname       string     `json:"hostname"`
	CredentialHash []byte     `json:"-"`
	EnrolledAt     time.Time  `json:"enrolled_at"`
	LastSeenAt     *time.Time `json:"last_seen_at,omitempty"`
	LastIP         string     `json:"last_ip,omitempty"`
	AgentVersion   string     `json:"agent_version"`
	RulesetVersion int64      `json:"ruleset_version"`
	SpoolEvents    int64      `json:"spool_events"`
	SpoolBytes     int64      `json:"spool_bytes"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
}

// NodeState is a node's state as the console and the metrics show it.
type NodeState string

const (
	NodeNew     NodeState = "new"     // enrolled, never reported
	NodeActive  NodeState = "active"  // reported within NodeStaleAfter
	NodeStale   NodeState = "stale"   // silent for longer
	NodeRevoked NodeState = "revoked" // credential refused
)

// NodeStaleAfter is how long a node may stay silent and still be active.
// Nodes upload at least once a minute (counters), so five minutes of
// silence means something is wrong.
const NodeStaleAfter = 5 * time.Minute

// State is n's state at now.
func (n *Node) State(now time.Time) NodeState {
	switch {
	case n.RevokedAt != nil:
		return NodeRevoked
	case n.LastSeenAt == nil:
		return NodeNew
	case now.Sub(*n.LastSeenAt) > NodeStaleAfter:
		return NodeStale
	}
	return NodeActive
}

// Audit is the append-only log of changes.
type Audit interface {
	// RecordAudit writes an entry that is not part of a change made
	// through another method (a refused login, for instance).
	RecordAudit(ctx context.Context, tenantID int64, by Actor, e AuditEntry) error
	ListAudit(ctx context.Context, tenantID int64, f AuditFilter) ([]AuditEntry, error)
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID         int64          `json:"id"`
	TenantID   int64          `json:"tenant_id"`
	Time       time.Time      `json:"time"`
	ActorKind  ActorKind      `json:"actor_kind"`
	ActorID    string         `json:"actor_id"`
	ActorName  string         `json:"actor_name"`
	ClientIP   string         `json:"client_ip"`
	Action     string         `json:"action"` // app.create, user.update, node.revoke, ...
	ObjectKind string         `json:"object_kind"`
	ObjectID   string         `json:"object_id"`
	Details    map[string]any `json:"details,omitempty"`
}

// AuditFilter selects audit entries, newest first. BeforeID pages: only
// entries with a smaller id are returned.
type AuditFilter struct {
	Action   string
	BeforeID int64
	Limit    int
}
