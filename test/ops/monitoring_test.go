package ops_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	rulesFile     = "tools/prometheus/palisade.rules.yml"
	rulesTestFile = "tools/prometheus/palisade.rules.test.yml"
)

// TestPrometheusRules checks the rules and the example configuration with
// promtool and runs the alerts' unit tests.
func TestPrometheusRules(t *testing.T) {
	promtool := requireTool(t, "promtool")
	run(t, promtool, "check", "rules", path(t, rulesFile))
	out := run(t, promtool, "test", "rules", path(t, rulesTestFile))
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
	run(t, promtool, "check", "config", path(t, "tools/prometheus/prometheus.example.yml"))

	// Every alert the issue names has a unit test that shows it firing.
	tests := readFile(t, path(t, rulesTestFile))
	for _, alert := range alertNames(t) {
		if !strings.Contains(tests, "alertname: "+alert+"\n        exp_alerts:") {
			t.Errorf("%s has no unit test in %s where it fires", alert, rulesTestFile)
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Record, Alert, Expr string
		}
	}
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	if err := yaml.Unmarshal([]byte(readFile(t, path(t, rulesFile))), &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

func alertNames(t *testing.T) []string {
	var names []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				names = append(names, r.Alert)
			}
		}
	}
	return names
}

type dashboard struct {
	UID, Title string
	Panels     []panel
	Templating struct {
		List []struct{ Name string }
	}
}

type panel struct {
	ID         int
	Type       string
	Title      string
	Datasource *struct{ UID string }
	GridPos    struct{ X, Y, W, H int }
	Targets    []struct{ Expr string }
	Panels     []panel
}

// metricRE finds the Palisade series a PromQL expression reads: metrics
// (palisade_...) and recording rules (level:palisade_...:operation).
var metricRE = regexp.MustCompile(`\b(?:[a-z_]+:)?palisade_[a-z0-9_]+(?::[a-z0-9_]+)?`)

// TestGrafanaDashboards checks both dashboards: well-formed, every panel
// on the data source variable, every query valid PromQL (promtool parses
// it as a recording rule), and every Palisade series a query reads either
// documented in docs/METRICS.md or recorded by tools/prometheus.
func TestGrafanaDashboards(t *testing.T) {
	promtool := requireTool(t, "promtool")
	known := map[string]bool{}
	for _, m := range documentedMetrics(t) {
		known[m.name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if m.typ == "histogram" {
				known[m.name+suffix] = true
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}

	uids := map[string]bool{}
	var exprs []string
	for _, name := range []string{"palisade-node.json", "palisade-fleet.json"} {
		var d dashboard
		if err := json.Unmarshal([]byte(readFile(t, path(t, "tools/grafana/"+name))), &d); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.UID == "" || d.Title == "" || uids[d.UID] {
			t.Errorf("%s: uid %q title %q: both needed, uid unique", name, d.UID, d.Title)
		}
		uids[d.UID] = true
		if !slices.ContainsFunc(d.Templating.List, func(v struct{ Name string }) bool { return v.Name == "datasource" }) {
			t.Errorf("%s: no datasource variable: the dashboard would be tied to one Prometheus", name)
		}
		ids := map[int]bool{}
		var walk func(ps []panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if ids[p.ID] {
					t.Errorf("%s: panel id %d used twice", name, p.ID)
				}
				ids[p.ID] = true
				if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("%s: panel %q: bad gridPos %+v", name, p.Title, p.GridPos)
				}
				if p.Type != "row" && (p.Datasource == nil || p.Datasource.UID != "${datasource}") {
					t.Errorf("%s: panel %q does not use the datasource variable", name, p.Title)
				}
				if p.Type != "row" && len(p.Targets) == 0 {
					t.Errorf("%s: panel %q has no query", name, p.Title)
				}
				for _, tg := range p.Targets {
					exprs = append(exprs, tg.Expr)
					for _, m := range metricRE.FindAllString(tg.Expr, -1) {
						if !known[m] {
							t.Errorf("%s: panel %q reads %s, which is neither in docs/METRICS.md nor a recording rule", name, p.Title, m)
						}
					}
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
	}

	// promtool parses the queries once Grafana's variables are replaced by
	// what Grafana would put there.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$instance", "node-1:9464")
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboards\n    rules:\n")
	for i, e := range exprs {
		fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %q\n", i, vars.Replace(e))
	}
	f := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runErr(promtool, "check", "rules", f); err != nil {
		t.Errorf("dashboard queries are not valid PromQL:\n%s", out)
	}
}
