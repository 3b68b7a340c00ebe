package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/client"
)

var (
	attackTypes = []string{"sqli", "xss", "rce", "ptrav", "ssrf", "xxe", "ldapi", "nosqli"}
	points      = []string{"query.id", "query.q", "body|json.user.name", "body|json.comment", "header.user-agent",
		"cookie.session", "path[1]", "body|form.search", "query.redirect", "header.referer"}
	decisions = []apiv1.Decision{apiv1.DecisionBlocked, apiv1.DecisionBlocked, apiv1.DecisionMonitored, apiv1.DecisionPassed}
)

// sources is how many attacking addresses the simulated fleet sees, a
// tenth of them IPv6 (-sources).
var sources = 8192

// fakeEvent is a plausible masked event from one of sources addresses of
// 198.18.0.0/15 and fd00::/8, chosen uniformly; its id is a time-ordered
// UUIDv7, as agent/report makes them.
func fakeEvent(r *rand.Rand, at time.Time, apps []int64) apiv1.Event {
	var src netip.Addr
	n := r.IntN(sources)
	if n%10 == 9 {
		var b [16]byte
		b[0], b[14], b[15] = 0xfd, byte(n>>8), byte(n)
		src = netip.AddrFrom16(b)
	} else {
		src = netip.AddrFrom4([4]byte{198, 18 + byte(n>>16&1), byte(n >> 8), byte(n)})
	}
	typ := attackTypes[r.IntN(len(attackTypes))]
	d := decisions[r.IntN(len(decisions))]
	status := 403
	if d != apiv1.DecisionBlocked {
		status = 200
	}
	return apiv1.Event{
		ID: uuid.Must(uuid.NewV7()).String(), Time: at, AppID: apps[r.IntN(len(apps))], RequestID: uuid.NewString()[:18],
		SourceIP: src.String(), Method: "GET", Host: "shop.example.test", Path: "/products/search?q=***",
		AttackType: typ, Point: points[r.IntN(len(points))], DetectorID: "libinjection." + typ,
		RuleIDs: []int64{int64(r.IntN(100))}, Excerpt: "1' UNION SELECT username, **** FROM users--",
		Masked: true, Decision: d, Status: status,
	}
}

