package detect_test

import (
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/detect/benchdata"
)

// BenchmarkInspect measures the engine on the requests of
// agent/detect/benchdata; tools/corazabench runs the same requests through
// Coraza and the OWASP CRS for the baseline (docs/BENCHMARKS.md). Each
// request is also run through the engine without its cache of clean header
// values (.../nocache), and without that cache and its per-value prefilter
// (.../noprefilter: every detector on every value), in the same run.
func BenchmarkInspect(b *testing.B) {
	engines := []struct {
		suffix string
		e      *detect.Engine
	}{
		{"", detect.New(detect.Options{})},
		// Every header and cookie value as if first seen (no clean cache):
		// what a request costs whose headers no earlier request carried.
		{"/nocache", detect.New(detect.Options{CleanCache: -1})},
		{"/noprefilter", detect.NewWithoutPrefilter(detect.Options{CleanCache: -1})},
	}
	for _, r := range benchdata.Requests() {
		req := r.Detect()
		attack := r.Name == "AttackGET"
		for _, eng := range engines {
			b.Run(r.Name+eng.suffix, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(req.Body) + len(req.RawQuery) + len(req.Path)))
				for b.Loop() {
					res := eng.e.Inspect(req)
					if res.Attack() != attack {
						b.Fatalf("attack = %v, want %v: %+v", res.Attack(), attack, res.Detections)
					}
				}
			})
		}
	}
}
