package xdp

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/palisadewaf/palisade/tools/lab"
)

const (
	xdpDrop = 1
	xdpPass = 2
)

// openTestFilter loads the filter with its pins in a directory of its own,
// so tests never touch a real installation's state.
func openTestFilter(t testing.TB) *Filter {
	t.Helper()
	lab.RequireRoot(t)
	dir := filepath.Join(sysBPFFS, fmt.Sprintf("palisade-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	t.Cleanup(func() {
		if err := Remove(dir); err != nil {
			t.Errorf("remove pins: %v", err)
		}
	})
	f, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("open filter: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// frame builds an Ethernet frame with optional VLAN tags around an IPv4 or
// IPv6 header (plus a few payload bytes) from src to dst.
func frame(src, dst string, vlans ...uint16) []byte {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	b := make([]byte, 12) // dst + src MAC, zero
	tpids := []uint16{0x88a8, 0x8100}
	for i, v := range vlans {
		tpid := tpids[len(tpids)-len(vlans)+i]
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, v)
	}
	if s.Is4() {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], 28)
		ip[8], ip[9] = 64, 17 // TTL, UDP
		copy(ip[12:16], s.AsSlice())
		copy(ip[16:20], d.AsSlice())
		b = append(b, ip...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		ip := make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], 8)
		ip[6], ip[7] = 17, 64
		copy(ip[8:24], s.AsSlice())
		copy(ip[24:40], d.AsSlice())
		b = append(b, ip...)
	}
	return append(b, make([]byte, 8)...)
}

func run(t testing.TB, f *Filter, pkt []byte) uint32 {
	t.Helper()
	ret, err := f.Program().Run(&ebpf.RunOptions{Data: pkt})
	if err != nil {
		t.Fatalf("run program: %v", err)
	}
	return ret
}

func mustPrefix(t testing.TB, s string) netip.Prefix {
	t.Helper()
	p, err := ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func verdict(r uint32) string {
	switch r {
	case xdpDrop:
		return "drop"
	case xdpPass:
		return "pass"
	}
	return fmt.Sprint(r)
}

func TestVerdicts(t *testing.T) {
	f := openTestFilter(t)
	add := func(l List, s string, expires time.Time) {
		t.Helper()
		if err := f.Add(l, Entry{Prefix: mustPrefix(t, s), Expires: expires, Reason: "test " + s}); err != nil {
			t.Fatal(err)
		}
	}
	add(Deny, "198.18.1.2", time.Time{})
	add(Deny, "198.18.2.0/24", time.Time{})
	add(Allow, "198.18.2.7", time.Time{})
	add(Deny, "198.19.0.0/16", time.Time{})
	add(Allow, "198.19.5.0/24", time.Time{})
	add(Deny, "fd00::66", time.Time{})
	add(Deny, "fd00:1::/32", time.Time{})
	add(Allow, "fd00:1:0:7::/64", time.Time{})
	add(Deny, "198.18.9.9", time.Now().Add(-time.Second)) // already expired

	cases := []struct {
		name string
		pkt  []byte
		want uint32
	}{
		{"v4 exact deny", frame("198.18.1.2", "198.18.0.1"), xdpDrop},
		{"v4 unlisted", frame("198.18.1.3", "198.18.0.1"), xdpPass},
		{"v4 prefix deny", frame("198.18.2.99", "198.18.0.1"), xdpDrop},
		{"v4 exact allow beats prefix deny", frame("198.18.2.7", "198.18.0.1"), xdpPass},
		{"v4 longer allow prefix beats shorter deny", frame("198.19.5.1", "198.18.0.1"), xdpPass},
		{"v4 deny prefix outside allow", frame("198.19.6.1", "198.18.0.1"), xdpDrop},
		{"v4 expired entry passes", frame("198.18.9.9", "198.18.0.1"), xdpPass},
		{"v6 exact deny", frame("fd00::66", "fd00::1"), xdpDrop},
		{"v6 unlisted", frame("fd00::67", "fd00::1"), xdpPass},
		{"v6 prefix deny", frame("fd00:1:0:8::1", "fd00::1"), xdpDrop},
		{"v6 allow prefix beats deny prefix", frame("fd00:1:0:7::1", "fd00::1"), xdpPass},
		{"one VLAN tag", frame("198.18.1.2", "198.18.0.1", 10), xdpDrop},
		{"two VLAN tags (QinQ)", frame("198.18.1.2", "198.18.0.1", 10, 20), xdpDrop},
		{"two VLAN tags v6", frame("fd00::66", "fd00::1", 10, 20), xdpDrop},
	}
	for _, c := range cases {
		if got := run(t, f, c.pkt); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, verdict(got), verdict(c.want))
		}
	}
}

