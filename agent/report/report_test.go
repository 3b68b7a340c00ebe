package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/report/spool"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

type testReporter struct {
	*Reporter
	logs *syncBuffer
	reg  *prometheus.Registry
}

// newTestReporter returns a reporter with fast retries, logging through
// the masking handler into a buffer, with its own metrics registry.
func newTestReporter(t testing.TB, dir, url, credential string, tune func(*Config)) *testReporter {
	t.Helper()
	m, err := mask.New(mask.Config{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	cfg := Config{
		Dir:            dir,
		IngestURL:      url,
		Credential:     credential,
		Masker:         m,
		Logger:         slog.New(mask.NewHandler(slog.NewTextHandler(logs, nil), m, credential)),
		Registerer:     reg,
		AgentVersion:   "test",
		BatchDelay:     5 * time.Millisecond,
		RequestTimeout: 300 * time.Millisecond,
		BackoffMin:     10 * time.Millisecond,
		BackoffMax:     100 * time.Millisecond,
		Spool:          spool.Options{MaxBytes: 8 << 20},
	}
	if tune != nil {
		tune(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testReporter{Reporter: r, logs: logs, reg: reg}
}

// run starts the uploader; the returned func stops it and closes the
// reporter.
func (r *testReporter) run(t testing.TB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
			if err := r.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// metricsText renders the reporter's metrics in the exposition format.
func (r *testReporter) metricsText(t testing.TB) string {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// metric returns the value of one sample ("name" or `name{label="v"}`).
func (r *testReporter) metric(t testing.TB, sample string) float64 {
	t.Helper()
	for line := range strings.Lines(r.metricsText(t)) {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	t.Fatalf("no sample %s in:\n%s", sample, r.metricsText(t))
	return 0
}

// sqliInput is a request with one SQL injection in query.id.
func sqliInput(i int) Input {
	v := fmt.Sprintf("%d' OR 1=1--", i)
	return Input{
		AppID:     3,
		RequestID: fmt.Sprintf("req-%06d", i),
		SourceIP:  "198.18.0.7",
		Method:    "GET",
		Host:      "shop.example.test",
		Target:    "/products?id=" + v,
		Decision:  apiv1.DecisionBlocked,
		Status:    403,
		Detections: []Detection{{
			AttackType: "sqli", Point: point.Query("id"), Value: v, Start: len(v) - 9, End: len(v),
			DetectorID: "sqli.tokenizer", RuleIDs: []int64{12},
		}},
		Values: []mask.Value{{Point: point.Query("id"), Value: v}},
	}
}

func TestEventsArriveOnceInOrder(t *testing.T) {
	srv := newIngestServer(t)
	r := newTestReporter(t, t.TempDir(), srv.url(), srv.credential, nil)
	const n = 300
	for i := range n {
		if err := r.Report(sqliInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	stop := r.run(t)
	srv.waitStored(n)
	evs := srv.storedEvents()
	if len(evs) != n {
		t.Fatalf("stored %d events, want %d", len(evs), n)
	}
	for i, ev := range evs {
		if ev.RequestID != fmt.Sprintf("req-%06d", i) {
			t.Fatalf("event %d is %s: out of order", i, ev.RequestID)
		}
		if ev.AttackType != "sqli" || ev.Point != "query.id" || ev.Decision != apiv1.DecisionBlocked ||
			!strings.Contains(ev.Excerpt, "OR 1=1--") || ev.Path != "/products?id="+fmt.Sprintf("%d' OR 1=1--", i) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	waitFor(t, "spool to empty", func() bool { return r.Stats().Events == 0 })
	if got := r.metric(t, "palisade_report_events_uploaded_total"); got != n {
		t.Errorf("uploaded metric %v, want %d", got, n)
	}
	if got := r.metric(t, "palisade_report_spool_events"); got != 0 {
		t.Errorf("spool events metric %v after delivery", got)
	}
	stop()
}

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCountersPerMinute(t *testing.T) {
	srv := newIngestServer(t)
	dir := t.TempDir()
	r := newTestReporter(t, dir, srv.url(), srv.credential, nil)
	for range 10 {
		r.Count(1, "")
	}
	r.Count(1, apiv1.DecisionBlocked, "sqli", "xss")
	r.Count(2, apiv1.DecisionMonitored, "sqli")
	// A restart in the middle of the minute keeps its counts.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = newTestReporter(t, dir, srv.url(), srv.credential, nil)
	r.Count(1, "")
	r.spoolClosedMinutes(time.Now().Add(time.Minute))
	r.run(t)
	waitFor(t, "counters", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.counters) == 2
	})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	got := map[int64]apiv1.Counters{}
	for _, c := range srv.counters {
		got[c.AppID] = c
	}
	if c := got[1]; c.Requests != 12 || c.Blocked != 1 || c.Attacks["sqli"] != 1 || c.Attacks["xss"] != 1 || c.Minute.Second() != 0 {
		t.Errorf("app 1 counters %+v", c)
	}
	if c := got[2]; c.Requests != 1 || c.Blocked != 0 || c.Attacks["sqli"] != 1 {
		t.Errorf("app 2 counters %+v", c)
	}
}

// TestBadIngestServer: whatever the cloud does wrong, the proxy's calls
// return, the events stay in the spool, and once the cloud behaves every
// event is stored exactly once.
func TestBadIngestServer(t *testing.T) {
	for _, c := range []struct {
		name string
		mode int32
	}{
		{"500", mode500},
		{"hang", modeHang},
		{"early close", modeEarlyClose},
		{"garbage", modeGarbage},
		{"413", modeTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newIngestServer(t)
			srv.mode.Store(c.mode)
			r := newTestReporter(t, t.TempDir(), srv.url(), srv.credential, nil)
			r.run(t)

			// The proxy: every request is counted and reported, then
			// answered.
			var seq sync.Mutex
			next := 0
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				seq.Lock()
				i := next
				next++
				seq.Unlock()
				r.Count(3, apiv1.DecisionBlocked, "sqli")
				if err := r.Report(sqliInput(i)); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusForbidden)
			}))
			defer proxy.Close()
			const n = 40
			for range n {
				resp, err := http.Get(proxy.URL)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("proxy answered %d while the cloud misbehaves", resp.StatusCode)
				}
			}
			// Go's client may send a GET again when a kept-alive connection
			// fails under it, so the proxy can have reported a request or
			// two more than the loop sent: every report counts, read once
			// the uploads have failed, when the handler of a GET the client
			// gave up on has finished too.
			waitFor(t, "failed uploads", func() bool { return r.metric(t, `palisade_report_uploads_total{result="failed"}`) >= 3 })
			seq.Lock()
			reported := next
			seq.Unlock()
			if st := r.Stats(); st.Events != int64(reported) {
				t.Fatalf("spool holds %d events, want %d", st.Events, reported)
			}
			if got := len(srv.storedEvents()); got != 0 {
				t.Fatalf("misbehaving server stored %d events", got)
			}
			if r.metric(t, "palisade_report_spool_events") != float64(reported) || r.metric(t, "palisade_report_spool_bytes") <= 0 ||
				r.metric(t, "palisade_report_spool_oldest_event_age_seconds") <= 0 {
				t.Fatalf("spool metrics do not show the waiting events:\n%s", r.metricsText(t))
			}
			if !strings.Contains(r.logs.String(), "upload failed, events kept in the spool") {
				t.Fatalf("no log line for the failures:\n%s", r.logs)
			}

			srv.mode.Store(modeOK)
			srv.waitStored(reported)
			waitFor(t, "spool to empty", func() bool { return r.Stats().Events == 0 })
			seen := map[string]bool{}
			for _, ev := range srv.storedEvents() {
				if seen[ev.RequestID] {
					t.Fatalf("request %s stored twice", ev.RequestID)
				}
				seen[ev.RequestID] = true
			}
			if len(seen) != reported {
				t.Fatalf("stored %d distinct requests, want %d", len(seen), reported)
			}
			if strings.Contains(r.logs.String(), srv.credential) {
				t.Fatal("the node credential is in the logs")
			}
		})
	}
}

// TestLostAnswersAreResentAndStoredOnce: the cloud stores a batch but the
// answer never reaches the node, which sends it again; the cloud's
// idempotency by event id keeps one copy.
func TestLostAnswersAreResentAndStoredOnce(t *testing.T) {
	srv := newIngestServer(t)
	srv.mode.Store(modeStoreThenClose)
	r := newTestReporter(t, t.TempDir(), srv.url(), srv.credential, nil)
	const n = 50
	for i := range n {
		if err := r.Report(sqliInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	r.run(t)
	srv.waitStored(n)
	waitFor(t, "a resend", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return srv.received > n
	})
	if st := r.Stats(); st.Events != n {
		t.Fatalf("spool holds %d events while no answer arrived, want %d", st.Events, n)
	}
	srv.mode.Store(modeOK)
	waitFor(t, "spool to empty", func() bool { return r.Stats().Events == 0 })
	if got := len(srv.storedEvents()); got != n {
		t.Fatalf("stored %d events, want %d", got, n)
	}
}

// TestFullSpoolIsCounted: with the cloud down and a small spool, the
// oldest events are dropped, and every one of them is counted.
func TestFullSpoolIsCounted(t *testing.T) {
	srv := newIngestServer(t)
	srv.mode.Store(mode500)
	r := newTestReporter(t, t.TempDir(), srv.url(), srv.credential, func(c *Config) {
		c.Spool = spool.Options{MaxBytes: 64 << 10}
	})
	const n = 1000 // about 400 KiB of events
	for i := range n {
		if err := r.Report(sqliInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	dropped := r.metric(t, `palisade_report_events_dropped_total{reason="spool_full"}`)
	kept := r.metric(t, "palisade_report_spool_events")
	if dropped == 0 || dropped+kept != n {
		t.Fatalf("dropped %v + kept %v != %d reported", dropped, kept, n)
	}
	if !strings.Contains(r.logs.String(), "spool full: dropped the oldest undelivered events") {
		t.Fatalf("no log line for the drop:\n%s", r.logs)
	}
	// What is left is the newest, and it is delivered.
	r.run(t)
	srv.mode.Store(modeOK)
	srv.waitStored(int(kept))
	evs := srv.storedEvents()
	if last := evs[len(evs)-1].RequestID; last != fmt.Sprintf("req-%06d", n-1) {
		t.Fatalf("last delivered event is %s, want the newest", last)
	}
}
