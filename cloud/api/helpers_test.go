package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
)

// enrollNode enrolls a node in the fixture's tenant through the API and
// returns its id and credential.
func (ts *testServer) enrollNode(t *testing.T, f tenantFixture, name string) (string, string) {
	return ts.enrollNodeTB(t, f, name)
}

func (ts *testServer) enrollNodeTB(t testing.TB, f tenantFixture, names ...string) (string, string) {
	t.Helper()
	name := "node"
	if len(names) > 0 {
		name = names[0]
	}
	tok := decode[apitypes.EnrollTokenCreated](t, ts.do(t, "POST", "/api/v1/enroll-tokens", f.admin(),
		apitypes.CreateEnrollTokenRequest{Name: name}), http.StatusCreated)
	resp := decode[apiv1.EnrollResponse](t, ts.do(t, "POST", "/api/v1/nodes/enroll", tok.Secret,
		apiv1.EnrollRequest{Version: 1, Name: name, Hostname: name + ".example.test", AgentVersion: "0.1.0"}), http.StatusCreated)
	return resp.NodeID, resp.Credential
}

func (ts *testServer) createApp(t *testing.T, f tenantFixture, name string) apitypes.App {
	t.Helper()
	return decode[apitypes.App](t, ts.do(t, "POST", "/api/v1/apps", f.admin(),
		apitypes.CreateAppRequest{Name: name, FiltrationMode: "block", Hosts: []string{name + ".example.test"}}), http.StatusCreated)
}

// event is a valid event of application appID, i seconds after at.
func event(appID int64, at time.Time, i int) apiv1.Event {
	return apiv1.Event{
		ID: uuid.NewString(), Time: at.Add(time.Duration(i) * time.Second), AppID: appID, RequestID: fmt.Sprint("r-", i),
		SourceIP: "198.18.0.7", Method: "GET", Host: "shop.example.test", Path: "/products",
		AttackType: "sqli", Point: "query.id", DetectorID: "libinjection.sqli", Excerpt: "1' OR 1=1--",
		Decision: apiv1.DecisionBlocked, Status: 403,
	}
}

// ingest posts a batch with a node credential, gzip-compressed when zip.
func (ts *testServer) ingest(t *testing.T, cred string, b apiv1.ReportBatch, zip bool) *httptest.ResponseRecorder {
	t.Helper()
	raw, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return ts.post(t, "/api/v1/ingest", cred, raw, zip)
}

func (ts *testServer) post(t *testing.T, path, cred string, raw []byte, zip bool) *httptest.ResponseRecorder {
	t.Helper()
	body := raw
	if zip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(raw)
		zw.Close()
		body = buf.Bytes()
	}
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cred)
	req.Header.Set("Content-Type", "application/json")
	if zip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	w := httptest.NewRecorder()
	ts.api.ServeHTTP(w, req)
	return w
}

type testResponse = httptest.ResponseRecorder

func newRequest(method, path, body string) *http.Request {
	return httptest.NewRequest(method, path, strings.NewReader(body))
}

func newRecorder() *testResponse { return httptest.NewRecorder() }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// errorOf decodes an error answer.
func errorOf(t *testing.T, w *testResponse) apiv1.Error {
	t.Helper()
	var e apiv1.Error
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Message == "" {
		t.Fatalf("status %d: not an error document: %s", w.Code, w.Body)
	}
	return e
}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := auth.HashPassword(pw, cheapHash)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
