package sync

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	version           prometheus.GaugeFunc
	age               prometheus.GaugeFunc
	signatureFailures prometheus.Counter
	syncs             *prometheus.CounterVec
}

func newMetrics(s *Syncer) *metrics {
	m := &metrics{
		version: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palisade_ruleset_version",
			Help: "Version of the ruleset in force (0: none yet).",
		}, func() float64 { return float64(s.Version()) }),
		age: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palisade_ruleset_age_seconds",
			Help: "Seconds since the ruleset in force was issued (0: none yet).",
		}, func() float64 {
			ns := s.issued.Load()
			if ns == 0 {
				return 0
			}
			return s.cfg.Now().Sub(time.Unix(0, ns)).Seconds()
		}),
		signatureFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_ruleset_signature_failures_total",
			Help: "Rulesets refused because they were unsigned, signed with an unknown key or badly signed (Ed25519, pinned cloud key).",
		}),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_ruleset_sync_total",
			Help: "Ruleset syncs by result: applied, unchanged (the cloud confirmed the ruleset in force), signature_failure, invalid, stale (older than the one in force: refused), apply_error, persist_error, fetch_error.",
		}, []string{"result"}),
	}
	for _, r := range results {
		m.syncs.WithLabelValues(r)
	}
	return m
}

func (m *metrics) result(r string) { m.syncs.WithLabelValues(r).Inc() }

func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.version.Describe(ch)
	m.age.Describe(ch)
	m.signatureFailures.Describe(ch)
	m.syncs.Describe(ch)
}

func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.version.Collect(ch)
	m.age.Collect(ch)
	m.signatureFailures.Collect(ch)
	m.syncs.Collect(ch)
}
