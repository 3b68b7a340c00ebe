package api

import (
	"compress/gzip"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
)

func withSigner(t *testing.T) (func(*Config), *apiv1.Keyring) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := apiv1.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := apiv1.NewKeyring(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.RulesetSigner = signer }, kr
}

func TestRulesValidatedWhenWritten(t *testing.T) {
	ts := newTestServer(t)
	a, b := ts.tenant(t, "acme"), ts.tenant(t, "globex")
	app := ts.createApp(t, a, "shop")
	other := ts.createApp(t, b, "bank")

	bad := []struct {
		name, body, want string
	}{
		{"regex that does not compile", `{"kind":"detector","detector":{"attack_type":"x","regex":"(a"}}`, "missing closing )"},
		{"point that does not parse", `{"kind":"sensitive","sensitive":{"point":"nowhere.x"}}`, "point"},
		{"kind without its body", `{"kind":"rate_limit","sensitive":{"point":"query.a"}}`, "without a rate_limit body"},
		{"unknown field", `{"kind":"sensitive","sensitive":{"point":"query.a"},"extra":1}`, "extra"},
		{"another tenant's application", `{"kind":"sensitive","app_id":` + itoa(other.ID) + `,"sensitive":{"point":"query.a"}}`, "does not exist"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			w := ts.do(t, "POST", "/api/v1/rules", a.admin(), c.body)
			if w.Code != http.StatusBadRequest || !contains(errorOf(t, w).Message, c.want) {
				t.Fatalf("status %d %s; want 400 saying %q", w.Code, w.Body, c.want)
			}
		})
	}
	if list := decode[apitypes.List[apitypes.Rule]](t, ts.do(t, "GET", "/api/v1/rules", a.admin(), nil), http.StatusOK); len(list.Items) != 0 {
		t.Fatalf("refused rules were stored: %+v", list.Items)
	}

	created := decode[apitypes.Rule](t, ts.do(t, "POST", "/api/v1/rules", a.admin(),
		`{"kind":"sensitive","app_id":`+itoa(app.ID)+`,"sensitive":{"point":"body|json.card"}}`), http.StatusCreated)
	if created.ID == 0 || created.Sensitive.Point.String() != "body|json.card" {
		t.Fatalf("created %+v", created)
	}
	path := "/api/v1/rules/" + itoa(created.ID)
	if w := ts.do(t, "GET", path, b.admin(), nil); w.Code != http.StatusNotFound {
		t.Errorf("other tenant reads the rule: %d", w.Code)
	}
	if w := ts.do(t, "DELETE", path, b.admin(), nil); w.Code != http.StatusNotFound {
		t.Errorf("other tenant deletes the rule: %d", w.Code)
	}
	if w := ts.do(t, "POST", "/api/v1/rules", a.tokens[auth.RoleReadOnly], `{"kind":"sensitive","sensitive":{"point":"query.a"}}`); w.Code != http.StatusForbidden {
		t.Errorf("read-only user creates a rule: %d", w.Code)
	}
	replaced := decode[apitypes.Rule](t, ts.do(t, "PUT", path, a.admin(),
		`{"kind":"filtration_mode","app_id":`+itoa(app.ID)+`,"filtration_mode":{"mode":"monitoring","path_prefix":"/beta"}}`), http.StatusOK)
	if replaced.Kind != apiv1.KindFiltrationMode || replaced.Sensitive != nil {
		t.Errorf("replaced %+v", replaced)
	}
	if w := ts.do(t, "DELETE", path, a.admin(), nil); w.Code != http.StatusNoContent {
		t.Errorf("delete: %d %s", w.Code, w.Body)
	}
}

