package proxy

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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
	mu     sync.Mutex
	events []apiv1.Event
	raw    strings.Builder
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
