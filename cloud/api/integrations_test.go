package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/notify"
	"github.com/palisadewaf/palisade/cloud/store"
)

// TestIntegrationNotifiedByTrigger: an integration is created (its secret
// shown once), a test message reaches the receiver signed, and a notify
// trigger crossed by an upload of 404s delivers a trigger.fired message;
// the delivery log lists both.
func TestIntegrationNotifiedByTrigger(t *testing.T) {
	var mu sync.Mutex
	var secret string
	got := make(chan notify.Message, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		ok := notify.Verify(secret, r.Header.Get(notify.HeaderTimestamp), body, r.Header.Get(notify.HeaderSignature))
		mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m notify.Message
		json.Unmarshal(body, &m)
		got <- m
	}))
	defer recv.Close()

	ts := newTestServer(t)
	a, other := ts.tenant(t, "acme"), ts.tenant(t, "globex")
	_, cred := ts.enrollNode(t, a, "web-1")
	for _, bad := range []apitypes.CreateIntegrationRequest{
		{Name: "x", Kind: "carrier-pigeon", URL: recv.URL},
		{Name: "x", Kind: "webhook", URL: "ftp://example.test/"},
		{Name: "x", Kind: "webhook", URL: "http://user:pw@example.test/"},
	} {
		if w := ts.do(t, "POST", "/api/v1/integrations", a.admin(), bad); w.Code != http.StatusBadRequest {
			t.Errorf("%+v: %d", bad, w.Code)
		}
	}
	created := decode[apitypes.IntegrationCreated](t, ts.do(t, "POST", "/api/v1/integrations", a.admin(),
		apitypes.CreateIntegrationRequest{Name: "siem", Kind: "webhook", URL: recv.URL}), http.StatusCreated)
	if created.Secret == "" {
		t.Fatal("no secret in the creation answer")
	}
	mu.Lock()
	secret = created.Secret
	mu.Unlock()
	in := created.Integration
	if w := ts.do(t, "GET", "/api/v1/integrations/"+itoa(in.ID), a.admin(), nil); w.Code != http.StatusOK || contains(w.Body.String(), created.Secret) {
		t.Errorf("get integration: %d %s (the secret is shown once)", w.Code, w.Body)
	}
	if w := ts.do(t, "POST", "/api/v1/integrations/"+itoa(in.ID)+"/test", other.admin(), nil); w.Code != http.StatusNotFound {
		t.Errorf("another tenant sent a test: %d", w.Code)
	}
	dl := decode[apitypes.Delivery](t, ts.do(t, "POST", "/api/v1/integrations/"+itoa(in.ID)+"/test", a.admin(), nil), http.StatusOK)
	if dl.State != store.DeliveryDelivered || (<-got).Event != notify.EventTest {
		t.Fatalf("test delivery %+v", dl)
	}

	if w := ts.do(t, "POST", "/api/v1/triggers", a.admin(), apitypes.TriggerRequest{Name: "scanners",
		Condition: store.TriggerCondition{Kind: store.CountForcedBrowsing, Threshold: 30, WindowSeconds: 600},
		Action:    store.TriggerAction{Kind: store.ActionNotify, IntegrationID: in.ID + 100}}); w.Code != http.StatusBadRequest {
		t.Errorf("notify to a missing integration: %d", w.Code)
	}
	decode[apitypes.Trigger](t, ts.do(t, "POST", "/api/v1/triggers", a.admin(), apitypes.TriggerRequest{Name: "scanners",
		Condition: store.TriggerCondition{Kind: store.CountForcedBrowsing, Threshold: 30, WindowSeconds: 600},
		Action:    store.TriggerAction{Kind: store.ActionNotify, IntegrationID: in.ID}}), http.StatusCreated)
	ts.ingest(t, cred, apiv1.ReportBatch{Version: 1, Sources: []apiv1.SourceCounters{{Minute: time.Now().UTC().Truncate(time.Minute),
		SourceIP: "fd00::66", Path: "/.git/config", Requests: 40, NotFound: 35}}}, false)
	select {
	case m := <-got:
		if m.Event != notify.EventTriggerFired || m.Firing == nil || m.Firing.Source.String() != "fd00::66" || m.Firing.Count != 35 {
			t.Errorf("trigger message %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification after the trigger fired")
	}
	// The notify trigger lists nothing.
	if es := decode[apitypes.List[apitypes.IPEntry]](t, ts.do(t, "GET", "/api/v1/ip-entries", a.admin(), nil), http.StatusOK).Items; len(es) != 0 {
		t.Errorf("a notify trigger listed %+v", es)
	}
	for i := 0; ; i++ {
		ds := decode[apitypes.List[apitypes.Delivery]](t, ts.do(t, "GET", "/api/v1/integrations/"+itoa(in.ID)+"/deliveries", a.admin(), nil), http.StatusOK).Items
		if len(ds) == 2 && ds[0].State == store.DeliveryDelivered {
			if ds[0].Event != notify.EventTriggerFired || ds[1].Event != notify.EventTest {
				t.Errorf("delivery log %+v", ds)
			}
			break
		}
		if i == 500 {
			t.Fatalf("delivery log %+v", ds)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
