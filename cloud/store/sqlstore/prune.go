package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/palisadewaf/palisade/cloud/store"
)

// PruneTriggerData implements store.IPListDeltas. It keeps the logs that
// triggers, integrations and deltas write from growing without end: the
// IP-entry log keeps the last versions of each tenant (nodes further
// behind get the whole ruleset anyway), firings and
// deliveries older than keep are deleted (a firing that still holds is
// never older than its Until). It answers how many rows went.
func (s *Store) PruneTriggerData(ctx context.Context, now time.Time, keep time.Duration, versions int64) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct {
			text string
			args []any
		}{
			{`UPDATE ruleset_versions SET delta_since = version - ? WHERE delta_since < version - ?`,
				[]any{versions, versions}},
			{`DELETE FROM ip_entry_log WHERE version <= (SELECT v.delta_since FROM ruleset_versions v WHERE v.tenant_id = ip_entry_log.tenant_id)`, nil},
			{`DELETE FROM trigger_firings WHERE until_at < ?`, []any{ts(now.Add(-keep))}},
			{`DELETE FROM deliveries WHERE updated_at < ? AND state <> ?`, []any{ts(now.Add(-keep)), store.DeliveryPending}},
		} {
			res, err := tx.ExecContext(ctx, s.q(q.text), q.args...)
			if err != nil {
				return fmt.Errorf("prune: %w", mapErr(err))
			}
			if q.text[:6] == "DELETE" {
				d, _ := res.RowsAffected()
				n += d
			}
		}
		return nil
	})
	return n, err
}
