package steer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/bpf"
)

var (
	modeDesc = prometheus.NewDesc("palisade_steering_mode",
		"1 for the steering mechanism in use (sk_lookup or tproxy).", []string{"mode"}, nil)
	portsDesc = prometheus.NewDesc("palisade_steering_ports",
		"Local ports currently intercepted.", nil, nil)
	lookupsDesc = prometheus.NewDesc("palisade_steering_lookups_total",
		"New connections to intercepted ports seen by the sk_lookup program, by outcome.", []string{"result"}, nil)
)

var counterNames = map[bpf.SklookupSteerCounter]string{
	bpf.SklookupSteerCounterSTEER_ASSIGNED:      "steered",
	bpf.SklookupSteerCounterSTEER_BYPASSED:      "agent_upstream",
	bpf.SklookupSteerCounterSTEER_NO_SOCKET:     "fail_open_no_socket",
	bpf.SklookupSteerCounterSTEER_ASSIGN_FAILED: "fail_open_assign_error",
}

// Collector exports the steerer's state and counters to Prometheus.
type Collector struct{ s *Steerer }

// NewCollector returns a collector for s.
func NewCollector(s *Steerer) *Collector { return &Collector{s: s} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- modeDesc
	ch <- portsDesc
	ch <- lookupsDesc
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(modeDesc, prometheus.GaugeValue, 1, string(c.s.mode))
	c.s.mu.Lock()
	n := len(c.s.ports)
	c.s.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(portsDesc, prometheus.GaugeValue, float64(n))
	if c.s.skl == nil {
		return
	}
	counts, err := c.s.skl.counters()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(lookupsDesc, err)
		return
	}
	for k, name := range counterNames {
		ch <- prometheus.MustNewConstMetric(lookupsDesc, prometheus.CounterValue, float64(counts[k]), name)
	}
}
