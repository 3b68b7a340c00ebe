package apiv1

import (
	"cmp"
	"fmt"
	"slices"
)

// Deltas. A node that asks for them (RulesetDeltaParam) and is a few
// versions behind is sent a Ruleset with BaseVersion set to the version
// it has in force: the rules whole (they are few), and of the IP lists
// only what changed. It is signed like any ruleset. The node applies it
// on top of its ruleset BaseVersion with ApplyDelta, and asks for the
// whole ruleset (RulesetFullParam) when it cannot: another version in
// force, a gap in what it saved. The cloud sends the whole ruleset
// anyway when the delta would be large or its log does not reach back
// to BaseVersion.

// Query parameters of the ruleset endpoint.
const (
	// RulesetDeltaParam=1 says the node can apply deltas.
	RulesetDeltaParam = "delta"
	// RulesetFullParam=1 asks for the whole ruleset even when a delta
	// would do (a node resynchronising).
	RulesetFullParam = "full"
)

// ApplyDelta returns the whole ruleset that delta makes of base: delta's
// rules and header, base's IP entries without the deleted ones, with the
// put ones added or replaced (by id), in id order. base must be the
// ruleset delta.BaseVersion; neither is changed.
func ApplyDelta(base, delta *Ruleset) (*Ruleset, error) {
	if delta.BaseVersion == 0 {
		return nil, fmt.Errorf("ruleset %d is not a delta", delta.RulesetVersion)
	}
	if base.RulesetVersion != delta.BaseVersion || base.TenantID != delta.TenantID {
		return nil, fmt.Errorf("delta %d applies to ruleset %d of tenant %d, not to %d of tenant %d",
			delta.RulesetVersion, delta.BaseVersion, delta.TenantID, base.RulesetVersion, base.TenantID)
	}
	out := *delta
	out.BaseVersion, out.DeletedIPEntries = 0, nil
	gone := make(map[int64]bool, len(delta.DeletedIPEntries)+len(delta.IPList))
	for _, id := range delta.DeletedIPEntries {
		gone[id] = true
	}
	for _, e := range delta.IPList {
		gone[e.ID] = true // replaced by the put version
	}
	out.IPList = make([]IPEntry, 0, len(base.IPList)+len(delta.IPList))
	for _, e := range base.IPList {
		if !gone[e.ID] {
			out.IPList = append(out.IPList, e)
		}
	}
	out.IPList = append(out.IPList, delta.IPList...)
	slices.SortFunc(out.IPList, func(a, b IPEntry) int { return cmp.Compare(a.ID, b.ID) })
	return &out, nil
}
