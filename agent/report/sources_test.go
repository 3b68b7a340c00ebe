package report

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

func TestNormalizePath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/login", "/login"},
		{"/login?user=admin&password=x", "/login"},
		{"/login#frag", "/login"},
		{"//login", "/login"},
		{"/./login", "/login"},
		{"/a/../login", "/login"},
		{"/../../login", "/login"},
		{"/login/", "/login"},
		{"/%6Cogin", "/login"},
		{"/%6cogin", "/login"},
		{"/a%2fb", "/a%2Fb"},        // an escaped slash is not a separator
		{"/%2e%2e/login", "/login"}, // escaped dots are dots
		{"/100%", "/100%"},
		{"http://shop.example.test/login?x=1", "/login"},
		{"https://shop.example.test", "/"},
		{"*", "*"},
		{"login", "/login"},
		{"", "/"},
		{"/files/.htaccess", "/files/.htaccess"},
	} {
		if got := normalizePath(c.in); got != c.want {
			t.Errorf("normalizePath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := "/" + strings.Repeat("é", apiv1.MaxPathLen)
	if got := normalizePath(long); len(got) > apiv1.MaxPathLen || !strings.HasPrefix(long, got) || len(got) < apiv1.MaxPathLen-1 {
		t.Errorf("long path cut to %d bytes", len(got))
	}
}

// testClock is a settable clock for Config.Clock.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *testClock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func rowsBy(rows []apiv1.SourceCounters) map[string]apiv1.SourceCounters {
	out := map[string]apiv1.SourceCounters{}
	for _, c := range rows {
		k := fmt.Sprintf("%d %s %s", c.AppID, c.SourceIP, c.Path)
		if _, dup := out[k]; dup {
			panic("duplicate row " + k)
		}
		out[k] = c
	}
	return out
}

// TestSourceCountsBounded fills the per-minute tables far past their
// bounds: a password guesser on /login, a scanner trying 300 paths, and
// 2000 one-request sources. The guesser is counted exactly on its path,
// the scanner's 404s all reach the cloud (on their paths or on its row
// without a path), memory stays within the bounds, and what was lost is
// in the metric.
func TestSourceCountsBounded(t *testing.T) {
	clock := newTestClock(time.Date(2026, 5, 4, 10, 0, 30, 0, time.UTC))
	r := newTestReporter(t, t.TempDir(), "http://127.0.0.1:1/api/v1/ingest", "pcn_x", func(c *Config) {
		c.MaxSources, c.MaxSourcePaths, c.Clock = 64, 64, clock.now
	})
	t.Cleanup(func() { r.Close() })
	guesser := netip.MustParseAddr("198.18.1.1")
	scanner := netip.MustParseAddr("198.18.1.2")
	for i := range 2000 {
		r.CountSource(1, guesser, "/login?user=admin", 200)
		if i < 300 {
			r.CountSource(1, scanner, fmt.Sprintf("/backup-%d.zip", i), 404)
		}
		r.CountSource(1, netip.AddrFrom4([4]byte{198, 18, byte(2 + i/250), byte(i % 250)}), "/", 200)
		r.smu.Lock()
		for _, w := range r.sourceMinutes {
			if len(w.sources) > 64 || len(w.paths) > 64 {
				t.Fatalf("request %d: %d sources and %d paths, bound 64", i, len(w.sources), len(w.paths))
			}
		}
		r.smu.Unlock()
	}
	ws := r.takeSourceMinutes(time.Time{})
	if len(ws) != 1 {
		t.Fatalf("%d minutes counted, want 1", len(ws))
	}
	rows := r.sourceRows(ws[0])
	if len(rows) > 128 {
		t.Errorf("%d rows for bounds of 64 sources and 64 paths", len(rows))
	}
	by := rowsBy(rows)
	if c := by["1 198.18.1.1 /login"]; c.Requests != 2000 || c.NotFound != 0 || !c.Minute.Equal(time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("guesser's /login row %+v, want 2000 requests in minute 10:00", c)
	}
	var scanned, notFound uint64
	for _, c := range rows {
		if c.SourceIP == "198.18.1.2" {
			scanned += c.Requests
			notFound += c.NotFound
			if c.Path != "" && !strings.HasPrefix(c.Path, "/backup-") {
				t.Errorf("scanner row %+v", c)
			}
		}
	}
	if scanned != 300 || notFound != 300 {
		t.Errorf("scanner: %d requests, %d not found reported, want 300 and 300", scanned, notFound)
	}
	if by["1 198.18.1.2 "].NotFound == 0 {
		t.Errorf("no row without a path for the scanner's evicted paths: %+v", rows)
	}
	pathCap := r.metric(t, `palisade_report_source_requests_uncounted_total{reason="path_cap"}`)
	sourceCap := r.metric(t, `palisade_report_source_requests_uncounted_total{reason="source_cap"}`)
	if pathCap == 0 || sourceCap == 0 {
		t.Errorf("uncounted requests: path_cap %v, source_cap %v; want both > 0", pathCap, sourceCap)
	}
	// Every request is either in a row or counted as lost with its source.
	var total uint64
	for _, c := range rows {
		total += c.Requests
	}
	if want := uint64(2000 + 300 + 2000); total+uint64(sourceCap) != want {
		t.Errorf("rows hold %d requests and %v were lost with their source: want %d in all", total, sourceCap, want)
	}
}

// TestCountSourceDoesNotAllocate: a request already counted under its
// source and path costs no allocation.
func TestCountSourceDoesNotAllocate(t *testing.T) {
	r := newTestReporter(t, t.TempDir(), "http://127.0.0.1:1/api/v1/ingest", "pcn_x", nil)
	t.Cleanup(func() { r.Close() })
	src := netip.MustParseAddr("198.18.1.1")
	r.CountSource(1, src, "/login?user=a", 200)
	if n := testing.AllocsPerRun(100, func() { r.CountSource(1, src, "/login?user=b", 404) }); n != 0 {
		t.Errorf("CountSource allocates %v times per request", n)
	}
}

// TestSourceCountersUploaded: per-source counts reach the cloud once the
// minute ends, one row per (application, source, masked path), with a
// restart in the middle of the minute merged in, and nothing sensitive
// in a path.
func TestSourceCountersUploaded(t *testing.T) {
	srv := newIngestServer(t)
	dir := t.TempDir()
	clock := newTestClock(time.Now().UTC().Truncate(time.Minute).Add(10 * time.Second))
	tune := func(c *Config) { c.Clock = clock.now }
	r := newTestReporter(t, dir, srv.url(), srv.credential, tune)
	a, b := netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("::ffff:198.18.1.2")
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	for range 3 {
		r.CountSource(1, a, "/login?password=hunter2-secret", 200)
	}
	r.CountSource(1, a, "/reset/"+jwt, 404)
	r.CountSource(2, b, "/admin.php", 404)
	r.CountSource(2, b, "/users/john.doe@example.com/cards/4111111111111111", 200)
	// A restart in the middle of the minute keeps its counts.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = newTestReporter(t, dir, srv.url(), srv.credential, tune)
	r.CountSource(1, a, "//login/", 401)
	r.CountSource(1, a, "/reset/"+jwt, 404)
	clock.add(time.Minute)
	r.spoolClosedMinutes(clock.now())
	r.run(t)
	waitFor(t, "source counters", func() bool {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		return len(srv.sources) >= 4
	})
	srv.mu.Lock()
	by := rowsBy(srv.sources)
	srv.mu.Unlock()
	minute := clock.now().Add(-time.Minute).Truncate(time.Minute)
	if c := by["1 198.18.1.1 /login"]; c.Requests != 4 || c.NotFound != 0 || !c.Minute.Equal(minute) {
		t.Errorf("/login row %+v, want 4 requests in %v", c, minute)
	}
	if c := by["1 198.18.1.1 /reset/***"]; c.Requests != 2 || c.NotFound != 2 {
		t.Errorf("/reset row %+v, want 2 requests answered 404; rows %+v", c, srv.sources)
	}
	if c := by["2 198.18.1.2 /admin.php"]; c.Requests != 1 || c.NotFound != 1 {
		t.Errorf("/admin.php row %+v", c)
	}
	if c := by["2 198.18.1.2 /users/***/cards/***"]; c.Requests != 1 {
		t.Errorf("masked /users row %+v; rows %+v", c, srv.sources)
	}
	if len(by) != 4 {
		t.Errorf("rows %+v, want 4", srv.sources)
	}
	raw := string(srv.rawBytes())
	for _, secret := range []string{"hunter2-secret", "password", jwt[:20], "john.doe", "example.com", "41111111"} {
		if strings.Contains(raw, secret) {
			t.Errorf("%q left the node: %s", secret, raw)
		}
	}
}
