package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// InsertBaseline inserts events into a bare copy of the events table:
// same columns, same multi-row INSERTs and transaction, but no key and no
// index, so no conflict check. It is the baseline of BenchmarkIngest.
func InsertBaseline(ctx context.Context, s *Store, events []apiv1.Event) error {
	create := "CREATE TABLE IF NOT EXISTS events_baseline AS SELECT * FROM events WHERE 0 = 1"
	if s.d == dialectPostgres {
		create = "CREATE TABLE IF NOT EXISTS events_baseline (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY)"
	}
	if _, err := s.w.ExecContext(ctx, create); err != nil {
		return err
	}
	q := strings.Replace(s.insertEventsSQL(len(events)), "INSERT INTO events", "INSERT INTO events_baseline", 1)
	q = strings.TrimSuffix(q, " ON CONFLICT (tenant_id, id) DO NOTHING")
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(events); start += eventChunk {
			chunk := events[start:min(start+eventChunk, len(events))]
			var args []any
			for _, e := range chunk {
				src := netip.MustParseAddr(e.SourceIP).As16()
				id := uuid.MustParse(e.ID)
				args = append(args, 1, id[:], ts(e.Time), ts(e.Time), "n", e.AppID, e.RequestID, src[:], e.Method, e.Host, e.Path,
					e.AttackType, e.Point, e.DetectorID, "[7]", e.Excerpt, 0, 0, string(e.Decision), e.Status, 0)
			}
			stmt := q
			if len(chunk) != len(events) {
				stmt = strings.Replace(s.insertEventsSQL(len(chunk)), "INSERT INTO events", "INSERT INTO events_baseline", 1)
				stmt = strings.TrimSuffix(stmt, " ON CONFLICT (tenant_id, id) DO NOTHING")
			}
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				return fmt.Errorf("baseline insert: %w", err)
			}
		}
		return nil
	})
}
