package sync

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/agent/proxy"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Policy is the part of a ruleset the proxy enforces per request, beyond
// the detector: application-scoped IP lists, and filtration modes and rate
// limits by application and path prefix. A Policy is immutable; the syncer
// swaps whole policies (Syncer.Policy), so a request sees one ruleset.
//
// Rules with app 0 apply to every application; an application's own rules
// come first, then those global ones.
type Policy struct {
	version int64
	apps    map[int64]*appPolicy
	global  appPolicy
}

type appPolicy struct {
	modes  []prefixed[string]
	limits []prefixed[RateLimit]
	deny   *proxy.PrefixSet
	allow  *proxy.PrefixSet
	gray   *proxy.PrefixSet
}

// prefixed is a value for the paths under prefix; kept longest prefix first.
type prefixed[T any] struct {
	prefix string
	value  T
}

// RateLimit is the rate limit rule in force for a request: at most
// Requests per Period from one source, bursts up to Burst.
type RateLimit struct {
	RuleID     int64
	PathPrefix string
	Requests   int64
	Period     time.Duration
	Burst      int64
}

// Source list verdicts of Policy.Source.
const (
	Unlisted = ""
	Deny     = apiv1.ListDeny
	Allow    = apiv1.ListAllow
	Gray     = apiv1.ListGray
)

// newPolicy compiles the L7 part of rs: app-scoped IP entries (those
// without scope go to the XDP maps and the proxy's gray list instead),
// filtration modes and rate limits. Entries expired at now are left out.
func newPolicy(rs *apiv1.Ruleset, now time.Time) *Policy {
	p := &Policy{version: rs.RulesetVersion, apps: map[int64]*appPolicy{}}
	target := func(app int64) *appPolicy {
		if app == 0 {
			return &p.global
		}
		a := p.apps[app]
		if a == nil {
			a = &appPolicy{}
			p.apps[app] = a
		}
		return a
	}
	for _, r := range rs.Rules {
		switch r.Kind {
		case apiv1.KindFiltrationMode:
			a := target(r.AppID)
			a.modes = append(a.modes, prefixed[string]{r.FiltrationMode.PathPrefix, r.FiltrationMode.Mode})
		case apiv1.KindRateLimit:
			rl := r.RateLimit
			burst := rl.Burst
			if burst == 0 {
				burst = rl.Requests
			}
			a := target(r.AppID)
			a.limits = append(a.limits, prefixed[RateLimit]{rl.PathPrefix, RateLimit{
				RuleID: r.ID, PathPrefix: rl.PathPrefix, Requests: rl.Requests,
				Period: time.Duration(rl.PeriodSeconds) * time.Second, Burst: burst,
			}})
		}
	}
	scoped := map[int64]map[string][]xdp.Entry{}
	for _, e := range rs.IPList {
		if len(e.AppIDs) == 0 || (!e.Expires.IsZero() && !e.Expires.After(now)) {
			continue
		}
		for _, app := range e.AppIDs {
			if scoped[app] == nil {
				scoped[app] = map[string][]xdp.Entry{}
			}
			scoped[app][e.List] = append(scoped[app][e.List], entryOf(e))
		}
	}
	for app, lists := range scoped {
		a := target(app)
		a.deny = proxy.NewPrefixSet(lists[apiv1.ListDeny])
		a.allow = proxy.NewPrefixSet(lists[apiv1.ListAllow])
		a.gray = proxy.NewPrefixSet(lists[apiv1.ListGray])
	}
	byLength := func(a, b int) int { return b - a }
	sortPrefixed := func(a *appPolicy) {
		slices.SortStableFunc(a.modes, func(x, y prefixed[string]) int { return byLength(len(x.prefix), len(y.prefix)) })
		slices.SortStableFunc(a.limits, func(x, y prefixed[RateLimit]) int { return byLength(len(x.prefix), len(y.prefix)) })
	}
	sortPrefixed(&p.global)
	for _, a := range p.apps {
		sortPrefixed(a)
	}
	return p
}

// Version is the ruleset version the policy comes from (0: none).
func (p *Policy) Version() int64 {
	if p == nil {
		return 0
	}
	return p.version
}

func (p *Policy) layers(app int64) []*appPolicy {
	if p == nil {
		return nil
	}
	if a, ok := p.apps[app]; ok {
		return []*appPolicy{a, &p.global}
	}
	return []*appPolicy{&p.global}
}

// Mode returns the filtration mode the ruleset sets for a request of
// application app to path: the application's rule with the longest
// matching path prefix, else the global one. ok is false when the ruleset
// says nothing and the node's configuration decides.
func (p *Policy) Mode(app int64, path string) (mode string, ok bool) {
	for _, a := range p.layers(app) {
		if m, ok := longest(a.modes, path); ok {
			return m, true
		}
	}
	return "", false
}

// RateLimit returns the rate limit in force for a request of application
// app to path, the same way as Mode.
func (p *Policy) RateLimit(app int64, path string) (RateLimit, bool) {
	for _, a := range p.layers(app) {
		if rl, ok := longest(a.limits, path); ok {
			return rl, true
		}
	}
	return RateLimit{}, false
}

// Source returns the application-scoped list holding address a for
// application app at now: Allow, Deny, Gray or Unlisted. An allowlisted
// source is never blocked (DESIGN.md), so Allow wins over Deny, and Deny
// over Gray. Entries for the whole node are not in the policy: global
// allow and deny are in the XDP maps, global gray in the proxy's gray list.
func (p *Policy) Source(app int64, a netip.Addr, now time.Time) string {
	if p == nil {
		return Unlisted
	}
	ap, ok := p.apps[app]
	if !ok {
		return Unlisted
	}
	switch {
	case ap.allow.Contains(a, now):
		return Allow
	case ap.deny.Contains(a, now):
		return Deny
	case ap.gray.Contains(a, now):
		return Gray
	}
	return Unlisted
}

func longest[T any](rules []prefixed[T], path string) (T, bool) {
	for _, r := range rules {
		if strings.HasPrefix(path, r.prefix) {
			return r.value, true
		}
	}
	var zero T
	return zero, false
}
