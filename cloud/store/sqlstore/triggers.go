package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// triggerBody is what the body column of triggers holds.
type triggerBody struct {
	Condition store.TriggerCondition `json:"condition"`
	Action    store.TriggerAction    `json:"action"`
}

const triggerCols = "id, tenant_id, name, enabled, app_id, body, created_at, updated_at"

func scanTrigger(row interface{ Scan(...any) error }) (store.Trigger, error) {
	var t store.Trigger
	var enabled int
	var body string
	var created, updated int64
	if err := row.Scan(&t.ID, &t.TenantID, &t.Name, &enabled, &t.AppID, &body, &created, &updated); err != nil {
		return store.Trigger{}, mapErr(err)
	}
	var b triggerBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		return store.Trigger{}, fmt.Errorf("trigger %d: decode: %w", t.ID, err)
	}
	t.Enabled, t.Condition, t.Action = enabled != 0, b.Condition, b.Action
	t.CreatedAt, t.UpdatedAt = fromTS(created), fromTS(updated)
	return t, nil
}

func encodeTrigger(t *store.Trigger) string {
	b, _ := json.Marshal(triggerBody{t.Condition, t.Action}) // plain structs always encode
	return string(b)
}

func (s *Store) insertTrigger(ctx context.Context, tx *sql.Tx, t *store.Trigger) error {
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO triggers (tenant_id, name, enabled, app_id, body, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		t.TenantID, t.Name, b2i(t.Enabled), t.AppID, encodeTrigger(t), ts(t.CreatedAt), ts(t.UpdatedAt)).Scan(&t.ID)
	return mapErr(err)
}

// createDefaultTriggers gives a new tenant store.DefaultTriggers, inside
// the transaction that creates it.
func (s *Store) createDefaultTriggers(ctx context.Context, tx *sql.Tx, tenantID int64, now time.Time) error {
	for _, t := range store.DefaultTriggers() {
		t.TenantID, t.CreatedAt, t.UpdatedAt = tenantID, now, now
		if err := s.insertTrigger(ctx, tx, &t); err != nil {
			return fmt.Errorf("default trigger %q: %w", t.Name, err)
		}
	}
	return nil
}

// CreateTrigger implements store.Triggers.
func (s *Store) CreateTrigger(ctx context.Context, by store.Actor, t *store.Trigger) error {
	now := s.now().UTC()
	t.CreatedAt, t.UpdatedAt = now, now
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertTrigger(ctx, tx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, t.TenantID, by, "trigger.create", "trigger", strconv.FormatInt(t.ID, 10),
			map[string]any{"name": t.Name, "condition": t.Condition.Kind, "action": t.Action.Kind})
	})
	if err != nil {
		return fmt.Errorf("create trigger %q: %w", t.Name, err)
	}
	return nil
}