func runIngest(ctx context.Context, o options) error {
	var admin *client.Client
	url := o.url
	if url == "" {
		c, err := startCloud(ctx, o)
		if err != nil {
			return err
		}
		defer c.close()
		admin, url = c.admin, c.url
	} else {
		c, err := client.New(url, o.token, httpClient(o.nodes))
		if err != nil {
			return err
		}
		admin = c
	}
	var apps []int64
	for i := 0; i < 5; i++ {
		a, err := admin.CreateApp(ctx, apitypes.CreateAppRequest{Name: fmt.Sprintf("bench-%d-%d", time.Now().Unix(), i), FiltrationMode: "block"})
		if err != nil {
			return fmt.Errorf("create application: %w", err)
		}
		apps = append(apps, a.ID)
	}
	if !o.triggers {
		ts, err := admin.ListTriggers(ctx)
		if err != nil {
			return fmt.Errorf("list triggers: %w", err)
		}
		for _, t := range ts {
			if err := admin.DeleteTrigger(ctx, t.ID); err != nil {
				return fmt.Errorf("delete trigger %d: %w", t.ID, err)
			}
		}
	}
	fmt.Printf("cloudbench ingest: %d nodes, %d events/batch, %v, triggers %v, cloud %s\n", o.nodes, o.batch, o.duration, o.triggers, url)
	nodes := make([]*client.Client, o.nodes)
	anon := admin.WithToken("")
	for i := range nodes {
		et, err := admin.CreateEnrollToken(ctx, fmt.Sprintf("bench-%d", i), time.Hour)
		if err != nil {
			return fmt.Errorf("enrollment token: %w", err)
		}
		resp, err := anon.Enroll(ctx, et.Secret, apiv1.EnrollRequest{Name: fmt.Sprintf("bench-node-%d", i), AgentVersion: "cloudbench"})
		if err != nil {
			return fmt.Errorf("enroll node %d: %w", i, err)
		}
		nodes[i] = anon.WithToken(resp.Credential)
	}

	// The batches are made before the clock starts, so that the timed run
	// spends this process's CPU on sending, not on JSON and gzip: the
	// cloud shares the machine with the simulator, and real nodes are
	// other machines.
	perNode := o.pregen
	fmt.Printf("  encoding %d batches per node...\n", perNode)
	bodies := make([][][]byte, len(nodes))
	var gen sync.WaitGroup
	for i := range nodes {
		gen.Add(1)
		go func() {
			defer gen.Done()
			r := rand.New(rand.NewPCG(uint64(i), 42))
			now := time.Now()
			for j := 0; j < perNode; j++ {
				// A node reports what just happened: the events of its
				// j-th batch are from the two seconds before the time it
				// is expected to be sent, so that event times advance
				// through the run as they do in a fleet.
				sent := now.Add(time.Duration(j) * o.duration / time.Duration(perNode))
				b := &apiv1.ReportBatch{Health: &apiv1.NodeHealth{AgentVersion: "cloudbench", RulesetVersion: 1}}
				for k := 0; k < o.batch; k++ {
					b.Events = append(b.Events, fakeEvent(r, sent.Add(-time.Duration(r.IntN(2000))*time.Millisecond), apps))
				}
				body, err := client.EncodeBatch(b)
				if err != nil {
					panic(err) // encoding our own batch cannot fail
				}
				bodies[i] = append(bodies[i], body)
			}
		}()
	}
	gen.Wait()

	var accepted, rejected, failed atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	deadline := time.Now().Add(o.duration)
	start := time.Now()
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for _, body := range bodies[i] {
				if !time.Now().Before(deadline) {
					break
				}
				t0 := time.Now()
				res, err := n.IngestEncoded(ctx, body)
				mine = append(mine, time.Since(t0))
				if err != nil {
					failed.Add(1)
					continue
				}
				accepted.Add(int64(res.Accepted))
				rejected.Add(int64(len(res.Rejected)))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	sortDurations(latencies)
	fmt.Printf("  accepted %d events in %.1fs: %.0f events/s (%d batches, %.0f batches/s)\n",
		accepted.Load(), elapsed.Seconds(), float64(accepted.Load())/elapsed.Seconds(), len(latencies), float64(len(latencies))/elapsed.Seconds())
	fmt.Printf("  batch latency p50 %v p99 %v max %v; rejected events %d, failed batches %d\n",
		percentile(latencies, .5).Round(time.Millisecond), percentile(latencies, .99).Round(time.Millisecond),
		percentile(latencies, 1).Round(time.Millisecond), rejected.Load(), failed.Load())
	if o.url == "" {
		fmt.Printf("  memory (cloud and simulator in one process): peak RSS %.0f MiB, heap in use %.0f MiB\n", peakRSS(), heapMiB())
		if o.database == "" && o.dataDir != "" {
			fmt.Printf("  database %.0f MiB\n", dbSize(o.dataDir))
		}
	}
	if o.url != "" {
		if rss, heap, err := cloudMemory(ctx, o.url); err != nil {
			fmt.Printf("  cloud memory: %v\n", err)
		} else {
			fmt.Printf("  cloud memory (its /metrics): resident %.0f MiB, Go heap in use %.0f MiB\n", rss, heap)
		}
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d batches failed", failed.Load())
	}
	return nil
}

// cloudMemory reads a cloud's resident memory and heap from its /metrics.
func cloudMemory(ctx context.Context, url string) (rss, heap float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		var v float64
		switch {
		case strings.HasPrefix(line, "process_resident_memory_bytes "):
			fmt.Sscan(strings.TrimPrefix(line, "process_resident_memory_bytes "), &v)
			rss = v / (1 << 20)
		case strings.HasPrefix(line, "go_memstats_heap_inuse_bytes "):
			fmt.Sscan(strings.TrimPrefix(line, "go_memstats_heap_inuse_bytes "), &v)
			heap = v / (1 << 20)
		}
	}
	return rss, heap, nil
}
