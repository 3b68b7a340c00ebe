package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/agent/detect/benchdata"
)

// attackPath is what the sanity check expects a WAF to block.
const attackPath = "/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--"

// workload is one request wrk repeats, as a Lua script.
type workload struct {
	name   string
	method string
	host   string
	path   string
	header http.Header
	body   []byte
	script string
}

// writeWorkloads writes a wrk script for the benign GET and the benign
// 2 KiB JSON POST of agent/detect/benchdata.
func writeWorkloads(dir string) ([]workload, error) {
	var out []workload
	for _, r := range benchdata.Requests() {
		if r.Name != "BenignGET" && r.Name != "BenignJSON2K" {
			continue
		}
		w := workload{name: r.Name, method: r.Method, host: r.Host, path: r.Path, header: r.Header.Clone(), body: r.Body}
		if r.Query != "" {
			w.path += "?" + r.Query
		}
		if r.ContentType != "" {
			w.header.Set("Content-Type", r.ContentType)
		}
		var s strings.Builder
		fmt.Fprintf(&s, "wrk.method = %q\nwrk.path = %q\n", w.method, w.path)
		fmt.Fprintf(&s, "wrk.headers[\"Host\"] = %q\n", w.host)
		keys := make([]string, 0, len(w.header))
		for k := range w.header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&s, "wrk.headers[%q] = %q\n", k, w.header.Get(k))
		}
		if len(w.body) > 0 {
			if bytes.Contains(w.body, []byte("]==]")) {
				return nil, fmt.Errorf("%s: body cannot be a Lua long string", r.Name)
			}
			fmt.Fprintf(&s, "wrk.body = [==[%s]==]\n", w.body)
		}
		w.script = filepath.Join(dir, r.Name+".lua")
		if err := os.WriteFile(w.script, []byte(s.String()), 0o644); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// result is one measurement.
type result struct {
	target, workload string
	rps              float64
	p50, p99         time.Duration
	rssMiB           float64
	non2xx           int
	requests         int
	// cpuPerReq is the CPU time the target's processes spent per request
	// (user + system, from /proc): unlike req/s it barely depends on what
	// else runs on the machine.
	cpuPerReq time.Duration
}

// measurement is a target's figures for one workload: throughput (and
// saturated latency) with o.connections, latency at one connection.
type measurement struct {
	target, workload  string
	saturated, single result
}

// runWrk loads t with w over conns connections for d, sampling the RSS of
// t's processes.
func runWrk(ctx context.Context, o options, t *target, w workload, conns int, d time.Duration) (result, error) {
	r := result{target: t.name, workload: w.name}
	cmd := exec.CommandContext(ctx, "taskset", "-c", strconv.Itoa(o.loadCPU),
		"wrk", "-t1", "-c"+strconv.Itoa(conns), "-d"+d.String(), "--latency", "-s", w.script, "http://"+t.addr+"/")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return r, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	cpu0 := cpuTime(t.pids())
	peak := 0
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return r, fmt.Errorf("wrk: %v: %s", err, out.String())
			}
			cpu := cpuTime(t.pids()) - cpu0
			r.rssMiB = float64(peak) / 1024
			if err := parseWrk(out.String(), &r); err != nil {
				return r, err
			}
			if r.requests > 0 {
				r.cpuPerReq = cpu / time.Duration(r.requests)
			}
			return r, nil
		case <-tick.C:
			sum := 0
			for _, pid := range t.pids() {
				if kib, err := rssKiB(pid); err == nil {
					sum += kib
				}
			}
			peak = max(peak, sum)
		}
	}
}

var (
	reRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`([0-9]+) requests in`)
	reNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	rePercent  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func parseWrk(out string, r *result) error {
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reRequests.FindStringSubmatch(out); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	for _, m := range rePercent.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return fmt.Errorf("no latency distribution in wrk output:\n%s", out)
	}
	return nil
}