func TestMalformedFramesPass(t *testing.T) {
	f := openTestFilter(t)
	if err := f.Add(Deny, Entry{Prefix: mustPrefix(t, "0.0.0.0/0")}); err != nil {
		t.Fatal(err)
	}
	if err := f.Add(Deny, Entry{Prefix: mustPrefix(t, "::/0")}); err != nil {
		t.Fatal(err)
	}
	full4 := frame("198.18.1.2", "198.18.0.1", 10, 20)
	full6 := frame("fd00::66", "fd00::1")
	if run(t, f, full4) != xdpDrop || run(t, f, full6) != xdpDrop {
		t.Fatal("control frames should be dropped by the catch-all deny")
	}
	badIHL := frame("198.18.1.2", "198.18.0.1")
	badIHL[14] = 0x44 // IHL 4 < 5
	badVersion := frame("fd00::66", "fd00::1")
	badVersion[14] = 0x40
	cases := map[string][]byte{
		// BPF_PROG_TEST_RUN wants at least an Ethernet header.
		"ethernet only":                full4[:14],
		"truncated first VLAN":         full4[:16],
		"truncated second VLAN":        full4[:20],
		"truncated IPv4 header":        full4[:22+10],
		"truncated IPv6 header":        full6[:14+20],
		"IPv4 IHL below 5":             badIHL,
		"IPv6 version field 4":         badVersion,
		"ARP":                          append(append(make([]byte, 12), 0x08, 0x06), make([]byte, 28)...),
		"three VLAN tags (not parsed)": append(append(make([]byte, 12), 0x88, 0xa8, 0, 1, 0x81, 0, 0, 2, 0x81, 0, 0, 3), full4[12:]...),
	}
	for name, pkt := range cases {
		if got := run(t, f, pkt); got != xdpPass {
			t.Errorf("%s: got %s, want pass", name, verdict(got))
		}
	}
	counters, err := f.Counters()
	if err != nil {
		t.Fatal(err)
	}
	byReason := map[string]uint64{}
	for _, c := range counters {
		byReason[c.Action+"/"+c.Reason] += c.Packets
	}
	if byReason["pass/malformed"] != 7 || byReason["pass/not_ip"] != 2 || byReason["drop/denylist"] != 2 {
		t.Errorf("counters: %v", byReason)
	}
}

