package report

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/sensitive"
)

// ingestServer is a test cloud that speaks the apiv1 ingest contract:
// POST /api/v1/ingest, bearer credential, gzip JSON ReportBatch, events
// stored once by id, answered with an IngestResult. It keeps every byte it
// received (decompressed) so that tests can look for leaks, and can be told
// to misbehave.
type ingestServer struct {
	t          testing.TB
	credential string
	srv        *httptest.Server

	// mode is how the server answers: one of the mode* constants.
	mode atomic.Int32

	mu       sync.Mutex
	events   map[string]apiv1.Event // by id
	order    []string               // ids in the order first stored
	counters []apiv1.Counters
	sources  []apiv1.SourceCounters
	rejected []apiv1.Event // refused by the sensitive-value scanner
	received int           // events received, duplicates included
	posts    int
	raw      bytes.Buffer // every decompressed body
	stored   chan struct{}
}

const (
	modeOK int32 = iota
	mode500
	modeHang       // never answers (until the client gives up)
	modeEarlyClose // closes the connection without answering
	modeGarbage    // 200 with a body that is not an IngestResult
	modeTooLarge   // 413
	// modeStoreThenClose stores the batch, then closes the connection
	// without answering: the answer is lost on the way.
	modeStoreThenClose
	// modeStoreThenHang stores the batch and never answers.
	modeStoreThenHang
)

func newIngestServer(t testing.TB) *ingestServer {
	s := &ingestServer{
		t:          t,
		credential: "pcn_test-node-credential-0123456789",
		events:     make(map[string]apiv1.Event),
		stored:     make(chan struct{}, 1),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.close)
	return s
}

// newIngestServerOn starts the server on a given listener (to bring a
// cloud "back up" on the address a node already knows).
func newIngestServerOn(t testing.TB, l net.Listener) *ingestServer {
	s := &ingestServer{
		t:          t,
		credential: "pcn_test-node-credential-0123456789",
		events:     make(map[string]apiv1.Event),
		stored:     make(chan struct{}, 1),
	}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	t.Cleanup(s.close)
	return s
}

func (s *ingestServer) close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

func (s *ingestServer) url() string { return s.srv.URL + "/api/v1/ingest" }

func (s *ingestServer) serve(w http.ResponseWriter, r *http.Request) {
	switch s.mode.Load() {
	case mode500:
		http.Error(w, `{"code":"internal","message":"database is down"}`, http.StatusInternalServerError)
		return
	case modeHang:
		// Read the request first: only then does the server notice the
		// client hanging up, which ends r.Context().
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	case modeEarlyClose:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case modeGarbage:
		w.Write([]byte("<html>maintenance</html>"))
		return
	case modeTooLarge:
		http.Error(w, `{"code":"too_large","message":"batch too large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/ingest" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.credential {
		http.Error(w, `{"code":"unauthorized","message":"bad credential"}`, http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Encoding") != "gzip" {
		http.Error(w, "want gzip", http.StatusBadRequest)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, "bad gzip", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(zr, apiv1.MaxBatchBytes+1))
	if err != nil || len(body) > apiv1.MaxBatchBytes {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	var batch apiv1.ReportBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&batch); err != nil || batch.Version != apiv1.Version || len(batch.Events) > apiv1.MaxBatchEvents {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	var res apiv1.IngestResult
	s.mu.Lock()
	s.raw.Write(body)
	s.posts++
	for _, ev := range batch.Events {
		s.received++
		if err := ev.Validate(); err != nil {
			res.Rejected = append(res.Rejected, apiv1.RejectedEvent{ID: ev.ID, Reason: err.Error()})
			continue
		}
		// The cloud's second line of defence: it refuses an event that
		// still carries a value that looks sensitive.
		if k := lookSensitive(&ev); k != "" {
			res.Rejected = append(res.Rejected, apiv1.RejectedEvent{ID: ev.ID, Reason: "still carries a " + k})
			s.rejected = append(s.rejected, ev)
			continue
		}
		if _, dup := s.events[ev.ID]; dup {
			res.Duplicates++
			continue
		}
		s.events[ev.ID] = ev
		s.order = append(s.order, ev.ID)
		res.Accepted++
	}
	s.counters = append(s.counters, batch.Counters...)
	if len(batch.Sources) > apiv1.MaxBatchSources {
		s.t.Errorf("batch of %d source counters, limit %d", len(batch.Sources), apiv1.MaxBatchSources)
	}
	for _, c := range batch.Sources {
		if err := c.Validate(); err != nil {
			s.t.Errorf("invalid source counters %+v: %v", c, err)
		}
	}
	s.sources = append(s.sources, batch.Sources...)
	s.mu.Unlock()
	select {
	case s.stored <- struct{}{}:
	default:
	}
	if s.mode.Load() == modeStoreThenHang {
		<-r.Context().Done()
		return
	}
	if s.mode.Load() == modeStoreThenClose {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// waitStored waits until the server stores n distinct events, failing
// the test after a generous deadline (a hang, not a speed requirement).
func (s *ingestServer) waitStored(n int) {
	s.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		s.mu.Lock()
		have, rejected := len(s.events), slices.Clone(s.rejected)
		s.mu.Unlock()
		if have >= n {
			return
		}
		if have+len(rejected) >= n {
			s.t.Fatalf("ingest server stored %d events and rejected %d as still sensitive: %+v", have, len(rejected), rejected)
		}
		select {
		case <-s.stored:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("ingest server stored %d events, want %d", have, n)
		}
	}
}

func (s *ingestServer) storedEvents() []apiv1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]apiv1.Event, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.events[id])
	}
	return out
}

func (s *ingestServer) rawBytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.raw.Bytes())
}

func lookSensitive(ev *apiv1.Event) string {
	for _, f := range []string{ev.Path, ev.Excerpt, ev.Host, ev.Point, ev.Method, ev.RequestID} {
		if k := sensitive.Find(f); k != "" {
			return string(k)
		}
	}
	return ""
}
