package corazabench

import (
	"bytes"
	"testing"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/detect/benchdata"
)

// newCoraza returns Coraza with its recommended configuration and the CRS
// at paranoia level 1 (the CRS default), blocking on the anomaly score.
func newCoraza(tb testing.TB) coraza.WAF {
	waf, err := coraza.NewWAF(coraza.NewWAFConfig().
		WithRootFS(coreruleset.FS).
		WithDirectives(`
Include @coraza.conf-recommended
SecRuleEngine On
SecAuditEngine Off
SecRequestBodyLimit 1048576
SecRequestBodyInMemoryLimit 1048576
Include @crs-setup.conf.example
SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=1"
Include @owasp_crs/*.conf
`))
	if err != nil {
		tb.Fatalf("load Coraza with CRS: %v", err)
	}
	return waf
}

// inspectCoraza runs one request through every request phase and reports
// whether CRS interrupted it.
func inspectCoraza(waf coraza.WAF, r benchdata.Request) bool {
	tx := waf.NewTransaction()
	defer tx.Close()
	tx.ProcessConnection("198.18.0.10", 40000, "198.18.0.1", 80)
	uri := r.Path
	if r.Query != "" {
		uri += "?" + r.Query
	}
	tx.ProcessURI(uri, r.Method, "HTTP/1.1")
	tx.AddRequestHeader("Host", r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.ContentType != "" {
		tx.AddRequestHeader("Content-Type", r.ContentType)
	}
	var it *types.Interruption
	if it = tx.ProcessRequestHeaders(); it == nil && len(r.Body) > 0 {
		if _, _, err := tx.ReadRequestBodyFrom(bytes.NewReader(r.Body)); err == nil {
			it, _ = tx.ProcessRequestBody()
		}
	} else if it == nil {
		it, _ = tx.ProcessRequestBody()
	}
	tx.ProcessLogging()
	return it != nil
}

// TestSameVerdicts checks that both engines agree on the benchmark
// requests, so the comparison is between engines doing the same job.
func TestSameVerdicts(t *testing.T) {
	waf := newCoraza(t)
	e := detect.New(detect.Options{})
	for _, r := range benchdata.Requests() {
		want := r.Name == "AttackGET"
		if got := inspectCoraza(waf, r); got != want {
			t.Errorf("%s: Coraza+CRS interrupted = %v, want %v", r.Name, got, want)
		}
		if got := e.Inspect(r.Detect()).Attack(); got != want {
			t.Errorf("%s: Palisade attack = %v, want %v", r.Name, got, want)
		}
	}
}

// BenchmarkEngines runs each request through Palisade and through Coraza
// with CRS PL1, side by side: the ns/op ratio of the pairs is what
// docs/BENCHMARKS.md reports.
func BenchmarkEngines(b *testing.B) {
	waf := newCoraza(b)
	e := detect.New(detect.Options{})
	for _, r := range benchdata.Requests() {
		req := r.Detect()
		b.Run(r.Name+"/palisade", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.Inspect(req)
			}
		})
		b.Run(r.Name+"/coraza-crs", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				inspectCoraza(waf, r)
			}
		})
	}
}
