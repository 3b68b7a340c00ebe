package notify

import "github.com/prometheus/client_golang/prometheus"

// Instrument registers the dispatcher's metrics with reg:
// palisade_cloud_deliveries_total{state} (final states: delivered, failed)
// and palisade_cloud_delivery_attempts_total{result} (ok, retry, refused).
func (d *Dispatcher) Instrument(reg prometheus.Registerer) error {
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "palisade_cloud_deliveries_total",
		Help: "Notifications to integrations by final state.",
	}, []string{"state"})
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "palisade_cloud_delivery_attempts_total",
		Help: "Attempts to deliver a notification, by result: ok, retry (unreachable, 5xx, 408, 429), refused (other 4xx).",
	}, []string{"result"})
	for _, c := range []prometheus.Collector{deliveries, attempts} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	d.deliveries, d.attempts = deliveries, attempts
	return nil
}

func (d *Dispatcher) count(v *prometheus.CounterVec, label string) {
	if v != nil {
		v.WithLabelValues(label).Inc()
	}
}
