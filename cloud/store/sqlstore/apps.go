package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisadewaf/palisade/cloud/store"
)

const appCols = "id, tenant_id, name, description, filtration_mode, hosts, created_at, updated_at"

func scanApp(row interface{ Scan(...any) error }) (store.App, error) {
	var a store.App
	var hosts string
	var created, updated int64
	if err := row.Scan(&a.ID, &a.TenantID, &a.Name, &a.Description, &a.FiltrationMode, &hosts, &created, &updated); err != nil {
		return store.App{}, mapErr(err)
	}
	if err := json.Unmarshal([]byte(hosts), &a.Hosts); err != nil {
		return store.App{}, fmt.Errorf("app %d: decode hosts: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = fromTS(created), fromTS(updated)
	return a, nil
}

func encodeHosts(h []string) string {
	if h == nil {
		h = []string{}
	}
	b, _ := json.Marshal(h) // a []string always encodes
	return string(b)
}

// CreateApp implements store.Apps.
func (s *Store) CreateApp(ctx context.Context, by store.Actor, a *store.App) error {
	now := s.now().UTC()
	a.CreatedAt, a.UpdatedAt = now, now
	if a.Hosts == nil {
		a.Hosts = []string{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO apps (tenant_id, name, description, filtration_mode, hosts, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			a.TenantID, a.Name, a.Description, a.FiltrationMode, encodeHosts(a.Hosts), ts(now), ts(now)).Scan(&a.ID)
		if err != nil {
			return mapErr(err)
		}
		return s.audit(ctx, tx, a.TenantID, by, "app.create", "app", strconv.FormatInt(a.ID, 10),
			map[string]any{"name": a.Name, "filtration_mode": a.FiltrationMode, "hosts": a.Hosts})
	})
	if err != nil {
		return fmt.Errorf("create app %q: %w", a.Name, err)
	}
	return nil
}

// GetApp implements store.Apps.
func (s *Store) GetApp(ctx context.Context, tenantID, id int64) (store.App, error) {
	return scanApp(s.r.QueryRowContext(ctx, s.q("SELECT "+appCols+" FROM apps WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// ListApps implements store.Apps.
func (s *Store) ListApps(ctx context.Context, tenantID int64) ([]store.App, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+appCols+" FROM apps WHERE tenant_id = ? ORDER BY id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list apps: %w", err)
	}
	defer rows.Close()
	out := []store.App{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, fmt.Errorf("list apps: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateApp implements store.Apps.
func (s *Store) UpdateApp(ctx context.Context, by store.Actor, tenantID, id int64, up store.AppUpdate) (store.App, error) {
	var sets []string
	var args []any
	details := map[string]any{}
	if up.Name != nil {
		sets, args, details["name"] = append(sets, "name = ?"), append(args, *up.Name), *up.Name
	}
	if up.Description != nil {
		sets, args, details["description"] = append(sets, "description = ?"), append(args, *up.Description), *up.Description
	}
	if up.FiltrationMode != nil {
		sets, args, details["filtration_mode"] = append(sets, "filtration_mode = ?"), append(args, *up.FiltrationMode), *up.FiltrationMode
	}
	if up.Hosts != nil {
		sets, args, details["hosts"] = append(sets, "hosts = ?"), append(args, encodeHosts(*up.Hosts)), *up.Hosts
	}
	var a store.App
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(sets) > 0 {
			sets = append(sets, "updated_at = ?")
			args = append(args, ts(s.now()), tenantID, id)
			if err := checkAffected(tx.ExecContext(ctx, s.q("UPDATE apps SET "+strings.Join(sets, ", ")+" WHERE tenant_id = ? AND id = ?"), args...)); err != nil {
				return err
			}
			if err := s.audit(ctx, tx, tenantID, by, "app.update", "app", strconv.FormatInt(id, 10), details); err != nil {
				return err
			}
		}
		var err error
		a, err = scanApp(tx.QueryRowContext(ctx, s.q("SELECT "+appCols+" FROM apps WHERE tenant_id = ? AND id = ?"), tenantID, id))
		return err
	})
	if err != nil {
		return store.App{}, fmt.Errorf("update app %d: %w", id, err)
	}
	return a, nil
}

// DeleteApp implements store.Apps. Events of the application stay.
func (s *Store) DeleteApp(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, s.q("SELECT name FROM apps WHERE tenant_id = ? AND id = ?"), tenantID, id).Scan(&name); err != nil {
			return fmt.Errorf("delete app %d: %w", id, mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM apps WHERE id = ?"), id); err != nil {
			return fmt.Errorf("delete app %d: %w", id, mapErr(err))
		}
		return s.audit(ctx, tx, tenantID, by, "app.delete", "app", strconv.FormatInt(id, 10), map[string]any{"name": name})
	})
}
