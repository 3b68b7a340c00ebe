// Package daemon wires palisade-agent's parts together and runs them: the
// XDP filter, the L7 proxy with its detection engine and transparent
// interception, the admin API, the metrics endpoint and the background
// loops (expired-entry sweeps, drop samples, allowlist copies,
// configuration reloads).
//
// It owns no logic of its own beyond order and lifetime: what each part
// does lives in its package.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/palisadewaf/palisade/agent/admin"
	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/version"
	"github.com/palisadewaf/palisade/agent/xdp"
)

// Daemon is a running agent.
type Daemon struct {
	cfgPath string
	log     *slog.Logger
	reg     *prometheus.Registry

	mu      sync.Mutex
	cfg     *config.Config
	filter  *xdp.Filter
	samples *xdp.SampleLog
	l7      *l7
	cloud   *cloudLink
}

// Run starts the agent with the configuration at cfgPath and blocks until
// ctx ends. SIGHUP reloads the configuration.
func Run(ctx context.Context, cfgPath string, log *slog.Logger) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	// Catch SIGHUP from the start: its default action would end a daemon
	// still setting up. A reload asked for meanwhile runs once it is up.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	tuneGC()
	d := &Daemon{cfgPath: cfgPath, cfg: cfg, log: log, reg: prometheus.NewRegistry(), samples: xdp.NewSampleLog(64)}
	// The proxy buffers at most an application's inspection limit; the
	// engine's own bound is the largest limit the configuration allows.
	engine := detect.New(detect.Options{MaxBody: 64 << 20})
	id, credential, hc := d.openIdentity(cfg.Cloud)
	masker, err := newMasker(cfg.Proxy.Reporting, engine)
	if err != nil {
		return err
	}
	// Every log line of the agent goes through the same masking as events
	// (principle 1): sensitive names and shapes, and the node's credential.
	known := []string{}
	if credential != "" {
		known = append(known, credential)
	}
	log = slog.New(mask.NewHandler(log.Handler(), masker, known...))
	d.log = log
	d.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(),
	)

	filter, err := xdp.Open(cfg.XDP.PinPath, log)
	if err != nil {
		return err
	}
	d.filter = filter
	// Closing releases the agent's handles only: the pinned filter keeps
	// dropping while the agent is down (principle 3 of DESIGN.md).
	defer filter.Close()
	d.reg.MustRegister(xdp.NewCollector(filter))

	if err := d.applyXDP(cfg, true); err != nil {
		return err
	}
	if err := d.startL7(cfg, engine, masker, id, credential, hc); err != nil {
		d.stopL7(0)
		d.closeReporter()
		return err
	}
	// Steering stops first, so that new connections go straight to the
	// applications while requests in flight finish; then the reporting
	// spool closes, with the events of those last requests in it.
	defer d.closeReporter()
	defer func() {
		d.mu.Lock()
		grace := d.cfg.Proxy.ShutdownGrace
		d.mu.Unlock()
		d.stopL7(grace)
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)

	adminLn, err := admin.Listen(cfg.Admin.Socket)
	if err != nil {
		return err
	}
	adminSrv := admin.NewServer(filter, d.samples, d.Reload, log)
	d.l7.proxy.RegisterAdmin(adminSrv.Handle)
	wg.Go(func() {
		if err := adminSrv.Serve(adminLn); err != nil {
			errc <- fmt.Errorf("admin API: %w", err)
		}
	})
	defer os.Remove(cfg.Admin.Socket)

	var metricsSrv *http.Server
	if cfg.Metrics.Listen != "" {
		ln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics endpoint: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		wg.Go(func() {
			if err := metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics endpoint: %w", err)
			}
		})
	}

	wg.Go(func() { d.sweepLoop(ctx) })
	wg.Go(func() { d.allowlistLoop(ctx) })
	wg.Go(func() {
		if err := d.runReporter(ctx); err != nil {
			errc <- fmt.Errorf("reporting: %w", err)
		}
	})
	wg.Go(func() {
		if err := d.runRules(ctx); err != nil {
			errc <- fmt.Errorf("ruleset sync: %w", err)
		}
	})
	wg.Go(func() {
		err := filter.ReadSamples(ctx, d.samples, func(s xdp.Sample) {
			log.Debug("xdp drop sample", "iface", s.Interface, "reason", s.Reason, "source", s.Source.String(), "len", s.Length)
		})
		if err != nil {
			errc <- err
		}
	})

	log.Info("palisade-agent running", "version", version.Version, "config", cfgPath,
		"admin_socket", cfg.Admin.Socket, "metrics", cfg.Metrics.Listen, "pin_path", cfg.XDP.PinPath,
		"applications", len(cfg.Applications))
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			if err := d.Reload(); err != nil {
				log.Error("reload failed; keeping the running configuration", "error", err)
			}
		case runErr = <-errc:
			break loop
		}
	}

	log.Info("palisade-agent stopping; the XDP filter stays attached, applications are reached directly")
	cancel()
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	_ = adminSrv.Shutdown(shutdownCtx)
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	wg.Wait()
	return runErr
}

