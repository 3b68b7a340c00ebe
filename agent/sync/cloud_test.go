package sync

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/api"
	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore/sqltest"
)

// realCloud is the cloud's API on an embedded SQLite store, with a signing
// key, an admin session and one enrolled node.
type realCloud struct {
	url        string
	admin      *client.Client
	nodeID     string
	credential string
	keyring    *apiv1.Keyring
	tenantID   int64
}

func startCloud(t testing.TB) *realCloud {
	t.Helper()
	ctx := context.Background()
	st := sqltest.OpenSQLite(t)
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := apiv1.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	cheap := auth.Params{Memory: 64, Time: 1, Threads: 1}
	srv, err := api.New(api.Config{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PasswordParams: cheap, RulesetSigner: signer})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	tenant, err := st.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem}, "acme")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword("sync-test-password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	u := store.User{TenantID: tenant.ID, Email: "admin@acme.test", Role: string(auth.RoleAdmin), PasswordHash: hash}
	if err := st.CreateUser(ctx, store.Actor{Kind: store.ActorSystem}, &u); err != nil {
		t.Fatal(err)
	}
	anon, err := client.New(ts.URL, "", ts.Client())
	if err != nil {
		t.Fatal(err)
	}
	login, err := anon.Login(ctx, u.Email, "sync-test-password")
	if err != nil {
		t.Fatal(err)
	}
	admin := anon.WithToken(login.Token)
	tok, err := admin.CreateEnrollToken(ctx, "web-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	enrolled, err := anon.Enroll(ctx, tok.Secret, apiv1.EnrollRequest{Version: 1, Name: "web-1", Hostname: "web-1.test", AgentVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	kr, err := apiv1.NewKeyring(signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return &realCloud{url: ts.URL, admin: admin, nodeID: enrolled.NodeID, credential: enrolled.Credential, keyring: kr, tenantID: tenant.ID}
}

// TestCloudToXDP runs the whole path with the real pieces: an entry and a
// rule written through the cloud's API reach the node's XDP deny map and
// detection engine through the long poll, and a deletion takes the entry
// out again.
func TestCloudToXDP(t *testing.T) {
	c := startCloud(t)
	n := &node{t: t, filter: openTestFilter(t), engine: detect.New(detect.Options{}), stateDir: t.TempDir()}
	s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: c.nodeID, StateDir: n.stateDir,
		Engine: n.engine, Filter: n.filter})
	if err != nil {
		t.Fatal(err)
	}
	p := &Poller{BaseURL: c.url, Credential: c.credential, Wait: 10 * time.Second,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Syncer: s}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	e, err := c.admin.CreateIPEntry(ctx, apitypes.CreateIPEntryRequest{List: "deny", Prefix: "198.18.66.6", Reason: "attacker"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "deny entry in the XDP map", func() bool {
		got, ok := n.prefixes(xdp.Deny)["198.18.66.6/32"]
		return ok && got.Source == xdp.SourceCloud && got.Reason == "attacker"
	})
	if _, err := c.admin.CreateRule(ctx, apiv1.Rule{Kind: apiv1.KindSensitive,
		Sensitive: &apiv1.SensitiveRule{Point: point.MustParsePattern("body|json.card")}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sensitive rule in the engine", func() bool {
		return n.engine.Rules().Sensitive(1, point.MustParse("body|json.card.number"))
	})
	if err := c.admin.DeleteIPEntry(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deny entry gone", func() bool {
		_, ok := n.prefixes(xdp.Deny)["198.18.66.6/32"]
		return !ok
	})
	if value(t, s.m.signatureFailures) != 0 {
		t.Error("signature failures against the real cloud")
	}
}

// BenchmarkPropagation measures the time from a write acknowledged by the
// cloud's API to the node having the new ruleset in force (detector rules,
// gray list, policy; no XDP so that it runs without root), one node
// long-polling. p50 and p99 are reported per run.
func BenchmarkPropagation(b *testing.B) {
	c := startCloud(b)
	s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: c.nodeID, StateDir: b.TempDir(),
		Engine: detect.New(detect.Options{}), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	p := &Poller{BaseURL: c.url, Credential: c.credential, Wait: 10 * time.Second, Syncer: s,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := c.admin.CreateIPEntry(ctx, apitypes.CreateIPEntryRequest{List: "gray", Prefix: netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}).String()}); err != nil {
			b.Fatal(err)
		}
		want := int64(i + 1)
		for s.Version() < want {
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// countingConn counts the bytes read from the network: what crossed the
// wire, before the transport decompresses anything.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingClient is an HTTP client whose connections count bytes into n.
func countingClient(n *atomic.Int64) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, n: n}, nil
	}}}
}

// BenchmarkDeliver1M measures a full delivery of a one-million-entry
// denylist: the cloud compiles and signs it, the node downloads, verifies,
// compiles and writes it into the XDP deny map (root needed). The import
// through the API is timed once, outside the loop.
func BenchmarkDeliver1M(b *testing.B) {
	const entries = 1_000_000
	c := startCloud(b)
	f := openTestFilter(b)
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		for i := range entries {
			fmt.Fprintf(w, `{"list":"deny","prefix":"%s","reason":"feed"}`+"\n",
				netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		}
		w.Flush()
		pw.Close()
	}()
	start := time.Now()
	res, err := c.admin.ImportIPEntries(context.Background(), pr)
	if err != nil || res.Imported != entries {
		b.Fatalf("import: %v, %d", err, res.Imported)
	}
	importTime := time.Since(start)
	var last int64
	for b.Loop() {
		s, err := New(Config{Keyring: c.keyring, TenantID: c.tenantID, NodeID: c.nodeID, StateDir: b.TempDir(),
			Engine: detect.New(detect.Options{}), Filter: f, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		var wire atomic.Int64
		p := &Poller{BaseURL: c.url, Credential: c.credential, Client: countingClient(&wire), Syncer: s}
		if changed, err := p.Poll(context.Background()); err != nil || !changed {
			b.Fatalf("poll: %v, changed %v", err, changed)
		}
		if n := f.Len(xdp.Deny); n != entries {
			b.Fatalf("deny map holds %d entries", n)
		}
		last = wire.Load()
	}
	b.ReportMetric(float64(last)/(1<<20), "MiB-on-wire")
	b.ReportMetric(importTime.Seconds(), "import-s")
}
