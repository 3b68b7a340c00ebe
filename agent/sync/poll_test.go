package sync

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/proxy"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// rulesetServer answers apiv1.RulesetPath as the contract says: 200 with
// the newest signed ruleset when the node's If-None-Match is older, else it
// holds the request until something is published or the wait ends (304).
type rulesetServer struct {
	t       *testing.T
	mu      gosync.Mutex
	version int64
	doc     *apiv1.SignedRuleset
	changed chan struct{} // closed and replaced on every publish
	seen    []string      // If-None-Match of each request
}

const testCredential = "pcn_TESTTESTTESTTESTTESTTESTTESTTESTTESTTESTTE"

func newRulesetServer(t *testing.T) *rulesetServer {
	return &rulesetServer{t: t, changed: make(chan struct{})}
}

func (s *rulesetServer) publish(v int64, sr *apiv1.SignedRuleset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version, s.doc = v, sr
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *rulesetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != apiv1.RulesetPath || r.Header.Get("Authorization") != "Bearer "+testCredential {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(apiv1.Error{Code: "unauthorized", Message: "no credential"})
		return
	}
	wait, err := time.ParseDuration(r.URL.Query().Get("wait") + "s")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	inm := r.Header.Get("If-None-Match")
	deadline := time.After(wait)
	s.mu.Lock()
	s.seen = append(s.seen, inm)
	for s.doc == nil || apiv1.RulesetETag(s.version) == inm {
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			w.WriteHeader(http.StatusNotModified)
			return
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
	doc, v := s.doc, s.version
	s.mu.Unlock()
	w.Header().Set("ETag", apiv1.RulesetETag(v))
	json.NewEncoder(w).Encode(doc)
}

func (s *rulesetServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// eventually waits for cond; a bound far above any reasonable latency
// keeps a broken poller from hanging the test, and is not an assertion on
// how fast it is.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never happened: %s", what)
}

func newPollingSyncer(t *testing.T, kr *apiv1.Keyring) *Syncer {
	s, err := New(Config{Keyring: kr, TenantID: 1, NodeID: testNode, StateDir: t.TempDir(),
		Engine: detect.New(detect.Options{}), GrayList: proxy.NewGrayList(), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPollerFollowsTheCloud(t *testing.T) {
	c := newCloud(t)
	srv := newRulesetServer(t)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	syncer := newPollingSyncer(t, c.keyring())
	p := &Poller{BaseURL: ts.URL, Credential: testCredential, Client: ts.Client(), Wait: 5 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Syncer: syncer}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	srv.publish(1, c.sign(ruleset(1)))
	eventually(t, "version 1 in force", func() bool { return syncer.Version() == 1 })
	// The poller is now parked in a request that says it runs version 1;
	// a change made meanwhile is answered on that same request.
	eventually(t, "a request parked with version 1", func() bool {
		r := srv.requests()
		return len(r) > 0 && r[len(r)-1] == apiv1.RulesetETag(1)
	})
	srv.publish(2, c.sign(ruleset(2)))
	eventually(t, "version 2 in force", func() bool { return syncer.Version() == 2 })

	// A tampered ruleset is refused, counted, and the node keeps version 2
	// while it keeps asking.
	bad := c.sign(ruleset(3))
	bad.Signature[0] ^= 0xff
	srv.publish(3, bad)
	eventually(t, "signature failure counted", func() bool { return value(t, syncer.m.signatureFailures) >= 1 })
	if syncer.Version() != 2 {
		t.Fatalf("version %d in force after a tampered ruleset", syncer.Version())
	}
	srv.publish(4, c.sign(ruleset(4)))
	eventually(t, "version 4 in force", func() bool { return syncer.Version() == 4 })
}

func TestPollerCloudDown(t *testing.T) {
	c := newCloud(t)
	ts := httptest.NewServer(http.NotFoundHandler())
	ts.Close() // nothing listens any more
	syncer := newPollingSyncer(t, c.keyring())
	p := &Poller{BaseURL: ts.URL, Credential: testCredential, Syncer: syncer}
	if _, err := p.Poll(context.Background()); err == nil {
		t.Fatal("poll of a closed server succeeded")
	}
	if got := value(t, syncer.m.syncs.WithLabelValues(ResultFetchError)); got != 1 {
		t.Errorf("fetch errors %v, want 1", got)
	}

	unauthorized := httptest.NewServer(newRulesetServer(t))
	defer unauthorized.Close()
	p = &Poller{BaseURL: unauthorized.URL, Credential: "pcn_wrong", Syncer: syncer}
	if _, err := p.Poll(context.Background()); err == nil {
		t.Fatal("poll with a refused credential succeeded")
	}
}

// TestPollerDoesNotSpin: a server answering 304 at once (not holding the
// request) must not be polled in a tight loop.
func TestPollerDoesNotSpin(t *testing.T) {
	c := newCloud(t)
	var requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusNotModified)
	}))
	defer ts.Close()
	p := &Poller{BaseURL: ts.URL, Credential: testCredential, Client: ts.Client(), MinBackoff: time.Hour,
		Syncer: newPollingSyncer(t, c.keyring())}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	eventually(t, "first request", func() bool { return requests.Load() >= 1 })
	time.Sleep(200 * time.Millisecond) // room for a spinning poller to show itself
	cancel()
	<-done
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests to a server answering 304 at once, want 1 per MinBackoff", n)
	}
	if got := value(t, p.Syncer.m.syncs.WithLabelValues(ResultUnchanged)); got != 1 {
		t.Errorf("a 304 counted %v times as unchanged, want 1 (alerts read it as a successful sync)", got)
	}
}
