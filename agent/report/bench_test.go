package report

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/report/spool"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// benchRequest is a typical attacked request: a login JSON body with a
// password, a token and an email, a session cookie, a bearer token, and a
// SQL injection in one field.
func benchRequest() *detect.Request {
	h := http.Header{}
	h.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
	h.Set("Cookie", "session=9f8e7d6c5b4a39281706f5e4d3c2b1a0; theme=dark")
	h.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36")
	h.Set("Accept", "application/json")
	body := `{"user":{"email":"john.doe@example.com","password":"correct horse battery staple","remember":true},` +
		`"device":{"id":"a1b2c3d4","os":"linux"},"comment":"hello ' OR 1=1-- my card is 4111 1111 1111 1111",` +
		`"items":[{"sku":"X-1","qty":2},{"sku":"Y-2","qty":1}],"api_key":"sk_live_4eC39HqLyjWDarjtT1zdp7dc"}`
	return &detect.Request{
		AppID: 3, Method: "POST", Host: "shop.example.test", Path: "/api/v1/login", RawQuery: "next=%2Faccount&lang=en",
		Header: h, Body: []byte(body), ContentType: "application/json",
	}
}

func benchInput(b *testing.B, engine *detect.Engine) Input {
	req := benchRequest()
	in := Input{
		AppID: 3, RequestID: "rq-bench", SourceIP: "198.18.0.7", Method: req.Method, Host: req.Host,
		Target: req.Path + "?" + req.RawQuery, Decision: apiv1.DecisionBlocked, Status: 403,
	}
	in.AddResult(engine.Inspect(req), nil)
	if len(in.Detections) == 0 {
		b.Fatal("the benchmark request has no detection")
	}
	return in
}

