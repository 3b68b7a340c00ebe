package ops_test

import (
	"regexp"
	"strings"
	"testing"
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
