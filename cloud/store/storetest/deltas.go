package storetest

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// testIPEntryChanges covers the IP-list deltas between ruleset versions:
// what each kind of write logs, the net effect of several versions, the
// log's limit, expiry, and tenant isolation.
func testIPEntryChanges(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	if _, ok, err := s.IPEntryChanges(ctx, w.a.ID, 0, 1, 100, t0); ok || err != nil {
		t.Fatalf("a tenant that never had a version: ok %v, %v", ok, err)
	}
	entry := func(prefix string, expires time.Time) *store.IPEntry {
		return &store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListDeny, Prefix: netip.MustParsePrefix(prefix),
			Origin: apiv1.OriginManual, Expires: expires}}
	}
	a, b := entry("198.18.0.1/32", time.Time{}), entry("198.18.0.2/32", time.Time{})
	check(t, s.CreateIPEntry(ctx, system, a)) // v1
	check(t, s.CreateIPEntry(ctx, system, b)) // v2
	imported := []*store.IPEntry{entry("198.18.0.3/32", time.Time{}), entry("198.18.0.4/32", t0.Add(time.Minute))}
	i := 0
	must(s.ImportIPEntries(ctx, system, w.a.ID, func() (*store.IPEntry, error) { // v3
		if i == len(imported) {
			return nil, io.EOF
		}
		i++
		return imported[i-1], nil
	}))
	check(t, s.DeleteIPEntry(ctx, system, w.a.ID, a.ID)) // v4
	if v := must(s.RulesetVersion(ctx, w.a.ID)); v != 4 {
		t.Fatalf("version %d after four writes", v)
	}
	all := must(s.ListIPEntries(ctx, w.a.ID, t0))
	ids := map[string]int64{}
	for _, e := range all {
		ids[e.Prefix.String()] = e.ID
	}
	c, d := ids["198.18.0.3/32"], ids["198.18.0.4/32"]

	show := func(dl store.IPEntryDelta) string {
		var put []int64
		for _, e := range dl.Put {
			put = append(put, e.ID)
		}
		return fmt.Sprintf("put %v deleted %v", put, dl.Deleted)
	}
	cases := []struct {
		from, to int64
		now      time.Time
		put, del []int64
	}{
		{0, 4, t0, []int64{b.ID, c, d}, []int64{a.ID}},
		{1, 4, t0, []int64{b.ID, c, d}, []int64{a.ID}},
		{2, 4, t0, []int64{c, d}, []int64{a.ID}},
		{3, 4, t0, nil, []int64{a.ID}},
		{1, 2, t0, []int64{b.ID}, nil},
		{4, 4, t0, nil, nil},
		{2, 3, t0.Add(time.Hour), []int64{c}, []int64{d}}, // d expired meanwhile
	}
	for _, tc := range cases {
		dl, ok, err := s.IPEntryChanges(ctx, w.a.ID, tc.from, tc.to, 100, tc.now)
		check(t, err)
		want := show(store.IPEntryDelta{Put: func() (es []store.IPEntry) {
			for _, id := range tc.put {
				es = append(es, store.IPEntry{IPEntry: apiv1.IPEntry{ID: id}})
			}
			return
		}(), Deleted: tc.del})
		if !ok || show(dl) != want {
			t.Errorf("changes %d..%d: ok %v, %s; want %s", tc.from, tc.to, ok, show(dl), want)
		}
	}
	if dl, _, _ := s.IPEntryChanges(ctx, w.a.ID, 1, 2, 100, t0); len(dl.Put) == 1 && dl.Put[0].Prefix != b.Prefix {
		t.Errorf("put entry is not the stored one: %+v", dl.Put[0])
	}
	if _, ok, _ := s.IPEntryChanges(ctx, w.a.ID, 0, 4, 3, t0); ok {
		t.Error("5 logged changes fit a limit of 3")
	}
	if dl, ok, _ := s.IPEntryChanges(ctx, w.b.ID, 0, 4, 100, t0); ok || len(dl.Put)+len(dl.Deleted) != 0 {
		t.Errorf("another tenant sees changes: %v %s", ok, show(dl))
	}
	if !slices.IsSorted([]int64{b.ID, c, d}) {
		t.Fatal("ids not in creation order")
	}
}

