// Command xdpbench compares the receive-side CPU cost of dropping a
// denylisted source with Palisade's XDP filter and with an nftables set
// (netdev ingress hook, the earliest nftables can drop), on the same list
// and the same traffic, in a network-namespace lab. Run as root:
//
//	go run ./tools/xdpbench -source xdp    -packets 4000000 -rounds 3
//	go run ./tools/xdpbench -source socket -packets 1000000 -rounds 3
//
// Traffic goes from an attacker namespace to a host namespace over a veth
// pair (198.18.1.0/24); nothing leaves the machine. Two traffic sources:
//
//   - xdp: frames generated with BPF_PROG_TEST_RUN in live-frames mode and
//     sent with XDP_TX, so they reach the host's veth as XDP frames with no
//     skb, as packets reach a NIC driver. The nftables side runs an XDP_PASS
//     program so the veth takes the same frames and builds skbs for the
//     stack. Baseline: the same generator returning XDP_DROP.
//   - socket: UDP from a socket; the veth receives skbs the sender already
//     built, so XDP's early drop saves nothing (see docs/BENCHMARKS.md).
//     Baseline: the same sends dying on a blackhole route.
//
// The cost is the busy CPU time of the whole machine (/proc/stat) per
// packet, minus the baseline measured in the same run: what remains is the
// cost of carrying the packet across the veth and dropping it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/tools/lab"
)

func main() {
	packets := flag.Int("packets", 400_000, "packets per round (bounded)")
	entries := flag.Int("entries", 10_000, "denylist size (the attacker is one of them)")
	rounds := flag.Int("rounds", 3, "rounds per method; the median is reported")
	source := flag.String("source", "xdp", "traffic source: xdp (live frames) or socket")
	flag.Parse()
	if *source != "xdp" && *source != "socket" {
		log.Fatalf("-source must be xdp or socket")
	}
	if err := run(*source, *packets, *entries, *rounds); err != nil {
		log.Fatal(err)
	}
}

func run(source string, packets, entries, rounds int) error {
	l := lab.NewDetached(fmt.Sprintf("pxb%d", os.Getpid()%1000))
	defer l.Close()
	host, err := l.AddNS("host")
	if err != nil {
		return err
	}
	att, err := l.AddNS("att")
	if err != nil {
		return err
	}
	ifHost, ifAtt, err := l.Link(host, att)
	if err != nil {
		return err
	}
	var gen *generator
	if source == "xdp" {
		if gen, err = newGenerator(host, ifHost, att, ifAtt); err != nil {
			return err
		}
		defer gen.close()
	}
	list := denylist(entries, att.Addr4)
	target := net.JoinHostPort(host.Addr4.String(), "9")
	blackhole := "198.18.250.1:9"
	if out, err := att.Command(context.Background(), "ip", "route", "add", "blackhole", "198.18.250.0/24").CombinedOutput(); err != nil {
		return fmt.Errorf("blackhole route: %v: %s", err, out)
	}

	results := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for _, method := range []string{"baseline", "xdp", "nftables"} {
			var cleanup func() error
			dst := target
			switch method {
			case "baseline":
				dst, cleanup = blackhole, func() error { return nil }
				if gen != nil {
					cleanup, err = gen.attachPass()
				}
			case "xdp":
				cleanup, err = installXDP(host, ifHost, list)
			default:
				cleanup, err = installNft(host, ifHost, list)
				if err == nil && gen != nil {
					var detach func() error
					if detach, err = gen.attachPass(); err == nil {
						nft := cleanup
						cleanup = func() error { return errors.Join(detach(), nft()) }
					}
				}
			}
			if err != nil {
				return fmt.Errorf("%s: %w", method, err)
			}
			var ns float64
			if gen != nil {
				ns, err = gen.flood(packets, method != "baseline")
			} else {
				ns, err = flood(att, dst, packets)
			}
			if cerr := cleanup(); cerr != nil && err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s round %d: %w", method, r, err)
			}
			results[method] = append(results[method], ns)
			fmt.Printf("round %d %-8s %7.1f ns of CPU per packet\n", r+1, method, ns)
		}
	}
	b := median(results["baseline"])
	x, n := median(results["xdp"])-b, median(results["nftables"])-b
	fmt.Printf("\nsource %s, list of %d entries, %d packets per round, %d rounds (medians):\n", source, entries, packets, rounds)
	fmt.Printf("  sender alone (baseline)  %8.1f ns of CPU per packet\n", b)
	fmt.Printf("  XDP filter (native)      %8.1f ns of CPU per dropped packet beyond the baseline\n", x)
	fmt.Printf("  nftables set (ingress)   %8.1f ns of CPU per dropped packet beyond the baseline\n", n)
	fmt.Printf("  ratio nftables / XDP     %8.2f\n", n/x)
	return nil
}

