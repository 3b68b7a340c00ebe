package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Lab is a set of named network namespaces joined by veth pairs. Every
// address in a lab comes from 198.18.0.0/15 or fd00::/8, so nothing a test
// sends can leave the machine.
type Lab struct {
	prefix string
	nss    []*NS
	links  int
}

// NS is one namespace of a lab.
type NS struct {
	Name   string // as in /run/netns
	handle netns.NsHandle
	nl     *netlink.Handle
	// Addr4 and Addr6 are the namespace's first addresses (set by Link).
	Addr4, Addr6 netip.Addr
}

var labSeq atomic.Uint32

// New creates an empty lab that is torn down when t ends.
func New(t testing.TB) *Lab {
	t.Helper()
	RequireRoot(t)
	l := &Lab{prefix: fmt.Sprintf("pl%d%d", os.Getpid()%10000, labSeq.Add(1))}
	t.Cleanup(l.Close)
	return l
}

// NewDetached creates a lab that the caller closes (for the demo and
// benchmark commands, which are not tests).
func NewDetached(prefix string) *Lab {
	return &Lab{prefix: prefix}
}

// AddNS creates a namespace named <lab prefix>-<name> with loopback up.
func (l *Lab) AddNS(name string) (*NS, error) {
	full := l.prefix + "-" + name
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	origin, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("get current netns: %w", err)
	}
	defer origin.Close()
	h, err := netns.NewNamed(full)
	if err != nil {
		return nil, fmt.Errorf("create netns %s: %w", full, err)
	}
	if err := netns.Set(origin); err != nil {
		return nil, fmt.Errorf("return to original netns: %w", err)
	}
	nlh, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", full, err)
	}
	ns := &NS{Name: full, handle: h, nl: nlh}
	l.nss = append(l.nss, ns)
	lo, err := nlh.LinkByName("lo")
	if err != nil {
		return nil, err
	}
	if err := nlh.LinkSetUp(lo); err != nil {
		return nil, fmt.Errorf("loopback up in %s: %w", full, err)
	}
	return ns, nil
}

// MustNS is AddNS for tests.
func (l *Lab) MustNS(t testing.TB, name string) *NS {
	t.Helper()
	ns, err := l.AddNS(name)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// Link joins a and b with a veth pair on subnet 198.18.N.0/24 and
// fd00:0:0:N::/64, where N counts the lab's links from 1: a gets .1 / ::1
// and b gets .2 / ::2. The peer b routes everything through a, so a is the
// "host" and b a client or attacker. It returns the interface names.
func (l *Lab) Link(a, b *NS) (ifA, ifB string, err error) {
	l.links++
	n := l.links
	if n > 250 {
		return "", "", fmt.Errorf("lab %s: too many links", l.prefix)
	}
	ifA = fmt.Sprintf("%s-%d", l.prefix, n)
	ifB = ifA + "p"
	if len(ifB) > 15 {
		return "", "", fmt.Errorf("interface name %s too long", ifB)
	}
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: ifA},
		PeerName:      ifB,
		PeerNamespace: netlink.NsFd(int(b.handle)),
	}
	if err := a.nl.LinkAdd(veth); err != nil {
		return "", "", fmt.Errorf("add veth %s/%s: %w", ifA, ifB, err)
	}
	set := func(ns *NS, name string, host byte) error {
		link, err := ns.nl.LinkByName(name)
		if err != nil {
			return err
		}
		v4 := netip.AddrFrom4([4]byte{198, 18, byte(n), host})
		v6 := netip.AddrFrom16([16]byte{0: 0xfd, 7: byte(n), 15: host})
		for _, p := range []netip.Prefix{netip.PrefixFrom(v4, 24), netip.PrefixFrom(v6, 64)} {
			addr := &netlink.Addr{IPNet: prefixNet(p), Flags: unix.IFA_F_NODAD}
			if err := ns.nl.AddrAdd(link, addr); err != nil {
				return fmt.Errorf("address %s on %s: %w", p, name, err)
			}
		}
		if !ns.Addr4.IsValid() {
			ns.Addr4, ns.Addr6 = v4, v6
		}
		return ns.nl.LinkSetUp(link)
	}
	if err := set(a, ifA, 1); err != nil {
		return "", "", err
	}
	if err := set(b, ifB, 2); err != nil {
		return "", "", err
	}
	link, err := b.nl.LinkByName(ifB)
	if err != nil {
		return "", "", err
	}
	for _, gw := range []netip.Addr{
		netip.AddrFrom4([4]byte{198, 18, byte(n), 1}),
		netip.AddrFrom16([16]byte{0: 0xfd, 7: byte(n), 15: 1}),
	} {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw.AsSlice()}
		if err := b.nl.RouteAdd(r); err != nil {
			return "", "", fmt.Errorf("default route via %s in %s: %w", gw, b.Name, err)
		}
	}
	return ifA, ifB, nil
}

// MustLink is Link for tests.
func (l *Lab) MustLink(t testing.TB, a, b *NS) (string, string) {
	t.Helper()
	ifA, ifB, err := l.Link(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return ifA, ifB
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Close deletes the lab's namespaces (and with them their veths).
func (l *Lab) Close() {
	for _, ns := range l.nss {
		ns.nl.Close()
		ns.handle.Close()
		_ = netns.DeleteNamed(ns.Name)
	}
	l.nss = nil
}

// Do runs fn with the calling goroutine's thread inside ns. Sockets created
// by fn stay in ns after Do returns.
func (ns *NS) Do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	origin, err := netns.Get()
	if err != nil {
		return err
	}
	defer origin.Close()
	if err := netns.Set(ns.handle); err != nil {
		return fmt.Errorf("enter %s: %w", ns.Name, err)
	}
	defer netns.Set(origin)
	return fn()
}

// Listen opens a listener inside ns.
func (ns *NS) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := ns.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Dial connects from inside ns.
func (ns *NS) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Command runs a program inside ns (nsenter keeps the mount namespace, so
// the program sees the same bpffs as the test).
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"--net=" + filepath.Join("/run/netns", ns.Name), "--", name}, args...)
	return exec.CommandContext(ctx, "nsenter", full...)
}

// Handle is the namespace's netlink handle, for tests that need more.
func (ns *NS) Handle() *netlink.Handle { return ns.nl }

// HTTPClient is an HTTP client whose connections start inside ns.
func (ns *NS) HTTPClient(timeout time.Duration) *http.Client {
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, network, addr string) (net.Conn, error) { return ns.Dial(ctx, network, addr) },
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// CanConnect reports whether a TCP connection from ns to addr opens within
// timeout (a dropped SYN times out).
func (ns *NS) CanConnect(addr string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := ns.Dial(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
