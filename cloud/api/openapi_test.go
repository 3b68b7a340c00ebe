package api

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the route table")

// TestOpenAPIInSync keeps the committed document equal to what the route
// table and the Go types generate.
func TestOpenAPIInSync(t *testing.T) {
	s := newTestServer(t).api
	got, err := s.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, openAPIDoc) {
		t.Fatal("openapi.json is out of date: run go test ./cloud/api -run TestOpenAPIInSync -update")
	}
}

// TestOpenAPIMatchesRouter checks the served document against the router
// itself: every documented operation reaches its own handler, and every
// route the router serves under /api/v1 is documented.
func TestOpenAPIMatchesRouter(t *testing.T) {
	ts := newTestServer(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	resp := ts.do(t, "GET", "/api/v1/openapi.json", "", nil)
	if resp.Code != 200 {
		t.Fatalf("GET /api/v1/openapi.json: %d", resp.Code)
	}
	if err := json.Unmarshal(resp.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			documented = append(documented, m+" "+path)
			req := httptest.NewRequest(m, strings.NewReplacer("{id}", "1").Replace(path), nil)
			if _, pattern := ts.api.mux.Handler(req); pattern != m+" "+path {
				t.Errorf("documented %s %s is routed to %q", m, path, pattern)
			}
		}
	}
	var routed []string
	for _, rt := range ts.api.routes {
		routed = append(routed, rt.method+" "+rt.path)
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if strings.Join(documented, "\n") != strings.Join(routed, "\n") {
		t.Errorf("documented:\n%s\nrouted:\n%s", strings.Join(documented, "\n"), strings.Join(routed, "\n"))
	}
}