// GetTrigger implements store.Triggers.
func (s *Store) GetTrigger(ctx context.Context, tenantID, id int64) (store.Trigger, error) {
	return scanTrigger(s.r.QueryRowContext(ctx, s.q("SELECT "+triggerCols+" FROM triggers WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// ListTriggers implements store.Triggers.
func (s *Store) ListTriggers(ctx context.Context, tenantID int64) ([]store.Trigger, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+triggerCols+" FROM triggers WHERE tenant_id = ? ORDER BY id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list triggers: %w", mapErr(err))
	}
	defer rows.Close()
	out := []store.Trigger{}
	for rows.Next() {
		t, err := scanTrigger(rows)
		if err != nil {
			return nil, fmt.Errorf("list triggers: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// ReplaceTrigger implements store.Triggers.
func (s *Store) ReplaceTrigger(ctx context.Context, by store.Actor, t *store.Trigger) error {
	now := s.now().UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, s.q(`UPDATE triggers SET name = ?, enabled = ?, app_id = ?, body = ?, updated_at = ?
			WHERE tenant_id = ? AND id = ?`), t.Name, b2i(t.Enabled), t.AppID, encodeTrigger(t), ts(now), t.TenantID, t.ID)); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, t.TenantID, by, "trigger.update", "trigger", strconv.FormatInt(t.ID, 10),
			map[string]any{"name": t.Name, "enabled": t.Enabled, "condition": t.Condition.Kind, "action": t.Action.Kind}); err != nil {
			return err
		}
		got, err := scanTrigger(tx.QueryRowContext(ctx, s.q("SELECT "+triggerCols+" FROM triggers WHERE id = ?"), t.ID))
		*t = got
		return err
	})
	if err != nil {
		return fmt.Errorf("replace trigger %d: %w", t.ID, err)
	}
	return nil
}

// DeleteTrigger implements store.Triggers. Its firings go with it; the
// entries it made stay until they expire.
func (s *Store) DeleteTrigger(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM trigger_firings WHERE tenant_id = ? AND trigger_id = ?"), tenantID, id); err != nil {
			return fmt.Errorf("delete trigger %d: %w", id, mapErr(err))
		}
		if err := checkAffected(tx.ExecContext(ctx, s.q("DELETE FROM triggers WHERE tenant_id = ? AND id = ?"), tenantID, id)); err != nil {
			return fmt.Errorf("delete trigger %d: %w", id, err)
		}
		return s.audit(ctx, tx, tenantID, by, "trigger.delete", "trigger", strconv.FormatInt(id, 10), nil)
	})
}

// storeSourceCounters writes a batch's per-source counters inside its
// ingest transaction.
func (s *Store) storeSourceCounters(ctx context.Context, tx *sql.Tx, b *store.IngestBatch) error {
	if len(b.Sources) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO source_counters (tenant_id, node_id, app_id, minute, src_ip, path, requests, not_found)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (node_id, app_id, minute, src_ip, path) DO UPDATE SET requests = excluded.requests, not_found = excluded.not_found`))
	if err != nil {
		return fmt.Errorf("store source counters: %w", mapErr(err))
	}
	defer stmt.Close()
	for _, c := range b.Sources {
		src, err := netip.ParseAddr(c.SourceIP)
		if err != nil {
			return fmt.Errorf("source counters: source_ip: %w", err)
		}
		a := src.As16()
		if _, err := stmt.ExecContext(ctx, b.TenantID, b.NodeID, c.AppID, ts(c.Minute), a[:], c.Path,
			int64(c.Requests), int64(c.NotFound)); err != nil {
			return fmt.Errorf("store source counters: %w", mapErr(err))
		}
	}
	return nil
}

// CountForTrigger implements store.Triggers. Attack counts come from
// events (experimental detectors left out: they are not trusted to
// block); brute force and forced browsing take the larger of what events
// and per-source counters say, since counters include every request an
// event reports and a node may send no counters at all.
func (s *Store) CountForTrigger(ctx context.Context, t *store.Trigger, sources []netip.Addr, since time.Time) (map[netip.Addr]int64, error) {
	out := map[netip.Addr]int64{}
	if len(sources) == 0 {
		return out, nil
	}
	// One query per chunk of sources: bounded parameters on both databases.
	const chunk = 500
	for start := 0; start < len(sources); start += chunk {
		part := sources[start:min(start+chunk, len(sources))]
		in := "?" + strings.Repeat(", ?", len(part)-1)
		srcArgs := make([]any, len(part))
		for i, a := range part {
			b := a.As16()
			srcArgs[i] = b[:]
		}
		var queries []sourceQuery
		c := t.Condition
		evWhere := "tenant_id = ? AND time >= ? AND experimental = 0 AND src_ip IN (" + in + ")"
		evArgs := append([]any{t.TenantID, ts(since)}, srcArgs...)
		if t.AppID != 0 {
			evWhere += " AND app_id = ?"
			evArgs = append(evArgs, t.AppID)
		}
		ctWhere := "tenant_id = ? AND minute >= ? AND src_ip IN (" + in + ")"
		// A minute counts when it starts in the window: the counters are
		// per minute, and a window shorter than a minute still sees the
		// current one.
		ctArgs := append([]any{t.TenantID, ts(since.Truncate(time.Minute))}, srcArgs...)
		if t.AppID != 0 {
			ctWhere += " AND app_id = ?"
			ctArgs = append(ctArgs, t.AppID)
		}
		switch c.Kind {
		case store.CountAttacks:
			if c.AttackType != "" {
				evWhere += " AND attack_type = ?"
				evArgs = append(evArgs, c.AttackType)
			}
			queries = append(queries, sourceQuery{"SELECT src_ip, COUNT(*) FROM events WHERE " + evWhere + " GROUP BY src_ip", evArgs})
		case store.CountDistinctAttacks:
			queries = append(queries, sourceQuery{"SELECT src_ip, COUNT(*) FROM (SELECT DISTINCT src_ip, app_id, attack_type, point FROM events WHERE " +
				evWhere + ") d GROUP BY src_ip", evArgs})
		case store.CountForcedBrowsing:
			queries = append(queries,
				sourceQuery{"SELECT src_ip, COUNT(*) FROM events WHERE " + evWhere + " AND status = 404 GROUP BY src_ip", evArgs},
				sourceQuery{"SELECT src_ip, CAST(SUM(not_found) AS BIGINT) FROM source_counters WHERE " + ctWhere + " GROUP BY src_ip", ctArgs})
		case store.CountBruteForce:
			under := likeEscape(strings.TrimSuffix(c.Path, "/")) + "/%"
			queries = append(queries,
				sourceQuery{"SELECT src_ip, COUNT(*) FROM events WHERE " + evWhere + ` AND (path = ? OR path LIKE ? ESCAPE '\') GROUP BY src_ip`,
					append(evArgs, c.Path, under)},
				sourceQuery{"SELECT src_ip, CAST(SUM(requests) AS BIGINT) FROM source_counters WHERE " + ctWhere + ` AND (path = ? OR path LIKE ? ESCAPE '\') GROUP BY src_ip`,
					append(ctArgs, c.Path, under)})
		default:
			return nil, fmt.Errorf("trigger %d: unknown condition %q", t.ID, c.Kind)
		}
		for _, sq := range queries {
			if err := s.maxBySource(ctx, sq, out); err != nil {
				return nil, fmt.Errorf("count for trigger %d: %w", t.ID, err)
			}
		}
	}
	return out, nil
}

