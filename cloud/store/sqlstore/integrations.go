package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/palisadewaf/palisade/cloud/store"
)

const integrationCols = "id, tenant_id, name, kind, url, secret, created_at"

func scanIntegration(row interface{ Scan(...any) error }) (store.Integration, error) {
	var i store.Integration
	var created int64
	if err := row.Scan(&i.ID, &i.TenantID, &i.Name, &i.Kind, &i.URL, &i.Secret, &created); err != nil {
		return store.Integration{}, mapErr(err)
	}
	i.CreatedAt = fromTS(created)
	return i, nil
}

// CreateIntegration implements store.Integrations.
func (s *Store) CreateIntegration(ctx context.Context, by store.Actor, i *store.Integration) error {
	i.CreatedAt = s.now().UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO integrations (tenant_id, name, kind, url, secret, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), i.TenantID, i.Name, i.Kind, i.URL, i.Secret, ts(i.CreatedAt)).Scan(&i.ID)
		if err != nil {
			return mapErr(err)
		}
		// The URL may carry a token (Slack's do): the audit log names the
		// integration, not where it points.
		return s.audit(ctx, tx, i.TenantID, by, "integration.create", "integration", strconv.FormatInt(i.ID, 10),
			map[string]any{"name": i.Name, "kind": i.Kind})
	})
	if err != nil {
		return fmt.Errorf("create integration %q: %w", i.Name, err)
	}
	return nil
}

// GetIntegration implements store.Integrations.
func (s *Store) GetIntegration(ctx context.Context, tenantID, id int64) (store.Integration, error) {
	return scanIntegration(s.r.QueryRowContext(ctx, s.q("SELECT "+integrationCols+" FROM integrations WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// ListIntegrations implements store.Integrations.
func (s *Store) ListIntegrations(ctx context.Context, tenantID int64) ([]store.Integration, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+integrationCols+" FROM integrations WHERE tenant_id = ? ORDER BY id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list integrations: %w", mapErr(err))
	}
	defer rows.Close()
	out := []store.Integration{}
	for rows.Next() {
		i, err := scanIntegration(rows)
		if err != nil {
			return nil, fmt.Errorf("list integrations: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// DeleteIntegration implements store.Integrations.
func (s *Store) DeleteIntegration(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM deliveries WHERE tenant_id = ? AND integration_id = ?"), tenantID, id); err != nil {
			return fmt.Errorf("delete integration %d: %w", id, mapErr(err))
		}
		if err := checkAffected(tx.ExecContext(ctx, s.q("DELETE FROM integrations WHERE tenant_id = ? AND id = ?"), tenantID, id)); err != nil {
			return fmt.Errorf("delete integration %d: %w", id, err)
		}
		return s.audit(ctx, tx, tenantID, by, "integration.delete", "integration", strconv.FormatInt(id, 10), nil)
	})
}

// CreateDelivery implements store.Integrations.
func (s *Store) CreateDelivery(ctx context.Context, d *store.Delivery) error {
	err := s.w.QueryRowContext(ctx, s.q(`INSERT INTO deliveries (tenant_id, integration_id, event, state, attempts, http_status, error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		d.TenantID, d.IntegrationID, d.Event, d.State, d.Attempts, d.HTTPStatus, d.Error, ts(d.CreatedAt), ts(d.UpdatedAt)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("log delivery to integration %d: %w", d.IntegrationID, mapErr(err))
	}
	return nil
}

// UpdateDelivery implements store.Integrations.
func (s *Store) UpdateDelivery(ctx context.Context, d *store.Delivery) error {
	err := checkAffected(s.w.ExecContext(ctx, s.q(`UPDATE deliveries SET state = ?, attempts = ?, http_status = ?, error = ?, updated_at = ?
		WHERE tenant_id = ? AND id = ?`), d.State, d.Attempts, d.HTTPStatus, d.Error, ts(d.UpdatedAt), d.TenantID, d.ID))
	if err != nil {
		return fmt.Errorf("log delivery %d: %w", d.ID, err)
	}
	return nil
}

// ListDeliveries implements store.Integrations.
func (s *Store) ListDeliveries(ctx context.Context, tenantID, integrationID int64, limit int) ([]store.Delivery, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, tenant_id, integration_id, event, state, attempts, http_status, error, created_at, updated_at
		FROM deliveries WHERE tenant_id = ? AND integration_id = ? ORDER BY id DESC LIMIT ?`), tenantID, integrationID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", mapErr(err))
	}
	defer rows.Close()
	out := []store.Delivery{}
	for rows.Next() {
		var d store.Delivery
		var created, updated int64
		if err := rows.Scan(&d.ID, &d.TenantID, &d.IntegrationID, &d.Event, &d.State, &d.Attempts, &d.HTTPStatus, &d.Error, &created, &updated); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.CreatedAt, d.UpdatedAt = fromTS(created), fromTS(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}