// BenchmarkMaskEvent measures the masking cost per event: building the
// events of one request with masking against building them without
// (baseline), with the detection of the same request for scale.
func BenchmarkMaskEvent(b *testing.B) {
	engine := detect.New(detect.Options{})
	in := benchInput(b, engine)
	b.Run("baseline-unmasked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range in.Detections {
				ev := apiv1.Event{
					ID: newEventID(), Time: time.Now().UTC(), AppID: in.AppID, RequestID: in.RequestID,
					SourceIP: in.SourceIP, Method: in.Method, Host: in.Host, Path: cut(in.Target, apiv1.MaxPathLen),
					AttackType: d.AttackType, Point: d.Point.String(), DetectorID: d.DetectorID,
					Excerpt: cut(d.Value[d.Start:], apiv1.MaxExcerptLen), Decision: in.Decision, Status: in.Status,
				}
				if _, err := json.Marshal(&ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(in.Detections))/b.Elapsed().Seconds(), "events/s")
	})
	for _, mode := range []struct {
		name string
		cfg  mask.Config
	}{
		{"masked", mask.Config{}},
		{"masked-hmac", mask.Config{CorrelationKey: []byte("node-local-correlation-key-32byt")}},
		{"masked-limit-export", mask.Config{LimitExport: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			m, err := mask.New(mode.cfg)
			if err != nil {
				b.Fatal(err)
			}
			r := newTestReporter(b, b.TempDir(), "http://127.0.0.1:1/", "x", func(c *Config) { c.Masker = m })
			defer r.Close()
			b.ReportAllocs()
			for b.Loop() {
				events, err := r.events(in)
				if err != nil {
					b.Fatal(err)
				}
				for i := range events {
					if _, err := json.Marshal(&events[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(in.Detections))/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("detect-same-request", func(b *testing.B) {
		req := benchRequest()
		b.ReportAllocs()
		for b.Loop() {
			engine.Inspect(req)
		}
	})
}

// BenchmarkPipeline measures events per second from Report to the test
// cloud storing them (mask, spool append, gzip batch upload over loopback
// HTTP), against a baseline that posts pre-built events in the same
// batches with neither masking nor spool.
func BenchmarkPipeline(b *testing.B) {
	engine := detect.New(detect.Options{})
	in := benchInput(b, engine)
	in.Detections = in.Detections[:1] // one event per Report
	b.Run("baseline-post-prebuilt", func(b *testing.B) {
		srv := newIngestServer(b)
		ev := apiv1.Event{
			Time: time.Now().UTC(), AppID: 3, RequestID: "rq-bench", SourceIP: "198.18.0.7", Method: "POST",
			Host: "shop.example.test", Path: in.Target, AttackType: "sqli", Point: in.Detections[0].Point.String(),
			DetectorID: in.Detections[0].DetectorID, Excerpt: "' OR 1=1--", Decision: apiv1.DecisionBlocked, Status: 403,
		}
		client := &http.Client{}
		b.ResetTimer()
		for sent := 0; sent < b.N; {
			batch := apiv1.ReportBatch{Version: apiv1.Version}
			for ; sent < b.N && len(batch.Events) < 500; sent++ {
				ev.ID = newEventID()
				batch.Events = append(batch.Events, ev)
			}
			var body bytes.Buffer
			zw := gzip.NewWriter(&body)
			json.NewEncoder(zw).Encode(&batch)
			zw.Close()
			req, _ := http.NewRequest(http.MethodPost, srv.url(), &body)
			req.Header.Set("Content-Encoding", "gzip")
			req.Header.Set("Authorization", "Bearer "+srv.credential)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
		srv.waitStored(b.N)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, sync := range []struct {
		name     string
		interval time.Duration
	}{
		{"mask+spool+upload", 0},
		{"mask+spool(fsync-each)+upload", -1},
	} {
		b.Run(sync.name, func(b *testing.B) {
			srv := newIngestServer(b)
			r := newTestReporter(b, b.TempDir(), srv.url(), srv.credential, func(c *Config) {
				c.BatchDelay = 50 * time.Millisecond
				c.Spool = spool.Options{MaxBytes: 1 << 30, SyncInterval: sync.interval}
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			b.ResetTimer()
			for range b.N {
				if err := r.Report(in); err != nil {
					b.Fatal(err)
				}
			}
			srv.waitStored(b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			cancel()
			<-done
			r.Close()
		})
	}
}

// BenchmarkSpoolAppend measures one append of a typical event record,
// fsynced once a second (the default) against fsynced every time.
func BenchmarkSpoolAppend(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 700)
	for _, c := range []struct {
		name     string
		interval time.Duration
	}{{"fsync-1s", time.Second}, {"fsync-each", -1}} {
		b.Run(c.name, func(b *testing.B) {
			s, err := spool.Open(b.TempDir(), spool.Options{MaxBytes: 1 << 30, SyncInterval: c.interval})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if err := s.Append(payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCountSource measures the per-request cost of the per-source
// counts against Count (the per-application counters, which the proxy
// already pays on every request): a source and path seen before (the
// common case: a client's next request), a normalised path, and a flood
// of new sources and paths that keeps the bounded tables evicting.
func BenchmarkCountSource(b *testing.B) {
	r := newTestReporter(b, b.TempDir(), "http://127.0.0.1:1/api/v1/ingest", "pcn_x", nil)
	b.Cleanup(func() { r.Close() })
	src := netip.MustParseAddr("198.18.0.7")
	b.Run("baseline-Count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.Count(3, "")
		}
	})
	b.Run("seen-source-and-path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.CountSource(3, src, "/api/v1/login?next=%2Faccount&lang=en", 200)
		}
	})
	b.Run("path-to-normalise", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.CountSource(3, src, "/api//v1/./%6Cogin?next=%2Faccount", 200)
		}
	})
	b.Run("new-source-and-path-each-time", func(b *testing.B) {
		paths := make([]string, 1<<12)
		for i := range paths {
			paths[i] = fmt.Sprintf("/scan/%d.php", i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			a := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
			r.CountSource(3, a, paths[i%len(paths)], 404)
			i++
		}
	})
}
