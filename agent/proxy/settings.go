package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/proxy/h1"
	"github.com/palisadewaf/palisade/agent/xdp"
)

// Mode is an application's filtration mode.
type Mode uint8

const (
	ModeOff Mode = iota
	ModeMonitoring
	ModeSafeBlocking
	ModeBlock
)

func (m Mode) String() string {
	return [...]string{"off", "monitoring", "safe_blocking", "block"}[m]
}

func parseMode(s string) Mode {
	switch s {
	case config.ModeOff:
		return ModeOff
	case config.ModeSafeBlocking:
		return ModeSafeBlocking
	case config.ModeBlock:
		return ModeBlock
	}
	return ModeMonitoring
}

// settings is one immutable snapshot of the proxy's configuration. A
// reload compiles a new one and swaps it in; each request reads the
// snapshot current when it starts.
type settings struct {
	groups map[string]*group // by listener key

	limits            h1.Limits
	readHeaderTimeout time.Duration
	bodyReadTimeout   time.Duration
	idleTimeout       time.Duration
	writeTimeout      time.Duration
	dialTimeout       time.Duration
	responseTimeout   time.Duration
	maxConnsPerSource int
	maxIdleUpstream   int
	trusted           *PrefixSet
	blockHTML         *template.Template
	blockJSON         *template.Template
}

// group is the applications served on one listener, told apart by Host.
type group struct {
	key      string
	exact    map[string]*app
	wildcard []wildcardApp // "*.example" entries, longest suffix first
	fallback *app          // the application without hosts, if any
	tls      *tls.Config   // nil: plain HTTP
}

type wildcardApp struct {
	suffix string // ".example"
	app    *app
}

// app is one application at run time.
type app struct {
	id         int64
	name       string
	mode       Mode
	inspection config.Inspection
	// upstream is host:port; empty means the address the client connected
	// to (transparent mode without upstream).
	upstream      string
	upstreamTLS   *tls.Config // nil: plain HTTP upstream
	proxyProtocol bool
	metrics       *appMetrics
}

// route picks the application for a Host value.
func (g *group) route(host string) *app {
	if len(g.exact) == 0 && len(g.wildcard) == 0 {
		return g.fallback
	}
	h := strings.ToLower(hostOnly(host))
	if a, ok := g.exact[h]; ok {
		return a
	}
	for _, w := range g.wildcard {
		if strings.HasSuffix(h, w.suffix) {
			return w.app
		}
	}
	return g.fallback
}

// hostOnly strips a port from a Host value.
func hostOnly(host string) string {
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			return host[1:end]
		}
		return host
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// compile turns a validated configuration into a snapshot. It reuses the
// metrics of applications that exist already.
func compile(cfg *config.Config, m *metrics) (*settings, error) {
	pc := &cfg.Proxy
	s := &settings{
		groups:            map[string]*group{},
		limits:            h1.Limits{MaxHeaderBytes: pc.MaxHeaderBytes, MaxHeaders: pc.MaxHeaders},
		readHeaderTimeout: pc.ReadHeaderTimeout,
		bodyReadTimeout:   pc.BodyReadTimeout,
		idleTimeout:       pc.IdleTimeout,
		writeTimeout:      pc.WriteTimeout,
		dialTimeout:       pc.UpstreamDialTimeout,
		responseTimeout:   pc.UpstreamResponseTimeout,
		maxConnsPerSource: pc.MaxConnsPerSource,
		maxIdleUpstream:   pc.UpstreamMaxIdle,
	}
	trusted, err := parsePrefixes(pc.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("proxy.trusted_proxies: %w", err)
	}
	s.trusted = NewPrefixSet(trusted)
	if s.blockHTML, err = loadTemplate("html", pc.BlockPage.HTML, defaultBlockHTML); err != nil {
		return nil, err
	}
	if s.blockJSON, err = loadTemplate("json", pc.BlockPage.JSON, defaultBlockJSON); err != nil {
		return nil, err
	}
	certs := map[string][]tls.Certificate{}
	for i := range cfg.Applications {
		ca := &cfg.Applications[i]
		a := &app{
			id:            ca.ID,
			name:          ca.Name,
			mode:          parseMode(ca.EffectiveMode()),
			inspection:    ca.EffectiveInspection(pc),
			proxyProtocol: ca.ProxyProtocol == "v2",
			metrics:       m.forApp(ca.Name),
		}
		u, err := ca.UpstreamURL()
		if err != nil {
			return nil, fmt.Errorf("application %s: upstream: %w", ca.Name, err)
		}
		if u != nil {
			port := u.Port()
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
			}
			a.upstream = net.JoinHostPort(u.Hostname(), port)
			if u.Scheme == "https" {
				a.upstreamTLS = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
			}
		}
		var cert *tls.Certificate
		if ca.TLS != nil {
			c, err := tls.LoadX509KeyPair(ca.TLS.Cert, ca.TLS.Key)
			if err != nil {
				return nil, fmt.Errorf("application %s: tls: %w", ca.Name, err)
			}
			cert = &c
		}
		for _, key := range ca.ListenerKeys() {
			g := s.groups[key]
			if g == nil {
				g = &group{key: key, exact: map[string]*app{}}
				s.groups[key] = g
			}
			if len(ca.Hosts) == 0 {
				g.fallback = a
			}
			for _, h := range ca.Hosts {
				if suffix, ok := strings.CutPrefix(h, "*"); ok {
					g.wildcard = append(g.wildcard, wildcardApp{suffix: suffix, app: a})
				} else {
					g.exact[h] = a
				}
			}
			if cert != nil {
				certs[key] = append(certs[key], *cert)
			}
		}
	}
	for key, g := range s.groups {
		// Longest suffix first, so that *.a.example wins over *.example.
		slices.SortStableFunc(g.wildcard, func(a, b wildcardApp) int { return len(b.suffix) - len(a.suffix) })
		if cs := certs[key]; len(cs) > 0 {
			// With several certificates Go picks the one whose names
			// match the client's SNI, else the first.
			g.tls = &tls.Config{
				Certificates: cs,
				MinVersion:   tls.VersionTLS12,
				NextProtos:   []string{"h2", "http/1.1"},
			}
		}
	}
	return s, nil
}

func parsePrefixes(list []string) ([]xdp.Entry, error) {
	out := make([]xdp.Entry, 0, len(list))
	for _, s := range list {
		p, err := xdp.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		out = append(out, xdp.Entry{Prefix: p})
	}
	return out, nil
}

func loadTemplate(name, path, builtin string) (*template.Template, error) {
	text := builtin
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("block page: %w", err)
		}
		text = string(b)
	}
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("block page %s: %w", path, err)
	}
	return t, nil
}

// addrOf returns a net.Addr's IP and port.
func addrOf(a net.Addr) netip.AddrPort {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ap := tcp.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
