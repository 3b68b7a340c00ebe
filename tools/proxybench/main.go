// Command proxybench measures Palisade's L7 proxy side by side with its
// baselines, in one run, over loopback (docs/BENCHMARKS.md, "L7 proxy"):
//
//   - the upstream alone (direct),
//   - a plain Go httputil reverse proxy, no WAF,
//   - palisade-agent in block mode, reverse-proxy mode,
//   - nginx alone and nginx + ModSecurity v3 + OWASP CRS, when nginx and
//     the Debian packages libnginx-mod-http-modsecurity and modsecurity-crs
//     are installed (-install-modsecurity installs them with apt-get).
//
// Each is measured with wrk on two requests of agent/detect/benchdata: the
// benign GET and the benign 2 KiB JSON POST. The proxy under test is
// pinned to one CPU (-proxy-cpu) and wrk with the upstream to another
// (-load-cpu); for the direct row the upstream takes the proxy's CPU.
// Reported: requests/s, p50, p99, peak RSS of the proxy during the run, and
// non-2xx answers (a WAF blocking benign traffic shows up there).
//
// Run as root (the agent loads its XDP program into bpffs):
//
//	sudo go run ./tools/proxybench -duration 10s
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "upstream":
			serveUpstream(os.Args[2:])
			return
		case "goproxy":
			serveGoProxy(os.Args[2:])
			return
		}
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "throughput run per target and request")
	flag.DurationVar(&o.latencyDuration, "latency-duration", 5*time.Second, "single-connection latency run per target and request")
	flag.IntVar(&o.connections, "connections", 50, "wrk connections of the throughput run")
	flag.IntVar(&o.rounds, "rounds", 1, "measure every target this many times, interleaved; the median round is reported")
	flag.IntVar(&o.proxyCPU, "proxy-cpu", 0, "CPU the proxy under test is pinned to")
	flag.IntVar(&o.loadCPU, "load-cpu", 1, "CPU wrk and the upstream are pinned to")
	flag.StringVar(&o.agentBin, "agent", "", "palisade-agent binary (default: build ./cmd/palisade-agent)")
	flag.BoolVar(&o.installModSec, "install-modsecurity", false, "apt-get install nginx, libnginx-mod-http-modsecurity and modsecurity-crs when missing")
	flag.StringVar(&o.only, "only", "", "comma-separated targets to run (direct, goproxy, palisade, nginx, modsecurity)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("proxybench: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	duration          time.Duration
	latencyDuration   time.Duration
	connections       int
	rounds            int
	proxyCPU, loadCPU int
	agentBin          string
	installModSec     bool
	only              string
}

func (o options) wants(target string) bool {
	if o.only == "" {
		return true
	}
	for _, t := range strings.Split(o.only, ",") {
		if strings.TrimSpace(t) == target {
			return true
		}
	}
	return false
}

