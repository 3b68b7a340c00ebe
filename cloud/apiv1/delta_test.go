package apiv1

import (
	"net/netip"
	"testing"
	"time"
)

func TestApplyDelta(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	entry := func(id int64, list, prefix string) IPEntry {
		return IPEntry{ID: id, List: list, Prefix: netip.MustParsePrefix(prefix), Origin: OriginManual, Created: at}
	}
	base := &Ruleset{Version: 1, RulesetVersion: 5, TenantID: 1, Issued: at,
		Rules:  []Rule{{ID: 1, Kind: KindFiltrationMode, FiltrationMode: &FiltrationModeRule{Mode: "block"}}},
		IPList: []IPEntry{entry(1, ListDeny, "198.18.0.1/32"), entry(2, ListDeny, "198.18.0.2/32"), entry(3, ListGray, "198.18.0.3/32")}}
	delta := &Ruleset{Version: 1, RulesetVersion: 8, BaseVersion: 5, TenantID: 1, Issued: at.Add(time.Minute),
		Rules:            []Rule{},
		IPList:           []IPEntry{entry(3, ListDeny, "198.18.0.3/32"), entry(9, ListAllow, "fd00::/64")},
		DeletedIPEntries: []int64{1, 42}}
	if err := delta.Validate(); err != nil {
		t.Fatalf("delta does not validate: %v", err)
	}
	got, err := ApplyDelta(base, delta)
	if err != nil {
		t.Fatal(err)
	}
	if got.RulesetVersion != 8 || got.BaseVersion != 0 || got.DeletedIPEntries != nil || len(got.Rules) != 0 || !got.Issued.Equal(delta.Issued) {
		t.Errorf("header or rules of the result: %+v", got)
	}
	var ids []int64
	var lists []string
	for _, e := range got.IPList {
		ids = append(ids, e.ID)
		lists = append(lists, e.List)
	}
	if len(ids) != 3 || ids[0] != 2 || ids[1] != 3 || ids[2] != 9 || lists[1] != ListDeny {
		t.Errorf("entries %v %v, want [2 3 9] with 3 now deny", ids, lists)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("result does not validate: %v", err)
	}
	if len(base.IPList) != 3 || base.IPList[0].ID != 1 {
		t.Error("ApplyDelta changed its base")
	}

	other := *base
	other.RulesetVersion = 6
	if _, err := ApplyDelta(&other, delta); err == nil {
		t.Error("a delta applied to another base version")
	}
	if _, err := ApplyDelta(base, base); err == nil {
		t.Error("a whole ruleset applied as a delta")
	}
	bad := *delta
	bad.BaseVersion = 8
	if bad.Validate() == nil {
		t.Error("a delta based on its own version validated")
	}
	bad = *delta
	bad.BaseVersion = 0
	if bad.Validate() == nil {
		t.Error("deleted entries without a base validated")
	}
}
