package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

const eventInsertCols = `tenant_id, id, time, received_at, node_id, app_id, request_id, src_ip, method, host, path,
	attack_type, point, detector_id, rule_ids, excerpt, masked, truncated, decision, status, experimental`

const eventInsertNCols = 21

// eventChunk is the most rows one INSERT carries: 21 columns x 400 rows
// stays under both SQLite's (32766) and PostgreSQL's (65535) limit on
// bound parameters.
const eventChunk = 400

// insertEventsSQL returns the INSERT for n events in s's dialect.
func (s *Store) insertEventsSQL(n int) string {
	var b strings.Builder
	b.Grow(64 + n*eventInsertNCols*5)
	b.WriteString("INSERT INTO events (" + eventInsertCols + ") VALUES ")
	p := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := 0; c < eventInsertNCols; c++ {
			if c > 0 {
				b.WriteByte(',')
			}
			p++
			if s.d == dialectPostgres {
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (tenant_id, id) DO NOTHING")
	return b.String()
}

// txStmts keeps the INSERT statements prepared in one transaction, by
// number of rows: a group commit runs the same INSERT for many batches,
// and parsing a 400-row INSERT costs a tenth of running it. nil prepares
// nothing (PostgreSQL's driver keeps its own statement cache).
type txStmts map[int]*sql.Stmt

func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, stmts txStmts, n int, args []any) (sql.Result, error) {
	if stmts == nil {
		return tx.ExecContext(ctx, s.insertEventsSQL(n), args...)
	}
	stmt, ok := stmts[n]
	if !ok {
		var err error
		if stmt, err = tx.PrepareContext(ctx, s.insertEventsSQL(n)); err != nil {
			return nil, err
		}
		stmts[n] = stmt
	}
	return stmt.ExecContext(ctx, args...)
}

// Ingest implements store.Events. On PostgreSQL each batch is its own
// transaction, run beside the others; on SQLite batches queue for the one
// writer, which commits all the batches waiting at once (see groupCommit).
func (s *Store) Ingest(ctx context.Context, b *store.IngestBatch) (store.IngestCounts, error) {
	if s.ingestQ == nil {
		var counts store.IngestCounts
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			counts, err = s.ingestTx(ctx, tx, nil, b)
			return err
		})
		if err != nil {
			return store.IngestCounts{}, fmt.Errorf("ingest %d events from node %s: %w", len(b.Events), b.NodeID, err)
		}
		return counts, nil
	}
	req := &ingestReq{ctx: ctx, b: b, done: make(chan ingestResult, 1)}
	select {
	case s.ingestQ <- req:
	case <-ctx.Done():
		return store.IngestCounts{}, ctx.Err()
	case <-s.closing:
		return store.IngestCounts{}, errClosed
	}
	select {
	case r := <-req.done:
		if r.err != nil {
			return store.IngestCounts{}, fmt.Errorf("ingest %d events from node %s: %w", len(b.Events), b.NodeID, r.err)
		}
		return r.counts, nil
	case <-ctx.Done():
		// The batch may still be committed; a retry is a duplicate.
		return store.IngestCounts{}, ctx.Err()
	}
}

