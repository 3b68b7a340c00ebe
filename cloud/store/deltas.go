package store

import (
	"context"
	"time"
)

// IPListDeltas tell what a tenant's IP lists went through between two
// ruleset versions, so that a node behind by a few changes is sent those
// changes rather than a list of a million entries again.
type IPListDeltas interface {
	// IPEntryChanges answers the entries put (created or changed) and the
	// ids deleted after version from, up to version to, as they are at
	// now (a put entry deleted or expired since is among the deleted).
	// ok is false when the store cannot tell (from is older than what its
	// log covers, or more than max entries changed): the node needs the
	// whole list.
	IPEntryChanges(ctx context.Context, tenantID, from, to int64, max int, now time.Time) (d IPEntryDelta, ok bool, err error)
	// PruneTriggerData trims what deltas, triggers and integrations log:
	// the IP-entry log beyond the last versions of each tenant (the server
	// keeps DeltaVersionsKept), firings and finished deliveries older than
	// keep.
	PruneTriggerData(ctx context.Context, now time.Time, keep time.Duration, versions int64) (int64, error)
}

// DeltaVersionsKept is how many ruleset versions back a delta can reach:
// a node further behind gets the whole ruleset.
const DeltaVersionsKept = 1000

// IPEntryDelta is the difference between two versions of a tenant's IP
// lists.
type IPEntryDelta struct {
	Put     []IPEntry
	Deleted []int64
}
