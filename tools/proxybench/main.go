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
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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

	var results []measurement
	measure := func(t *target) error {
		defer t.stop()
		for _, w := range workloads {
			if err := t.sanity(w); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			m := measurement{target: t.name, workload: w.name}
			if m.saturated, err = runWrk(ctx, o, t, w, o.connections, o.duration); err != nil {
				return fmt.Errorf("%s, %s: %w", t.name, w.name, err)
			}
			if m.single, err = runWrk(ctx, o, t, w, 1, o.latencyDuration); err != nil {
				return fmt.Errorf("%s, %s: %w", t.name, w.name, err)
			}
			log.Printf("%-34s %-13s %7.0f req/s  p99 %-8s | 1 conn: p50 %-8s p99 %-8s | RSS %5.1f MiB  non-2xx %d",
				t.name, w.name, m.saturated.rps, fmtDur(m.saturated.p99), fmtDur(m.single.p50), fmtDur(m.single.p99),
				m.saturated.rssMiB, m.saturated.non2xx+m.single.non2xx)
			results = append(results, m)
		}
		return nil
	}

	// The upstream alone, on the proxy's CPU.
	if o.wants("direct") {
		up, err := startUpstream(self, o.proxyCPU)
		if err != nil {
			return err
		}
		if err := measure(up.asTarget("upstream direct (Go net/http)")); err != nil {
			return err
		}
	}
	// The upstream the proxies forward to, on the load CPU.
	up, err := startUpstream(self, o.loadCPU)
	if err != nil {
		return err
	}
	defer up.stop()

	if o.wants("goproxy") {
		t, err := startGoProxy(self, o.proxyCPU, up.addr)
		if err != nil {
			return err
		}
		if err := measure(t); err != nil {
			return err
		}
	}
	if o.wants("palisade") {
		bin := o.agentBin
		if bin == "" {
			if bin, err = buildAgent(dir); err != nil {
				return err
			}
		}
		t, err := startPalisade(bin, filepath.Join(dir, "agent"), o.proxyCPU, up.addr)
		if err != nil {
			return err
		}
		if err := measure(t); err != nil {
			return err
		}
	}
	if o.wants("nginx") || o.wants("modsecurity") {
		if err := ensureModSecurity(o.installModSec); err != nil {
			log.Printf("skipping nginx rows: %v", err)
		} else {
			for _, waf := range []bool{false, true} {
				if (waf && !o.wants("modsecurity")) || (!waf && !o.wants("nginx")) {
					continue
				}
				t, err := startNginx(filepath.Join(dir, fmt.Sprintf("nginx-%v", waf)), o.proxyCPU, up.addr, waf)
				if err != nil {
					return err
				}
				if err := measure(t); err != nil {
					return err
				}
			}
		}
	}
	printTable(o, results)
	return nil
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
	fmt.Printf("\nthroughput: wrk -t1 -c%d -d%s; latency: wrk -t1 -c1 -d%s; proxy on CPU %d, wrk and upstream on CPU %d\n\n",
		o.connections, o.duration, o.latencyDuration, o.proxyCPU, o.loadCPU)
	fmt.Printf("| target | request | req/s (%d conns) | p99 (%d conns) | p50 (1 conn) | p99 (1 conn) | RSS (peak) | non-2xx |\n", o.connections, o.connections)
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, m := range results {
		fmt.Printf("| %s | %s | %.0f | %s | %s | %s | %.1f MiB | %d |\n", m.target, m.workload, m.saturated.rps,
			fmtDur(m.saturated.p99), fmtDur(m.single.p50), fmtDur(m.single.p99), m.saturated.rssMiB, m.saturated.non2xx+m.single.non2xx)
	}
}
