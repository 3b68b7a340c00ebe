package sync

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// deltaOf is ruleset(v) expressed as a delta from base: entry 100 deleted,
// 101 changed to deny, 105 added.
func deltaOf(base, v int64) *apiv1.Ruleset {
	rs := ruleset(v)
	rs.BaseVersion = base
	rs.DeletedIPEntries = []int64{100}
	rs.IPList = []apiv1.IPEntry{
		{ID: 101, List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.18.10.0/24"), Origin: apiv1.OriginManual, Created: time.Now()},
		{ID: 105, List: apiv1.ListDeny, Prefix: netip.MustParsePrefix("198.18.77.7/32"), Origin: apiv1.OriginTrigger, TriggerID: 2, Created: time.Now()},
	}
	return rs
}

// TestDeltaAppliedSavedRestored: a delta on top of the ruleset in force
// changes the XDP maps as the whole ruleset would; it is saved beside the
// whole one and replayed at restart; a delta on another base is refused
// (the old ruleset stays) and the node then wants the whole ruleset,
// which replaces the saved deltas.
func TestDeltaAppliedSavedRestored(t *testing.T) {
	c := newCloud(t)
	state := t.TempDir()
	n := newNode(t, c.keyring(), openTestFilter(t), state)
	if err := n.syncer.ApplySigned(c.sign(ruleset(3))); err != nil {
		t.Fatal(err)
	}
	if err := n.syncer.ApplySigned(c.sign(deltaOf(3, 5))); err != nil {
		t.Fatalf("delta: %v", err)
	}
	check := func(n *node, version int64) {
		t.Helper()
		if v := n.syncer.Version(); v != version {
			t.Errorf("version %d, want %d", v, version)
		}
		deny := n.prefixes(xdp.Deny)
		_, old := deny["198.18.66.6/32"]
		_, moved := deny["198.18.10.0/24"]
		_, added := deny["198.18.77.7/32"]
		if old || !moved || !added {
			t.Errorf("deny map after the delta: %v", deny)
		}
		if _, ok := n.prefixes(xdp.Allow)["198.18.10.0/24"]; ok {
			t.Error("entry moved to deny still in the allow map")
		}
	}
	check(n, 5)
	if _, err := os.Stat(filepath.Join(state, deltasFile)); err != nil {
		t.Fatalf("delta not saved: %v", err)
	}

	// A restart without the cloud: the whole ruleset and the delta.
	second := newNode(t, c.keyring(), openTestFilter(t), state)
	if ok, err := second.syncer.Restore(); !ok || err != nil {
		t.Fatalf("Restore = %v, %v", ok, err)
	}
	check(second, 5)
	if second.syncer.wantsFull() {
		t.Error("a node restored with its deltas asks for the whole ruleset")
	}

	// A delta on a base the node does not have.
	err := second.syncer.ApplySigned(c.sign(deltaOf(4, 6)))
	if err == nil || !strings.Contains(err.Error(), ErrDeltaBase.Error()) || second.syncer.Version() != 5 {
		t.Fatalf("delta on another base: %v, version %d", err, second.syncer.Version())
	}
	if !second.syncer.wantsFull() || second.syncs(ResultDeltaBase) != 1 {
		t.Error("after a delta that did not apply the node does not ask for the whole ruleset")
	}
	if err := second.syncer.ApplySigned(c.sign(ruleset(7))); err != nil {
		t.Fatal(err)
	}
	if second.syncer.wantsFull() {
		t.Error("still wants the whole ruleset after getting it")
	}
	if _, err := os.Stat(filepath.Join(state, deltasFile)); !os.IsNotExist(err) {
		t.Errorf("saved deltas outlived the whole ruleset: %v", err)
	}

	// A saved delta changed on disk is refused at restore; the whole
	// ruleset under it stays in force.
	if err := second.syncer.ApplySigned(c.sign(deltaOf(7, 8))); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(state, deltasFile))
	os.WriteFile(filepath.Join(state, deltasFile), []byte(strings.Replace(string(raw), `"signature":"`, `"signature":"AA`, 1)), 0o600)
	third := newNode(t, c.keyring(), openTestFilter(t), state)
	if ok, err := third.syncer.Restore(); !ok || err != nil {
		t.Fatalf("Restore = %v, %v", ok, err)
	}
	if v := third.syncer.Version(); v != 7 {
		t.Errorf("restored version %d with a tampered delta, want 7", v)
	}
}

// TestPollerTakesDeltasFromTheCloud: against the real cloud API, a node
// polling with deltas gets its first ruleset whole and later changes as
// deltas, and ends with exactly the cloud's list.
func TestPollerTakesDeltasFromTheCloud(t *testing.T) {
	c := startCloud(t)
	s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: c.nodeID, StateDir: t.TempDir(),
		Engine: detect.New(detect.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	p := &Poller{BaseURL: c.url, Credential: c.credential, Wait: time.Second, Syncer: s}
	ctx := context.Background()
	var ids []int64
	for _, prefix := range []string{"198.18.0.1", "198.18.0.2", "198.18.0.3"} {
		e, err := c.admin.CreateIPEntry(ctx, apitypes.CreateIPEntryRequest{List: "deny", Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.admin.DeleteIPEntry(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.admin.CreateIPEntry(ctx, apitypes.CreateIPEntryRequest{List: "gray", Prefix: "fd00::1"}); err != nil {
		t.Fatal(err)
	}
	if changed, err := p.Poll(ctx); err != nil || !changed {
		t.Fatalf("second poll: %v %v", changed, err)
	}
	s.mu.Lock()
	saved, inForce := s.savedDeltas, s.inForce
	s.mu.Unlock()
	if saved != 1 {
		t.Errorf("%d deltas saved, want the second download to be one", saved)
	}
	var got []string
	for _, e := range inForce.IPList {
		got = append(got, e.Prefix.String())
	}
	if strings.Join(got, " ") != "198.18.0.2/32 198.18.0.3/32 fd00::1/128" {
		t.Errorf("entries in force %v", got)
	}
}

// TestPollerOlderCloud: a cloud that refuses the delta parameters (it
// predates them) costs one failed poll; the node then asks for whole
// rulesets and follows it.
func TestPollerOlderCloud(t *testing.T) {
	c := newCloud(t)
	sr := c.sign(ruleset(2))
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.URL.RawQuery)
		if r.URL.Query().Has(apiv1.RulesetDeltaParam) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(apiv1.Error{Code: "bad_request", Message: `unknown query parameter "delta"`})
			return
		}
		json.NewEncoder(w).Encode(sr)
	}))
	defer srv.Close()
	s := newPollingSyncer(t, c.keyring())
	p := &Poller{BaseURL: srv.URL, Credential: "pcn_x", Wait: time.Second, Syncer: s}
	if _, err := p.Poll(context.Background()); err == nil {
		t.Fatal("first poll against the older cloud succeeded")
	}
	if changed, err := p.Poll(context.Background()); err != nil || !changed || s.Version() != 2 {
		t.Fatalf("second poll: %v %v, version %d", changed, err, s.Version())
	}
	if len(asked) != 2 || strings.Contains(asked[1], apiv1.RulesetDeltaParam) {
		t.Errorf("queries %q", asked)
	}
}
