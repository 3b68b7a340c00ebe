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
}

// IPEntryDelta is the difference between two versions of a tenant's IP
// lists.
type IPEntryDelta struct {
	Put     []IPEntry
	Deleted []int64
}
