// Package proxy is the agent's L7 proxy: it sits between clients and the
// local web applications, inspects every request with the detection engine
// (agent/detect), and forwards or blocks it according to the application's
// filtration mode (docs/PROXY.md).
//
// Connections come from listeners the daemon opens: the agent's own
// sockets in reverse-proxy mode, or steered sockets in transparent mode
// (agent/steer). HTTP/1.1 is parsed by agent/proxy/h1, strictly, so that
// the proxy and the application never disagree on where a request ends;
// HTTP/2 (TLS with ALPN, or h2c with prior knowledge) goes through
// net/http's HTTP/2 server. Either way a request reaches the upstream as
// HTTP/1.1 with forwarding fields (X-Forwarded-For, X-Real-IP, Forwarded)
// set from what the proxy saw, not from what the client claimed.
//
// The proxy never holds a connection hostage to its own trouble: a reload
// swaps the configuration under open connections, and the upstream keeps
// its own listener, so that when the agent is gone steering falls back to
// it (fail-open, DESIGN.md principle 3).
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/report"
	"github.com/palisadewaf/palisade/agent/xdp"
)

// Options are the proxy's collaborators.
type Options struct {
	// Engine inspects requests. Required.
	Engine *detect.Engine
	// Dial opens upstream connections. In transparent mode it must be the
	// steerer's (agent/steer), which keeps them from looping back into
	// the agent. Nil: a plain dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Allowlisted reports whether a client is on the allowlist: such
	// clients are never blocked at L7. Nil: nobody is.
	Allowlisted func(netip.Addr) bool
	// Reporter receives every request's counts and every detection, to
	// mask, spool and upload. Nil: detections reach the metrics only.
	Reporter *report.Reporter
	// Policy is the ruleset's per-request policy: filtration modes by
	// path prefix, application-scoped IP lists, rate limits. Nil: none,
	// the configuration alone decides.
	Policy Policy
	// Registerer receives the proxy's metrics. Nil: not registered.
	Registerer prometheus.Registerer
	Log        *slog.Logger

	// now is the clock of rate limits and list expiry; tests set it.
	now func() time.Time
}

// Proxy serves HTTP on the listeners it is given. Create it with New.
type Proxy struct {
	opts     Options
	log      *slog.Logger
	settings atomic.Pointer[settings]
	metrics  *metrics
	gray     *GrayList
	pools    pools
	sources  sourceLimiter
	h2       *h2Handler
	now      func() time.Time
	// limits holds the token buckets of ruleset rate limits; eventGate
	// those that space out the events of refused sources.
	limits, eventGate *rateLimiter

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]*connState
	wg      sync.WaitGroup
}

// connState says whether a connection is between requests: shutdown closes
// those at once and lets the others finish their request.
type connState struct {
	busy atomic.Bool
}

// New builds a proxy for cfg's applications.
func New(cfg *config.Config, opts Options) (*Proxy, error) {
	if opts.Engine == nil {
		return nil, errors.New("proxy: no detection engine")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Dial == nil {
		d := &net.Dialer{}
		d.SetMultipathTCP(false)
		opts.Dial = d.DialContext
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	p := &Proxy{
		opts: opts, log: opts.Log, gray: NewGrayList(), conns: map[net.Conn]*connState{}, now: opts.now,
		limits: newRateLimiter(maxRateBuckets), eventGate: newRateLimiter(maxRateBuckets),
	}
	p.metrics = newMetrics(opts.Registerer, p.gray)
	p.h2 = newH2Handler(p)
	if err := p.Configure(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// Configure applies a new configuration to every connection, open ones
// included, from their next request on. On error nothing changes.
func (p *Proxy) Configure(cfg *config.Config) error {
	s, err := compile(cfg, p.metrics)
	if err != nil {
		return err
	}
	gray, err := parsePrefixes(cfg.Proxy.GrayList)
	if err != nil {
		return fmt.Errorf("proxy.gray_list: %w", err)
	}
	p.settings.Store(s)
	p.gray.ReplaceSource(xdp.SourceFile, gray)
	return nil
}

// GrayList is the proxy's gray list.
func (p *Proxy) GrayList() *GrayList { return p.gray }

// Serve accepts connections on ln for the applications of listener key
// (config.Application.ListenerKeys) until ln is closed.
func (p *Proxy) Serve(ln net.Listener, key string) error {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and the like: back off, as
			// net/http does, rather than spin or give up.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			p.log.Warn("accept failed; retrying", "listener", key, "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Go(func() {
			defer p.untrack(c)
			defer p.recoverConn(key)
			p.serveConn(c, key)
		})
	}
}

// recoverConn keeps a bug met on one connection from taking the agent (and
// every other connection) down: the connection is closed, the stack logged
// (it holds no request data).
func (p *Proxy) recoverConn(key string) {
	if r := recover(); r != nil {
		p.log.Error("panic serving a connection; connection closed", "listener", key, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing.Load() {
		return false
	}
	p.conns[c] = &connState{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) state(c net.Conn) *connState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[c]
}

// Shutdown stops serving: connections between requests close at once,
// the others after their current request. When ctx ends first, the rest are
// closed. Listeners are the caller's to close.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.closing.Store(true)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		p.mu.Lock()
		n := len(p.conns)
		for c, st := range p.conns {
			if !st.busy.Load() {
				c.Close()
			}
		}
		p.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			p.mu.Lock()
			for c := range p.conns {
				c.Close()
			}
			p.mu.Unlock()
			p.wg.Wait()
			p.pools.closeIdle()
			return ctx.Err()
		case <-tick.C:
		}
	}
	p.wg.Wait()
	p.pools.closeIdle()
	p.h2.closeIdle()
	return nil
}

// sourceLimiter counts open connections per client address.
type sourceLimiter struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

func (l *sourceLimiter) acquire(a netip.Addr, max int) bool {
	if max <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[netip.Addr]int{}
	}
	if l.n[a] >= max {
		return false
	}
	l.n[a]++
	return true
}

func (l *sourceLimiter) release(a netip.Addr, max int) {
	if max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[a] <= 1 {
		delete(l.n, a)
	} else {
		l.n[a]--
	}
}
