package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// bumpRuleset moves the tenant's ruleset version on, inside the
// transaction of the change that needs it.
func (s *Store) bumpRuleset(ctx context.Context, tx *sql.Tx, tenantID int64) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO ruleset_versions (tenant_id, version, changed_at) VALUES (?, 1, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET version = ruleset_versions.version + 1, changed_at = excluded.changed_at`),
		tenantID, ts(s.now()))
	if err != nil {
		return fmt.Errorf("bump ruleset version: %w", mapErr(err))
	}
	return nil
}

// RulesetVersion implements store.Rules.
func (s *Store) RulesetVersion(ctx context.Context, tenantID int64) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, s.q("SELECT version FROM ruleset_versions WHERE tenant_id = ?"), tenantID).Scan(&v)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ruleset version of tenant %d: %w", tenantID, mapErr(err))
	}
	return v, nil
}

const ruleCols = "id, tenant_id, body, created_at, updated_at"

func scanRule(row interface{ Scan(...any) error }) (store.Rule, error) {
	var r store.Rule
	var body string
	var created, updated int64
	var id int64
	if err := row.Scan(&id, &r.TenantID, &body, &created, &updated); err != nil {
		return store.Rule{}, mapErr(err)
	}
	if err := json.Unmarshal([]byte(body), &r.Rule); err != nil {
		return store.Rule{}, fmt.Errorf("rule %d: decode: %w", id, err)
	}
	r.ID, r.CreatedAt, r.UpdatedAt = id, fromTS(created), fromTS(updated)
	return r, nil
}

func encodeRule(r apiv1.Rule) (string, error) {
	r.ID = 0 // the id lives in its column
	b, err := json.Marshal(r)
	return string(b), err
}

// CreateRule implements store.Rules.
func (s *Store) CreateRule(ctx context.Context, by store.Actor, r *store.Rule) error {
	body, err := encodeRule(r.Rule)
	if err != nil {
		return fmt.Errorf("create rule: encode: %w", err)
	}
	now := s.now().UTC()
	r.CreatedAt, r.UpdatedAt = now, now
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO rules (tenant_id, app_id, kind, body, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), r.TenantID, r.AppID, string(r.Kind), body, ts(now), ts(now)).Scan(&r.ID)
		if err != nil {
			return mapErr(err)
		}
		if err := s.bumpRuleset(ctx, tx, r.TenantID); err != nil {
			return err
		}
		return s.audit(ctx, tx, r.TenantID, by, "rule.create", "rule", strconv.FormatInt(r.ID, 10),
			map[string]any{"kind": r.Kind, "app_id": r.AppID})
	})
	if err != nil {
		return fmt.Errorf("create %s rule: %w", r.Kind, err)
	}
	return nil
}

// GetRule implements store.Rules.
func (s *Store) GetRule(ctx context.Context, tenantID, id int64) (store.Rule, error) {
	return scanRule(s.r.QueryRowContext(ctx, s.q("SELECT "+ruleCols+" FROM rules WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// ListRules implements store.Rules.
func (s *Store) ListRules(ctx context.Context, tenantID int64) ([]store.Rule, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+ruleCols+" FROM rules WHERE tenant_id = ? ORDER BY id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", mapErr(err))
	}
	defer rows.Close()
	out := []store.Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReplaceRule implements store.Rules.
func (s *Store) ReplaceRule(ctx context.Context, by store.Actor, r *store.Rule) error {
	body, err := encodeRule(r.Rule)
	if err != nil {
		return fmt.Errorf("replace rule %d: encode: %w", r.ID, err)
	}
	now := s.now().UTC()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, s.q("UPDATE rules SET app_id = ?, kind = ?, body = ?, updated_at = ? WHERE tenant_id = ? AND id = ?"),
			r.AppID, string(r.Kind), body, ts(now), r.TenantID, r.ID)); err != nil {
			return err
		}
		if err := s.bumpRuleset(ctx, tx, r.TenantID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, r.TenantID, by, "rule.update", "rule", strconv.FormatInt(r.ID, 10),
			map[string]any{"kind": r.Kind, "app_id": r.AppID}); err != nil {
			return err
		}
		got, err := scanRule(tx.QueryRowContext(ctx, s.q("SELECT "+ruleCols+" FROM rules WHERE id = ?"), r.ID))
		*r = got
		return err
	})
	if err != nil {
		return fmt.Errorf("replace rule %d: %w", r.ID, err)
	}
	return nil
}

// DeleteRule implements store.Rules.
func (s *Store) DeleteRule(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, s.q("DELETE FROM rules WHERE tenant_id = ? AND id = ?"), tenantID, id)); err != nil {
			return fmt.Errorf("delete rule %d: %w", id, err)
		}
		if err := s.bumpRuleset(ctx, tx, tenantID); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, by, "rule.delete", "rule", strconv.FormatInt(id, 10), nil)
	})
}

const ipEntryCols = "id, tenant_id, list, prefix, scope, expires_at, reason, origin, trigger_id, created_at"

func scanIPEntry(row interface{ Scan(...any) error }) (store.IPEntry, error) {
	var e store.IPEntry
	var prefix, scope string
	var expires sql.NullInt64
	var created int64
	if err := row.Scan(&e.ID, &e.TenantID, &e.List, &prefix, &scope, &expires, &e.Reason, &e.Origin, &e.TriggerID, &created); err != nil {
		return store.IPEntry{}, mapErr(err)
	}
	p, err := netip.ParsePrefix(prefix)
	if err != nil {
		return store.IPEntry{}, fmt.Errorf("ip entry %d: %w", e.ID, err)
	}
	e.Prefix = p
	if err := json.Unmarshal([]byte(scope), &e.AppIDs); err != nil {
		return store.IPEntry{}, fmt.Errorf("ip entry %d: decode scope: %w", e.ID, err)
	}
	if len(e.AppIDs) == 0 {
		e.AppIDs = nil
	}
	if t := fromNullTS(expires); t != nil {
		e.Expires = *t
	}
	e.Created = fromTS(created)
	return e, nil
}

// entryArgs are the column values of e after tenant_id, and its scope
// (sorted, without duplicates) for the audit log.
func entryArgs(e *store.IPEntry) ([]any, []int64) {
	scope := slices.Clone(e.AppIDs)
	slices.Sort(scope)
	scope = slices.Compact(scope)
	if scope == nil {
		scope = []int64{}
	}
	sc, _ := json.Marshal(scope) // a []int64 always encodes
	var expires *time.Time
	if !e.Expires.IsZero() {
		expires = &e.Expires
	}
	return []any{e.List, e.Prefix.String(), string(sc), tsPtr(expires), e.Reason, e.Origin, e.TriggerID, ts(e.Created)}, scope
}

const insertIPEntry = `INSERT INTO ip_entries (tenant_id, list, prefix, scope, expires_at, reason, origin, trigger_id, created_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateIPEntry implements store.Rules.
func (s *Store) CreateIPEntry(ctx context.Context, by store.Actor, e *store.IPEntry) error {
	e.Created = s.now().UTC()
	args, scope := entryArgs(e)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(insertIPEntry+" RETURNING id"), append([]any{e.TenantID}, args...)...).Scan(&e.ID)
		if err != nil {
			return mapErr(err)
		}
		if err := s.bumpRuleset(ctx, tx, e.TenantID); err != nil {
			return err
		}
		if err := s.logIPEntry(ctx, tx, e.TenantID, e.ID, opPut); err != nil {
			return err
		}
		return s.audit(ctx, tx, e.TenantID, by, "ip_entry.create", "ip_entry", strconv.FormatInt(e.ID, 10),
			map[string]any{"list": e.List, "prefix": e.Prefix.String(), "app_ids": scope, "origin": e.Origin})
	})
	if err != nil {
		return fmt.Errorf("create %s entry %s: %w", e.List, e.Prefix, err)
	}
	return nil
}

