package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/store"
)

// Operations of the IP-entry log.
const (
	opPut = "put"
	opDel = "del"
)

// logIPEntry records, inside tx and after bumpRuleset, that the entry id
// was put or deleted in the tenant's new ruleset version.
func (s *Store) logIPEntry(ctx context.Context, tx *sql.Tx, tenantID, id int64, op string) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO ip_entry_log (tenant_id, version, entry_id, op)
		SELECT tenant_id, version, ?, ? FROM ruleset_versions WHERE tenant_id = ?`), id, op, tenantID)
	if err != nil {
		return fmt.Errorf("log ip entry %d: %w", id, mapErr(err))
	}
	return nil
}

// logImport records every entry a bulk import wrote (they all carry the
// import's time as created_at) in one statement.
func (s *Store) logImport(ctx context.Context, tx *sql.Tx, tenantID int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO ip_entry_log (tenant_id, version, entry_id, op)
		SELECT e.tenant_id, v.version, e.id, 'put' FROM ip_entries e JOIN ruleset_versions v ON v.tenant_id = e.tenant_id
		WHERE e.tenant_id = ? AND e.created_at = ?`), tenantID, ts(at))
	if err != nil {
		return fmt.Errorf("log imported ip entries: %w", mapErr(err))
	}
	return nil
}

// IPEntryChanges implements store.IPListDeltas.
func (s *Store) IPEntryChanges(ctx context.Context, tenantID, from, to int64, max int, now time.Time) (store.IPEntryDelta, bool, error) {
	var d store.IPEntryDelta
	var since int64
	err := s.r.QueryRowContext(ctx, s.q("SELECT delta_since FROM ruleset_versions WHERE tenant_id = ?"), tenantID).Scan(&since)
	if err == sql.ErrNoRows || (err == nil && from < since) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("ip entry changes: %w", mapErr(err))
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT entry_id, op FROM ip_entry_log WHERE tenant_id = ? AND version > ? AND version <= ?
		ORDER BY version LIMIT ?`), tenantID, from, to, max+1)
	if err != nil {
		return d, false, fmt.Errorf("ip entry changes: %w", mapErr(err))
	}
	last := map[int64]string{} // entry id -> its last operation
	n := 0
	for rows.Next() {
		var id int64
		var op string
		if err := rows.Scan(&id, &op); err != nil {
			rows.Close()
			return d, false, fmt.Errorf("ip entry changes: %w", err)
		}
		last[id] = op
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return d, false, fmt.Errorf("ip entry changes: %w", err)
	}
	if n > max {
		return d, false, nil
	}
	var put []int64
	for id, op := range last {
		if op == opPut {
			put = append(put, id)
		} else {
			d.Deleted = append(d.Deleted, id)
		}
	}
	slices.Sort(put)
	found := map[int64]bool{}
	const chunk = 500
	for start := 0; start < len(put); start += chunk {
		part := put[start:min(start+chunk, len(put))]
		args := []any{tenantID}
		for _, id := range part {
			args = append(args, id)
		}
		rows, err := s.r.QueryContext(ctx, s.q("SELECT "+ipEntryCols+" FROM ip_entries WHERE tenant_id = ? AND id IN (?"+
			strings.Repeat(", ?", len(part)-1)+") ORDER BY id"), args...)
		if err != nil {
			return d, false, fmt.Errorf("ip entry changes: %w", mapErr(err))
		}
		for rows.Next() {
			e, err := scanIPEntry(rows)
			if err != nil {
				rows.Close()
				return d, false, fmt.Errorf("ip entry changes: %w", err)
			}
			if !e.Expires.IsZero() && !e.Expires.After(now) {
				continue // expired: deleted, as far as the node is concerned
			}
			found[e.ID] = true
			d.Put = append(d.Put, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, false, fmt.Errorf("ip entry changes: %w", err)
		}
	}
	for _, id := range put {
		if !found[id] {
			d.Deleted = append(d.Deleted, id)
		}
	}
	slices.Sort(d.Deleted)
	return d, true, nil
}
