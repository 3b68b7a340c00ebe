package proxy

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/detect/attack"
	"github.com/palisadewaf/palisade/agent/proxy/h1"
)

// Request decisions, the decision label of palisade_requests_total.
const (
	DecisionClean       = "clean"       // inspected, nothing found, forwarded
	DecisionUninspected = "uninspected" // mode off: forwarded without inspection
	DecisionMonitored   = "monitored"   // attack found, forwarded: monitoring mode
	DecisionPassed      = "passed"      // attack found, forwarded: mode, allowlist or experimental rule
	DecisionBlocked     = "blocked"     // answered by the agent (403, or 413 for an oversize body)
)

var requestDecisions = []string{DecisionClean, DecisionUninspected, DecisionMonitored, DecisionPassed, DecisionBlocked}

// attackTypeLabel keeps the type label bounded: built-in types, vpatch and
// the policy's ip_deny and rate_limit as they are, custom detectors' free-form types as "custom".
func attackTypeLabel(t string) string {
	if t == detect.VirtualPatchType || t == AttackIPDeny || t == AttackRateLimit || slices.Contains(attack.Types, t) {
		return t
	}
	return "custom"
}

// metrics are the proxy's Prometheus series. Labels are bounded: app is an
// application name from the configuration, never a Host or an address.
type metrics struct {
	requests      *prometheus.CounterVec
	attacks       *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	detection     *prometheus.HistogramVec
	bytes         *prometheus.CounterVec
	upstreamErrs  *prometheus.CounterVec
	truncated     *prometheus.CounterVec
	malformed     *prometheus.CounterVec
	unmatched     prometheus.Counter
	active        prometheus.Gauge
	connections   *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	grayListed    prometheus.GaugeFunc
	mu            sync.Mutex
	apps          map[string]*appMetrics
	connsAccepted prometheus.Counter
	connsRefused  prometheus.Counter
}

// appMetrics are one application's series, resolved once so that the
// request path does no label look-ups.
type appMetrics struct {
	decisions map[string]prometheus.Counter
	duration  prometheus.Observer
	detection prometheus.Observer
	bytesIn   prometheus.Counter
	bytesOut  prometheus.Counter
	truncated prometheus.Counter
	// rateLimited counts requests over a ruleset rate limit.
	rateLimited prometheus.Counter
	name        string
	m           *metrics
}

func newMetrics(reg prometheus.Registerer, gray *GrayList) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_requests_total",
			Help: "HTTP requests handled by the proxy, by application and decision (clean, uninspected, monitored, passed, blocked).",
		}, []string{"app", "decision"}),
		attacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_attacks_total",
			Help: "Requests with an attack detected, by application, attack type and decision (blocked, passed, monitored); a request counts once per type.",
		}, []string{"app", "type", "decision"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "palisade_request_duration_seconds",
			Help:    "Time from a request's head being read to its response being written, upstream included.",
			Buckets: []float64{.0002, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"app"}),
		detection: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "palisade_detection_duration_seconds",
			Help:    "Time the detection engine spent on one request.",
			Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05},
		}, []string{"app"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_proxy_bytes_total",
			Help: "HTTP bytes (heads and bodies) received from clients (in) and sent to them (out).",
		}, []string{"app", "direction"}),
		upstreamErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_proxy_upstream_errors_total",
			Help: "Requests that failed at the upstream, by kind (connect, timeout, protocol).",
		}, []string{"app", "kind"}),
		truncated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_proxy_inspection_truncated_total",
			Help: "Requests inspected only in part (body over the inspection limit, or another engine bound).",
		}, []string{"app"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_proxy_malformed_requests_total",
			Help: "Requests refused before inspection because their framing or syntax is invalid or ambiguous.",
		}, []string{"reason"}),
		unmatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_proxy_unmatched_requests_total",
			Help: "Requests whose Host matched no application on their listener (answered 421).",
		}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "palisade_proxy_active_connections",
			Help: "Client connections open on the proxy.",
		}),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_proxy_connections_total",
			Help: "Client connections accepted, or refused by the per-source limit.",
		}, []string{"result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_proxy_rate_limited_total",
			Help: "Requests over a ruleset rate limit: answered 429, or forwarded in monitoring mode.",
		}, []string{"app"}),
		grayListed: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "palisade_gray_list_entries",
			Help: "Entries in the L7 gray list.",
		}, func() float64 { return float64(gray.Len()) }),
		apps: map[string]*appMetrics{},
	}
	for _, r := range h1.Reasons {
		m.malformed.WithLabelValues(r)
	}
	m.connsAccepted = m.connections.WithLabelValues("accepted")
	m.connsRefused = m.connections.WithLabelValues("refused_per_source_limit")
	if reg != nil {
		reg.MustRegister(m.requests, m.attacks, m.duration, m.detection, m.bytes, m.upstreamErrs,
			m.truncated, m.malformed, m.unmatched, m.active, m.connections, m.rateLimited, m.grayListed)
	}
	return m
}

func (m *metrics) forApp(name string) *appMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if am := m.apps[name]; am != nil {
		return am
	}
	am := &appMetrics{
		decisions:   map[string]prometheus.Counter{},
		duration:    m.duration.WithLabelValues(name),
		detection:   m.detection.WithLabelValues(name),
		bytesIn:     m.bytes.WithLabelValues(name, "in"),
		bytesOut:    m.bytes.WithLabelValues(name, "out"),
		truncated:   m.truncated.WithLabelValues(name),
		rateLimited: m.rateLimited.WithLabelValues(name),
		name:        name,
		m:           m,
	}
	for _, d := range requestDecisions {
		am.decisions[d] = m.requests.WithLabelValues(name, d)
	}
	m.apps[name] = am
	return am
}

func (am *appMetrics) attack(typ, decision string) {
	am.m.attacks.WithLabelValues(am.name, attackTypeLabel(typ), decision).Inc()
}

func (am *appMetrics) upstreamError(kind string) {
	am.m.upstreamErrs.WithLabelValues(am.name, kind).Inc()
}
