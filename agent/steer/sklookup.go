package steer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/palisadewaf/palisade/bpf"
)

// maxSlots matches MAX_SLOTS in bpf/sklookup.c: one slot per intercepted
// port, two SOCKMAP entries per slot.
const maxSlots = 256

// skLookup is the loaded steering program, its maps and its link. Nothing is
// pinned: the link and maps live exactly as long as the agent, which is
// what makes steering fail open when the agent dies.
type skLookup struct {
	objs  bpf.SklookupObjects
	link  *link.NetNsLink
	slots [maxSlots]*Listener
}

func openSKLookup(netnsFD int) (*skLookup, error) {
	s := &skLookup{}
	if err := bpf.LoadSklookupObjects(&s.objs, nil); err != nil {
		return nil, fmt.Errorf("load sk_lookup program: %w", err)
	}
	l, err := link.AttachNetNs(netnsFD, s.objs.PalisadeSteer)
	if err != nil {
		s.objs.Close()
		return nil, fmt.Errorf("attach sk_lookup program: %w", err)
	}
	s.link = l
	return s, nil
}

// add puts l's sockets into a free slot, then maps port to the slot: the
// port is steered only once both sockets are in place.
func (s *skLookup) add(port uint16, l *Listener) error {
	slot := -1
	for i, used := range s.slots {
		if used == nil {
			slot = i
			break
		}
	}
	if slot < 0 {
		return fmt.Errorf("all %d steering slots are in use", maxSlots)
	}
	err := l.fds(func(family int, fd uintptr) error {
		key := uint32(slot*2 + family)
		if err := s.objs.SteerSockets.Update(key, uint64(fd), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("put listener into SOCKMAP: %w", err)
		}
		return nil
	})
	if err != nil {
		s.clearSlot(slot)
		return err
	}
	if err := s.objs.SteerPorts.Update(uint32(port), uint32(slot), ebpf.UpdateNoExist); err != nil {
		s.clearSlot(slot)
		return fmt.Errorf("steer port: %w", err)
	}
	s.slots[slot] = l
	return nil
}

func (s *skLookup) remove(port uint16, l *Listener) error {
	err := s.objs.SteerPorts.Delete(uint32(port))
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		err = nil
	}
	for i, used := range s.slots {
		if used == l {
			s.clearSlot(i)
			s.slots[i] = nil
		}
	}
	return err
}

func (s *skLookup) clearSlot(slot int) {
	for family := range 2 {
		// Closing a socket removes it from the SOCKMAP anyway; this only
		// makes the slot visibly empty at once.
		_ = s.objs.SteerSockets.Delete(uint32(slot*2 + family))
	}
}

// registerBypass binds an upstream socket to a source address and port
// before it connects, and records them so that the steering program lets
// the connection reach the application. Only local destinations can loop
// back; binding to the destination address itself succeeds exactly for
// those (and makes the source address predictable).
func (s *skLookup) registerBypass(fd int, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil // not an IP literal: cannot be one of ours
	}
	dst := ap.Addr().Unmap()
	var sa unix.Sockaddr
	if dst.Is4() {
		sa = &unix.SockaddrInet4{Addr: dst.As4()}
	} else {
		if dst.Zone() != "" {
			return nil
		}
		sa = &unix.SockaddrInet6{Addr: dst.As16()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		if errors.Is(err, unix.EADDRNOTAVAIL) {
			return nil // not a local address: no loop possible
		}
		return fmt.Errorf("bind upstream socket to %s: %w", dst, err)
	}
	local, err := unix.Getsockname(fd)
	if err != nil {
		return fmt.Errorf("upstream socket name: %w", err)
	}
	key, ok := bypassKey(local)
	if !ok {
		return nil
	}
	if err := s.objs.SteerBypass.Update(key, uint8(1), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("register upstream connection for bypass: %w", err)
	}
	return nil
}

func bypassKey(sa unix.Sockaddr) (bpf.SklookupSteerBypassKey, bool) {
	var k bpf.SklookupSteerBypassKey
	var port int
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		k.Addr = netip.AddrFrom4(a.Addr).As16()
		port = a.Port
	case *unix.SockaddrInet6:
		k.Addr = a.Addr
		port = a.Port
	default:
		return k, false
	}
	// The program compares with the port as the kernel stores it: network
	// byte order, read as a little-endian u16.
	k.Port = uint16(port>>8) | uint16(port&0xff)<<8
	return k, true
}

func (s *skLookup) forget(local net.Addr) {
	tcp, ok := local.(*net.TCPAddr)
	if !ok {
		return
	}
	var sa unix.Sockaddr
	if ip4 := tcp.IP.To4(); ip4 != nil {
		sa = &unix.SockaddrInet4{Addr: [4]byte(ip4), Port: tcp.Port}
	} else {
		sa = &unix.SockaddrInet6{Addr: [16]byte(tcp.IP.To16()), Port: tcp.Port}
	}
	if key, ok := bypassKey(sa); ok {
		_ = s.objs.SteerBypass.Delete(key)
	}
}

// counters sums the program's per-CPU counters.
func (s *skLookup) counters() (map[bpf.SklookupSteerCounter]uint64, error) {
	out := map[bpf.SklookupSteerCounter]uint64{}
	for c := bpf.SklookupSteerCounter(0); c < bpf.SklookupSteerCounterSTEER_COUNTER_MAX; c++ {
		var perCPU []uint64
		if err := s.objs.SteerCounters.Lookup(uint32(c), &perCPU); err != nil {
			return nil, fmt.Errorf("read steering counters: %w", err)
		}
		for _, v := range perCPU {
			out[c] += v
		}
	}
	return out, nil
}

func (s *skLookup) close() error {
	return errors.Join(s.link.Close(), s.objs.Close())
}

// bypassConn removes its bypass entry when closed.
type bypassConn struct {
	net.Conn
	skl *skLookup
}

func (c *bypassConn) Close() error {
	c.skl.forget(c.Conn.LocalAddr())
	return c.Conn.Close()
}

// CloseWrite, ReadFrom and WriteTo keep the TCP connection's half-close and
// splice paths reachable through the wrapper.
func (c *bypassConn) CloseWrite() error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

func (c *bypassConn) ReadFrom(r io.Reader) (int64, error) {
	return c.Conn.(io.ReaderFrom).ReadFrom(r)
}

func (c *bypassConn) WriteTo(w io.Writer) (int64, error) {
	return c.Conn.(io.WriterTo).WriteTo(w)
}
