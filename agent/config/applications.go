package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"text/template"
	"time"

	"github.com/palisadewaf/palisade/agent/xdp"
)

// Filtration modes (DESIGN.md, vocabulary).
const (
	ModeOff          = "off"
	ModeMonitoring   = "monitoring"
	ModeSafeBlocking = "safe_blocking"
	ModeBlock        = "block"
)

// Steering modes of transparent interception.
const (
	SteeringAuto     = "auto"      // sk_lookup when the kernel has it, else tproxy
	SteeringSKLookup = "sk_lookup" // eBPF sk_lookup program + SOCKMAP
	SteeringTPROXY   = "tproxy"    // nftables TPROXY rules
)

// What the proxy does with a request body larger than the inspection limit.
const (
	OversizePass  = "pass"  // inspect the first bytes, stream the rest, mark events truncated
	OversizeBlock = "block" // answer 413 without forwarding
)

// Application is one protected web application (docs/PROXY.md). It is
// reached either in reverse-proxy mode (Listen: the agent listens, clients
// connect to it) or in transparent mode (Intercept: connections to the
// application's own ports are steered into the agent).
type Application struct {
	// ID is the application's number, shared with the cloud.
	ID int64 `yaml:"id"`
	// Name labels metrics and logs: lower case letters, digits, - and _.
	Name string `yaml:"name"`
	// Mode is the filtration mode: off, monitoring, safe_blocking, block.
	// Empty means monitoring.
	Mode string `yaml:"mode"`
	// Listen is host:port for reverse-proxy mode.
	Listen string `yaml:"listen"`
	// Intercept selects transparent mode.
	Intercept *Intercept `yaml:"intercept"`
	// Hosts restricts the application to these Host values ("shop.example",
	// "*.example" for any subdomain). Several applications may share a
	// listener or port when their hosts differ; the one without hosts takes
	// the rest.
	Hosts []string `yaml:"hosts"`
	// Upstream is where inspected requests go: http://host:port or
	// https://host:port. In transparent mode it may be empty: requests then
	// go to the address the client connected to.
	Upstream string `yaml:"upstream"`
	// ProxyProtocol "v2" sends a PROXY protocol v2 header with the client's
	// address on every upstream connection. Empty: none.
	ProxyProtocol string `yaml:"proxy_protocol"`
	// TLS terminates TLS on the agent's side; the certificate is chosen by
	// SNI among the applications sharing the listener.
	TLS *TLS `yaml:"tls"`
	// Inspection overrides proxy.inspection for this application.
	Inspection *Inspection `yaml:"inspection"`
}

// Intercept lists the local TCP ports whose incoming connections are steered
// into the agent. The application keeps listening on them.
type Intercept struct {
	Ports []uint16 `yaml:"ports"`
}

// TLS is a certificate and its key, PEM files.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Inspection bounds the work spent on one request body.
type Inspection struct {
	// MaxBodyBytes is how much of a body is read and inspected before the
	// request is forwarded.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Oversize is pass (stream the rest uninspected, events marked
	// truncated) or block (413).
	Oversize string `yaml:"oversize"`
}

