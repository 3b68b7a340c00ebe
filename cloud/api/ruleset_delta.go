package api

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Limits of a delta: beyond them a node gets the whole ruleset, which is
// then about as cheap to send and simpler to apply.
const (
	// maxDeltaVersions is how far behind a node may be for a delta: as
	// far as the store keeps its log.
	maxDeltaVersions = store.DeltaVersionsKept
	// maxDeltaEntries bounds the entry changes one delta carries.
	maxDeltaEntries = 100_000
)

// compileRulesetFor answers version v for node p: a delta from the
// version the node has in force (its If-None-Match) when it asked for
// deltas and the store can tell the changes, else the whole ruleset.
func (s *Server) compileRulesetFor(ctx context.Context, p *principal, v int64, known string, delta bool) (*apiv1.SignedRuleset, error) {
	base, ok := versionOfETag(known)
	if !delta || !ok || base <= 0 || base >= v || v-base > maxDeltaVersions {
		return s.compileRuleset(ctx, p, v)
	}
	now := s.cfg.Now()
	changes, ok, err := s.store.IPEntryChanges(ctx, p.tenantID, base, v, maxDeltaEntries, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.compileRuleset(ctx, p, v)
	}
	rules, err := s.store.ListRules(ctx, p.tenantID)
	if err != nil {
		return nil, err
	}
	rs := &apiv1.Ruleset{Version: apiv1.Version, RulesetVersion: v, BaseVersion: base, TenantID: p.tenantID, NodeID: p.node.ID,
		Issued: now.UTC(), Rules: make([]apiv1.Rule, 0, len(rules)), IPList: make([]apiv1.IPEntry, 0, len(changes.Put)),
		DeletedIPEntries: changes.Deleted}
	for _, r := range rules {
		rs.Rules = append(rs.Rules, r.Rule)
	}
	for _, e := range changes.Put {
		rs.IPList = append(rs.IPList, e.IPEntry)
	}
	sr, err := s.cfg.RulesetSigner.Sign(rs)
	if err != nil {
		return nil, fmt.Errorf("delta %d..%d of tenant %d: %w", base, v, p.tenantID, err)
	}
	return sr, nil
}

// versionOfETag reads a ruleset ETag (apiv1.RulesetETag).
func versionOfETag(etag string) (int64, bool) {
	etag = strings.TrimPrefix(etag, "W/")
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return 0, false
	}
	v, err := strconv.ParseInt(etag[1:len(etag)-1], 10, 64)
	return v, err == nil
}