func TestExpiryInKernel(t *testing.T) {
	f := openTestFilter(t)
	p := mustPrefix(t, "198.18.3.3")
	if err := f.Add(Deny, Entry{Prefix: p, Expires: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	pkt := frame("198.18.3.3", "198.18.0.1")
	if got := run(t, f, pkt); got != xdpDrop {
		t.Fatalf("before expiry: got %s", verdict(got))
	}
	time.Sleep(1100 * time.Millisecond)
	if got := run(t, f, pkt); got != xdpPass {
		t.Fatalf("after expiry: got %s", verdict(got))
	}
	n, err := f.SweepExpired()
	if err != nil || n != 1 || f.Len(Deny) != 0 {
		t.Fatalf("sweep: n=%d err=%v len=%d", n, err, f.Len(Deny))
	}
}

func TestRateLimitTripsAndRefills(t *testing.T) {
	f := openTestFilter(t)
	pkt := frame("198.18.4.4", "198.18.0.1")
	// Off by default.
	for range 50 {
		if run(t, f, pkt) != xdpPass {
			t.Fatal("rate limit must be off by default")
		}
	}
	if err := f.Configure(RateLimit{PacketsPerSecond: 10, Burst: 5}, 0); err != nil {
		t.Fatal(err)
	}
	other := frame("198.18.4.5", "198.18.0.1")
	passed := 0
	for range 20 {
		if run(t, f, pkt) == xdpPass {
			passed++
		}
	}
	// A burst of 5 (plus at most one token refilled while the loop ran).
	if passed < 5 || passed > 6 {
		t.Fatalf("burst: %d of 20 passed, want 5 or 6", passed)
	}
	if run(t, f, other) != xdpPass {
		t.Fatal("another source must have its own bucket")
	}
	time.Sleep(300 * time.Millisecond) // 10 pps: ~3 tokens
	refilled := 0
	for range 10 {
		if run(t, f, pkt) == xdpPass {
			refilled++
		}
	}
	if refilled < 2 || refilled > 4 {
		t.Fatalf("refill after 300ms at 10pps: %d passed, want about 3", refilled)
	}
	// An allowlisted source is never rate limited.
	if err := f.Add(Allow, Entry{Prefix: mustPrefix(t, "198.18.4.4")}); err != nil {
		t.Fatal(err)
	}
	if run(t, f, pkt) != xdpPass {
		t.Fatal("allowlisted source was rate limited")
	}
	if err := f.Configure(RateLimit{PacketsPerSecond: MaxRatePPS + 1, Burst: 1}, 0); err == nil {
		t.Fatal("a rate above the maximum must be refused")
	}
}

func TestReplaceIsAtomicAndAdoptable(t *testing.T) {
	f := openTestFilter(t)
	if err := f.Add(Deny, Entry{Prefix: mustPrefix(t, "198.18.5.1"), Reason: "old"}); err != nil {
		t.Fatal(err)
	}
	var next []Entry
	for i := range 1000 {
		next = append(next, Entry{Prefix: mustPrefix(t, fmt.Sprintf("198.18.6.%d", i%256)).Masked(), Reason: "bulk"})
	}
	next = append(next, Entry{Prefix: mustPrefix(t, "198.18.7.0/24"), Reason: "bulk"}, Entry{Prefix: mustPrefix(t, "fd00:7::/48")})
	if err := f.Replace(Deny, next); err != nil {
		t.Fatal(err)
	}
	if got := f.Len(Deny); got != 256+2 {
		t.Fatalf("len after replace = %d, want 258 (duplicates collapse)", got)
	}
	if run(t, f, frame("198.18.5.1", "198.18.0.1")) != xdpPass {
		t.Fatal("entry of the old generation still applies")
	}
	if run(t, f, frame("198.18.6.9", "198.18.0.1")) != xdpDrop || run(t, f, frame("198.18.7.9", "198.18.0.1")) != xdpDrop ||
		run(t, f, frame("fd00:7::9", "fd00::1")) != xdpDrop {
		t.Fatal("entries of the new generation don't apply")
	}

	// A second Filter on the same pins (an agent restart) sees the same state.
	g, err := Open(f.PinPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Len(Deny) != 258 {
		t.Fatalf("adopted len = %d", g.Len(Deny))
	}
	entries, err := g.Entries(Deny)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Reason != "bulk" {
		t.Fatalf("adopted reason = %q", entries[0].Reason)
	}
	if run(t, g, frame("198.18.6.9", "198.18.0.1")) != xdpDrop {
		t.Fatal("adopted program doesn't drop")
	}
}

func TestParsePrefixErrors(t *testing.T) {
	for _, s := range []string{"", "not-an-ip", "198.18.0.1/33", "fd00::/129", "198.18.0.256", "fe80::1%eth0"} {
		if _, err := ParsePrefix(s); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", s)
		}
	}
	p, err := ParsePrefix("::ffff:198.18.0.1")
	if err != nil || p.String() != "198.18.0.1/32" {
		t.Errorf("v4-mapped: %v %v", p, err)
	}
	p, err = ParsePrefix("198.18.3.4/16")
	if err != nil || p.String() != "198.18.0.0/16" {
		t.Errorf("masking: %v %v", p, err)
	}
}

func TestReplaceSource(t *testing.T) {
	f := openTestFilter(t)
	manual := Entry{Prefix: mustPrefix(t, "198.18.8.1"), Reason: "operator", Source: SourceManual}
	if err := f.Add(Deny, manual); err != nil {
		t.Fatal(err)
	}
	cloud := func(prefixes ...string) []Entry {
		var out []Entry
		for _, p := range prefixes {
			out = append(out, Entry{Prefix: mustPrefix(t, p), Reason: "cloud"})
		}
		return out
	}
	// The cloud's entry for the operator's prefix does not replace it.
	if err := f.ReplaceSource(Deny, SourceCloud, cloud("198.18.8.1", "198.18.8.2", "198.18.9.0/24")); err != nil {
		t.Fatal(err)
	}
	check := func(want map[string]string) {
		t.Helper()
		entries, err := f.Entries(Deny)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			got[e.Prefix.String()] = e.Source.String()
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("deny list %v, want %v", got, want)
		}
	}
	check(map[string]string{"198.18.8.1/32": "manual", "198.18.8.2/32": "cloud", "198.18.9.0/24": "cloud"})
	if run(t, f, frame("198.18.9.7", "198.18.0.1")) != xdpDrop {
		t.Fatal("cloud prefix entry does not apply")
	}
	// A later ruleset drops one entry and adds another; the operator's stays.
	if err := f.ReplaceSource(Deny, SourceCloud, cloud("198.18.8.3", "198.18.9.0/24")); err != nil {
		t.Fatal(err)
	}
	check(map[string]string{"198.18.8.1/32": "manual", "198.18.8.3/32": "cloud", "198.18.9.0/24": "cloud"})
	if run(t, f, frame("198.18.8.2", "198.18.0.1")) != xdpPass || run(t, f, frame("198.18.8.3", "198.18.0.1")) != xdpDrop {
		t.Fatal("in-place change not in force")
	}
	// A change bigger than the in-place limit rebuilds the list, keeping
	// the operator's entry.
	big := make([]Entry, inPlaceLimit+10)
	for i := range big {
		big[i] = Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)}), 32)}
	}
	if err := f.ReplaceSource(Deny, SourceCloud, big); err != nil {
		t.Fatal(err)
	}
	if f.Len(Deny) != len(big)+1 || run(t, f, frame("198.18.8.1", "198.18.0.1")) != xdpDrop || run(t, f, frame("198.19.0.5", "198.18.0.1")) != xdpDrop {
		t.Fatalf("after a big change: len %d", f.Len(Deny))
	}
}
