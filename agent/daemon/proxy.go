package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/enroll"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/proxy"
	"github.com/palisadewaf/palisade/agent/report"
	"github.com/palisadewaf/palisade/agent/report/spool"
	"github.com/palisadewaf/palisade/agent/steer"
	"github.com/palisadewaf/palisade/agent/version"
	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// allowRefresh is how often the proxy's copy of the XDP allowlist is
// rebuilt. The XDP filter itself sees changes at once; at L7 an added
// entry takes effect within this delay.
const allowRefresh = 2 * time.Second

// l7 is the daemon's L7 part: the proxy, the steering of intercepted ports
// into it, and the listeners it serves.
type l7 struct {
	proxy     *proxy.Proxy
	reporter  *report.Reporter              // nil when reporting is not configured
	steerer   atomic.Pointer[steer.Steerer] // nil until an application intercepts a port
	allow     atomic.Pointer[proxy.PrefixSet]
	listeners map[string]net.Listener // by listener key
}

// startL7 builds the proxy over the detection engine, opens the reporting
// pipeline and the ruleset syncer, and opens the configuration's listeners.
func (d *Daemon) startL7(cfg *config.Config, engine *detect.Engine, masker *mask.Masker, id *enroll.Identity, credential string, hc *http.Client) error {
	d.l7 = &l7{listeners: map[string]net.Listener{}}
	d.l7.allow.Store(proxy.NewPrefixSet(nil))
	if err := d.refreshAllowlist(); err != nil {
		return err
	}
	if rc := reportingFor(cfg, id); rc.IngestURL != "" {
		r, err := d.newReporter(&rc, engine, masker)
		if err != nil {
			return err
		}
		d.l7.reporter = r
	}
	policy := &policyView{}
	p, err := proxy.New(cfg, proxy.Options{
		Engine:      engine,
		Dial:        d.dialUpstream,
		Allowlisted: d.allowlisted,
		Reporter:    d.l7.reporter,
		Policy:      policy,
		Registerer:  d.reg,
		Log:         d.log,
	})
	if err != nil {
		return err
	}
	d.l7.proxy = p
	link, err := d.startRules(cfg, engine, p, id, credential, hc)
	if err != nil {
		return err
	}
	d.cloud = link
	policy.syncer.Store(link.syncer)
	return d.applyListeners(cfg)
}

// newMasker builds the node's masker: rule-marked points come from the
// engine's rules in force, so a "mark as sensitive" rule masks from the
// first event after its ruleset is applied.
func newMasker(rc config.Reporting, engine *detect.Engine) (*mask.Masker, error) {
	mc := mask.Config{
		Sensitive:   func(app int64, p point.Point) bool { return engine.Rules().Sensitive(app, p) },
		LimitExport: rc.LimitExport,
		ExtraNames:  rc.SensitiveNames,
	}
	if rc.CorrelationKeyFile != "" {
		key, err := os.ReadFile(rc.CorrelationKeyFile)
		if err != nil {
			return nil, fmt.Errorf("proxy.reporting.correlation_key_file: %w", err)
		}
		mc.CorrelationKey = []byte(strings.TrimSpace(string(key)))
	}
	m, err := mask.New(mc)
	if err != nil {
		return nil, fmt.Errorf("masking: %w", err)
	}
	return m, nil
}

// newReporter opens the reporting pipeline: events are masked with the
// engine's current sensitive-data rules before they are spooled, and the
// credential is masked in the reporter's own logs.
func (d *Daemon) newReporter(rc *config.Reporting, engine *detect.Engine, masker *mask.Masker) (*report.Reporter, error) {
	b, err := os.ReadFile(rc.CredentialFile)
	if err != nil {
		return nil, fmt.Errorf("reporting credential: %w", err)
	}
	credential := strings.TrimSpace(string(b))
	return report.New(report.Config{
		Dir:            rc.Dir,
		Spool:          spool.Options{MaxBytes: rc.MaxSpoolBytes},
		IngestURL:      rc.IngestURL,
		Credential:     credential,
		Masker:         masker,
		Logger:         slog.New(mask.NewHandler(d.log.Handler(), masker, credential)),
		Registerer:     d.reg,
		AgentVersion:   version.Version,
		RulesetVersion: func() int64 { return engine.Rules().Version() },
	})
}

// runReporter uploads reports until ctx ends.
func (d *Daemon) runReporter(ctx context.Context) error {
	if d.l7.reporter == nil {
		return nil
	}
	return d.l7.reporter.Run(ctx)
}

// closeReporter saves the current minute's counts and closes the spool;
// called once the proxy has stopped recording.
func (d *Daemon) closeReporter() {
	if d.l7 == nil || d.l7.reporter == nil {
		return
	}
	if err := d.l7.reporter.Close(); err != nil {
		d.log.Error("close reporting spool", "error", err)
	}
}