func TestIPEntries(t *testing.T) {
	ts := newTestServer(t)
	a := ts.tenant(t, "acme")
	e := decode[apitypes.IPEntry](t, ts.do(t, "POST", "/api/v1/ip-entries", a.admin(),
		apitypes.CreateIPEntryRequest{List: "deny", Prefix: "::ffff:198.18.66.6", Reason: "scanner"}), http.StatusCreated)
	if e.Prefix.String() != "198.18.66.6/32" || e.Origin != apiv1.OriginManual {
		t.Errorf("created %+v", e)
	}
	if w := ts.do(t, "POST", "/api/v1/ip-entries", a.admin(), apitypes.CreateIPEntryRequest{List: "allow", Prefix: "198.18.66.6/32"}); w.Code != http.StatusConflict {
		t.Errorf("same prefix and scope twice: %d %s", w.Code, w.Body)
	}
	for _, req := range []apitypes.CreateIPEntryRequest{
		{List: "deny", Prefix: "198.18.0.300"},
		{List: "block", Prefix: "198.18.0.1"},
		{List: "deny", Prefix: "fe80::1%eth0"},
		{List: "deny", Prefix: "198.18.0.1", AppIDs: []int64{999}},
	} {
		if w := ts.do(t, "POST", "/api/v1/ip-entries", a.admin(), req); w.Code != http.StatusBadRequest {
			t.Errorf("%+v: %d %s", req, w.Code, w.Body)
		}
	}
	app := ts.createApp(t, a, "shop")
	shop := []int64{app.ID}
	overlaps := []struct {
		req  apitypes.CreateIPEntryRequest
		want int
	}{
		{apitypes.CreateIPEntryRequest{List: "allow", Prefix: "198.18.0.0/16"}, http.StatusConflict},             // covers the deny entry
		{apitypes.CreateIPEntryRequest{List: "gray", Prefix: "198.18.66.6", AppIDs: shop}, http.StatusConflict},  // global deny covers the app
		{apitypes.CreateIPEntryRequest{List: "deny", Prefix: "198.18.66.0/24"}, http.StatusCreated},              // same list: fine
		{apitypes.CreateIPEntryRequest{List: "gray", Prefix: "198.19.0.0/16", AppIDs: shop}, http.StatusCreated}, // disjoint
		{apitypes.CreateIPEntryRequest{List: "allow", Prefix: "198.19.1.1"}, http.StatusConflict},                // global vs app scope
	}
	for _, o := range overlaps {
		if w := ts.do(t, "POST", "/api/v1/ip-entries", a.admin(), o.req); w.Code != o.want {
			t.Errorf("%+v: %d %s, want %d", o.req, w.Code, w.Body, o.want)
		}
	}
	if list := decode[apitypes.List[apitypes.IPEntry]](t, ts.do(t, "GET", "/api/v1/ip-entries", a.admin(), nil), http.StatusOK); len(list.Items) != 3 {
		t.Errorf("entries %+v", list.Items)
	}
}

func (ts *testServer) pollRuleset(t *testing.T, cred, etag, wait string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", apiv1.RulesetPath+"?wait="+wait, nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	w := httptest.NewRecorder()
	ts.api.ServeHTTP(w, req)
	return w
}

func TestRulesetLongPoll(t *testing.T) {
	opt, kr := withSigner(t)
	ts := newTestServer(t, opt)
	a, b := ts.tenant(t, "acme"), ts.tenant(t, "globex")
	nodeID, cred := ts.enrollNode(t, a, "web-1")
	_, credB := ts.enrollNode(t, b, "web-b")

	if w := ts.pollRuleset(t, cred, "", "0"); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Fatalf("no rules yet: %d %q", w.Code, w.Body)
	}
	if w := ts.pollRuleset(t, a.admin(), "", "0"); w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
		t.Errorf("a person's session fetched a ruleset: %d", w.Code)
	}
	ts.do(t, "POST", "/api/v1/ip-entries", a.admin(), apitypes.CreateIPEntryRequest{List: "deny", Prefix: "198.18.66.6"})

	open := func(w *httptest.ResponseRecorder) *apiv1.Ruleset {
		t.Helper()
		if w.Code != http.StatusOK {
			t.Fatalf("poll: %d %s", w.Code, w.Body)
		}
		var sr apiv1.SignedRuleset
		if err := json.Unmarshal(w.Body.Bytes(), &sr); err != nil {
			t.Fatal(err)
		}
		rs, err := kr.Open(&sr)
		if err != nil {
			t.Fatalf("served ruleset does not verify: %v", err)
		}
		if w.Header().Get("ETag") != apiv1.RulesetETag(rs.RulesetVersion) {
			t.Errorf("ETag %q for version %d", w.Header().Get("ETag"), rs.RulesetVersion)
		}
		return rs
	}
	rs := open(ts.pollRuleset(t, cred, "", "0"))
	if rs.NodeID != nodeID || rs.TenantID != a.id || len(rs.IPList) != 1 || rs.IPList[0].Prefix.String() != "198.18.66.6/32" {
		t.Fatalf("ruleset %+v", rs)
	}
	if w := ts.pollRuleset(t, credB, "", "0"); w.Code != http.StatusNotModified {
		t.Errorf("tenant b got tenant a's ruleset: %d", w.Code)
	}
	if w := ts.pollRuleset(t, cred, apiv1.RulesetETag(rs.RulesetVersion), "0"); w.Code != http.StatusNotModified {
		t.Errorf("current version answered %d", w.Code)
	}

	// Compressed when the node accepts it, the same document inside.
	req := httptest.NewRequest("GET", apiv1.RulesetPath+"?wait=0", nil)
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Accept-Encoding", "gzip")
	zw := httptest.NewRecorder()
	ts.api.ServeHTTP(zw, req)
	if zw.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", zw.Header())
	}
	zr, err := gzip.NewReader(zw.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain := httptest.NewRecorder()
	plain.Code = zw.Code
	for k, v := range zw.Header() {
		plain.Header()[k] = v
	}
	if _, err := io.Copy(plain.Body, zr); err != nil {
		t.Fatal(err)
	}
	if got := open(plain); got.RulesetVersion != rs.RulesetVersion {
		t.Errorf("gzip answer carries version %d", got.RulesetVersion)
	}

	// A poll held with the current version returns when a rule changes.
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- ts.pollRuleset(t, cred, apiv1.RulesetETag(rs.RulesetVersion), "30") }()
	ts.do(t, "POST", "/api/v1/rules", a.admin(), `{"kind":"sensitive","sensitive":{"point":"body|json.card"}}`)
	next := open(<-done)
	if next.RulesetVersion <= rs.RulesetVersion || len(next.Rules) != 1 {
		t.Errorf("held poll answered %+v", next)
	}
}

