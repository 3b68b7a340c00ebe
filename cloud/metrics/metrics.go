// Package metrics defines the cloud's Prometheus metrics (served on
// /metrics): ingest outcomes, values refused as still sensitive, HTTP
// requests, logins, and nodes by state. They live on a registry of their
// own so that tests and several servers in one process do not collide.
package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/palisadewaf/palisade/cloud/sensitive"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Metrics are the cloud's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	// IngestEvents counts events by result: accepted, duplicate, rejected.
	IngestEvents *prometheus.CounterVec
	// IngestBatches counts ingest requests by result: ok, bad_request,
	// too_large, rate_limited, error.
	IngestBatches *prometheus.CounterVec
	// RejectedSensitive counts events refused because a field still
	// looked sensitive, by kind of value (never the value).
	RejectedSensitive *prometheus.CounterVec
	// HTTPRequests counts requests by route pattern, method and status.
	HTTPRequests *prometheus.CounterVec
	// HTTPDuration is the latency of requests by route pattern.
	HTTPDuration *prometheus.HistogramVec
	// Logins counts login attempts by result: ok, failed, rate_limited.
	Logins *prometheus.CounterVec
}

// NodeCounter counts nodes by state; the store is one.
type NodeCounter interface {
	CountNodes(ctx context.Context, now time.Time) (map[store.NodeState]int, error)
}

// New creates the metrics. Nodes by state are counted from nodes at each
// scrape, so every replica reports the same, current numbers.
func New(nodes NodeCounter, log *slog.Logger) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		IngestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_cloud_ingest_events_total",
			Help: "Events received from nodes, by result (accepted, duplicate, rejected).",
		}, []string{"result"}),
		IngestBatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_cloud_ingest_batches_total",
			Help: "Ingest requests, by result (ok, bad_request, too_large, rate_limited, error).",
		}, []string{"result"}),
		RejectedSensitive: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_cloud_ingest_rejected_sensitive_total",
			Help: "Events refused because a field still looked like a sensitive value, by kind.",
		}, []string{"kind"}),
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_cloud_http_requests_total",
			Help: "HTTP requests, by route, method and status code.",
		}, []string{"route", "method", "code"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "palisade_cloud_http_request_duration_seconds",
			Help:    "HTTP request latency, by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_cloud_logins_total",
			Help: "Login attempts, by result (ok, failed, rate_limited).",
		}, []string{"result"}),
	}
	// Every label value that can occur exists from the start, so that a
	// rate() over it has a zero to start from.
	for _, r := range []string{"accepted", "duplicate", "rejected"} {
		m.IngestEvents.WithLabelValues(r)
	}
	for _, r := range []string{"ok", "bad_request", "too_large", "rate_limited", "error"} {
		m.IngestBatches.WithLabelValues(r)
	}
	for _, k := range sensitive.Kinds {
		m.RejectedSensitive.WithLabelValues(string(k))
	}
	for _, r := range []string{"ok", "failed", "rate_limited"} {
		m.Logins.WithLabelValues(r)
	}
	m.Registry.MustRegister(m.IngestEvents, m.IngestBatches, m.RejectedSensitive, m.HTTPRequests, m.HTTPDuration, m.Logins,
		&nodeCollector{nodes: nodes, log: log},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var nodesDesc = prometheus.NewDesc("palisade_cloud_nodes", "Enrolled nodes, by state (new, active, stale, revoked).", []string{"state"}, nil)

type nodeCollector struct {
	nodes NodeCounter
	log   *slog.Logger
}

func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- nodesDesc }

func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.nodes.CountNodes(ctx, time.Now())
	if err != nil {
		c.log.Warn("metrics: count nodes", "err", err)
		return
	}
	for _, st := range []store.NodeState{store.NodeNew, store.NodeActive, store.NodeStale, store.NodeRevoked} {
		ch <- prometheus.MustNewConstMetric(nodesDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