// HeldSources implements store.Triggers.
func (s *Store) HeldSources(ctx context.Context, t *store.Trigger, sources []netip.Addr, now time.Time) (map[netip.Addr]bool, error) {
	out := map[netip.Addr]bool{}
	const chunk = 500
	for start := 0; start < len(sources); start += chunk {
		part := sources[start:min(start+chunk, len(sources))]
		args := []any{t.ID, t.AppID, ts(now)}
		for _, a := range part {
			b := a.As16()
			args = append(args, b[:])
		}
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT DISTINCT source FROM trigger_firings WHERE trigger_id = ? AND app_id = ? AND until_at > ?
			AND source IN (?`+strings.Repeat(", ?", len(part)-1)+")"), args...)
		if err != nil {
			return nil, fmt.Errorf("held sources of trigger %d: %w", t.ID, mapErr(err))
		}
		for rows.Next() {
			var src []byte
			if err := rows.Scan(&src); err != nil {
				rows.Close()
				return nil, err
			}
			if a, ok := netip.AddrFromSlice(src); ok {
				out[a.Unmap()] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type sourceQuery struct {
	text string
	args []any
}

// maxBySource runs a query answering (src_ip, count) rows and keeps, per
// source, the largest count seen so far in out.
func (s *Store) maxBySource(ctx context.Context, sq sourceQuery, out map[netip.Addr]int64) error {
	rows, err := s.r.QueryContext(ctx, s.q(sq.text), sq.args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var src []byte
		var n sql.NullInt64
		if err := rows.Scan(&src, &n); err != nil {
			return err
		}
		a, ok := netip.AddrFromSlice(src)
		if !ok {
			return fmt.Errorf("source of %d bytes", len(src))
		}
		a = a.Unmap()
		if n.Int64 > out[a] {
			out[a] = n.Int64
		}
	}
	return rows.Err()
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// triggerLockClass is the high half of the PostgreSQL advisory lock keys
// that serialise the firings of one trigger across replicas.
const triggerLockClass = int64(0x7472_6967) << 32 // "trig"

// FireTrigger implements store.Triggers. On PostgreSQL a transaction-scoped
// advisory lock per trigger makes replicas take turns, and the second one
// finds the first one's firing; on SQLite every write transaction is
// already exclusive (BEGIN IMMEDIATE), across processes too.
func (s *Store) FireTrigger(ctx context.Context, t *store.Trigger, f *store.Firing) (bool, error) {
	fired := false
	src := f.Source.Unmap()
	src16 := src.As16()
	f.TenantID, f.TriggerID, f.AppID, f.Action = t.TenantID, t.ID, t.AppID, t.Action.Kind
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d == dialectPostgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", triggerLockClass|(t.ID&0xffffffff)); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		var one int
		err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM trigger_firings WHERE trigger_id = ? AND app_id = ? AND source = ? AND until_at > ?`),
			t.ID, t.AppID, src16[:], ts(f.FiredAt)).Scan(&one)
		if err == nil {
			return nil // fired already, and that firing holds
		}
		if err != sql.ErrNoRows {
			return mapErr(err)
		}
		if t.Action.Kind == store.ActionDeny || t.Action.Kind == store.ActionGray {
			if err := s.listSource(ctx, tx, t, f, src); err != nil {
				return err
			}
		}
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO trigger_firings
			(tenant_id, trigger_id, app_id, source, count, window_start, fired_at, until_at, action, entry_id, note)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			t.TenantID, t.ID, t.AppID, src16[:], f.Count, ts(f.WindowStart), ts(f.FiredAt), ts(f.Until), f.Action, f.EntryID, f.Note).Scan(&f.ID)
		if err != nil {
			return mapErr(err)
		}
		fired = true
		return s.audit(ctx, tx, t.TenantID, store.Actor{Kind: store.ActorSystem, ID: "trigger:" + strconv.FormatInt(t.ID, 10), Name: t.Name},
			"trigger.fire", "trigger", strconv.FormatInt(t.ID, 10),
			map[string]any{"source_ip": src.String(), "app_id": t.AppID, "count": f.Count, "action": f.Action, "entry_id": f.EntryID, "note": f.Note})
	})
	if err != nil {
		return false, fmt.Errorf("fire trigger %d for %s: %w", t.ID, src, err)
	}
	return fired, nil
}

