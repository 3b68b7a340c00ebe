package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// FuzzIngest sends arbitrary bodies, plain and gzip, to the ingest
// endpoint: whatever the bytes, the answer is 200 or a 4xx with an error
// document, never a 5xx or a panic, and a 200 accounts for every event.
func FuzzIngest(f *testing.F) {
	ts := newTestServer(f)
	fx := ts.tenantOnly(f)
	_, cred := ts.enrollNodeTB(f, fx)
	good, _ := json.Marshal(apiv1.ReportBatch{Version: 1, Events: []apiv1.Event{event(0, time.Now(), 0)}})
	f.Add(good, false)
	f.Add(good, true)
	f.Add([]byte(`{"version":1,"events":[{"id":"x"}]}`), false)
	f.Add([]byte(`{"version":1,"counters":[{"minute":"2026-01-01T00:00:00Z","attacks":{"a":1}}]}`), false)
	f.Add([]byte(`[`), true)
	f.Fuzz(func(t *testing.T, body []byte, zip bool) {
		raw := body
		if zip {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(body)
			zw.Close()
			raw = buf.Bytes()
		}
		req := httptest.NewRequest("POST", "/api/v1/ingest", bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer "+cred)
		if zip {
			req.Header.Set("Content-Encoding", "gzip")
		}
		w := httptest.NewRecorder()
		ts.api.ServeHTTP(w, req)
		switch {
		case w.Code == http.StatusOK:
			var res apiv1.IngestResult
			var in apiv1.ReportBatch
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatalf("200 without an ingest result: %s", w.Body)
			}
			json.Unmarshal(body, &in)
			if n := res.Accepted + res.Duplicates + len(res.Rejected); n != len(in.Events) {
				t.Fatalf("%d events in, %d accounted for: %+v", len(in.Events), n, res)
			}
		case w.Code >= 400 && w.Code < 500:
			var e apiv1.Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == "" {
				t.Fatalf("%d without an error document: %s", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
