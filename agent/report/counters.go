package report

import (
	"maps"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

type counterKey struct {
	app    int64
	minute int64 // Unix seconds of the minute's start
}

// Count counts one request of application app in the current minute: d is
// what the node did with it (empty for a request without a detected
// attack), attackTypes the types detected in it.
func (r *Reporter) Count(app int64, d apiv1.Decision, attackTypes ...string) {
	minute := r.now().UTC().Truncate(time.Minute)
	k := counterKey{app: app, minute: minute.Unix()}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts[k]
	if c == nil {
		c = &apiv1.Counters{AppID: app, Minute: minute}
		r.counts[k] = c
	}
	c.Requests++
	if d == apiv1.DecisionBlocked {
		c.Blocked++
	}
	for _, t := range attackTypes {
		if c.Attacks == nil {
			c.Attacks = make(map[string]uint64)
		}
		c.Attacks[t]++
	}
}

// spoolClosedMinutes moves the counts of every minute that has ended into
// the spool, once per application and minute, and the per-source counts
// once per application, source and path.
func (r *Reporter) spoolClosedMinutes(now time.Time) {
	defer r.spoolClosedSourceMinutes(now)
	current := now.UTC().Truncate(time.Minute).Unix()
	r.mu.Lock()
	var closed []*apiv1.Counters
	for k, c := range r.counts {
		if k.minute < current {
			closed = append(closed, c)
			delete(r.counts, k)
		}
	}
	r.mu.Unlock()
	for _, c := range closed {
		if err := r.spoolRecord(kindCounters, c); err != nil {
			r.log.Error("report: counters of a minute lost", "app_id", c.AppID, "minute", c.Minute, "err", err)
		}
	}
}

// mergeCounters adds b to a (either may be nil).
func mergeCounters(a, b *apiv1.Counters) *apiv1.Counters {
	if a == nil {
		c := *b
		c.Attacks = maps.Clone(b.Attacks)
		return &c
	}
	a.Requests += b.Requests
	a.Blocked += b.Blocked
	for t, n := range b.Attacks {
		if a.Attacks == nil {
			a.Attacks = make(map[string]uint64)
		}
		a.Attacks[t] += n
	}
	return a
}