// ingestTx stores one batch inside tx.
func (s *Store) ingestTx(ctx context.Context, tx *sql.Tx, stmts txStmts, b *store.IngestBatch) (store.IngestCounts, error) {
	var counts store.IngestCounts
	args := make([]any, 0, min(len(b.Events), eventChunk)*eventInsertNCols)
	received := ts(b.At)
	for start := 0; start < len(b.Events); start += eventChunk {
		chunk := b.Events[start:min(start+eventChunk, len(b.Events))]
		args = args[:0]
		for i := range chunk {
			e := &chunk[i]
			src, err := netip.ParseAddr(e.SourceIP)
			if err != nil {
				return counts, fmt.Errorf("event %s: source_ip: %w", e.ID, err)
			}
			src16 := src.As16()
			id, err := uuid.Parse(e.ID)
			if err != nil {
				return counts, fmt.Errorf("event %q: id: %w", e.ID, err)
			}
			ruleIDs := "[]"
			if len(e.RuleIDs) > 0 {
				r, _ := json.Marshal(e.RuleIDs) // []int64 always encodes
				ruleIDs = string(r)
			}
			args = append(args, b.TenantID, id[:], ts(e.Time), received, b.NodeID, e.AppID, e.RequestID, src16[:],
				e.Method, e.Host, e.Path, e.AttackType, e.Point, e.DetectorID, ruleIDs, e.Excerpt,
				b2i(e.Masked), b2i(e.Truncated), string(e.Decision), e.Status, b2i(e.Experimental))
		}
		res, err := s.insertEvents(ctx, tx, stmts, len(chunk), args)
		if err != nil {
			return counts, fmt.Errorf("insert events: %w", mapErr(err))
		}
		n, err := res.RowsAffected()
		if err != nil {
			return counts, err
		}
		counts.Accepted += int(n)
		counts.Duplicates += len(chunk) - int(n)
	}
	for _, c := range b.Counters {
		var total uint64
		for _, n := range c.Attacks {
			total += n
		}
		attacks, _ := json.Marshal(c.Attacks) // map[string]uint64 always encodes
		if c.Attacks == nil {
			attacks = []byte("{}")
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO counters (tenant_id, node_id, app_id, minute, requests, blocked, attacks_total, attacks)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (node_id, app_id, minute) DO UPDATE SET requests = excluded.requests,
				blocked = excluded.blocked, attacks_total = excluded.attacks_total, attacks = excluded.attacks`),
			b.TenantID, b.NodeID, c.AppID, ts(c.Minute), int64(c.Requests), int64(c.Blocked), int64(total), string(attacks))
		if err != nil {
			return counts, fmt.Errorf("store counters: %w", mapErr(err))
		}
	}
	if err := s.storeSourceCounters(ctx, tx, b); err != nil {
		return counts, err
	}
	var err error
	if h := b.Health; h != nil {
		_, err = tx.ExecContext(ctx, s.q(`UPDATE nodes SET last_seen_at = ?, last_ip = ?, agent_version = ?,
			ruleset_version = ?, spool_events = ?, spool_bytes = ? WHERE tenant_id = ? AND id = ?`),
			received, b.ClientIP, h.AgentVersion, h.RulesetVersion, h.SpoolEvents, h.SpoolBytes, b.TenantID, b.NodeID)
	} else {
		_, err = tx.ExecContext(ctx, s.q("UPDATE nodes SET last_seen_at = ?, last_ip = ? WHERE tenant_id = ? AND id = ?"),
			received, b.ClientIP, b.TenantID, b.NodeID)
	}
	if err != nil {
		return counts, fmt.Errorf("update node health: %w", mapErr(err))
	}
	return counts, nil
}

const eventCols = `seq, tenant_id, id, time, received_at, node_id, app_id, request_id, src_ip, method, host, path,
	attack_type, point, detector_id, rule_ids, excerpt, masked, truncated, decision, status, experimental`

func scanEvent(row interface{ Scan(...any) error }) (store.Event, int64, error) {
	var e store.Event
	var seq, t, received int64
	var src, id []byte
	var ruleIDs, decision string
	err := row.Scan(&seq, &e.TenantID, &id, &t, &received, &e.NodeID, &e.AppID, &e.RequestID, &src, &e.Method, &e.Host, &e.Path,
		&e.AttackType, &e.Point, &e.DetectorID, &ruleIDs, &e.Excerpt, &e.Masked, &e.Truncated, &decision, &e.Status, &e.Experimental)
	if err != nil {
		return store.Event{}, 0, mapErr(err)
	}
	e.Time, e.ReceivedAt, e.Decision = fromTS(t), fromTS(received), apiv1.Decision(decision)
	e.SourceIP = addrString(src)
	if u, err := uuid.FromBytes(id); err == nil {
		e.ID = u.String()
	}
	if ruleIDs != "[]" {
		if err := json.Unmarshal([]byte(ruleIDs), &e.RuleIDs); err != nil {
			return store.Event{}, 0, fmt.Errorf("event %s: decode rule_ids: %w", e.ID, err)
		}
	}
	return e, seq, nil
}

// addrString prints a stored 16-byte address, IPv4 without its mapping.
func addrString(b []byte) string {
	if len(b) != 16 {
		return ""
	}
	return netip.AddrFrom16([16]byte(b)).Unmap().String()
}

// prefixRange returns the first and last 16-byte address of p.
func prefixRange(p netip.Prefix) (lo, hi []byte) {
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		bits += 96
	}
	a := p.Addr().As16()
	l, h := a, a
	for i := bits; i < 128; i++ {
		h[i/8] |= 1 << (7 - i%8)
	}
	return l[:], h[:]
}

// where renders f as a WHERE clause over the events table.
func eventWhere(tenantID int64, f store.EventFilter) (string, []any) {
	conds := []string{"tenant_id = ?"}
	args := []any{tenantID}
	if !f.From.IsZero() {
		conds, args = append(conds, "time >= ?"), append(args, ts(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "time < ?"), append(args, ts(f.To))
	}
	if f.AppID != nil {
		conds, args = append(conds, "app_id = ?"), append(args, *f.AppID)
	}
	if f.AttackType != "" {
		conds, args = append(conds, "attack_type = ?"), append(args, f.AttackType)
	}
	if f.Source.IsValid() {
		lo, hi := prefixRange(f.Source)
		conds, args = append(conds, "src_ip >= ? AND src_ip <= ?"), append(args, lo, hi)
	}
	if f.Decision != "" {
		conds, args = append(conds, "decision = ?"), append(args, string(f.Decision))
	}
	if f.Point != "" {
		conds, args = append(conds, "point = ?"), append(args, f.Point)
	}
	if f.NodeID != "" {
		conds, args = append(conds, "node_id = ?"), append(args, f.NodeID)
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// An event cursor is the (time, seq) of the last event of a page.
func encodeCursor(t, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t, 10) + "." + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (t, seq int64, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, store.ErrBadCursor
	}
	a, b, ok := strings.Cut(string(raw), ".")
	if !ok {
		return 0, 0, store.ErrBadCursor
	}
	if t, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, store.ErrBadCursor
	}
	if seq, err = strconv.ParseInt(b, 10, 64); err != nil {
		return 0, 0, store.ErrBadCursor
	}
	return t, seq, nil
}

// SearchEvents implements store.Events.
func (s *Store) SearchEvents(ctx context.Context, tenantID int64, f store.EventFilter, p store.Page) ([]store.Event, string, error) {
	where, args := eventWhere(tenantID, f)
	if p.Cursor != "" {
		t, seq, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (time < ? OR (time = ? AND seq < ?))"
		args = append(args, t, t, seq)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+eventCols+" FROM events"+where+" ORDER BY time DESC, seq DESC LIMIT ?"), args...)
	if err != nil {
		return nil, "", fmt.Errorf("search events: %w", err)
	}
	defer rows.Close()
	out := make([]store.Event, 0, min(limit, 1000))
	var lastT, lastSeq int64
	next := ""
	for rows.Next() {
		if len(out) == limit {
			next = encodeCursor(lastT, lastSeq)
			break
		}
		e, seq, err := scanEvent(rows)
		if err != nil {
			return nil, "", fmt.Errorf("search events: %w", err)
		}
		out = append(out, e)
		lastT, lastSeq = ts(e.Time), seq
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("search events: %w", err)
	}
	return out, next, nil
}

// GetEvent implements store.Events.
func (s *Store) GetEvent(ctx context.Context, tenantID int64, id string) (store.Event, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return store.Event{}, store.ErrNotFound
	}
	e, _, err := scanEvent(s.r.QueryRowContext(ctx, s.q("SELECT "+eventCols+" FROM events WHERE tenant_id = ? AND id = ?"), tenantID, u[:]))
	return e, err
}

var groupColumn = map[store.GroupBy]string{
	store.ByNothing:    "''",
	store.ByAttackType: "attack_type",
	store.BySource:     "src_ip",
	store.ByPoint:      "point",
	store.ByDecision:   "decision",
	store.ByApp:        "app_id",
	store.ByNode:       "node_id",
}

// maxAggregateRows bounds an aggregation without a limit.
const maxAggregateRows = 10000

// AggregateEvents implements store.Events.
func (s *Store) AggregateEvents(ctx context.Context, tenantID int64, f store.EventFilter, a store.Aggregation) ([]store.AggregateRow, error) {
	col, ok := groupColumn[a.By]
	if !ok {
		return nil, fmt.Errorf("aggregate events: cannot group by %q", a.By)
	}
	where, wargs := eventWhere(tenantID, f)
	limit := a.Limit
	if limit <= 0 || limit > maxAggregateRows {
		limit = maxAggregateRows
	}
	var q string
	var args []any
	if a.Bucket > 0 {
		q = "SELECT time - time % ? AS b, " + col + " AS k, COUNT(*) AS n FROM events" + where + " GROUP BY b, k ORDER BY b, n DESC LIMIT ?"
		args = append(append([]any{a.Bucket.Nanoseconds()}, wargs...), limit)
	} else {
		q = "SELECT 0 AS b, " + col + " AS k, COUNT(*) AS n FROM events" + where + " GROUP BY k ORDER BY n DESC, k LIMIT ?"
		args = append(wargs, limit)
	}
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate events by %q: %w", a.By, err)
	}
	defer rows.Close()
	out := []store.AggregateRow{}
	for rows.Next() {
		var b int64
		var k any
		var r store.AggregateRow
		if err := rows.Scan(&b, &k, &r.Count); err != nil {
			return nil, fmt.Errorf("aggregate events: %w", err)
		}
		if a.Bucket > 0 {
			t := fromTS(b)
			r.Bucket = &t
		}
		switch v := k.(type) {
		case []byte:
			if a.By == store.BySource {
				r.Key = addrString(v)
			} else {
				r.Key = string(v)
			}
		case string:
			r.Key = v
		case int64:
			r.Key = strconv.FormatInt(v, 10)
		default:
			r.Key = fmt.Sprint(v)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GroupAttacks implements store.Events. A window function marks each event
// that comes more than AttackGap after the previous event of its key; a
// running sum of those marks numbers the attacks of the key.
func (s *Store) GroupAttacks(ctx context.Context, tenantID int64, f store.EventFilter, limit int) ([]store.Attack, error) {
	where, args := eventWhere(tenantID, f)
	if limit <= 0 || limit > maxAggregateRows {
		limit = 100
	}
	const key = "app_id, attack_type, point, src_ip"
	q := `WITH marked AS (
		SELECT ` + key + `, time, decision,
			CASE WHEN time - LAG(time) OVER (PARTITION BY ` + key + ` ORDER BY time) > ? THEN 1 ELSE 0 END AS brk
		FROM events` + where + `
	), numbered AS (
		SELECT ` + key + `, time, decision,
			SUM(brk) OVER (PARTITION BY ` + key + ` ORDER BY time ROWS UNBOUNDED PRECEDING) AS grp
		FROM marked
	)
	SELECT ` + key + `, MIN(time), MAX(time), COUNT(*), SUM(CASE WHEN decision = 'blocked' THEN 1 ELSE 0 END)
	FROM numbered GROUP BY ` + key + `, grp ORDER BY MAX(time) DESC LIMIT ?`
	args = append(append([]any{store.AttackGap.Nanoseconds()}, args...), limit)
	rows, err := s.r.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, fmt.Errorf("group attacks: %w", err)
	}
	defer rows.Close()
	out := []store.Attack{}
	for rows.Next() {
		var a store.Attack
		var src []byte
		var first, last int64
		if err := rows.Scan(&a.AppID, &a.AttackType, &a.Point, &src, &first, &last, &a.Events, &a.Blocked); err != nil {
			return nil, fmt.Errorf("group attacks: %w", err)
		}
		a.SourceIP, a.FirstSeen, a.LastSeen = addrString(src), fromTS(first), fromTS(last)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Traffic implements store.Events.
func (s *Store) Traffic(ctx context.Context, tenantID int64, f store.TrafficFilter) ([]store.TrafficRow, error) {
	bucket := max(f.Bucket, time.Minute)
	conds := []string{"tenant_id = ?"}
	args := []any{bucket.Nanoseconds(), tenantID}
	if !f.From.IsZero() {
		conds, args = append(conds, "minute >= ?"), append(args, ts(f.From))
	}
	if !f.To.IsZero() {
		conds, args = append(conds, "minute < ?"), append(args, ts(f.To))
	}
	if f.AppID != nil {
		conds, args = append(conds, "app_id = ?"), append(args, *f.AppID)
	}
	if f.NodeID != "" {
		conds, args = append(conds, "node_id = ?"), append(args, f.NodeID)
	}
	args = append(args, maxAggregateRows)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT minute - minute % ? AS b,
		CAST(SUM(requests) AS BIGINT), CAST(SUM(blocked) AS BIGINT), CAST(SUM(attacks_total) AS BIGINT)
		FROM counters WHERE `+strings.Join(conds, " AND ")+` GROUP BY b ORDER BY b LIMIT ?`), args...)
	if err != nil {
		return nil, fmt.Errorf("traffic: %w", err)
	}
	defer rows.Close()
	out := []store.TrafficRow{}
	for rows.Next() {
		var r store.TrafficRow
		var b int64
		if err := rows.Scan(&b, &r.Requests, &r.Blocked, &r.Attacks); err != nil {
			return nil, fmt.Errorf("traffic: %w", err)
		}
		r.Bucket = fromTS(b)
		out = append(out, r)
	}
	return out, rows.Err()
}
