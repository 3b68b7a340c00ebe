package ops_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/tools/lab"
)

const metricsDoc = "docs/METRICS.md"

// docMetric is one row of a table in docs/METRICS.md.
type docMetric struct {
	name, typ string
	labels    []string
	section   string // the "## " heading above the table
}

var backticked = regexp.MustCompile("`([^`]+)`")

// documentedMetrics reads every metric row of docs/METRICS.md: rows whose
// first cell is a backticked palisade_ name.
func documentedMetrics(t *testing.T) []docMetric {
	t.Helper()
	var out []docMetric
	section := ""
	for line := range strings.Lines(readFile(t, path(t, metricsDoc))) {
		line = strings.TrimSpace(line)
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		if !strings.HasPrefix(line, "| `palisade_") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 4 {
			t.Fatalf("%s: %q: want | metric | type | labels | meaning |", metricsDoc, line)
		}
		m := docMetric{
			name:    strings.Trim(strings.TrimSpace(cells[0]), "`"),
			typ:     strings.TrimSpace(cells[1]),
			section: section,
		}
		for _, l := range backticked.FindAllStringSubmatch(cells[2], -1) {
			m.labels = append(m.labels, l[1])
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no metric", metricsDoc)
	}
	return out
}

// family is one metric family as /metrics exposes it.
type family struct {
	name, typ, help string
	labels          []string
}

// exposedFamilies parses a text exposition into palisade_* families, with
// the label names seen on their samples (le of histograms left out).
func exposedFamilies(text string) map[string]*family {
	fams := map[string]*family{}
	get := func(name string) *family {
		if fams[name] == nil {
			fams[name] = &family{name: name}
		}
		return fams[name]
	}
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "# TYPE palisade_"):
			f := strings.Fields(line)
			get(f[2]).typ = f[3]
		case strings.HasPrefix(line, "# HELP palisade_"):
			f := strings.SplitN(line, " ", 4)
			if len(f) == 4 {
				get(f[2]).help = f[3]
			}
		case strings.HasPrefix(line, "palisade_"):
			name, rest, _ := strings.Cut(line, "{")
			if i := strings.IndexByte(name, ' '); i >= 0 {
				name, rest = name[:i], ""
			}
			if fams[name] == nil {
				// Histogram series: name_bucket, name_sum, name_count.
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					if base, ok := strings.CutSuffix(name, s); ok && fams[base] != nil {
						name = base
					}
				}
			}
			fam := get(name)
			labels, _, _ := strings.Cut(rest, "}")
			for _, kv := range splitLabels(labels) {
				k, _, _ := strings.Cut(kv, "=")
				if k != "le" && k != "" && !slices.Contains(fam.labels, k) {
					fam.labels = append(fam.labels, k)
				}
			}
		}
	}
	return fams
}

// splitLabels splits `a="x",b="y,z"` at the commas between pairs.
func splitLabels(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// TestMetricsDocumented starts the real agent and cloud, sends them the
// traffic that makes their metrics appear (packets through XDP, clean and
// attack requests through the proxy, a denylisted source, API requests),
// scrapes both, and compares every palisade_* family with docs/METRICS.md:
// the same names, types and label names, in the section of the daemon
// exposing them. On a mismatch it prints the rows to paste.
func TestMetricsDocumented(t *testing.T) {
	requireTool(t, "nsenter")
	requireTool(t, "ping")
	a := newAgentLab(t)
	agentPort, cloudPort := freePort(t, a.host), freePort(t, a.host)
	cfg, socket, _ := a.agentConfig(t, agentPort)
	a.serveApp(t)
	ag, err := a.startAgent(t, cfg, socket, agentPort)
	if err != nil {
		t.Fatal(err)
	}
	cloudAddr := fmt.Sprintf("127.0.0.1:%d", cloudPort)
	cloud := startDaemon(t, a.host, a.dir, lab.Bin(t, "palisade-cloud"), "serve",
		"--listen", cloudAddr, "--data-dir", filepath.Join(a.dir, "cloud"))
	waitHTTP(t, a.host, cloud, "http://"+cloudAddr+"/healthz")

	hostAddr := a.host.Addr4.String()
	a.get(t, net.JoinHostPort(hostAddr, "80"), "/")
	a.get(t, net.JoinHostPort(hostAddr, "80"), sqlInjection)
	a.get(t, net.JoinHostPort(hostAddr, "81"), "/")
	ag.ctl("deny", "add", a.peer.Addr4.String())
	pings(a.peer, hostAddr, 1)

	resp, err := hostClient(a.host).Get("http://" + cloudAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	cloudText, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("cloud /metrics: %s, %v", resp.Status, err)
	}
	exposed := map[string]map[string]*family{
		"palisade-agent": exposedFamilies(ag.scrape()),
		"palisade-cloud": exposedFamilies(string(cloudText)),
	}
	compareMetricsDoc(t, documentedMetrics(t), exposed)
}

// compareMetricsDoc reports every difference between the documented
// metrics and the exposed families, by daemon.
func compareMetricsDoc(t *testing.T, docs []docMetric, exposed map[string]map[string]*family) {
	t.Helper()
	documented := map[string]docMetric{}
	for _, d := range docs {
		documented[d.name] = d
	}
	var missingRows []string
	for daemon, fams := range exposed {
		names := make([]string, 0, len(fams))
		for n := range fams {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			f := fams[n]
			d, ok := documented[n]
			switch {
			case !ok:
				t.Errorf("%s exposes %s, which %s does not document", daemon, n, metricsDoc)
				missingRows = append(missingRows, fmt.Sprintf("%s: %s", daemon, f.row()))
			case d.section != daemon:
				t.Errorf("%s: %s is documented under %q, but %s exposes it", metricsDoc, n, d.section, daemon)
			default:
				if d.typ != f.typ {
					t.Errorf("%s: %s is documented as a %s, exposed as a %s", metricsDoc, n, d.typ, f.typ)
				}
				if got, want := sortedCopy(f.labels), sortedCopy(d.labels); !slices.Equal(got, want) {
					t.Errorf("%s: %s is documented with labels %v, exposed with %v", metricsDoc, n, want, got)
				}
			}
		}
	}
	for _, d := range docs {
		fams, daemonSection := exposed[d.section]
		switch {
		case daemonSection && fams[d.name] == nil:
			t.Errorf("%s documents %s under %s, which does not expose it", metricsDoc, d.name, d.section)
		case !daemonSection:
			// Names kept for rules and dashboards before a daemon exposes
			// them: once one does, its row belongs in that daemon's table.
			for daemon, fams := range exposed {
				if fams[d.name] != nil {
					t.Errorf("%s exposes %s now: move its row from %q to the %s table", daemon, d.name, d.section, daemon)
				}
			}
		}
	}
	if len(missingRows) > 0 {
		t.Logf("rows to add to %s (edit the meaning):\n%s", metricsDoc, strings.Join(missingRows, "\n"))
	}
}

func (f *family) row() string {
	labels := "none"
	if len(f.labels) > 0 {
		labels = "`" + strings.Join(sortedCopy(f.labels), "`, `") + "`"
	}
	return fmt.Sprintf("| `%s` | %s | %s | %s |", f.name, f.typ, labels, f.help)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}
