// Command cloudbench measures the Palisade cloud under a simulated fleet.
//
//	cloudbench ingest [-database URL] [-nodes 200] [-batch 100] [-batches 50] [-duration 30s] [-triggers=false]
//	cloudbench search [-database URL] [-data-dir DIR] [-events 1000000] [-queries 50]
//
// ingest enrolls -nodes nodes through the API; each encodes -batches
// batches of -batch events (gzip JSON, as a node sends them) before the
// clock starts, then all upload as fast as the cloud answers; it reports
// events/s, batch latency and memory. search fills a store with -events
// events (directly, in large transactions), then times the events API's
// searches and aggregations against it.
//
// By default the cloud runs in this process on a loopback listener, over a
// SQLite database in a temporary directory (-data-dir keeps it, so a large
// store is filled once) or the PostgreSQL database of -database. With -url
// and -token (an admin API token) ingest drives a cloud running elsewhere
// and reads that cloud's memory from its /metrics. Results are in
// docs/BENCHMARKS.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/api"
	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/cloud/server"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "ingest" && os.Args[1] != "search") {
		fmt.Fprintln(os.Stderr, "usage: cloudbench ingest|search [flags] (-h for flags)")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var o options
	fs.StringVar(&o.database, "database", "", "PostgreSQL URL (default: SQLite)")
	fs.StringVar(&o.dataDir, "data-dir", "", "SQLite directory to keep (default: a temporary one)")
	fs.StringVar(&o.url, "url", "", "drive the cloud at this URL instead of one in this process (ingest)")
	fs.StringVar(&o.token, "token", "", "admin API token for -url")
	fs.IntVar(&o.nodes, "nodes", 200, "simulated nodes uploading at once (ingest)")
	fs.IntVar(&o.batch, "batch", 100, "events per batch (ingest)")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "longest time to upload (ingest)")
	fs.IntVar(&o.pregen, "batches", 50, "batches each node encodes before the clock starts; it stops when they are sent (ingest)")
	fs.BoolVar(&o.triggers, "triggers", true, "keep the tenant's triggers (false deletes them first, to measure ingest alone)")
	fs.IntVar(&sources, "sources", sources, "distinct attacking addresses, chosen uniformly")
	fs.IntVar(&o.events, "events", 1_000_000, "events in the store (search)")
	fs.IntVar(&o.queries, "queries", 50, "runs of each query (search)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	fs.Parse(os.Args[2:])
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cloudbench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ctx := context.Background()
	var err error
	if mode == "ingest" {
		err = runIngest(ctx, o)
	} else {
		err = runSearch(ctx, o)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "cloudbench:", err)
		os.Exit(1)
	}
}

type options struct {
	database, dataDir string
	url, token        string
	nodes, batch      int
	triggers          bool
	pregen            int
	duration          time.Duration
	events, queries   int
}

// cloud is the cloud under test, in this process.
type cloud struct {
	store *sqlstore.Store
	url   string
	admin *client.Client
	close func()
}

// startCloud opens the store and serves the real API on a loopback port,
// with an admin session for the simulator.
func startCloud(ctx context.Context, o options) (*cloud, error) {
	dir := o.dataDir
	cleanup := func() {}
	if dir == "" && o.database == "" {
		tmp, err := os.MkdirTemp("", "cloudbench-")
		if err != nil {
			return nil, err
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	st, err := server.OpenStore(ctx, o.database, dir)
	if err != nil {
		cleanup()
		return nil, err
	}
	const email, password = "bench@palisade.local", "cloudbench-password"
	if err := server.Bootstrap(ctx, st, email, password, nil); err != nil {
		return nil, err
	}
	h, err := api.New(api.Config{
		Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "cloudbench",
		// The simulator measures the cloud's capacity, not its limits.
		IngestRate: 1e9, IngestBurst: 1e9, LoginsPerMinute: 1000,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()
	c, err := client.New(url, "", httpClient(o.nodes))
	if err != nil {
		return nil, err
	}
	login, err := c.Login(ctx, email, password)
	if err != nil {
		return nil, fmt.Errorf("log in: %w", err)
	}
	return &cloud{store: st, url: url, admin: c.WithToken(login.Token), close: func() {
		srv.Close()
		st.Close()
		cleanup()
	}}, nil
}

func httpClient(conns int) *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: conns + 10, MaxIdleConnsPerHost: conns + 10, IdleConnTimeout: time.Minute,
	}}
}

// percentile of sorted durations.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(float64(len(d)-1) * p)
	return d[i]
}

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}

// peakRSS is this process's peak resident memory (VmHWM), in MiB.
func peakRSS() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb float64
			fmt.Sscan(strings.TrimPrefix(line, "VmHWM:"), &kb)
			return kb / 1024
		}
	}
	return 0
}

func heapMiB() float64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// dbSize is the size of the SQLite files in dir, in MiB.
func dbSize(dir string) float64 {
	var total int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(filepath.Join(dir, server.DatabaseFile+suffix)); err == nil {
			total += fi.Size()
		}
	}
	return float64(total) / (1 << 20)
}
