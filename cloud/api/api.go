// Package api is the cloud's HTTP interface: the versioned API under
// /api/v1 (people and scripts with sessions or API tokens, nodes with their
// credentials), its OpenAPI document, and the operational endpoints
// /healthz, /readyz and /metrics.
//
// Every endpoint is one entry of the route table (routes.go), which says
// who may call it (and with which scope), what it takes and what it
// answers. The table drives the router, the authentication and role check
// in front of every handler, and the OpenAPI document, so that none of
// them can forget an endpoint. Handlers are grouped by resource, one file
// each; a new resource adds a file and its rows in the table.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/metrics"
	"github.com/palisadewaf/palisade/cloud/notify"
	"github.com/palisadewaf/palisade/cloud/ratelimit"
	"github.com/palisadewaf/palisade/cloud/store"
	"github.com/palisadewaf/palisade/cloud/triggers"
)

// Config configures a Server. Zero values take the defaults named.
type Config struct {
	Store   store.Store
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Version is what /healthz and /readyz report.
	Version string
	// PasswordParams are the argon2id costs of new password hashes
	// (auth.DefaultParams).
	PasswordParams auth.Params
	// SessionTTL is how long a login lasts (12h).
	SessionTTL time.Duration
	// IngestRate and IngestBurst limit the events one node may send per
	// second and at once (5000/s, 20000).
	IngestRate  float64
	IngestBurst int
	// LoginsPerMinute limits login attempts per client address and per
	// account (10).
	LoginsPerMinute int
	// TrustedProxies are the load balancers whose X-Forwarded-For header is
	// believed for the client address.
	TrustedProxies []netip.Prefix
	// Now is the clock (time.Now).
	Now func() time.Time
	// RulesetSigner signs the rulesets nodes download; without it the
	// ruleset endpoint answers 503.
	RulesetSigner *apiv1.Signer
	// Dispatcher delivers notifications to integrations; New makes one
	// when nil (its owner closes it on shutdown: see server.Run).
	Dispatcher *notify.Dispatcher
}

// Server serves the API. It holds no state that another replica would
// need: limits and caches are soft and per process.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   store.Store
	metrics *metrics.Metrics
	mux     *http.ServeMux
	routes  []route

	ingestLimit    *ratelimit.Limiter
	loginByIP      *ratelimit.Limiter
	loginByAccount *ratelimit.Limiter
	// dummyHash is verified against when a login names no known account,
	// so that the answer takes as long as for a wrong password.
	dummyHash string

	triggers   *triggers.Evaluator
	dispatcher *notify.Dispatcher

	wakeMu sync.Mutex
	wake   map[int64]chan struct{} // tenant -> closed when its ruleset may have changed (wake.go)

	appsMu sync.Mutex
	apps   map[int64]appSet // tenant -> its application ids, for ingest
}

type appSet struct {
	ids     map[int64]bool
	expires time.Time
}

// New returns a Server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("api: no store")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New(cfg.Store, cfg.Log)
	}
	if cfg.PasswordParams == (auth.Params{}) {
		cfg.PasswordParams = auth.DefaultParams
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.IngestRate <= 0 {
		cfg.IngestRate = 5000
	}
	if cfg.IngestBurst <= 0 {
		cfg.IngestBurst = 4 * apiv1.MaxBatchEvents
	}
	if cfg.IngestBurst < apiv1.MaxBatchEvents {
		return nil, fmt.Errorf("api: ingest burst %d is below one full batch (%d events)", cfg.IngestBurst, apiv1.MaxBatchEvents)
	}
	if cfg.LoginsPerMinute <= 0 {
		cfg.LoginsPerMinute = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dummy, err := auth.HashPassword(auth.RandomPassword(), cfg.PasswordParams)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:            cfg,
		log:            cfg.Log,
		store:          cfg.Store,
		metrics:        cfg.Metrics,
		mux:            http.NewServeMux(),
		ingestLimit:    ratelimit.New(cfg.IngestRate, cfg.IngestBurst),
		loginByIP:      ratelimit.New(float64(cfg.LoginsPerMinute)/60, cfg.LoginsPerMinute),
		loginByAccount: ratelimit.New(float64(cfg.LoginsPerMinute)/60, cfg.LoginsPerMinute),
		dummyHash:      dummy,
		apps:           map[int64]appSet{},
		wake:           map[int64]chan struct{}{},
	}
	if cfg.Dispatcher == nil {
		cfg.Dispatcher = notify.New(cfg.Store, notify.Options{Log: cfg.Log, Now: cfg.Now})
	}
	s.dispatcher = cfg.Dispatcher
	s.triggers = triggers.NewEvaluator(cfg.Store, cfg.Log, cfg.Now, cfg.Dispatcher)
	if err := errors.Join(s.triggers.Instrument(cfg.Metrics.Registry), s.dispatcher.Instrument(cfg.Metrics.Registry)); err != nil {
		return nil, fmt.Errorf("api: trigger and delivery metrics: %w", err)
	}
	s.routes = append(s.routeTable(), s.ruleRoutes()...)
	s.routes = append(s.routes, s.triggerRoutes()...)
	s.routes = append(s.routes, s.integrationRoutes()...)
	for i := range s.routes {
		rt := &s.routes[i]
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.mux.Handle("/api/v1/", s.instrument("/api/v1/*", http.HandlerFunc(s.unknownEndpoint)))
	s.mux.Handle("GET /healthz", s.instrument("/healthz", http.HandlerFunc(s.healthz)))
	s.mux.Handle("GET /readyz", s.instrument("/readyz", http.HandlerFunc(s.readyz)))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Metrics.Registry, promhttp.HandlerOpts{}))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apitypes.Health{Status: "ok", Version: s.cfg.Version})
}

// readyz answers 200 when the database answers: a load balancer sends no
// traffic to a replica that cannot reach it.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, apitypes.Health{Status: "database unavailable", Version: s.cfg.Version})
		return
	}
	writeJSON(w, http.StatusOK, apitypes.Health{Status: "ok", Version: s.cfg.Version})
}

// unknownEndpoint answers every /api/v1 path without a route: 401 without
// valid credentials (the API does not tell strangers what exists), else
// 405 for a known path with another method and 404 for the rest.
func (s *Server) unknownEndpoint(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authenticate(r, anyCredential); err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/v1/" {
			s.writeError(w, r, &apiError{http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)})
			return
		}
	}
	s.writeError(w, r, &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path)})
}

// instrument counts and times requests by route pattern and logs them.
func (s *Server) instrument(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.metrics.HTTPRequests.WithLabelValues(pattern, r.Method, fmt.Sprint(sw.status)).Inc()
		s.metrics.HTTPDuration.WithLabelValues(pattern).Observe(d.Seconds())
		level := slog.LevelDebug
		switch {
		case sw.status >= 500:
			level = slog.LevelError
		case sw.status >= 400:
			level = slog.LevelInfo
		}
		// The path, never the query: filters may carry what a user typed.
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "path", r.URL.Path, "route", pattern,
			"status", sw.status, "duration", d, "client", s.clientIP(r))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v) // the client may be gone; nothing to do about it
}
