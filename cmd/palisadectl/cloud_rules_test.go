package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/api"
	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/server"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

// TestCloudRuleCommands drives rules, iplist, triggers and integrations
// against a real API server.
func TestCloudRuleCommands(t *testing.T) {
	ctx := context.Background()
	st := sqltest.OpenSQLite(t)
	if err := server.Bootstrap(ctx, st, "admin@acme.test", "admin-password-1", nil); err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: auth.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cloud.json")
	cmd := func(args ...string) []string { return append([]string{"cloud", "--config", cfg}, args...) }
	t.Setenv("PALISADE_PASSWORD", "admin-password-1")
	if _, err := runCloud(t, cmd("--url", srv.URL, "login", "--email", "admin@acme.test")...); err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := runCloud(t, cmd(args...)...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}

	rule := filepath.Join(dir, "rule.json")
	os.WriteFile(rule, []byte(`{"kind":"sensitive","sensitive":{"point":"body|json.password"}}`), 0o600)
	must("rules", "create", "-f", rule)
	if out := must("rules", "list"); !strings.Contains(out, "sensitive") || !strings.Contains(out, "body|json.password") {
		t.Errorf("rules list: %q", out)
	}
	os.WriteFile(rule, []byte(`{"kind":"detector","detector":{"attack_type":"x","regex":"(a"}}`), 0o600)
	if _, err := runCloud(t, cmd("rules", "create", "-f", rule)...); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("invalid rule: %v", err)
	}

	must("iplist", "add", "--list", "deny", "--prefix", "198.18.66.6", "--reason", "scanner", "--ttl", "1h")
	nd := filepath.Join(dir, "feed.ndjson")
	os.WriteFile(nd, []byte(`{"list":"gray","prefix":"fd00::/64"}`+"\n"+`{"list":"deny","prefix":"198.18.7.0/24"}`+"\n"), 0o600)
	if out := must("iplist", "import", nd); !strings.Contains(out, "2") {
		t.Errorf("import: %q", out)
	}
	out := must("iplist", "list")
	for _, want := range []string{"198.18.66.6/32", "scanner", "fd00::/64", "import"} {
		if !strings.Contains(out, want) {
			t.Errorf("iplist list lacks %q: %q", want, out)
		}
	}
	if out := must("iplist", "export"); strings.Count(out, "\n") != 3 || !strings.Contains(out, `"prefix":"198.18.7.0/24"`) {
		t.Errorf("export: %q", out)
	}

	var created apitypes.IntegrationCreated
	if err := json.Unmarshal([]byte(must("integrations", "create", "--name", "siem", "--url", hook.URL, "-o", "json")), &created); err != nil || created.Secret == "" {
		t.Fatalf("integrations create: %v %+v", err, created)
	}
	if out := must("integrations", "test", itoa(created.Integration.ID)); !strings.Contains(out, "delivered") {
		t.Errorf("integrations test: %q", out)
	}
	if out := must("integrations", "deliveries", itoa(created.Integration.ID)); !strings.Contains(out, "test") {
		t.Errorf("deliveries: %q", out)
	}

	var tr apitypes.Trigger
	if err := json.Unmarshal([]byte(must("triggers", "create", "--name", "login guessing", "--count", "brute_force", "--path", "/login",
		"--threshold", "21", "--window", "1m", "--action", "gray", "--duration", "15m", "--integration", itoa(created.Integration.ID), "-o", "json")), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Condition.Path != "/login" || tr.Condition.WindowSeconds != 60 || tr.Action.DurationSeconds != 900 || !tr.Enabled {
		t.Errorf("created trigger %+v", tr)
	}
	must("triggers", "update", itoa(tr.ID), "--disabled", "--threshold", "30")
	out = must("triggers", "list")
	if !strings.Contains(out, "30 brute_force in 1m0s on /login") || !strings.Contains(out, "false") || !strings.Contains(out, "gray for 15m0s") {
		t.Errorf("triggers list: %q", out)
	}
	if out := must("triggers", "list"); strings.Count(out, "\n") != 4 { // header, two defaults, ours
		t.Errorf("triggers list rows: %q", out)
	}
	if out := must("triggers", "firings"); !strings.HasPrefix(out, "ID") {
		t.Errorf("firings: %q", out)
	}
	must("triggers", "delete", itoa(tr.ID))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
