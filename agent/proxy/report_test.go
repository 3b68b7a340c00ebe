package proxy

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/report"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// ingest is a stand-in for the cloud's ingest endpoint that keeps the
// events it receives.
type ingest struct {
	mu      sync.Mutex
	events  []apiv1.Event
	sources []apiv1.SourceCounters
	raw     strings.Builder
}

func (in *ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	var batch apiv1.ReportBatch
	var body strings.Builder
	if err := json.NewDecoder(teeReader{zr, &body}).Decode(&batch); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	in.mu.Lock()
	in.events = append(in.events, batch.Events...)
	in.sources = append(in.sources, batch.Sources...)
	in.raw.WriteString(body.String())
	in.mu.Unlock()
	json.NewEncoder(w).Encode(apiv1.IngestResult{Accepted: len(batch.Events)})
}

type teeReader struct {
	r interface{ Read([]byte) (int, error) }
	w *strings.Builder
}

func (t teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.w.Write(p[:n])
	return n, err
}

func (in *ingest) wait(t *testing.T, n int) []apiv1.Event {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		in.mu.Lock()
		got := append([]apiv1.Event(nil), in.events...)
		in.mu.Unlock()
		if len(got) >= n {
			return got
		}
	}
	t.Fatalf("fewer than %d events reached the ingest endpoint", n)
	return nil
}

// Detections go through the real reporting pipeline: masked, spooled and
// uploaded, with the decision and the request id the client saw.
func TestDetectionsReported(t *testing.T) {
	for _, mode := range []string{config.ModeBlock, config.ModeMonitoring} {
		t.Run(mode, func(t *testing.T) {
			in := &ingest{}
			srv := httptest.NewServer(in)
			defer srv.Close()
			masker, err := mask.New(mask.Config{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := report.New(report.Config{
				Dir: t.TempDir(), IngestURL: srv.URL + "/api/v1/ingest", Credential: "pcn_test",
				Masker: masker, BatchDelay: 20 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { rep.Run(ctx); close(done) }()
			defer func() { cancel(); <-done; rep.Close() }()

			e := newEnv(t, mode, nil, func(o *Options) { o.Reporter = rep })
			resp, _ := e.get("/login?password=hunter2-secret-pw&id=1%27%20OR%20%271%27%3D%271", nil)
			want := map[string]apiv1.Decision{config.ModeBlock: apiv1.DecisionBlocked, config.ModeMonitoring: apiv1.DecisionMonitored}[mode]
			ev := in.wait(t, 1)[0]
			if ev.Decision != want || ev.AttackType != "sqli" || ev.AppID != 1 || ev.SourceIP != "127.0.0.1" || ev.Status != resp.StatusCode {
				t.Errorf("event %+v", ev)
			}
			if mode == config.ModeBlock && ev.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("event request id %q, block page %q", ev.RequestID, resp.Header.Get("X-Request-Id"))
			}
			in.mu.Lock()
			raw := in.raw.String()
			in.mu.Unlock()
			if strings.Contains(raw, "hunter2-secret-pw") {
				t.Fatalf("a password left the node: %s", raw)
			}
		})
	}
}

// Every request is counted per source and path with the status the
// client got, and the counts reach the ingest endpoint once the minute
// ends: what the cloud's brute-force and forced-browsing triggers read.
func TestSourceCountsReported(t *testing.T) {
	in := &ingest{}
	srv := httptest.NewServer(in)
	defer srv.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	masker, err := mask.New(mask.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var later atomic.Int64 // added to the reporter's clock
	rep, err := report.New(report.Config{
		Dir: t.TempDir(), IngestURL: srv.URL + "/api/v1/ingest", Credential: "pcn_test",
		Masker: masker, BatchDelay: 20 * time.Millisecond,
		Clock: func() time.Time { return time.Now().Add(time.Duration(later.Load())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rep.Run(ctx); close(done) }()
	defer func() { cancel(); <-done; rep.Close() }()

	e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Applications[0].Upstream = upstream.URL },
		func(o *Options) { o.Reporter = rep })
	for i := range 5 {
		if resp, _ := e.get(fmt.Sprintf("/login?user=admin&password=hunter2-guess-%d", i), nil); resp.StatusCode != 200 {
			t.Fatalf("login answered %d", resp.StatusCode)
		}
	}
	for range 3 {
		if resp, _ := e.get("/wp-admin.php", nil); resp.StatusCode != 404 {
			t.Fatalf("scan answered %d", resp.StatusCode)
		}
	}
	if resp, _ := e.get("/login?id=1%27%20OR%20%271%27%3D%271", nil); resp.StatusCode != 403 {
		t.Fatalf("attack answered %d", resp.StatusCode)
	}
	// The proxy counts a request after answering it: wait for the attack's
	// event (reported after its count) before the minute ends, or the count
	// may land in the next minute.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		in.mu.Lock()
		n := len(in.events)
		in.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the attack was not reported")
		}
	}
	// The minute ends; an event wakes the uploader, which spools the
	// minute's per-source counts.
	later.Store(int64(time.Minute))
	e.get("/?q=%3Cscript%3Ealert(1)%3C/script%3E", nil)

	want := map[string]apiv1.SourceCounters{
		"/login":        {Requests: 6, NotFound: 0},
		"/wp-admin.php": {Requests: 3, NotFound: 3},
	}
	var got map[string]apiv1.SourceCounters
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		got = map[string]apiv1.SourceCounters{}
		in.mu.Lock()
		for _, c := range in.sources {
			if c.AppID != 1 || c.SourceIP != "127.0.0.1" {
				t.Errorf("source counters %+v", c)
			}
			g := got[c.Path]
			g.Requests += c.Requests
			g.NotFound += c.NotFound
			got[c.Path] = g
		}
		in.mu.Unlock()
		if got["/login"] == want["/login"] && got["/wp-admin.php"] == want["/wp-admin.php"] {
			break
		}
	}
	for path, w := range want {
		if g := got[path]; g.Requests != w.Requests || g.NotFound != w.NotFound {
			t.Errorf("%s: %d requests, %d not found; want %d, %d (all rows: %+v)", path, g.Requests, g.NotFound, w.Requests, w.NotFound, got)
		}
	}
	in.mu.Lock()
	raw := in.raw.String()
	in.mu.Unlock()
	if strings.Contains(raw, "hunter2-guess") {
		t.Fatalf("a password left the node: %s", raw)
	}
}
