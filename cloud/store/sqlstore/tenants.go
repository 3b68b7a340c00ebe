package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/palisadewaf/palisade/cloud/store"
)

// CreateTenant implements store.Tenants.
func (s *Store) CreateTenant(ctx context.Context, by store.Actor, name string) (store.Tenant, error) {
	t := store.Tenant{Name: name, CreatedAt: s.now().UTC()}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q("INSERT INTO tenants (name, created_at) VALUES (?, ?) RETURNING id"),
			name, ts(t.CreatedAt)).Scan(&t.ID)
		if err != nil {
			return mapErr(err)
		}
		if err := s.createDefaultTriggers(ctx, tx, t.ID, t.CreatedAt); err != nil {
			return err
		}
		return s.audit(ctx, tx, t.ID, by, "tenant.create", "tenant", strconv.FormatInt(t.ID, 10), map[string]any{"name": name})
	})
	if err != nil {
		return store.Tenant{}, fmt.Errorf("create tenant %q: %w", name, err)
	}
	return t, nil
}

const tenantCols = "id, name, created_at"

func scanTenant(row interface{ Scan(...any) error }) (store.Tenant, error) {
	var t store.Tenant
	var created int64
	if err := row.Scan(&t.ID, &t.Name, &created); err != nil {
		return store.Tenant{}, mapErr(err)
	}
	t.CreatedAt = fromTS(created)
	return t, nil
}

// GetTenant implements store.Tenants.
func (s *Store) GetTenant(ctx context.Context, id int64) (store.Tenant, error) {
	return scanTenant(s.r.QueryRowContext(ctx, s.q("SELECT "+tenantCols+" FROM tenants WHERE id = ?"), id))
}

// GetTenantByName implements store.Tenants.
func (s *Store) GetTenantByName(ctx context.Context, name string) (store.Tenant, error) {
	return scanTenant(s.r.QueryRowContext(ctx, s.q("SELECT "+tenantCols+" FROM tenants WHERE name = ?"), name))
}

// ListTenants implements store.Tenants.
func (s *Store) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+tenantCols+" FROM tenants ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []store.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
