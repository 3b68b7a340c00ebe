package steer

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/palisadewaf/palisade/tools/lab"
)

// inNewNetns moves the test's goroutine, for good, onto a thread in a fresh
// network namespace with loopback up. The thread dies with the test.
func inNewNetns(t *testing.T) {
	t.Helper()
	lab.RequireRoot(t)
	runtime.LockOSThread() // never unlocked: the thread is discarded
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare network namespace: %v", err)
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
}

// app is a stand-in for an unmodified application listening on one port,
// on both loopback addresses.
type app struct {
	port int
	v4   net.Listener
	v6   net.Listener
}

func startApp(t *testing.T) *app {
	t.Helper()
	v4, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := v4.Addr().(*net.TCPAddr).Port
	v6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v4.Close(); v6.Close() })
	return &app{port: port, v4: v4, v6: v6}
}

// who dials addr and reports which of the listeners accepted it.
func who(t *testing.T, dial func() (net.Conn, error), listeners map[string]net.Listener) string {
	t.Helper()
	got := make(chan string, len(listeners))
	for name, ln := range listeners {
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			b := make([]byte, 4)
			if _, err := io.ReadFull(c, b); err == nil && string(b) == "ping" {
				got <- name
			}
		}()
	}
	c, err := dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-got:
		return name
	case <-time.After(5 * time.Second):
		t.Fatal("no listener accepted the connection")
		return ""
	}
}

func TestSteering(t *testing.T) {
	for _, mode := range []string{"sk_lookup", "tproxy"} {
		t.Run(mode, func(t *testing.T) { testSteering(t, mode) })
	}
}

func testSteering(t *testing.T, mode string) {
	inNewNetns(t)
	a := startApp(t)
	s, err := Open(mode, 0x5041, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if string(s.Mode()) != mode {
		t.Fatalf("mode = %s", s.Mode())
	}
	l, err := s.Intercept(uint16(a.port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Intercept(uint16(a.port)); err == nil {
		t.Fatal("intercepting a port twice must fail")
	}

	for _, tc := range []struct {
		family, addr string
		app          net.Listener
	}{
		{"v4", net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port)), a.v4},
		{"v6", net.JoinHostPort("::1", strconv.Itoa(a.port)), a.v6},
	} {
		// A client's connection lands on the agent, which sees the
		// address the client connected to.
		agentSide := make(chan net.Addr, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			agentSide <- c.LocalAddr()
			io.Copy(io.Discard, c)
		}()
		c, err := net.Dial("tcp", tc.addr)
		if err != nil {
			t.Fatalf("%s: dial: %v", tc.family, err)
		}
		select {
		case local := <-agentSide:
			if local.String() != tc.addr {
				t.Errorf("%s: agent sees local address %s, want %s", tc.family, local, tc.addr)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: connection was not steered to the agent", tc.family)
		}
		c.Close()

		// The agent's own upstream connection reaches the application.
		got := who(t, func() (net.Conn, error) { return s.DialContext(context.Background(), "tcp", tc.addr) },
			map[string]net.Listener{"app": tc.app})
		if got != "app" {
			t.Fatalf("%s: upstream connection went to %s", tc.family, got)
		}
	}

	if mode == "sk_lookup" {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(NewCollector(s))
		if n := lookupCounter(t, reg, "steered"); n < 2 {
			t.Errorf("steered = %v, want >= 2", n)
		}
		if n := lookupCounter(t, reg, "agent_upstream"); n < 2 {
			t.Errorf("agent_upstream = %v, want >= 2", n)
		}
	}

	// Once the agent's listener is gone, clients reach the application.
	l.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port))
	if got := who(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, map[string]net.Listener{"app": a.v4}); got != "app" {
		t.Fatalf("after close: connection went to %s", got)
	}
	// And the port can be intercepted again.
	l2, err := s.Intercept(uint16(a.port))
	if err != nil {
		t.Fatal(err)
	}
	if got := who(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, map[string]net.Listener{"agent": l2, "app": a.v4}); got != "agent" {
		t.Fatalf("re-intercepted: connection went to %s", got)
	}
}

// lookupCounter gathers one palisade_steering_lookups_total series.
func lookupCounter(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "palisade_steering_lookups_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series result=%s", result)
	return 0
}

// A steerer that goes away (the agent exits or dies) leaves no steering
// behind: connections reach the application.
func TestSteeringFailsOpenOnClose(t *testing.T) {
	for _, mode := range []string{"sk_lookup", "tproxy"} {
		t.Run(mode, func(t *testing.T) {
			inNewNetns(t)
			a := startApp(t)
			s, err := Open(mode, 0x5041, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Intercept(uint16(a.port)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port))
			if got := who(t, func() (net.Conn, error) { return net.Dial("tcp", addr) }, map[string]net.Listener{"app": a.v4}); got != "app" {
				t.Fatalf("connection went to %s", got)
			}
		})
	}
}