// ListIPEntries implements store.Rules.
func (s *Store) ListIPEntries(ctx context.Context, tenantID int64, now time.Time) ([]store.IPEntry, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+ipEntryCols+" FROM ip_entries WHERE tenant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY id"),
		tenantID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("list ip entries: %w", mapErr(err))
	}
	defer rows.Close()
	out := []store.IPEntry{}
	for rows.Next() {
		e, err := scanIPEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("list ip entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// DeleteIPEntry implements store.Rules.
func (s *Store) DeleteIPEntry(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, s.q("DELETE FROM ip_entries WHERE tenant_id = ? AND id = ?"), tenantID, id)); err != nil {
			return fmt.Errorf("delete ip entry %d: %w", id, err)
		}
		if err := s.bumpRuleset(ctx, tx, tenantID); err != nil {
			return err
		}
		if err := s.logIPEntry(ctx, tx, tenantID, id, opDel); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, by, "ip_entry.delete", "ip_entry", strconv.FormatInt(id, 10), nil)
	})
}

// ImportIPEntries implements store.Rules.
func (s *Store) ImportIPEntries(ctx context.Context, by store.Actor, tenantID int64, next func() (*store.IPEntry, error)) (int, error) {
	n := 0
	now := s.now().UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(insertIPEntry+` ON CONFLICT (tenant_id, prefix, scope) DO UPDATE SET
			list = excluded.list, expires_at = excluded.expires_at, reason = excluded.reason, origin = excluded.origin,
			trigger_id = excluded.trigger_id, created_at = excluded.created_at`))
		if err != nil {
			return mapErr(err)
		}
		defer stmt.Close()
		for {
			e, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			e.Created = now
			args, _ := entryArgs(e)
			if _, err := stmt.ExecContext(ctx, append([]any{tenantID}, args...)...); err != nil {
				return fmt.Errorf("entry %d (%s): %w", n+1, e.Prefix, mapErr(err))
			}
			n++
		}
		if err := s.bumpRuleset(ctx, tx, tenantID); err != nil {
			return err
		}
		if err := s.logImport(ctx, tx, tenantID, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, tenantID, by, "ip_entry.import", "ip_entry", "", map[string]any{"entries": n})
	})
	if err != nil {
		return 0, fmt.Errorf("import ip entries: %w", err)
	}
	return n, nil
}
