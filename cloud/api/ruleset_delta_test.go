package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// TestRulesetDelta: a node with version v asking for deltas gets the IP
// entries changed since v and the ids deleted, which on top of its
// ruleset v make exactly the whole ruleset; without asking, with full=1,
// or from a version the cloud cannot tell changes for, it gets the whole
// ruleset.
func TestRulesetDelta(t *testing.T) {
	opt, kr := withSigner(t)
	ts := newTestServer(t, opt)
	a := ts.tenant(t, "acme")
	_, cred := ts.enrollNode(t, a, "web-1")
	poll := func(etag, query string) *apiv1.Ruleset {
		t.Helper()
		req := httptest.NewRequest("GET", apiv1.RulesetPath+"?wait=0"+query, nil)
		req.Header.Set("Authorization", "Bearer "+cred)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		w := httptest.NewRecorder()
		ts.api.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("poll %s: %d %s", query, w.Code, w.Body)
		}
		var sr apiv1.SignedRuleset
		if err := json.Unmarshal(w.Body.Bytes(), &sr); err != nil {
			t.Fatal(err)
		}
		rs, err := kr.Open(&sr)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	add := func(prefix string) apitypes.IPEntry {
		return decode[apitypes.IPEntry](t, ts.do(t, "POST", "/api/v1/ip-entries", a.admin(),
			apitypes.CreateIPEntryRequest{List: "deny", Prefix: prefix}), http.StatusCreated)
	}
	first := add("198.18.0.1")
	add("198.18.0.2")
	base := poll("", "&delta=1")
	if base.BaseVersion != 0 || len(base.IPList) != 2 {
		t.Fatalf("first download is not whole: %+v", base)
	}
	etag := apiv1.RulesetETag(base.RulesetVersion)

	third := add("198.18.0.3")
	ts.do(t, "DELETE", "/api/v1/ip-entries/"+itoa(first.ID), a.admin(), nil)
	var ndjson strings.Builder
	for i := range 50 {
		fmt.Fprintf(&ndjson, `{"list":"gray","prefix":"198.18.1.%d"}`+"\n", i)
	}
	if w := ts.importEntries(t, a.admin(), ndjson.String()); w.Code != http.StatusOK {
		t.Fatalf("import: %d %s", w.Code, w.Body)
	}

	delta := poll(etag, "&delta=1")
	if delta.BaseVersion != base.RulesetVersion || len(delta.IPList) != 51 || len(delta.DeletedIPEntries) != 1 ||
		delta.DeletedIPEntries[0] != first.ID || delta.IPList[0].ID != third.ID {
		t.Fatalf("delta: base %d, %d put, deleted %v", delta.BaseVersion, len(delta.IPList), delta.DeletedIPEntries)
	}
	whole := poll(etag, "")
	if whole.BaseVersion != 0 || len(whole.IPList) != 52 {
		t.Fatalf("without delta=1: base %d, %d entries", whole.BaseVersion, len(whole.IPList))
	}
	merged, err := apiv1.ApplyDelta(base, delta)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(merged.IPList)
	want, _ := json.Marshal(whole.IPList)
	if string(got) != string(want) {
		t.Errorf("base + delta differs from the whole ruleset:\n%s\n%s", got, want)
	}
	if rs := poll(etag, "&delta=1&full=1"); rs.BaseVersion != 0 || len(rs.IPList) != 52 {
		t.Errorf("full=1 answered a delta from %d", rs.BaseVersion)
	}
	if rs := poll(`"999999"`, "&delta=1"); rs.BaseVersion != 0 {
		t.Errorf("a version from the future got a delta from %d", rs.BaseVersion)
	}
}