func run(ctx context.Context, o options) error {
	for _, tool := range []string{"wrk", "taskset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is required (make deps installs it)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "proxybench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	workloads, err := writeWorkloads(dir)
	if err != nil {
		return err
	}
	agentBin := o.agentBin
	if agentBin == "" && o.wants("palisade") {
		if agentBin, err = buildAgent(dir); err != nil {
			return err
		}
	}
	nginx := o.wants("nginx") || o.wants("modsecurity")
	if nginx {
		if err := ensureModSecurity(o.installModSec); err != nil {
			log.Printf("skipping the nginx rows: %v", err)
			nginx = false
		}
	}

	// The upstream the proxies forward to, on the load CPU.
	up, err := startUpstream(self, o.loadCPU)
	if err != nil {
		return err
	}
	defer up.stop()

	// Each starter brings one target up; each round starts them all in
	// turn, so that whatever else loads the machine spreads over all.
	type starter struct {
		name  string
		start func() (*target, error)
	}
	var starters []starter
	if o.wants("direct") {
		starters = append(starters, starter{"direct", func() (*target, error) {
			u, err := startUpstream(self, o.proxyCPU) // the upstream alone, on the proxy's CPU
			if err != nil {
				return nil, err
			}
			return u.asTarget("upstream direct (Go net/http)"), nil
		}})
	}
	if o.wants("goproxy") {
		starters = append(starters, starter{"goproxy", func() (*target, error) { return startGoProxy(self, o.proxyCPU, up.addr) }})
	}
	if o.wants("palisade") {
		starters = append(starters, starter{"palisade", func() (*target, error) {
			return startPalisade(agentBin, filepath.Join(dir, "agent"), o.proxyCPU, up.addr)
		}})
	}
	if nginx && o.wants("nginx") {
		starters = append(starters, starter{"nginx", func() (*target, error) {
			return startNginx(filepath.Join(dir, "nginx"), o.proxyCPU, up.addr, false)
		}})
	}
	if nginx && o.wants("modsecurity") {
		starters = append(starters, starter{"modsecurity", func() (*target, error) {
			return startNginx(filepath.Join(dir, "modsecurity"), o.proxyCPU, up.addr, true)
		}})
	}

	rounds := map[string][]measurement{} // by target and workload
	var order []string
	for round := 1; round <= max(o.rounds, 1); round++ {
		for _, st := range starters {
			t, err := st.start()
			if err != nil {
				return err
			}
			for _, w := range workloads {
				m, err := measureOne(ctx, o, t, w)
				if err != nil {
					t.stop()
					return err
				}
				log.Printf("round %d: %-34s %-13s %7.0f req/s  %6s CPU/req  p99 %-8s | 1 conn: p50 %-8s p99 %-8s | RSS %5.1f MiB  non-2xx %d",
					round, t.name, w.name, m.saturated.rps, fmtDur(m.saturated.cpuPerReq), fmtDur(m.saturated.p99),
					fmtDur(m.single.p50), fmtDur(m.single.p99), m.saturated.rssMiB, m.saturated.non2xx+m.single.non2xx)
				key := t.name + "\x00" + w.name
				if len(rounds[key]) == 0 {
					order = append(order, key)
				}
				rounds[key] = append(rounds[key], m)
			}
			t.stop()
		}
	}
	var results []measurement
	for _, key := range order {
		results = append(results, median(rounds[key]))
	}
	printTable(o, results)
	return nil
}

// measureOne checks the target, then measures throughput and latency.
func measureOne(ctx context.Context, o options, t *target, w workload) (measurement, error) {
	m := measurement{target: t.name, workload: w.name}
	if err := t.sanity(w); err != nil {
		return m, fmt.Errorf("%s: %w", t.name, err)
	}
	var err error
	if m.saturated, err = runWrk(ctx, o, t, w, o.connections, o.duration); err != nil {
		return m, fmt.Errorf("%s, %s: %w", t.name, w.name, err)
	}
	if m.single, err = runWrk(ctx, o, t, w, 1, o.latencyDuration); err != nil {
		return m, fmt.Errorf("%s, %s: %w", t.name, w.name, err)
	}
	return m, nil
}

// median returns the round with the median throughput.
func median(ms []measurement) measurement {
	sorted := slices.Clone(ms)
	slices.SortFunc(sorted, func(a, b measurement) int { return cmp.Compare(a.saturated.rps, b.saturated.rps) })
	return sorted[len(sorted)/2]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

func printTable(o options, results []measurement) {
	fmt.Printf("\nthroughput: wrk -t1 -c%d -d%s; latency: wrk -t1 -c1 -d%s; proxy on CPU %d, wrk and upstream on CPU %d; median of %d round(s)\n\n",
		o.connections, o.duration, o.latencyDuration, o.proxyCPU, o.loadCPU, max(o.rounds, 1))
	fmt.Printf("| target | request | req/s (%d conns) | CPU per request | p99 (%d conns) | p50 (1 conn) | p99 (1 conn) | RSS (peak) | non-2xx |\n", o.connections, o.connections)
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range results {
		fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %s | %.1f MiB | %d |\n", m.target, m.workload, m.saturated.rps, fmtDur(m.saturated.cpuPerReq),
			fmtDur(m.saturated.p99), fmtDur(m.single.p50), fmtDur(m.single.p99), m.saturated.rssMiB, m.saturated.non2xx+m.single.non2xx)
	}
}