// Proxy configures the L7 proxy as a whole.
type Proxy struct {
	// Steering picks how transparent interception works.
	Steering string `yaml:"steering"`
	// SocketMark is set (SO_MARK) on the agent's own upstream connections;
	// the TPROXY rules skip packets carrying it so that they do not loop
	// back into the agent.
	SocketMark uint32 `yaml:"socket_mark"`
	// TrustedProxies are the addresses (CIDRs) whose X-Forwarded-For,
	// X-Real-IP and Forwarded headers are believed. From anyone else those
	// headers are replaced.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// GrayList holds the graylisted sources loaded at start; the admin API
	// adds and removes entries at run time.
	GrayList []string `yaml:"gray_list"`

	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// BodyReadTimeout is the longest wait for the next bytes of a request
	// body.
	BodyReadTimeout time.Duration `yaml:"body_read_timeout"`
	IdleTimeout     time.Duration `yaml:"idle_timeout"`
	// WriteTimeout is the longest wait for a client to take response bytes.
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`
	MaxHeaders        int           `yaml:"max_headers"`
	MaxConnsPerSource int           `yaml:"max_conns_per_source"` // 0: no limit
	ShutdownGrace     time.Duration `yaml:"shutdown_grace"`

	UpstreamDialTimeout     time.Duration `yaml:"upstream_dial_timeout"`
	UpstreamResponseTimeout time.Duration `yaml:"upstream_response_timeout"`
	UpstreamMaxIdle         int           `yaml:"upstream_max_idle"`

	Inspection Inspection `yaml:"inspection"`
	BlockPage  BlockPage  `yaml:"block_page"`
	// Reporting is where the proxy's events and request counters go.
	Reporting Reporting `yaml:"reporting"`
}

// Reporting configures the reporting pipeline (agent/report) the proxy
// hands its detections to: events are masked, spooled under Dir and
// uploaded to IngestURL. Without IngestURL nothing is reported and
// detections only reach the metrics.
type Reporting struct {
	// Dir holds the durable spool and the current minute's counters.
	Dir string `yaml:"dir"`
	// IngestURL is the cloud's ingest endpoint, e.g.
	// https://cloud.example/api/v1/ingest.
	IngestURL string `yaml:"ingest_url"`
	// CredentialFile holds the node's bearer credential (never written in
	// this file itself).
	CredentialFile string `yaml:"credential_file"`
	// MaxSpoolBytes bounds the spool on disk; the oldest records go first.
	MaxSpoolBytes int64 `yaml:"max_spool_bytes"`
	// LimitExport masks every value of every event and keeps only its
	// structure ("limit data export").
	LimitExport bool `yaml:"limit_export"`
	// CorrelationKeyFile holds a node-local key (16 bytes or more): masked
	// values become HMAC tags under it instead of ***, so that equal values
	// can be correlated on this node's events without being revealed.
	CorrelationKeyFile string `yaml:"correlation_key_file"`
	// SensitiveNames adds names (query, form, JSON keys, headers, cookies)
	// to the built-in list of sensitive names.
	SensitiveNames []string `yaml:"sensitive_names"`
}

// BlockPage replaces the built-in block responses. Each file is a Go
// text/template with {{.RequestID}}, {{.Status}} and {{.App}}.
type BlockPage struct {
	HTML string `yaml:"html"`
	JSON string `yaml:"json"`
}

// DefaultProxy is the proxy section used for fields a file leaves out.
func DefaultProxy() Proxy {
	return Proxy{
		Steering:                SteeringAuto,
		SocketMark:              0x5041,
		ReadHeaderTimeout:       10 * time.Second,
		BodyReadTimeout:         30 * time.Second,
		IdleTimeout:             120 * time.Second,
		WriteTimeout:            60 * time.Second,
		MaxHeaderBytes:          32 << 10,
		MaxHeaders:              100,
		ShutdownGrace:           10 * time.Second,
		UpstreamDialTimeout:     5 * time.Second,
		UpstreamResponseTimeout: 60 * time.Second,
		UpstreamMaxIdle:         64,
		Inspection:              Inspection{MaxBodyBytes: 1 << 20, Oversize: OversizePass},
		Reporting:               Reporting{Dir: "/var/lib/palisade/report", MaxSpoolBytes: 256 << 20},
	}
}

// EffectiveMode is the application's mode with the default applied.
func (a *Application) EffectiveMode() string {
	if a.Mode == "" {
		return ModeMonitoring
	}
	return a.Mode
}

// EffectiveInspection is the application's inspection limits, falling back
// to the proxy-wide ones field by field.
func (a *Application) EffectiveInspection(p *Proxy) Inspection {
	in := p.Inspection
	if a.Inspection != nil {
		if a.Inspection.MaxBodyBytes != 0 {
			in.MaxBodyBytes = a.Inspection.MaxBodyBytes
		}
		if a.Inspection.Oversize != "" {
			in.Oversize = a.Inspection.Oversize
		}
	}
	return in
}

// ListenerKeys name the listener an application is served on: "listen
// 127.0.0.1:8080" or "intercept :80". Applications with the same key share
// a listener and are told apart by Host.
func (a *Application) ListenerKeys() []string {
	if a.Intercept != nil {
		keys := make([]string, len(a.Intercept.Ports))
		for i, p := range a.Intercept.Ports {
			keys[i] = "intercept :" + strconv.Itoa(int(p))
		}
		return keys
	}
	return []string{"listen " + a.Listen}
}

// UpstreamURL parses Upstream; nil when it is empty (transparent mode's
// original destination).
func (a *Application) UpstreamURL() (*url.URL, error) {
	if a.Upstream == "" {
		return nil, nil
	}
	u, err := url.Parse(a.Upstream)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("no host")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("only scheme://host[:port] is allowed")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not in 1-65535", p)
		}
	}
	return u, nil
}

var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// hostPattern accepts a DNS name, optionally starting with "*.".
var hostPattern = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// validate checks the proxy section.
func (p *Proxy) validate() []error {
	var errs []error
	switch p.Steering {
	case SteeringAuto, SteeringSKLookup, SteeringTPROXY:
	default:
		errs = append(errs, fmt.Errorf("proxy.steering: %q is not one of auto, sk_lookup, tproxy", p.Steering))
	}
	if p.SocketMark == 0 {
		errs = append(errs, errors.New("proxy.socket_mark: must not be 0"))
	}
	for i, s := range p.TrustedProxies {
		if _, err := xdp.ParsePrefix(s); err != nil {
			errs = append(errs, fmt.Errorf("proxy.trusted_proxies[%d]: %w", i, err))
		}
	}
	for i, s := range p.GrayList {
		if _, err := xdp.ParsePrefix(s); err != nil {
			errs = append(errs, fmt.Errorf("proxy.gray_list[%d]: %w", i, err))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"read_header_timeout", p.ReadHeaderTimeout},
		{"body_read_timeout", p.BodyReadTimeout},
		{"idle_timeout", p.IdleTimeout},
		{"write_timeout", p.WriteTimeout},
		{"upstream_dial_timeout", p.UpstreamDialTimeout},
		{"upstream_response_timeout", p.UpstreamResponseTimeout},
	} {
		if d.v < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("proxy.%s: %s is below 100ms", d.name, d.v))
		}
	}
	if p.ShutdownGrace < 0 {
		errs = append(errs, fmt.Errorf("proxy.shutdown_grace: %s is negative", p.ShutdownGrace))
	}
	if p.MaxHeaderBytes < 1024 || p.MaxHeaderBytes > 1<<20 {
		errs = append(errs, fmt.Errorf("proxy.max_header_bytes: %d is not in 1024-1048576", p.MaxHeaderBytes))
	}
	if p.MaxHeaders < 8 || p.MaxHeaders > 10000 {
		errs = append(errs, fmt.Errorf("proxy.max_headers: %d is not in 8-10000", p.MaxHeaders))
	}
	if p.MaxConnsPerSource < 0 {
		errs = append(errs, fmt.Errorf("proxy.max_conns_per_source: %d is negative", p.MaxConnsPerSource))
	}
	if p.UpstreamMaxIdle < 0 {
		errs = append(errs, fmt.Errorf("proxy.upstream_max_idle: %d is negative", p.UpstreamMaxIdle))
	}
	errs = append(errs, p.Inspection.validate("proxy.inspection", false)...)
	if r := &p.Reporting; r.IngestURL != "" {
		if u, err := url.Parse(r.IngestURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("proxy.reporting.ingest_url: %q is not an http(s) URL", r.IngestURL))
		}
		if r.Dir == "" {
			errs = append(errs, errors.New("proxy.reporting.dir: required with ingest_url"))
		}
		if r.CredentialFile == "" {
			errs = append(errs, errors.New("proxy.reporting.credential_file: required with ingest_url"))
		}
		if r.MaxSpoolBytes < 1<<20 {
			errs = append(errs, fmt.Errorf("proxy.reporting.max_spool_bytes: %d is below 1 MiB", r.MaxSpoolBytes))
		}
	}
	return errs
}

func (in *Inspection) validate(field string, partial bool) []error {
	var errs []error
	if !(partial && in.MaxBodyBytes == 0) && (in.MaxBodyBytes < 0 || in.MaxBodyBytes > 64<<20) {
		errs = append(errs, fmt.Errorf("%s.max_body_bytes: %d is not in 0-67108864", field, in.MaxBodyBytes))
	}
	switch in.Oversize {
	case OversizePass, OversizeBlock:
	case "":
		if !partial {
			errs = append(errs, fmt.Errorf("%s.oversize: empty; pass or block", field))
		}
	default:
		errs = append(errs, fmt.Errorf("%s.oversize: %q is not pass or block", field, in.Oversize))
	}
	return errs
}

// validateApplications checks every application and the constraints
// between them: unique ids and names, and applications sharing a listener
// distinguishable by Host.
func validateApplications(apps []Application) []error {
	var errs []error
	ids := map[int64]int{}
	names := map[string]int{}
	listenPorts := map[uint16]bool{}
	type group struct {
		defaults int
		tls      *bool
		hosts    map[string]string
	}
	groups := map[string]*group{}
	for i := range apps {
		a := &apps[i]
		f := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("applications[%d] (%s): %s", i, a.Name, fmt.Sprintf(format, args...)))
		}
		if a.ID <= 0 {
			f("id: %d must be positive", a.ID)
		} else if j, dup := ids[a.ID]; dup {
			f("id: %d is also used by applications[%d]", a.ID, j)
		}
		ids[a.ID] = i
		if !appName.MatchString(a.Name) {
			f("name: %q must be 1-64 of a-z, 0-9, - and _, starting with a letter or digit", a.Name)
		} else if j, dup := names[a.Name]; dup {
			f("name: also used by applications[%d]", j)
		}
		names[a.Name] = i
		switch a.Mode {
		case "", ModeOff, ModeMonitoring, ModeSafeBlocking, ModeBlock:
		default:
			f("mode: %q is not one of off, monitoring, safe_blocking, block", a.Mode)
		}
		switch {
		case a.Listen != "" && a.Intercept != nil:
			f("listen and intercept are exclusive: pick reverse-proxy or transparent mode")
		case a.Listen == "" && a.Intercept == nil:
			f("one of listen (reverse-proxy mode) or intercept (transparent mode) is required")
		case a.Listen != "":
			host, port, err := net.SplitHostPort(a.Listen)
			n, perr := strconv.Atoi(port)
			switch {
			case err != nil:
				f("listen: %v", err)
			case perr != nil || n < 1 || n > 65535:
				f("listen: port %q is not in 1-65535", port)
			case host != "" && net.ParseIP(host) == nil:
				f("listen: %q is not an IP address", host)
			default:
				listenPorts[uint16(n)] = true
			}
		default:
			if len(a.Intercept.Ports) == 0 {
				f("intercept.ports: empty")
			}
			seen := map[uint16]bool{}
			for _, p := range a.Intercept.Ports {
				if p == 0 {
					f("intercept.ports: 0 is not a port")
				} else if seen[p] {
					f("intercept.ports: %d listed twice", p)
				}
				seen[p] = true
			}
		}
		u, err := a.UpstreamURL()
		switch {
		case err != nil:
			f("upstream: %v", err)
		case u == nil && a.Intercept == nil:
			f("upstream: required in reverse-proxy mode")
		}
		switch a.ProxyProtocol {
		case "", "v2":
		default:
			f("proxy_protocol: %q is not v2", a.ProxyProtocol)
		}
		if a.TLS != nil && (a.TLS.Cert == "" || a.TLS.Key == "") {
			f("tls: cert and key are both required")
		}
		if a.Inspection != nil {
			for _, e := range a.Inspection.validate("inspection", true) {
				f("%v", e)
			}
		}
		for j, h := range a.Hosts {
			if !hostPattern.MatchString(h) {
				f("hosts[%d]: %q is not a lower-case host name (optionally *.name)", j, h)
			}
		}
		for _, key := range a.ListenerKeys() {
			g := groups[key]
			if g == nil {
				g = &group{hosts: map[string]string{}}
				groups[key] = g
			}
			hasTLS := a.TLS != nil
			if g.tls != nil && *g.tls != hasTLS {
				f("%s: every application sharing it must either use TLS or not", key)
			}
			g.tls = &hasTLS
			if len(a.Hosts) == 0 {
				g.defaults++
				if g.defaults > 1 {
					f("%s: another application on it has no hosts either; give all but one of them hosts", key)
				}
			}
			for _, h := range a.Hosts {
				if other, dup := g.hosts[h]; dup {
					f("hosts: %q is also served by %s on %s", h, other, key)
				}
				g.hosts[h] = a.Name
			}
		}
	}
	for i := range apps {
		if apps[i].Intercept == nil {
			continue
		}
		for _, p := range apps[i].Intercept.Ports {
			if listenPorts[p] {
				errs = append(errs, fmt.Errorf("applications[%d] (%s): intercept.ports: %d is also a listen port of a reverse-proxy application", i, apps[i].Name, p))
			}
		}
	}
	return errs
}

// resolveApplicationFiles makes the proxy's file paths absolute (relative to
// the configuration's directory) and checks that they load, so that a bad
// certificate fails check-config rather than the first TLS handshake.
func (c *Config) resolveApplicationFiles(dir string) error {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	var errs []error
	for i := range c.Applications {
		a := &c.Applications[i]
		if a.TLS == nil {
			continue
		}
		abs(&a.TLS.Cert)
		abs(&a.TLS.Key)
		if _, err := tls.LoadX509KeyPair(a.TLS.Cert, a.TLS.Key); err != nil {
			errs = append(errs, fmt.Errorf("applications[%d] (%s): tls: %w", i, a.Name, err))
		}
	}
	abs(&c.Proxy.Reporting.Dir)
	if c.Proxy.Reporting.IngestURL != "" {
		abs(&c.Proxy.Reporting.CredentialFile)
		if _, err := os.Stat(c.Proxy.Reporting.CredentialFile); err != nil {
			errs = append(errs, fmt.Errorf("proxy.reporting.credential_file: %w", err))
		}
	}
	for _, p := range []*string{&c.Proxy.BlockPage.HTML, &c.Proxy.BlockPage.JSON} {
		abs(p)
		if *p == "" {
			continue
		}
		b, err := os.ReadFile(*p)
		if err == nil {
			_, err = template.New("block page").Parse(string(b))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("proxy.block_page: %s: %w", *p, err))
		}
	}
	return errors.Join(errs...)
}
