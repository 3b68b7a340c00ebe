package steer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listener receives the connections steered from one intercepted port. It
// is a pair of sockets, IPv4 on 127.0.0.1 and IPv6 on ::1 (the kernel hands
// them connections to any local address; binding to loopback keeps them
// unreachable from outside otherwise). Accepted connections' LocalAddr is
// the address the client connected to.
type Listener struct {
	port    uint16
	v4, v6  *net.TCPListener // v6 is nil on hosts without IPv6
	conns   chan accepted
	done    chan struct{}
	once    sync.Once
	release func(*Listener)
	wg      sync.WaitGroup
}

type accepted struct {
	c   net.Conn
	err error
}

// listenPair opens the two sockets. transparent sets IP_TRANSPARENT, which
// TPROXY requires of the listener it delivers to.
func listenPair(transparent bool) (*Listener, error) {
	lc := net.ListenConfig{}
	// SOCKMAP refuses MPTCP sockets, and Go listens with MPTCP by default.
	lc.SetMultipathTCP(false)
	if transparent {
		lc.Control = setTransparent
	}
	ctx := context.Background()
	ln4, err := lc.Listen(ctx, "tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	l := &Listener{v4: ln4.(*net.TCPListener), conns: make(chan accepted), done: make(chan struct{})}
	if ln6, err := lc.Listen(ctx, "tcp6", "[::1]:0"); err == nil {
		l.v6 = ln6.(*net.TCPListener)
	} else if !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.EAFNOSUPPORT) {
		ln4.Close()
		return nil, fmt.Errorf("listen on ::1: %w", err)
	}
	for _, ln := range l.sockets() {
		l.wg.Go(func() { l.acceptLoop(ln) })
	}
	return l, nil
}

func setTransparent(network, _ string, rc syscall.RawConn) error {
	var opErr error
	err := rc.Control(func(fd uintptr) {
		if network == "tcp6" {
			opErr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
		} else {
			opErr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
		}
	})
	if err != nil {
		return err
	}
	if opErr != nil {
		return fmt.Errorf("set IP_TRANSPARENT: %w", opErr)
	}
	return nil
}

func (l *Listener) sockets() []*net.TCPListener {
	if l.v6 == nil {
		return []*net.TCPListener{l.v4}
	}
	return []*net.TCPListener{l.v4, l.v6}
}

func (l *Listener) acceptLoop(ln *net.TCPListener) {
	for {
		c, err := ln.Accept()
		select {
		case l.conns <- accepted{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Accept waits for the next steered connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.conns:
		if a.err != nil && errors.Is(a.err, net.ErrClosed) {
			return nil, net.ErrClosed
		}
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops steering the port, then closes the sockets. Connections
// already accepted are not affected.
func (l *Listener) Close() error {
	l.once.Do(func() {
		if l.release != nil {
			l.release(l)
		}
		close(l.done)
		l.closeSockets()
		l.wg.Wait()
	})
	return nil
}

func (l *Listener) closeSockets() {
	for _, ln := range l.sockets() {
		ln.Close()
	}
}

// Addr is the IPv4 socket's address (a loopback address and an ephemeral
// port; clients never connect to it directly).
func (l *Listener) Addr() net.Addr { return l.v4.Addr() }

// Port is the intercepted port.
func (l *Listener) Port() uint16 { return l.port }

// fds calls fn with each socket's file descriptor: 0 for IPv4, 1 for IPv6.
func (l *Listener) fds(fn func(family int, fd uintptr) error) error {
	for i, ln := range l.sockets() {
		rc, err := ln.SyscallConn()
		if err != nil {
			return err
		}
		var opErr error
		if err := rc.Control(func(fd uintptr) { opErr = fn(i, fd) }); err != nil {
			return err
		}
		if opErr != nil {
			return opErr
		}
	}
	return nil
}

// localPorts are the sockets' own ports, for the TPROXY rules.
func (l *Listener) localPorts() (v4, v6 uint16) {
	v4 = uint16(l.v4.Addr().(*net.TCPAddr).Port)
	if l.v6 != nil {
		v6 = uint16(l.v6.Addr().(*net.TCPAddr).Port)
	}
	return v4, v6
}
