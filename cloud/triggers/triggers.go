// Package triggers generates rules from what nodes report. After the
// cloud stores a node's batch, an Evaluator judges the tenant's enabled
// triggers for the sources the batch mentions ("10 attacks from one IP in
// 5 minutes", "more than 20 requests to /login in a minute", "50 answers
// 404 in 10 minutes") and fires those whose threshold a source reached:
// the store lists the source (deny or gray, with an expiry, bumping the
// ruleset version so that long-polling nodes get it at once) and records
// the firing; a Notifier tells the trigger's integration.
//
// Nothing is kept in memory between batches: the counts are read from
// the store, which holds what every replica ingested, and the store makes
// a trigger fire once per source however many replicas judge it at once.
package triggers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Notifier tells a trigger's integration that it fired. Notify must not
// block on the integration: deliveries are the notifier's to retry.
type Notifier interface {
	Notify(ctx context.Context, t *store.Trigger, f *store.Firing)
}

// Evaluator judges triggers on ingest.
type Evaluator struct {
	store  store.Store
	log    *slog.Logger
	now    func() time.Time
	notify Notifier
	m      *metrics
}

// NewEvaluator returns an Evaluator over st. now is the clock (time.Now
// when nil); notify may be nil when no integration is configured.
func NewEvaluator(st store.Store, log *slog.Logger, now func() time.Time, notify Notifier) *Evaluator {
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Evaluator{store: st, log: log, now: now, notify: notify}
}

// Observe judges the tenant's enabled triggers for the sources of a batch
// just stored (its events and per-source counters) and answers the
// firings it made. A source that fired already, here or on another
// replica, and whose firing still holds, does not fire again.
func (e *Evaluator) Observe(ctx context.Context, tenantID int64, events []apiv1.Event, sources []apiv1.SourceCounters) ([]store.Firing, error) {
	start := time.Now()
	byApp := candidates(events, sources)
	if len(byApp) == 0 {
		return nil, nil
	}
	fired, err := e.observe(ctx, tenantID, byApp)
	e.m.observe(start, fired, err)
	return fired, err
}

func (e *Evaluator) observe(ctx context.Context, tenantID int64, byApp map[int64][]netip.Addr) ([]store.Firing, error) {
	ts, err := e.store.ListTriggers(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("triggers of tenant %d: %w", tenantID, err)
	}
	var fired []store.Firing
	var errs []error
	for i := range ts {
		t := &ts[i]
		if !t.Enabled {
			continue
		}
		srcs := byApp[t.AppID]
		if len(srcs) == 0 {
			continue
		}
		fs, err := e.judge(ctx, t, srcs)
		fired = append(fired, fs...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return fired, errors.Join(errs...)
}

// judge counts for one trigger and fires it for each source at or over
// its threshold.
func (e *Evaluator) judge(ctx context.Context, t *store.Trigger, srcs []netip.Addr) ([]store.Firing, error) {
	now := e.now().UTC()
	since := now.Add(-t.Condition.Window())
	// A source that fired and still holds (listed, or reported) is most of
	// a flood's sources after its first seconds: leave it out before
	// counting. FireTrigger checks again under its lock.
	held, err := e.store.HeldSources(ctx, t, srcs, now)
	if err != nil {
		return nil, err
	}
	if len(held) > 0 {
		open := make([]netip.Addr, 0, len(srcs)-len(held))
		for _, a := range srcs {
			if !held[a] {
				open = append(open, a)
			}
		}
		srcs = open
	}
	counts, err := e.store.CountForTrigger(ctx, t, srcs, since)
	if err != nil {
		return nil, err
	}
	var fired []store.Firing
	for _, src := range srcs {
		n := counts[src]
		if n < t.Condition.Threshold {
			continue
		}
		f := store.Firing{Source: src, Count: n, WindowStart: since, FiredAt: now, Until: now.Add(t.Duration())}
		ok, err := e.store.FireTrigger(ctx, t, &f)
		if err != nil {
			return fired, err
		}
		if !ok {
			continue
		}
		e.log.Info("trigger fired", "tenant_id", t.TenantID, "trigger_id", t.ID, "trigger", t.Name, "source_ip", src.String(),
			"app_id", t.AppID, "count", n, "action", t.Action.Kind, "entry_id", f.EntryID, "until", f.Until, "note", f.Note)
		if e.notify != nil && t.Action.IntegrationID != 0 {
			e.notify.Notify(ctx, t, &f)
		}
		fired = append(fired, f)
	}
	return fired, nil
}

// candidates are the sources a batch mentions, by the application a
// trigger may watch: each application's own, and under 0 all of them.
// Events of experimental detectors are left out, as the counts leave them
// out.
func candidates(events []apiv1.Event, sources []apiv1.SourceCounters) map[int64][]netip.Addr {
	seen := map[int64]map[netip.Addr]bool{}
	add := func(app int64, ip string) {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return // ingest refused it already
		}
		a = a.Unmap()
		for _, k := range []int64{0, app} {
			if seen[k] == nil {
				seen[k] = map[netip.Addr]bool{}
			}
			seen[k][a] = true
		}
	}
	for i := range events {
		if !events[i].Experimental {
			add(events[i].AppID, events[i].SourceIP)
		}
	}
	for i := range sources {
		add(sources[i].AppID, sources[i].SourceIP)
	}
	out := make(map[int64][]netip.Addr, len(seen))
	for app, set := range seen {
		for a := range set {
			out[app] = append(out[app], a)
		}
		// In address order: firings and logs come in the same order on
		// every replica and in every run.
		slices.SortFunc(out[app], netip.Addr.Compare)
	}
	return out
}
