package sync

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/client"
)

// TestTriggerToXDP closes the loop with the real pieces: a node uploads
// ten attacks from one source; the cloud's default denylist trigger fires
// on ingest; the node, long-polling, has the source in its XDP deny map,
// with the trigger's reason and expiry, while another source stays out.
func TestTriggerToXDP(t *testing.T) {
	c := startCloud(t)
	n := &node{t: t, filter: openTestFilter(t), engine: detect.New(detect.Options{}), stateDir: t.TempDir()}
	s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: c.nodeID, StateDir: n.stateDir,
		Engine: n.engine, Filter: n.filter})
	if err != nil {
		t.Fatal(err)
	}
	p := &Poller{BaseURL: c.url, Credential: c.credential, Wait: 10 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Syncer: s}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	reporter, err := client.New(c.url, c.credential, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &apiv1.ReportBatch{}
	for i := range 10 {
		b.Events = append(b.Events, apiv1.Event{ID: uuid.NewString(), Time: time.Now().Add(-time.Duration(i) * time.Second),
			SourceIP: "198.18.66.6", Method: "GET", Host: "shop.test", Path: "/search", AttackType: "sqli", Point: "query.q",
			DetectorID: "libinjection.sqli", Excerpt: "' or 1=1", Decision: apiv1.DecisionBlocked, Status: 403})
	}
	b.Events = append(b.Events, apiv1.Event{ID: uuid.NewString(), Time: time.Now(), SourceIP: "198.18.0.20", Method: "GET",
		Host: "shop.test", Path: "/", AttackType: "xss", Point: "query.q", DetectorID: "d", Excerpt: "x", Decision: apiv1.DecisionBlocked, Status: 403})
	start := time.Now()
	if _, err := reporter.Ingest(ctx, b); err != nil {
		t.Fatal(err)
	}
	ingested := time.Since(start)
	var e xdp.Entry
	eventually(t, "the attacker in the XDP deny map", func() bool {
		var ok bool
		e, ok = n.prefixes(xdp.Deny)["198.18.66.6/32"]
		return ok
	})
	t.Logf("upload answered in %v; upload to XDP deny entry: %v", ingested, time.Since(start))
	if e.Source != xdp.SourceCloud || !strings.Contains(e.Reason, "trigger") || e.Expires.Before(time.Now().Add(59*time.Minute)) {
		t.Errorf("deny entry %+v", e)
	}
	if _, ok := n.prefixes(xdp.Deny)["198.18.0.20/32"]; ok {
		t.Error("a source of one attack was denylisted")
	}
}