// dialUpstream opens the proxy's upstream connections: through the
// steerer when there is one, so that they are never steered back.
func (d *Daemon) dialUpstream(ctx context.Context, network, addr string) (net.Conn, error) {
	if s := d.l7.steerer.Load(); s != nil {
		return s.DialContext(ctx, network, addr)
	}
	var dialer net.Dialer
	dialer.SetMultipathTCP(false)
	return dialer.DialContext(ctx, network, addr)
}

func (d *Daemon) allowlisted(a netip.Addr) bool {
	return d.l7.allow.Load().Contains(a, time.Now())
}

// refreshAllowlist copies the XDP allowlist into the proxy's lookup set.
func (d *Daemon) refreshAllowlist() error {
	entries, err := d.filter.Entries(xdp.Allow)
	if err != nil {
		return fmt.Errorf("read allowlist: %w", err)
	}
	d.l7.allow.Store(proxy.NewPrefixSet(entries))
	return nil
}

func (d *Daemon) allowlistLoop(ctx context.Context) {
	t := time.NewTicker(allowRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.refreshAllowlist(); err != nil {
				d.log.Error("refresh L7 allowlist", "error", err)
			}
		}
	}
}

// applyListeners opens the listeners cfg needs and closes the ones it no
// longer names. Connections on a closed listener finish normally; a
// listener that stays keeps its connections and its steering. Called with
// d.mu held, or before anything else runs.
func (d *Daemon) applyListeners(cfg *config.Config) error {
	want := map[string]func() (net.Listener, error){}
	for i := range cfg.Applications {
		a := &cfg.Applications[i]
		keys := a.ListenerKeys()
		for j, key := range keys {
			if a.Intercept != nil {
				port := a.Intercept.Ports[j]
				want[key] = func() (net.Listener, error) { return d.intercept(cfg, port) }
			} else {
				addr := a.Listen
				want[key] = func() (net.Listener, error) { return listenTCP(addr) }
			}
		}
	}
	var errs []error
	for key, open := range want {
		if _, ok := d.l7.listeners[key]; ok {
			continue
		}
		ln, err := open()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			continue
		}
		d.l7.listeners[key] = ln
		d.log.Info("proxy listening", "listener", key, "addr", ln.Addr().String())
		go func() {
			if err := d.l7.proxy.Serve(ln, key); err != nil {
				d.log.Error("proxy listener failed", "listener", key, "error", err)
			}
		}()
	}
	for key, ln := range d.l7.listeners {
		if _, ok := want[key]; !ok {
			ln.Close()
			delete(d.l7.listeners, key)
			d.log.Info("proxy listener closed", "listener", key)
		}
	}
	return errors.Join(errs...)
}

// intercept steers port to a new listener, opening the steerer first when
// this is the first intercepted port.
func (d *Daemon) intercept(cfg *config.Config, port uint16) (net.Listener, error) {
	s := d.l7.steerer.Load()
	if s == nil {
		var err error
		if s, err = steer.Open(cfg.Proxy.Steering, cfg.Proxy.SocketMark, d.log); err != nil {
			return nil, fmt.Errorf("transparent interception: %w", err)
		}
		d.l7.steerer.Store(s)
		d.reg.MustRegister(steer.NewCollector(s))
		d.log.Info("transparent interception ready", "steering", string(s.Mode()))
	}
	return s.Intercept(port)
}

func listenTCP(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return lc.Listen(context.Background(), "tcp", addr)
}

// reloadL7 applies a new configuration: applications, modes and limits
// swap under open connections; listeners open and close as needed.
func (d *Daemon) reloadL7(cfg *config.Config) error {
	if err := d.l7.proxy.Configure(cfg); err != nil {
		return err
	}
	if !reflect.DeepEqual(cfg.Proxy.Reporting, d.cfg.Proxy.Reporting) {
		d.log.Warn("proxy.reporting changes only on restart")
	}
	if d.l7.steerer.Load() != nil && (cfg.Proxy.Steering != d.cfg.Proxy.Steering || cfg.Proxy.SocketMark != d.cfg.Proxy.SocketMark) {
		d.log.Warn("proxy.steering and proxy.socket_mark change only on restart")
	}
	return d.applyListeners(cfg)
}

// stopL7 stops steering and accepting first (new connections go to the
// applications directly), then lets requests in flight finish.
func (d *Daemon) stopL7(grace time.Duration) {
	if d.l7 == nil {
		return
	}
	d.mu.Lock()
	for key, ln := range d.l7.listeners {
		ln.Close()
		delete(d.l7.listeners, key)
	}
	d.mu.Unlock()
	if d.l7.proxy != nil {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := d.l7.proxy.Shutdown(ctx); err != nil {
			d.log.Warn("proxy shutdown: requests still running were cut", "error", err)
		}
	}
	if s := d.l7.steerer.Load(); s != nil {
		if err := s.Close(); err != nil {
			d.log.Error("stop steering", "error", err)
		}
	}
}