// testPruneTriggerData: firings and finished deliveries older than the
// kept time go; pending deliveries, recent rows and the IP-entry log of
// recent versions stay.
func testPruneTriggerData(t *testing.T, s store.Store) {
	w := newWorld(t, s)
	tr := must(s.ListTriggers(ctx, w.a.ID))[0]
	for i, at := range []time.Time{t0, t0.Add(40 * 24 * time.Hour)} {
		f := store.Firing{Source: netip.AddrFrom4([4]byte{198, 18, 0, byte(i)}), Count: 3, WindowStart: at, FiredAt: at, Until: at.Add(time.Hour)}
		if !must(s.FireTrigger(ctx, &tr, &f)) {
			t.Fatal("did not fire")
		}
	}
	in := store.Integration{TenantID: w.a.ID, Name: "hook", Kind: store.IntegrationWebhook, URL: "http://198.18.0.1/", Secret: "s"}
	check(t, s.CreateIntegration(ctx, system, &in))
	for _, d := range []store.Delivery{
		{State: store.DeliveryDelivered, UpdatedAt: t0},
		{State: store.DeliveryPending, UpdatedAt: t0},
		{State: store.DeliveryFailed, UpdatedAt: t0.Add(40 * 24 * time.Hour)},
	} {
		d.TenantID, d.IntegrationID, d.Event, d.CreatedAt = w.a.ID, in.ID, "test", d.UpdatedAt
		check(t, s.CreateDelivery(ctx, &d))
	}
	n := must(s.PruneTriggerData(ctx, t0.Add(41*24*time.Hour), 30*24*time.Hour, 100))
	if n != 2 {
		t.Errorf("pruned %d rows, want the old firing and the old delivered delivery", n)
	}
	if fs := must(s.ListFirings(ctx, w.a.ID, 0, 10)); len(fs) != 1 || !fs[0].FiredAt.Equal(t0.Add(40*24*time.Hour)) {
		t.Errorf("firings left %+v", fs)
	}
	if ds := must(s.ListDeliveries(ctx, w.a.ID, in.ID, 10)); len(ds) != 2 {
		t.Errorf("deliveries left %+v", ds)
	}
	v := must(s.RulesetVersion(ctx, w.a.ID))
	if _, ok, err := s.IPEntryChanges(ctx, w.a.ID, 1, v, 100, t0); !ok || err != nil {
		t.Errorf("recent versions' changes gone after pruning: %v %v", ok, err)
	}

	// Keeping 2 versions of 5: a node at version 2 gets no delta, one at
	// version 3 does, and the log holds versions 4 and 5 only.
	for i := range 3 {
		e := store.IPEntry{TenantID: w.a.ID, IPEntry: apiv1.IPEntry{List: apiv1.ListDeny,
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 9, byte(i)}), 32), Origin: apiv1.OriginManual}}
		check(t, s.CreateIPEntry(ctx, system, &e))
	}
	if v = must(s.RulesetVersion(ctx, w.a.ID)); v != 5 {
		t.Fatalf("version %d, want 5", v)
	}
	must(s.PruneTriggerData(ctx, t0, time.Hour, 2))
	if _, ok, _ := s.IPEntryChanges(ctx, w.a.ID, 2, 5, 100, t0); ok {
		t.Error("a delta from a pruned version")
	}
	if d, ok, _ := s.IPEntryChanges(ctx, w.a.ID, 3, 5, 100, t0); !ok || len(d.Put) != 2 {
		t.Errorf("delta from the oldest kept version: %v %+v", ok, d)
	}
}
