package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/palisadewaf/palisade/cloud/store"
)

// RecordAudit implements store.Audit.
func (s *Store) RecordAudit(ctx context.Context, tenantID int64, by store.Actor, e store.AuditEntry) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.audit(ctx, tx, tenantID, by, e.Action, e.ObjectKind, e.ObjectID, e.Details)
	})
}

// ListAudit implements store.Audit.
func (s *Store) ListAudit(ctx context.Context, tenantID int64, f store.AuditFilter) ([]store.AuditEntry, error) {
	q := `SELECT id, tenant_id, time, actor_kind, actor_id, actor_name, client_ip, action, object_kind, object_id, details
		FROM audit_log WHERE tenant_id = ?`
	args := []any{tenantID}
	if f.Action != "" {
		q, args = q+" AND action = ?", append(args, f.Action)
	}
	if f.BeforeID > 0 {
		q, args = q+" AND id < ?", append(args, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q, args = q+" ORDER BY id DESC LIMIT ?", append(args, limit)
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		var t int64
		var kind, details string
		if err := rows.Scan(&e.ID, &e.TenantID, &t, &kind, &e.ActorID, &e.ActorName, &e.ClientIP, &e.Action, &e.ObjectKind, &e.ObjectID, &details); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		e.Time, e.ActorKind = fromTS(t), store.ActorKind(kind)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("audit entry %d: decode details: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