// applyXDP brings the filter in line with cfg: knobs, lists file (at start
// only), and attachments to interfaces not yet attached.
func (d *Daemon) applyXDP(cfg *config.Config, start bool) error {
	if err := d.filter.Configure(cfg.XDP.RateLimit, cfg.XDP.SamplesPerSecond); err != nil {
		return err
	}
	if start && cfg.XDP.ListsFile != "" {
		if err := d.loadListsFile(cfg.XDP.ListsFile); err != nil {
			return err
		}
	}
	mode, _ := xdp.ParseMode(cfg.XDP.Mode) // validated by config
	attached := d.filter.Attachments()
	for _, iface := range cfg.XDP.Interfaces {
		if slices.ContainsFunc(attached, func(a xdp.Attachment) bool { return a.Interface == iface }) {
			continue
		}
		a, err := d.filter.Attach(iface, mode)
		if err != nil {
			return err
		}
		d.log.Info("xdp filter attached", "iface", a.Interface, "mode", string(a.Mode), "adopted", a.Adopted)
	}
	return nil
}

func (d *Daemon) loadListsFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lists file: %w", err)
	}
	defer f.Close()
	entries, err := xdp.ParseListsFile(f)
	if err != nil {
		return fmt.Errorf("lists file %s: %w", path, err)
	}
	for _, fe := range entries {
		if err := d.filter.Add(fe.List, fe.Entry); err != nil {
			return fmt.Errorf("lists file %s: %w", path, err)
		}
	}
	d.log.Info("lists file loaded", "path", path, "entries", len(entries))
	return nil
}

// Reload re-reads the configuration file and applies what can change at
// run time. On error the running configuration stays.
func (d *Daemon) Reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := config.Load(d.cfgPath)
	if err != nil {
		return err
	}
	if cfg.XDP.PinPath != d.cfg.XDP.PinPath || cfg.Admin.Socket != d.cfg.Admin.Socket || cfg.Metrics.Listen != d.cfg.Metrics.Listen {
		d.log.Warn("xdp.pin_path, admin.socket and metrics.listen change only on restart")
	}
	if err := d.applyXDP(cfg, false); err != nil {
		return err
	}
	if err := d.reloadL7(cfg); err != nil {
		return err
	}
	if err := d.reloadRules(cfg); err != nil {
		return err
	}
	if cfg.Cloud.URL != d.cfg.Cloud.URL || cfg.Cloud.StateDir != d.cfg.Cloud.StateDir {
		d.log.Warn("cloud.url and cloud.state_dir change only on restart")
	}
	d.cfg = cfg
	d.log.Info("configuration reloaded", "config", d.cfgPath)
	return nil
}

func (d *Daemon) sweepLoop(ctx context.Context) {
	d.mu.Lock()
	every := d.cfg.XDP.SweepInterval
	d.mu.Unlock()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n := d.l7.proxy.GrayList().Sweep(time.Now()); n > 0 {
				d.log.Info("expired gray list entries swept", "count", n)
			}
			n, err := d.filter.SweepExpired()
			if err != nil {
				d.log.Error("sweep expired list entries", "error", err)
			} else if n > 0 {
				d.log.Info("expired list entries swept", "count", n)
			}
		}
	}
}

// Garbage collector settings unless GOGC / GOMEMLIMIT say otherwise. The
// proxy's live heap is small (megabytes) and its allocation rate high (the
// engine's decoded values), so the default GOGC=100 collects every few
// megabytes: GOGC=400 cut the CPU per 2 KiB JSON request by a fifth in
// tools/proxybench for about 15 MiB more RSS. The soft limit makes the
// collector work harder before memory grows large.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

func buildInfo() prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "palisade_agent_build_info",
		Help: "Always 1; the version label says which build runs.",
	}, []string{"version"})
	g.WithLabelValues(version.Version).Set(1)
	return g
}
