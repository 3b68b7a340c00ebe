package xdp

import (
	"net"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	packetsDesc = prometheus.NewDesc("palisade_xdp_packets_total",
		"Packets seen by the XDP filter, by interface, action (pass, drop) and reason.",
		[]string{"iface", "action", "reason"}, nil)
	bytesDesc = prometheus.NewDesc("palisade_xdp_bytes_total",
		"Bytes seen by the XDP filter, by interface, action and reason.",
		[]string{"iface", "action", "reason"}, nil)
	attachDesc = prometheus.NewDesc("palisade_xdp_attached",
		"1 for each interface the XDP filter is attached to, with the mode in use (native or generic).",
		[]string{"iface", "mode"}, nil)
	entriesDesc = prometheus.NewDesc("palisade_xdp_list_entries",
		"Entries in an XDP IP list (expired entries count until swept).",
		[]string{"list"}, nil)
)

// Collector exposes the filter's per-CPU counters, attachments and list
// sizes. It reads the maps at scrape time, so the numbers include what was
// dropped while the agent was not running.
type Collector struct {
	f *Filter
}

// NewCollector returns a Prometheus collector over f.
func NewCollector(f *Filter) *Collector { return &Collector{f: f} }

func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- packetsDesc
	ch <- bytesDesc
	ch <- attachDesc
	ch <- entriesDesc
}

func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counters, err := c.f.Counters()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(packetsDesc, err)
	}
	for _, k := range counters {
		iface := InterfaceName(k.Ifindex)
		ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(k.Packets), iface, k.Action, k.Reason)
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(k.Bytes), iface, k.Action, k.Reason)
	}
	for _, a := range c.f.Attachments() {
		ch <- prometheus.MustNewConstMetric(attachDesc, prometheus.GaugeValue, 1, a.Interface, string(a.Mode))
	}
	for l := range listCount {
		ch <- prometheus.MustNewConstMetric(entriesDesc, prometheus.GaugeValue, float64(c.f.Len(List(l))), List(l).String())
	}
}

// InterfaceName labels counters by name; an interface that is gone keeps its
// index, so the series stays unique.
func InterfaceName(index uint32) string {
	if ifc, err := net.InterfaceByIndex(int(index)); err == nil {
		return ifc.Name
	}
	return "if" + strconv.FormatUint(uint64(index), 10)
}