// listSource puts the firing's source on the trigger's list, inside tx:
// a new entry, or the trigger-made entry for that prefix and scope made
// stronger (deny over gray) and longer. It leaves alone a source that an
// allow entry covers and an entry a person made or imported, and says so
// in f.Note.
func (s *Store) listSource(ctx context.Context, tx *sql.Tx, t *store.Trigger, f *store.Firing, src netip.Addr) error {
	prefix := netip.PrefixFrom(src, src.BitLen())
	e := store.IPEntry{TenantID: t.TenantID, IPEntry: apiv1.IPEntry{List: t.Action.Kind, Prefix: prefix, Expires: f.Until.UTC(),
		Reason: fmt.Sprintf("trigger %q: %d in %s", t.Name, f.Count, t.Condition.Window()), Origin: apiv1.OriginTrigger,
		TriggerID: t.ID, Created: f.FiredAt.UTC()}}
	if t.AppID != 0 {
		e.AppIDs = []int64{t.AppID}
	}
	// Only allow entries can stop a firing; deny lists may hold a million.
	rows, err := tx.QueryContext(ctx, s.q("SELECT "+ipEntryCols+" FROM ip_entries WHERE tenant_id = ? AND list = ? AND (expires_at IS NULL OR expires_at > ?)"),
		t.TenantID, apiv1.ListAllow, ts(f.FiredAt))
	if err != nil {
		return mapErr(err)
	}
	var same *store.IPEntry
	for rows.Next() {
		x, err := scanIPEntry(rows)
		if err != nil {
			rows.Close()
			return err
		}
		if !x.Prefix.Contains(src) || !scopeCovers(x.AppIDs, t.AppID) {
			continue
		}
		f.Note = "allowlisted by entry " + strconv.FormatInt(x.ID, 10)
		rows.Close()
		return nil
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// The entry for this prefix and scope, expired or not: there is at
	// most one (unique), and an expired one is simply taken over.
	args, _ := entryArgs(&e)
	x, err := scanIPEntry(tx.QueryRowContext(ctx, s.q("SELECT "+ipEntryCols+" FROM ip_entries WHERE tenant_id = ? AND prefix = ? AND scope = ?"),
		t.TenantID, prefix.String(), args[2]))
	switch {
	case err == nil && !x.Expires.IsZero() && !x.Expires.After(f.FiredAt):
		x.List, x.Origin, x.Expires = e.List, apiv1.OriginTrigger, time.Time{}
		same = &x
	case err == nil:
		same = &x
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	switch {
	case same == nil:
		if err := tx.QueryRowContext(ctx, s.q(insertIPEntry+" RETURNING id"), append([]any{t.TenantID}, args...)...).Scan(&e.ID); err != nil {
			return mapErr(err)
		}
	case same.Origin != apiv1.OriginTrigger:
		f.Note = fmt.Sprintf("entry %d (%s, %s) was made by a person and is left alone", same.ID, same.List, same.Origin)
		return nil
	default:
		if same.List == apiv1.ListDeny {
			e.List = apiv1.ListDeny // never weaken deny to gray
		}
		if !same.Expires.IsZero() && same.Expires.After(e.Expires) {
			e.Expires = same.Expires
		}
		e.ID = same.ID
		if _, err := tx.ExecContext(ctx, s.q("UPDATE ip_entries SET list = ?, expires_at = ?, reason = ?, origin = ?, trigger_id = ?, created_at = ? WHERE id = ?"),
			e.List, ts(e.Expires), e.Reason, apiv1.OriginTrigger, t.ID, ts(e.Created), e.ID); err != nil {
			return mapErr(err)
		}
	}
	f.EntryID = e.ID
	if err := s.bumpRuleset(ctx, tx, t.TenantID); err != nil {
		return err
	}
	return s.logIPEntry(ctx, tx, t.TenantID, e.ID, opPut)
}

// scopeCovers says whether an entry of scope covers application appID
// (0: every application, which only an unscoped entry covers).
func scopeCovers(scope []int64, appID int64) bool {
	if len(scope) == 0 {
		return true
	}
	for _, id := range scope {
		if id == appID {
			return true
		}
	}
	return false
}

const firingCols = "id, tenant_id, trigger_id, app_id, source, count, window_start, fired_at, until_at, action, entry_id, note"

// ListFirings implements store.Triggers.
func (s *Store) ListFirings(ctx context.Context, tenantID, triggerID int64, limit int) ([]store.Firing, error) {
	q, args := "SELECT "+firingCols+" FROM trigger_firings WHERE tenant_id = ?", []any{tenantID}
	if triggerID != 0 {
		q += " AND trigger_id = ?"
		args = append(args, triggerID)
	}
	rows, err := s.r.QueryContext(ctx, s.q(q+" ORDER BY id DESC LIMIT ?"), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list firings: %w", mapErr(err))
	}
	defer rows.Close()
	out := []store.Firing{}
	for rows.Next() {
		var f store.Firing
		var src []byte
		var ws, at, until int64
		if err := rows.Scan(&f.ID, &f.TenantID, &f.TriggerID, &f.AppID, &src, &f.Count, &ws, &at, &until, &f.Action, &f.EntryID, &f.Note); err != nil {
			return nil, fmt.Errorf("list firings: %w", err)
		}
		a, ok := netip.AddrFromSlice(src)
		if !ok {
			return nil, fmt.Errorf("list firings: firing %d: source of %d bytes", f.ID, len(src))
		}
		f.Source, f.WindowStart, f.FiredAt, f.Until = a.Unmap(), fromTS(ws), fromTS(at), fromTS(until)
		out = append(out, f)
	}
	return out, rows.Err()
}
