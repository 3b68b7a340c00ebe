package store

import (
	"context"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Rules are a tenant's rules and IP-list entries, and the version of its
// ruleset. Every change to either bumps the version in the same
// transaction, so that a node long-polling the version sees each change
// exactly when it is committed, whichever replica made it.
type Rules interface {
	// CreateRule stores r.Rule (validated by the caller); r.ID is set.
	CreateRule(ctx context.Context, by Actor, r *Rule) error
	GetRule(ctx context.Context, tenantID, id int64) (Rule, error)
	ListRules(ctx context.Context, tenantID int64) ([]Rule, error)
	// ReplaceRule changes kind, application and body of a rule.
	ReplaceRule(ctx context.Context, by Actor, r *Rule) error
	DeleteRule(ctx context.Context, by Actor, tenantID, id int64) error

	// CreateIPEntry stores e.IPEntry; e.ID is set. ErrConflict when the
	// tenant has an entry for the same prefix and scope.
	CreateIPEntry(ctx context.Context, by Actor, e *IPEntry) error
	// ListIPEntries lists the tenant's entries, those expired before now
	// left out.
	ListIPEntries(ctx context.Context, tenantID int64, now time.Time) ([]IPEntry, error)
	DeleteIPEntry(ctx context.Context, by Actor, tenantID, id int64) error
	// ImportIPEntries stores the entries next yields, until it returns
	// io.EOF, in one transaction with one version bump: all of them or,
	// when next or a write fails, none. An entry for a prefix and scope
	// the tenant already has replaces it. It returns how many were stored.
	ImportIPEntries(ctx context.Context, by Actor, tenantID int64, next func() (*IPEntry, error)) (int, error)

	// RulesetVersion is the tenant's current ruleset version (0: no rule
	// or entry was ever written).
	RulesetVersion(ctx context.Context, tenantID int64) (int64, error)
}

// Rule is one rule of a tenant, in the wire form nodes receive.
type Rule struct {
	TenantID int64 `json:"tenant_id"`
	apiv1.Rule
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IPEntry is one IP-list entry of a tenant, in the wire form nodes receive
// (its Created is when it was stored).
type IPEntry struct {
	TenantID int64 `json:"tenant_id"`
	apiv1.IPEntry
}
