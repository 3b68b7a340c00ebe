package sync

import (
	"errors"
	"fmt"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Engine is where detector rules go: *detect.Engine.
type Engine interface {
	SetRules(*detect.Rules)
}

// IPFilter is where the node's global deny and allow entries go: the XDP
// filter's maps (*xdp.Filter).
type IPFilter interface {
	ReplaceSource(xdp.List, xdp.Source, []xdp.Entry) error
}

// GrayList is the proxy's L7 gray list (*proxy.GrayList); the global gray
// entries of a ruleset replace its entries of source cloud.
type GrayList interface {
	ReplaceSource(xdp.Source, []xdp.Entry)
}

// compiled is a ruleset turned into what each enforcement point takes,
// built before anything is touched so that an invalid ruleset changes
// nothing.
type compiled struct {
	version int64
	rules   *detect.Rules
	xdp     map[xdp.List][]xdp.Entry // global deny and allow
	gray    []xdp.Entry              // global gray
	policy  *Policy
}

// compile maps rs onto the detector's rules, the XDP lists, the gray list
// and the L7 policy. Entries already expired at now are dropped.
func compile(rs *apiv1.Ruleset, now time.Time) (*compiled, error) {
	cfg := detect.RulesConfig{Version: rs.RulesetVersion}
	for _, r := range rs.Rules {
		switch r.Kind {
		case apiv1.KindSensitive:
			cfg.Sensitive = append(cfg.Sensitive, detect.SensitivePoint{RuleID: r.ID, AppID: r.AppID, Point: r.Sensitive.Point})
		case apiv1.KindVirtualPatch:
			vp := detect.VirtualPatch{RuleID: r.ID, AppID: r.AppID, Method: r.VirtualPatch.Method, Path: r.VirtualPatch.Path}
			for _, c := range r.VirtualPatch.Conditions {
				vp.Conditions = append(vp.Conditions, detect.PointCondition{Point: c.Point, Regex: c.Regex})
			}
			cfg.VirtualPatches = append(cfg.VirtualPatches, vp)
		case apiv1.KindDetector:
			d := r.Detector
			cfg.CustomDetectors = append(cfg.CustomDetectors, detect.CustomDetector{
				RuleID: r.ID, AppID: r.AppID, Type: d.AttackType, Points: d.Points, Regex: d.Regex, Experimental: d.Experimental,
			})
		case apiv1.KindDisableAttack:
			cfg.Disabled = append(cfg.Disabled, detect.DisabledAttack{
				RuleID: r.ID, AppID: r.AppID, Type: r.DisableAttack.AttackType, Point: r.DisableAttack.Point,
			})
		}
	}
	rules, err := detect.NewRules(cfg)
	if err != nil {
		return nil, err
	}
	c := &compiled{version: rs.RulesetVersion, rules: rules, xdp: map[xdp.List][]xdp.Entry{}, policy: newPolicy(rs, now)}
	for _, e := range rs.IPList {
		if len(e.AppIDs) > 0 || (!e.Expires.IsZero() && !e.Expires.After(now)) {
			continue
		}
		switch e.List {
		case apiv1.ListDeny:
			c.xdp[xdp.Deny] = append(c.xdp[xdp.Deny], entryOf(e))
		case apiv1.ListAllow:
			c.xdp[xdp.Allow] = append(c.xdp[xdp.Allow], entryOf(e))
		case apiv1.ListGray:
			c.gray = append(c.gray, entryOf(e))
		}
	}
	return c, nil
}

func entryOf(e apiv1.IPEntry) xdp.Entry {
	return xdp.Entry{Prefix: e.Prefix, Expires: e.Expires, Reason: e.Reason, Source: xdp.SourceCloud}
}

// replaceCloudEntries makes the entries of source cloud in one XDP list
// the ruleset's, keeping those added by hand or from the lists file (which
// win over a cloud entry for the same prefix: an operator's decision on the
// node is not overridden from afar). The filter diffs and applies the
// change under its own lock, so an entry added by hand meanwhile is kept.
func replaceCloudEntries(f IPFilter, l xdp.List, entries []xdp.Entry) error {
	return f.ReplaceSource(l, xdp.SourceCloud, entries)
}

// applyXDP writes the global lists; on failure it puts back the lists of
// prev (nil: none) so that the node is never left half-way between two
// rulesets.
func applyXDP(f IPFilter, next, prev *compiled) error {
	lists := []xdp.List{xdp.Allow, xdp.Deny}
	for i, l := range lists {
		if err := replaceCloudEntries(f, l, next.xdp[l]); err != nil {
			var restore []error
			for _, done := range lists[:i] {
				var old []xdp.Entry
				if prev != nil {
					old = prev.xdp[done]
				}
				restore = append(restore, replaceCloudEntries(f, done, old))
			}
			if rerr := errors.Join(restore...); rerr != nil {
				return fmt.Errorf("write ruleset %d to XDP: %w (restoring the previous lists failed too: %v)", next.version, err, rerr)
			}
			return fmt.Errorf("write ruleset %d to XDP: %w", next.version, err)
		}
	}
	return nil
}
