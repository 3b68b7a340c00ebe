// Package steer intercepts connections to local applications' ports and
// hands them to the agent's proxy, without the applications changing or
// knowing (transparent mode, docs/PROXY.md).
//
// Two mechanisms, one contract:
//
//   - sk_lookup (preferred): an eBPF program attached to the network
//     namespace (bpf/sklookup.c) assigns new connections for an intercepted
//     port to the agent's listener, held in a SOCKMAP.
//   - tproxy (fallback where sk_lookup is missing): nftables TPROXY rules in
//     prerouting send them to a transparent listener of the agent.
//
// Both fail open by construction: when the agent's process is gone, its
// sockets and its BPF link go with it (sk_lookup), or the TPROXY rule finds
// no transparent listener and lets the packet through (tproxy); either way
// the kernel delivers connections to the application's own socket.
//
// The agent's own connections to an application must not be steered back
// into it: Dial marks them (SO_MARK, skipped by the TPROXY rules) and
// registers their source address and port in the sk_lookup bypass map.
package steer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Mode is how connections are steered.
type Mode string

const (
	ModeSKLookup Mode = "sk_lookup"
	ModeTPROXY   Mode = "tproxy"
)

// Steerer steers intercepted ports of the network namespace it was opened
// in to listeners of the agent. It is safe for concurrent use.
type Steerer struct {
	mode Mode
	mark uint32
	log  *slog.Logger
	// netns is the namespace the steerer acts on; the BPF link and the
	// nftables connection target it whatever thread calls in.
	netns *os.File

	mu      sync.Mutex
	ports   map[uint16]*Listener
	skl     *skLookup // ModeSKLookup
	nft     *tproxy   // ModeTPROXY
	dialer  net.Dialer
	closing bool
}

// Open prepares steering in the calling thread's network namespace. want is
// "auto" (sk_lookup, else tproxy with a warning), "sk_lookup" or "tproxy".
// mark is set on the agent's own upstream connections.
func Open(want string, mark uint32, log *slog.Logger) (*Steerer, error) {
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("open network namespace: %w", err)
	}
	s := &Steerer{mark: mark, log: log, netns: ns, ports: map[uint16]*Listener{}}
	switch want {
	case "auto", string(ModeSKLookup):
		s.skl, err = openSKLookup(int(ns.Fd()))
		if err == nil {
			s.mode = ModeSKLookup
			break
		}
		if want != "auto" {
			ns.Close()
			return nil, err
		}
		log.Warn("sk_lookup steering unavailable; falling back to nftables TPROXY", "error", err)
		fallthrough
	case string(ModeTPROXY):
		s.nft, err = openTPROXY(int(ns.Fd()), mark)
		if err != nil {
			ns.Close()
			return nil, err
		}
		s.mode = ModeTPROXY
	default:
		ns.Close()
		return nil, fmt.Errorf("steering %q is not auto, sk_lookup or tproxy", want)
	}
	s.dialer = net.Dialer{Control: s.controlUpstream}
	s.dialer.SetMultipathTCP(false)
	return s, nil
}

// Mode says which mechanism is in use.
func (s *Steerer) Mode() Mode { return s.mode }

// Intercept starts steering new TCP connections to local port to the
// returned listener. Closing the listener stops steering the port: new
// connections go to the application again.
func (s *Steerer) Intercept(port uint16) (*Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, errors.New("steerer is closed")
	}
	if _, dup := s.ports[port]; dup {
		return nil, fmt.Errorf("port %d is already intercepted", port)
	}
	l, err := listenPair(s.mode == ModeTPROXY)
	if err != nil {
		return nil, fmt.Errorf("intercept port %d: %w", port, err)
	}
	l.port = port
	l.release = s.release
	switch s.mode {
	case ModeSKLookup:
		err = s.skl.add(port, l)
	case ModeTPROXY:
		err = s.nft.add(port, l)
	}
	if err != nil {
		l.closeSockets()
		return nil, fmt.Errorf("intercept port %d: %w", port, err)
	}
	s.ports[port] = l
	s.log.Info("intercepting", "port", port, "steering", string(s.mode), "listener", l.Addr().String())
	return l, nil
}

// release stops steering l's port; called by Listener.Close before its
// sockets close, so that no new connection lands on a closing socket.
func (s *Steerer) release(l *Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ports[l.port] != l {
		return
	}
	delete(s.ports, l.port)
	var err error
	switch s.mode {
	case ModeSKLookup:
		err = s.skl.remove(l.port, l)
	case ModeTPROXY:
		err = s.nft.remove(l.port)
	}
	if err != nil {
		s.log.Error("stop intercepting", "port", l.port, "error", err)
	}
}

// DialContext opens a connection to an upstream the way the agent must: it
// is never steered back into the agent.
func (s *Steerer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := s.dialer.DialContext(ctx, network, addr)
	if err != nil || s.mode != ModeSKLookup {
		return c, err
	}
	// The bypass entry matters only for the SYN; it is removed when the
	// connection closes (and ages out of the LRU map if the agent dies).
	return &bypassConn{Conn: c, skl: s.skl}, nil
}

// controlUpstream runs on each upstream socket before connect.
func (s *Steerer) controlUpstream(network, address string, rc syscall.RawConn) error {
	var opErr error
	err := rc.Control(func(fd uintptr) {
		if opErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, int(s.mark)); opErr != nil {
			opErr = fmt.Errorf("set SO_MARK on upstream socket: %w", opErr)
			return
		}
		if s.mode == ModeSKLookup {
			opErr = s.skl.registerBypass(int(fd), address)
		}
	})
	if err != nil {
		return err
	}
	return opErr
}

// Close stops all steering. Listeners still open are closed.
func (s *Steerer) Close() error {
	s.mu.Lock()
	s.closing = true
	ls := make([]*Listener, 0, len(s.ports))
	for _, l := range s.ports {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	for _, l := range ls {
		l.Close()
	}
	var err error
	if s.skl != nil {
		err = s.skl.close()
	}
	if s.nft != nil {
		err = errors.Join(err, s.nft.close())
	}
	return errors.Join(err, s.netns.Close())
}
