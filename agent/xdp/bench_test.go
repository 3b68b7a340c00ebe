package xdp

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// Entries for benchmarks are map keys only: BPF_PROG_TEST_RUN sends nothing
// anywhere, so they may cover the whole address space.

func exactEntries(n int) []Entry {
	out := make([]Entry, n)
	for i := range n {
		a := netip.AddrFrom4([4]byte{10 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
		out[i] = Entry{Prefix: netip.PrefixFrom(a, 32)}
	}
	return out
}

func prefixEntries(n int) []Entry {
	out := make([]Entry, n)
	for i := range n {
		a := netip.AddrFrom4([4]byte{byte(i >> 16), byte(i >> 8), byte(i), 0})
		out[i] = Entry{Prefix: netip.PrefixFrom(a, 24)}
	}
	return out
}

// BenchmarkVerdict measures the program's cost per packet with
// BPF_PROG_TEST_RUN and repeat, for lists of 1, 10k and 1M entries, exact
// and prefix, on a packet that matches (drop) and one that doesn't (pass).
// The "empty" case is the baseline: parsing, counters and the misses.
func BenchmarkVerdict(b *testing.B) {
	f := openTestFilter(b)
	miss := frame("198.18.0.2", "198.18.0.1")
	run := func(b *testing.B, pkt []byte, want uint32) {
		ret, per, err := f.Program().Benchmark(pkt, b.N, b.ResetTimer)
		if err != nil {
			b.Fatal(err)
		}
		if ret != want {
			b.Fatalf("verdict %d, want %d", ret, want)
		}
		b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
		b.ReportMetric(0, "ns/op") // the figure is ns/pkt, from the kernel
	}
	b.Run("empty/pass", func(b *testing.B) {
		if err := f.Replace(Deny, nil); err != nil {
			b.Fatal(err)
		}
		run(b, miss, xdpPass)
	})
	for _, n := range []int{1, 10_000, 1_000_000} {
		for _, kind := range []string{"exact", "prefix"} {
			var entries []Entry
			var hit []byte
			if kind == "exact" {
				entries = exactEntries(n)
				hit = frame(entries[n/2].Prefix.Addr().String(), "198.18.0.1")
			} else {
				entries = prefixEntries(n)
				a := entries[n/2].Prefix.Addr().As4()
				a[3] = 77
				hit = frame(netip.AddrFrom4(a).String(), "198.18.0.1")
			}
			loaded := false
			load := func(b *testing.B) {
				if loaded {
					return
				}
				b.StopTimer()
				if err := f.Replace(Deny, entries); err != nil {
					b.Fatal(err)
				}
				loaded = true
			}
			b.Run(fmt.Sprintf("%s/%d/drop", kind, n), func(b *testing.B) { load(b); run(b, hit, xdpDrop) })
			b.Run(fmt.Sprintf("%s/%d/pass", kind, n), func(b *testing.B) { load(b); run(b, miss, xdpPass) })
		}
	}
}

// BenchmarkReplace1M measures replacing a whole 1M-entry deny list (exact
// addresses) and reports the kernel memory the new generation takes.
func BenchmarkReplace1M(b *testing.B) {
	f := openTestFilter(b)
	entries := exactEntries(1_000_000)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := f.Replace(Deny, entries); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/replace")
	}
	b.StopTimer()
	var total uint64
	for _, m := range f.lists[Deny].inner {
		total += memlock(b, m)
	}
	b.ReportMetric(float64(total)/(1<<20), "MiB")
}

// memlock reads the kernel's accounting of a map's memory from fdinfo.
func memlock(b *testing.B, m *ebpf.Map) uint64 {
	fh, err := os.Open(fmt.Sprintf("/proc/self/fdinfo/%d", m.FD()))
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "memlock:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}