func TestRulesetWithoutSigningKey(t *testing.T) {
	ts := newTestServer(t)
	a := ts.tenant(t, "acme")
	_, cred := ts.enrollNode(t, a, "web-1")
	if w := ts.pollRuleset(t, cred, "", "0"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("no signing key: %d %s", w.Code, w.Body)
	}
}

func (ts *testServer) importEntries(t *testing.T, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/ip-entries/import", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	w := httptest.NewRecorder()
	ts.api.ServeHTTP(w, req)
	return w
}

func TestIPEntriesImport(t *testing.T) {
	ts := newTestServer(t)
	a := ts.tenant(t, "acme")
	var good strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&good, `{"list":"deny","prefix":"198.18.%d.%d/32","reason":"feed"}`+"\n", i/256, i%256)
	}
	bad := []struct{ body, want string }{
		{good.String() + `{"list":"deny","prefix":"198.18.300.1"}` + "\n", "entry 2001"},
		{`{"list":"deny","prefix":"198.18.0.1","app_ids":[42]}`, "application 42 does not exist"},
		{`{"list":"deny","prefix":"198.18.0.1"}` + "\n" + `{"list":"deny",`, "entry 2"},
		{`{"list":"deny","prefix":"198.18.0.1","color":"red"}`, "color"},
	}
	for _, c := range bad {
		w := ts.importEntries(t, a.admin(), c.body)
		if w.Code != http.StatusBadRequest || !contains(errorOf(t, w).Message, c.want) {
			t.Errorf("status %d %s; want 400 saying %q", w.Code, w.Body, c.want)
		}
	}
	if list := decode[apitypes.List[apitypes.IPEntry]](t, ts.do(t, "GET", "/api/v1/ip-entries", a.admin(), nil), http.StatusOK); len(list.Items) != 0 {
		t.Fatalf("a refused import stored %d entries", len(list.Items))
	}
	res := decode[apitypes.ImportResult](t, ts.importEntries(t, a.admin(), good.String()), http.StatusOK)
	if res.Imported != 2000 {
		t.Fatalf("imported %d", res.Imported)
	}
	list := decode[apitypes.List[apitypes.IPEntry]](t, ts.do(t, "GET", "/api/v1/ip-entries", a.admin(), nil), http.StatusOK)
	if len(list.Items) != 2000 || list.Items[0].Origin != apiv1.OriginImport {
		t.Errorf("after import: %d entries", len(list.Items))
	}
	// Export gives back what was imported, in the import format.
	exp := ts.do(t, "GET", "/api/v1/ip-entries/export", a.admin(), nil)
	if exp.Code != http.StatusOK || exp.Header().Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %v", exp.Code, exp.Header())
	}
	if exp.Body.String() != good.String() {
		t.Errorf("export differs from the import; first bytes %q", exp.Body.String()[:min(200, exp.Body.Len())])
	}
	b := ts.tenant(t, "globex")
	if w := ts.do(t, "GET", "/api/v1/ip-entries/export", b.admin(), nil); w.Body.Len() != 0 {
		t.Errorf("tenant b exports %d bytes of tenant a's list", w.Body.Len())
	}
	if w := ts.do(t, "POST", "/api/v1/ip-entries/import", a.admin(), good.String()); w.Code != http.StatusUnsupportedMediaType {
		t.Errorf("import as application/json: %d", w.Code)
	}
}
