package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is one permission. A session has every scope of its user's role;
// an API token has the scopes it was created with, and can use only those
// its user's role still grants (demoting a user demotes their tokens).
type Scope string

const (
	ScopeUsersRead   Scope = "users:read"
	ScopeUsersWrite  Scope = "users:write"
	ScopeTokensWrite Scope = "tokens:write" // create and revoke one's own API tokens
	ScopeAppsRead    Scope = "apps:read"
	ScopeAppsWrite   Scope = "apps:write"
	ScopeNodesRead   Scope = "nodes:read"
	ScopeNodesWrite  Scope = "nodes:write"  // revoke nodes
	ScopeNodesEnroll Scope = "nodes:enroll" // create enrollment tokens
	ScopeEventsRead  Scope = "events:read"
	ScopeAuditRead   Scope = "audit:read"
)

// Scopes lists every scope, in a stable order.
var Scopes = []Scope{
	ScopeUsersRead, ScopeUsersWrite, ScopeTokensWrite,
	ScopeAppsRead, ScopeAppsWrite,
	ScopeNodesRead, ScopeNodesWrite, ScopeNodesEnroll,
	ScopeEventsRead, ScopeAuditRead,
}

// Role is a user's role in their tenant.
type Role string

const (
	// RoleAdmin manages everything of the tenant, users included.
	RoleAdmin Role = "admin"
	// RoleAnalyst reads everything and tunes applications (and, with the
	// rules work, rules), but manages neither users nor nodes.
	RoleAnalyst Role = "analyst"
	// RoleReadOnly reads applications, nodes and events, and changes
	// nothing (not even API tokens of its own: an admin issues those).
	RoleReadOnly Role = "read-only"
	// RoleDeploy enrolls nodes: what an installation pipeline needs.
	RoleDeploy Role = "deploy"
)

// Roles lists the roles.
var Roles = []Role{RoleAdmin, RoleAnalyst, RoleReadOnly, RoleDeploy}

var roleScopes = map[Role][]Scope{
	RoleAdmin:    Scopes,
	RoleAnalyst:  {ScopeTokensWrite, ScopeAppsRead, ScopeAppsWrite, ScopeNodesRead, ScopeEventsRead, ScopeAuditRead},
	RoleReadOnly: {ScopeAppsRead, ScopeNodesRead, ScopeEventsRead},
	RoleDeploy:   {ScopeTokensWrite, ScopeAppsRead, ScopeNodesRead, ScopeNodesEnroll},
}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if _, ok := roleScopes[r]; !ok {
		return "", fmt.Errorf("unknown role %q (want one of %s)", s, joinRoles())
	}
	return r, nil
}

func joinRoles() string {
	var names []string
	for _, r := range Roles {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// ScopesOf returns the scopes a role grants (nil for an unknown role).
func ScopesOf(r Role) []Scope { return roleScopes[r] }

// ParseScopes checks scope names.
func ParseScopes(names []string) ([]Scope, error) {
	out := make([]Scope, 0, len(names))
	for _, n := range names {
		if !slices.Contains(Scopes, Scope(n)) {
			return nil, fmt.Errorf("unknown scope %q", n)
		}
		if !slices.Contains(out, Scope(n)) {
			out = append(out, Scope(n))
		}
	}
	return out, nil
}

// Grant returns the scopes of want that role grants, and the ones it does
// not.
func Grant(role Role, want []Scope) (granted, refused []Scope) {
	have := roleScopes[role]
	for _, s := range want {
		if slices.Contains(have, s) {
			granted = append(granted, s)
		} else {
			refused = append(refused, s)
		}
	}
	return granted, refused
}
