package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

var ctx = context.Background()

// receiver is a webhook receiver that checks every signature and answers
// the statuses it is given, in turn (200 once they run out).
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	answer []int
	got    []received
}

type received struct {
	event string
	body  []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get(HeaderTimestamp)
	if !Verify(rc.secret, ts, body, r.Header.Get(HeaderSignature)) {
		rc.t.Errorf("delivery with a bad signature %q", r.Header.Get(HeaderSignature))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, received{r.Header.Get(HeaderEvent), body})
	status := http.StatusOK
	if len(rc.answer) > 0 {
		status, rc.answer = rc.answer[0], rc.answer[1:]
	}
	w.WriteHeader(status)
}

func (rc *receiver) deliveries() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func setup(t *testing.T, dialect string, kind string, rc *receiver) (store.Store, *Dispatcher, store.Integration, *store.Trigger) {
	t.Helper()
	s := sqltest.Open(t, dialect)
	sys := store.Actor{Kind: store.ActorSystem}
	ten, err := s.CreateTenant(ctx, sys, "acme")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	in := store.Integration{TenantID: ten.ID, Name: "siem", Kind: kind, URL: srv.URL + "/hook?token=not-for-logs", Secret: rc.secret}
	if err := s.CreateIntegration(ctx, sys, &in); err != nil {
		t.Fatal(err)
	}
	tr := store.Trigger{TenantID: ten.ID, Name: "scanners", Enabled: true,
		Condition: store.TriggerCondition{Kind: store.CountForcedBrowsing, Threshold: 50, WindowSeconds: 600},
		Action:    store.TriggerAction{Kind: store.ActionNotify, IntegrationID: in.ID}}
	if err := s.CreateTrigger(ctx, sys, &tr); err != nil {
		t.Fatal(err)
	}
	d := New(s, Options{Backoff: time.Millisecond, Attempts: 4, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(d.Close)
	return s, d, in, &tr
}

func firing(tr *store.Trigger) *store.Firing {
	now := time.Now().UTC()
	return &store.Firing{ID: 7, TenantID: tr.TenantID, TriggerID: tr.ID, Source: netip.MustParseAddr("198.18.66.6"), Count: 51,
		WindowStart: now.Add(-10 * time.Minute), FiredAt: now, Until: now.Add(10 * time.Minute), Action: store.ActionNotify}
}

// waitDelivery waits for the integration's newest delivery to leave
// pending and answers it.
func waitDelivery(t *testing.T, s store.Store, in store.Integration) store.Delivery {
	t.Helper()
	for range 500 {
		ds, err := s.ListDeliveries(ctx, in.TenantID, in.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) > 0 && ds[0].State != store.DeliveryPending {
			return ds[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("delivery still pending")
	return store.Delivery{}
}

// TestWebhookRetriesUntilDelivered: the receiver fails twice (503, then
// 429) and takes the third attempt; every attempt is signed, and the log
// says delivered after 3 attempts.
func TestWebhookRetriesUntilDelivered(t *testing.T) {
	for _, dialect := range sqltest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			rc := &receiver{t: t, secret: "whsec_test", answer: []int{503, 429}}
			s, d, in, tr := setup(t, dialect, store.IntegrationWebhook, rc)
			d.Notify(ctx, tr, firing(tr))
			dl := waitDelivery(t, s, in)
			if dl.State != store.DeliveryDelivered || dl.Attempts != 3 || dl.HTTPStatus != 200 || dl.Event != EventTriggerFired {
				t.Fatalf("delivery %+v", dl)
			}
			got := rc.deliveries()
			if len(got) != 3 {
				t.Fatalf("receiver got %d attempts", len(got))
			}
			var m Message
			if err := json.Unmarshal(got[2].body, &m); err != nil {
				t.Fatal(err)
			}
			if m.Event != EventTriggerFired || m.Trigger == nil || m.Trigger.ID != tr.ID || m.Firing == nil ||
				m.Firing.Source.String() != "198.18.66.6" || !strings.Contains(m.Text, "198.18.66.6") {
				t.Errorf("message %+v", m)
			}
		})
	}
}

// TestWebhookFailures: a 4xx is final at once; an unreachable receiver
// is tried Attempts times; neither error names the URL (it may carry a
// token).
func TestWebhookFailures(t *testing.T) {
	rc := &receiver{t: t, secret: "whsec_test", answer: []int{410}}
	s, d, in, tr := setup(t, "sqlite", store.IntegrationWebhook, rc)
	d.Notify(ctx, tr, firing(tr))
	if dl := waitDelivery(t, s, in); dl.State != store.DeliveryFailed || dl.Attempts != 1 || dl.HTTPStatus != 410 {
		t.Fatalf("refused delivery %+v", dl)
	}

	// Nothing listens on port 1 of loopback.
	dead := store.Integration{TenantID: in.TenantID, Name: "dead", Kind: store.IntegrationWebhook,
		URL: "http://127.0.0.1:1/hook?token=not-for-logs", Secret: "whsec_x"}
	if err := s.CreateIntegration(ctx, store.Actor{Kind: store.ActorSystem}, &dead); err != nil {
		t.Fatal(err)
	}
	dl, err := d.SendTest(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	if dl.State != store.DeliveryFailed || dl.Attempts != 1 || dl.HTTPStatus != 0 || dl.Error == "" || strings.Contains(dl.Error, "token") {
		t.Errorf("test to an unreachable receiver %+v", dl)
	}
	toDead := *tr
	toDead.Action.IntegrationID = dead.ID
	d.Notify(ctx, &toDead, firing(&toDead))
	for i := 0; ; i++ {
		if i == 500 {
			t.Fatal("delivery to an unreachable receiver still pending")
		}
		ds, err := s.ListDeliveries(ctx, dead.TenantID, dead.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 2 && ds[0].State != store.DeliveryPending {
			if ds[0].State != store.DeliveryFailed || ds[0].Attempts != 4 || strings.Contains(ds[0].Error, "token") {
				t.Errorf("unreachable receiver after retries: %+v", ds[0])
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSlackFormat: a Slack integration gets {"text": ...} and nothing else.
func TestSlackFormat(t *testing.T) {
	rc := &receiver{t: t, secret: "whsec_test"}
	s, d, in, tr := setup(t, "sqlite", store.IntegrationSlack, rc)
	dl, err := d.SendTest(ctx, in)
	if err != nil || dl.State != store.DeliveryDelivered {
		t.Fatalf("test message: %+v %v", dl, err)
	}
	d.Notify(ctx, tr, firing(tr))
	waitDelivery(t, s, in)
	got := rc.deliveries()
	if len(got) != 2 || got[0].event != EventTest || got[1].event != EventTriggerFired {
		t.Fatalf("receiver got %+v", got)
	}
	var m map[string]any
	if err := json.Unmarshal(got[1].body, &m); err != nil {
		t.Fatal(err)
	}
	text, _ := m["text"].(string)
	if len(m) != 1 || !strings.Contains(text, "198.18.66.6") || !strings.Contains(text, "scanners") {
		t.Errorf("Slack message %s", got[1].body)
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"event":"test"}`)
	sig := Sign("k", "1700000000", body)
	// printf '1700000000.{"event":"test"}' | openssl dgst -sha256 -hmac k
	if want := "sha256=51167851587b518d43a135b940d24ee1857eaa774864b59b7aa7e572d018bf96"; sig != want {
		t.Fatalf("signature %q, want %q", sig, want)
	}
	if !Verify("k", "1700000000", body, sig) {
		t.Error("a signature does not verify")
	}
	for _, bad := range []struct{ secret, ts, body string }{
		{"other", "1700000000", string(body)}, {"k", "1700000001", string(body)}, {"k", "1700000000", `{"event":"tesT"}`},
	} {
		if Verify(bad.secret, bad.ts, []byte(bad.body), sig) {
			t.Errorf("verifies with %+v", bad)
		}
	}
}