func denylist(n int, attacker netip.Addr) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	out = append(out, attacker)
	for i := 1; i < n; i++ {
		// Map keys only; these addresses never see traffic.
		out = append(out, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	return out
}

func installXDP(host *lab.NS, iface string, list []netip.Addr) (func() error, error) {
	pin := filepath.Join("/sys/fs/bpf", fmt.Sprintf("palisade-xdpbench-%d", os.Getpid()))
	f, err := xdp.Open(pin, nil)
	if err != nil {
		return nil, err
	}
	entries := make([]xdp.Entry, len(list))
	for i, a := range list {
		entries[i] = xdp.Entry{Prefix: netip.PrefixFrom(a, 32)}
	}
	cleanup := func() error {
		if cs, err := f.Counters(); err == nil {
			var dropped uint64
			for _, c := range cs {
				if c.Reason == "denylist" {
					dropped += c.Packets
				}
			}
			fmt.Printf("   (XDP filter counted %d denylist drops)\n", dropped)
		}
		f.Close()
		return xdp.Remove(pin)
	}
	if err := f.Replace(xdp.Deny, entries); err != nil {
		cleanup()
		return nil, err
	}
	err = host.Do(func() error {
		_, err := f.Attach(iface, xdp.ModeNative)
		return err
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	return cleanup, nil
}

func installNft(host *lab.NS, iface string, list []netip.Addr) (func() error, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "table netdev palisade_bench {\n set deny4 { type ipv4_addr; elements = { ")
	for i, a := range list {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.String())
	}
	fmt.Fprintf(&b, " } }\n chain ingress { type filter hook ingress device %q priority -500; ip saddr @deny4 counter drop; }\n}\n", iface)
	nft := func(args ...string) error {
		cmd := host.Command(context.Background(), "nft", args...)
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("nft %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := nft("-f", "-"); err != nil {
		return nil, err
	}
	return func() error {
		out, _ := host.Command(context.Background(), "nft", "list", "chain", "netdev", "palisade_bench", "ingress").Output()
		if i := strings.Index(string(out), "counter packets "); i >= 0 {
			fmt.Printf("   (nftables counted %s drops)\n", strings.Fields(string(out)[i+len("counter packets "):])[0])
		}
		return nft("delete", "table", "netdev", "palisade_bench")
	}, nil
}

// flood sends n UDP packets from att to target and returns the machine's
// busy CPU time per packet while it ran.
func flood(att *lab.NS, target string, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Unconnected, so the blackhole baseline (where connect fails) takes the
	// same path as the real runs.
	var c net.PacketConn
	err := att.Do(func() (err error) {
		c, err = net.ListenPacket("udp4", ":0")
		return err
	})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp4", target)
	if err != nil {
		return 0, err
	}
	payload := make([]byte, 18) // 64-byte frames on the wire
	before, err := busyNS()
	if err != nil {
		return 0, err
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		_, _ = c.WriteTo(payload, dst) // the baseline's sends fail by design
	}
	time.Sleep(100 * time.Millisecond) // let the receive side drain
	after, err := busyNS()
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}

// busyNS is the busy time (user, nice, system, irq, softirq) of all CPUs,
// in nanoseconds.
func busyNS() (uint64, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 7 && fields[0] == "cpu" {
			var ticks uint64
			for _, i := range []int{1, 2, 3, 6, 7} {
				v, err := strconv.ParseUint(fields[i], 10, 64)
				if err != nil {
					return 0, err
				}
				ticks += v
			}
			return ticks * uint64(time.Second/100), nil // USER_HZ is 100 on Linux
		}
	}
	return 0, fmt.Errorf("no cpu line in /proc/stat")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
