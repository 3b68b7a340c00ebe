package report

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/report/spool"
)

// Reasons an event was not delivered, the "reason" label of
// palisade_report_events_dropped_total. Labels never carry request values.
const (
	reasonSpoolFull     = "spool_full"
	reasonRejected      = "rejected"
	reasonUndecodable   = "undecodable"
	reasonSpoolError    = "spool_error"
	reasonPerRequestCap = "per_request_cap"
)

// Reasons a request was not counted under its source and path, the
// "reason" label of palisade_report_source_requests_uncounted_total.
const (
	// reasonPathCap: counted under its source, without its path.
	reasonPathCap = "path_cap"
	// reasonSourceCap: its source was evicted, not counted at all.
	reasonSourceCap = "source_cap"
)

// metrics are the reporter's Prometheus metrics. The spool's gauges are
// read from the spool at scrape time.
type metrics struct {
	spool *spool.Spool

	// spoolDropped is the spool's drop count already added to dropped.
	mu           sync.Mutex
	spoolDropped uint64

	spooled  prometheus.Counter
	masked   prometheus.Counter
	uploaded prometheus.Counter
	uploads  *prometheus.CounterVec
	dropped  *prometheus.CounterVec
	// uncounted are requests the per-source counts lost to their bounds.
	uncounted *prometheus.CounterVec

	spoolEvents, spoolBytes, oldestAge, quarantined *prometheus.Desc
}

func newMetrics(sp *spool.Spool) *metrics {
	m := &metrics{
		spool: sp,
		spooled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_report_events_spooled_total",
			Help: "Events masked and written to the spool.",
		}),
		masked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_report_events_masked_total",
			Help: "Spooled events in which at least one value was masked.",
		}),
		uploaded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_report_events_uploaded_total",
			Help: "Events the cloud has stored (accepted or already stored).",
		}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_report_uploads_total",
			Help: "Upload attempts by result (ok, failed).",
		}, []string{"result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_report_events_dropped_total",
			Help: "Events that will never be delivered, by reason.",
		}, []string{"reason"}),
		uncounted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_report_source_requests_uncounted_total",
			Help: "Requests not counted under their source and path in the per-source counters, by bound reached (path_cap, source_cap).",
		}, []string{"reason"}),
		spoolEvents: prometheus.NewDesc("palisade_report_spool_events",
			"Events and counters in the spool, not yet stored by the cloud.", nil, nil),
		spoolBytes: prometheus.NewDesc("palisade_report_spool_bytes",
			"Bytes of the spool's segment files.", nil, nil),
		oldestAge: prometheus.NewDesc("palisade_report_spool_oldest_event_age_seconds",
			"Age of the oldest undelivered record in the spool (0 when empty).", nil, nil),
		quarantined: prometheus.NewDesc("palisade_report_spool_segments_quarantined_total",
			"Damaged spool segments copied to quarantine since start.", nil, nil),
	}
	for _, r := range []string{"ok", "failed"} {
		m.uploads.WithLabelValues(r)
	}
	for _, r := range []string{reasonSpoolFull, reasonRejected, reasonUndecodable, reasonSpoolError, reasonPerRequestCap} {
		m.dropped.WithLabelValues(r)
	}
	for _, r := range []string{reasonPathCap, reasonSourceCap} {
		m.uncounted.WithLabelValues(r)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.spooled.Describe(ch)
	m.masked.Describe(ch)
	m.uploaded.Describe(ch)
	m.uploads.Describe(ch)
	m.dropped.Describe(ch)
	m.uncounted.Describe(ch)
	ch <- m.spoolEvents
	ch <- m.spoolBytes
	ch <- m.oldestAge
	ch <- m.quarantined
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	st := m.spool.Stats()
	// Drops for a full spool are counted by the spool itself; fold them
	// into the one dropped-events family.
	m.mu.Lock()
	if st.Dropped > m.spoolDropped {
		m.dropped.WithLabelValues(reasonSpoolFull).Add(float64(st.Dropped - m.spoolDropped))
		m.spoolDropped = st.Dropped
	}
	m.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(m.spoolEvents, prometheus.GaugeValue, float64(st.Events))
	ch <- prometheus.MustNewConstMetric(m.spoolBytes, prometheus.GaugeValue, float64(st.Bytes))
	age := 0.0
	if !st.Oldest.IsZero() {
		age = max(0, time.Since(st.Oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(m.oldestAge, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(m.quarantined, prometheus.CounterValue, float64(st.Quarantined))
	m.spooled.Collect(ch)
	m.masked.Collect(ch)
	m.uploaded.Collect(ch)
	m.uploads.Collect(ch)
	m.dropped.Collect(ch)
	m.uncounted.Collect(ch)
}
