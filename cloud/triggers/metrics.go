package triggers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/cloud/store"
)

// metrics count what the evaluator does; nil counts nothing.
type metrics struct {
	firings  *prometheus.CounterVec
	errors   prometheus.Counter
	duration prometheus.Histogram
}

// Instrument registers the evaluator's metrics with reg:
// palisade_cloud_trigger_firings_total{action},
// palisade_cloud_trigger_errors_total and
// palisade_cloud_trigger_judge_seconds (per ingested batch).
func (e *Evaluator) Instrument(reg prometheus.Registerer) error {
	m := &metrics{
		firings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_cloud_trigger_firings_total",
			Help: "Triggers fired for a source, by action (deny, gray, notify).",
		}, []string{"action"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_cloud_trigger_errors_total",
			Help: "Batches whose triggers could not all be judged (the next batch of the same sources judges them again).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "palisade_cloud_trigger_judge_seconds",
			Help:    "Time to judge the triggers of one ingested batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 8),
		}),
	}
	for _, a := range []string{"deny", "gray", "notify"} {
		m.firings.WithLabelValues(a)
	}
	for _, c := range []prometheus.Collector{m.firings, m.errors, m.duration} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	e.m = m
	return nil
}

func (m *metrics) observe(start time.Time, fired []store.Firing, err error) {
	if m == nil {
		return
	}
	m.duration.Observe(time.Since(start).Seconds())
	for _, f := range fired {
		m.firings.WithLabelValues(f.Action).Inc()
	}
	if err != nil {
		m.errors.Inc()
	}
}
