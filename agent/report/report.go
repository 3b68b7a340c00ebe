// Package report turns detected attacks into events and request counts
// into per-minute counters, masks them (agent/mask) before anything is
// written, keeps them in a durable bounded spool on local disk
// (agent/report/spool) and uploads them to the cloud in gzip batches,
// retrying with exponential backoff and jitter until the cloud has stored
// each one (POST /api/v1/ingest, see docs/REPORTING.md).
//
// The proxy calls Report and Count on its request path; neither waits on
// the network. Run is the uploader loop.
package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/agent/report/spool"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// Config configures a Reporter.
type Config struct {
	// Dir holds the reporting state: the spool (Dir/spool) and the counts
	// of the current minute across a restart (Dir/counters.json).
	Dir string
	// Spool bounds the spool (MaxBytes: default 256 MiB) and sets how
	// often it is fsynced.
	Spool spool.Options
	// IngestURL is the cloud's ingest endpoint, e.g.
	// https://cloud.example/api/v1/ingest.
	IngestURL string
	// Credential is the node's bearer credential.
	Credential string
	// Client sends the uploads (TLS settings, proxy). Default: a client
	// with Go's default transport.
	Client *http.Client
	// Masker masks every event before it is spooled. Required.
	Masker *mask.Masker
	// Logger receives the reporter's log lines; the agent passes one
	// built on mask.NewHandler. Default slog.Default().
	Logger *slog.Logger
	// Registerer receives the reporter's metrics. May be nil.
	Registerer prometheus.Registerer
	// AgentVersion and RulesetVersion are sent as node health with every
	// upload.
	AgentVersion   string
	RulesetVersion func() int64

	// BatchEvents bounds the records of one upload (default 500, at most
	// apiv1.MaxBatchEvents) and BatchBytes their JSON size (default 4 MiB,
	// at most half of apiv1.MaxBatchBytes).
	BatchEvents int
	BatchBytes  int
	// BatchDelay is how long the first record of a batch may wait for
	// others to join it (default 1s).
	BatchDelay time.Duration
	// RequestTimeout bounds one upload (default 30s).
	RequestTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between failed uploads
	// (defaults 1s and 5m); the wait doubles with each failure and is
	// jittered.
	BackoffMin, BackoffMax time.Duration
	// MaxEventsPerRequest bounds the events one request produces (default
	// 16); further detections are counted, not reported.
	MaxEventsPerRequest int
	// MaxSources and MaxSourcePaths bound the per-source counts of one
	// minute (CountSource): sources, and (source, path) pairs (defaults
	// 4096 each). The lighter half is evicted when a table is full.
	MaxSources, MaxSourcePaths int
	// Clock tells the time of counts (default time.Now).
	Clock func() time.Time
}

func (c *Config) setDefaults() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir is empty"))
	}
	if c.IngestURL == "" {
		errs = append(errs, errors.New("ingest url is empty"))
	}
	if c.Masker == nil {
		errs = append(errs, errors.New("masker is nil: events must be masked before they are spooled"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if c.Client == nil {
		c.Client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Spool.Logger == nil {
		c.Spool.Logger = c.Logger
	}
	if c.RulesetVersion == nil {
		c.RulesetVersion = func() int64 { return 0 }
	}
	if c.BatchEvents <= 0 {
		c.BatchEvents = 500
	}
	c.BatchEvents = min(c.BatchEvents, apiv1.MaxBatchEvents)
	if c.BatchBytes <= 0 {
		c.BatchBytes = 4 << 20
	}
	c.BatchBytes = min(c.BatchBytes, apiv1.MaxBatchBytes/2)
	if c.BatchDelay <= 0 {
		c.BatchDelay = time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 30 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	c.BackoffMax = max(c.BackoffMax, c.BackoffMin)
	if c.MaxEventsPerRequest <= 0 {
		c.MaxEventsPerRequest = 16
	}
	if c.MaxSources <= 0 {
		c.MaxSources = 4096
	}
	if c.MaxSourcePaths <= 0 {
		c.MaxSourcePaths = 4096
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return nil
}

// Reporter masks, spools and uploads events and counters.
type Reporter struct {
	cfg   Config
	log   *slog.Logger
	spool *spool.Spool
	m     *metrics

	mu     sync.Mutex
	counts map[counterKey]*apiv1.Counters

	// smu guards the per-source counts, by minute (Unix seconds).
	smu           sync.Mutex
	sourceMinutes map[int64]*sourceMinute

	// batchEvents shrinks when the cloud answers 413.
	batchEvents atomic.Int64
}

// New opens the spool under cfg.Dir and restores the counts saved by Close.
func New(cfg Config) (*Reporter, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	sp, err := spool.Open(filepath.Join(cfg.Dir, "spool"), cfg.Spool)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	r := &Reporter{
		cfg:    cfg,
		log:    cfg.Logger,
		spool:  sp,
		counts: make(map[counterKey]*apiv1.Counters),

		sourceMinutes: make(map[int64]*sourceMinute),
	}
	r.batchEvents.Store(int64(cfg.BatchEvents))
	r.m = newMetrics(sp)
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(r.m); err != nil {
			sp.Close()
			return nil, fmt.Errorf("report: register metrics: %w", err)
		}
	}
	if err := r.loadCounts(); err != nil {
		// Losing up to a minute of counts is better than not starting.
		r.log.Warn("report: saved counters unreadable, starting from zero", "err", err)
	}
	if err := r.loadSources(); err != nil {
		r.log.Warn("report: saved source counters unreadable, starting from zero", "err", err)
	}
	return r, nil
}

// Detection is one detected attack in a request.
type Detection struct {
	// AttackType is the detector class: sqli, xss, rce, ptrav, ...
	AttackType string
	// Point is where the value sits; Value is the value there, decoded,
	// and Value[Start:End] the matched fragment.
	Point      point.Point
	Value      string
	Start, End int
	// DetectorID and RuleIDs say what fired.
	DetectorID string
	RuleIDs    []int64
	// Experimental is set for detections of rules in test mode.
	Experimental bool
	// Decision overrides Input.Decision for this detection (an
	// experimental detection passes in a blocked request).
	Decision apiv1.Decision
}

// Input is what the proxy knows about one request with detected attacks.
type Input struct {
	Time      time.Time
	AppID     int64
	RequestID string
	SourceIP  string
	Method    string
	Host      string
	// Target is the request target as sent: path and query.
	Target   string
	Decision apiv1.Decision
	// Status is the response status the client got.
	Status     int
	Detections []Detection
	// Values are every (point, decoded value) the detection engine
	// walked; masking needs them to find sensitive values wherever they
	// reappear.
	Values []mask.Value
}

// AddResult adds the detections and walked values of the engine's result
// to in; decision, when not nil, gives each detection its own decision.
func (in *Input) AddResult(res *detect.Result, decision func(*detect.Detection) apiv1.Decision) {
	for i := range res.Detections {
		d := &res.Detections[i]
		det := Detection{
			AttackType:   d.Type,
			Point:        d.Point,
			Value:        d.Value,
			Start:        d.Start,
			End:          d.End,
			DetectorID:   d.DetectorID,
			Experimental: d.Experimental,
		}
		if d.RuleID != 0 {
			det.RuleIDs = []int64{d.RuleID}
		}
		if decision != nil {
			det.Decision = decision(d)
		}
		in.Detections = append(in.Detections, det)
	}
	for _, v := range res.Values {
		in.Values = append(in.Values, mask.Value{Point: v.Point, Value: v.Value})
	}
}

// Limits of free-text fields the node fills from the request.
const (
	maxMethodLen    = 32
	maxRequestIDLen = 128
	maxSourceIPLen  = 64
)

// Report masks one event per detection (at most MaxEventsPerRequest) and
// appends them to the spool. It returns when they are written to disk;
// it never waits on the network. An error means events were not kept.
func (r *Reporter) Report(in Input) error {
	events, err := r.events(in)
	for i := range events {
		if serr := r.spoolRecord(kindEvent, &events[i]); serr != nil {
			err = errors.Join(err, serr)
			continue
		}
		r.m.spooled.Inc()
		if events[i].Masked {
			r.m.masked.Inc()
		}
	}
	return err
}

// events builds the masked events of one request.
func (r *Reporter) events(in Input) ([]apiv1.Event, error) {
	if len(in.Detections) == 0 {
		return nil, nil
	}
	dets := in.Detections
	if len(dets) > r.cfg.MaxEventsPerRequest {
		r.m.dropped.WithLabelValues(reasonPerRequestCap).Add(float64(len(dets) - r.cfg.MaxEventsPerRequest))
		dets = dets[:r.cfg.MaxEventsPerRequest]
	}
	when := in.Time
	if when.IsZero() {
		when = time.Now()
	}
	sec := r.cfg.Masker.ForRequest(in.AppID, in.Values)
	path, pathMasked, pathCut := sec.Path(in.Target, apiv1.MaxPathLen)
	host, hostMasked := sec.Meta(in.Host)
	method, methodMasked := sec.Meta(in.Method)
	reqID, idMasked := sec.Meta(in.RequestID)
	srcIP, ipMasked := sec.Meta(in.SourceIP)
	masked := pathMasked || hostMasked || methodMasked || idMasked || ipMasked

	var errs []error
	events := make([]apiv1.Event, 0, len(dets))
	for _, d := range dets {
		excerpt, exMasked, exCut := sec.Excerpt(d.Point, d.Value, d.Start, d.End, apiv1.MaxExcerptLen)
		p, pointMasked := sec.Point(d.Point)
		pointStr := p.String()
		for len(pointStr) > apiv1.MaxPointLen && p.Len() > 0 {
			p = p.Parent()
			pointStr = p.String()
			exCut = true
		}
		ev := apiv1.Event{
			ID:           newEventID(),
			Time:         when.UTC(),
			AppID:        in.AppID,
			RequestID:    cut(reqID, maxRequestIDLen),
			SourceIP:     cut(srcIP, maxSourceIPLen),
			Method:       cut(method, maxMethodLen),
			Host:         cut(host, apiv1.MaxHostLen),
			Path:         path,
			AttackType:   d.AttackType,
			Point:        pointStr,
			DetectorID:   d.DetectorID,
			RuleIDs:      d.RuleIDs,
			Excerpt:      excerpt,
			Masked:       masked || exMasked || pointMasked,
			Truncated:    pathCut || exCut,
			Decision:     cmp.Or(d.Decision, in.Decision),
			Status:       in.Status,
			Experimental: d.Experimental,
		}
		if err := ev.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("report: %w", err))
			continue
		}
		events = append(events, ev)
	}
	return events, errors.Join(errs...)
}

// Record kinds in the spool: the first byte of each payload.
const (
	kindEvent    = 'E'
	kindCounters = 'C'
	kindSources  = 'S'
)

func (r *Reporter) spoolRecord(kind byte, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("report: encode: %w", err)
	}
	payload := make([]byte, 0, len(body)+1)
	payload = append(payload, kind)
	payload = append(payload, body...)
	if err := r.spool.Append(payload); err != nil {
		r.m.dropped.WithLabelValues(reasonSpoolError).Inc()
		return fmt.Errorf("report: spool: %w", err)
	}
	return nil
}

func newEventID() string {
	// Version 7: time-ordered, which keeps the cloud's index on event ids
	// appending.
	if id, err := uuid.NewV7(); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

// cut truncates s to n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func (r *Reporter) now() time.Time { return r.cfg.Clock() }

// Stats returns the spool's counts.
func (r *Reporter) Stats() spool.Stats { return r.spool.Stats() }

// Close saves the current minute's counts (they are reported after the
// restart, with the counts to come) and closes the spool. Call it after
// Run has returned.
func (r *Reporter) Close() error {
	return errors.Join(r.saveCounts(), r.saveSources(), r.spool.Close())
}

// countsFile holds the counts of minutes not yet spooled across a restart.
func (r *Reporter) countsFile() string { return filepath.Join(r.cfg.Dir, "counters.json") }

func (r *Reporter) saveCounts() error {
	r.mu.Lock()
	list := make([]*apiv1.Counters, 0, len(r.counts))
	for _, c := range r.counts {
		list = append(list, c)
	}
	r.mu.Unlock()
	if len(list) == 0 {
		os.Remove(r.countsFile())
		return nil
	}
	body, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("save counters: %w", err)
	}
	tmp := r.countsFile() + ".new"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return fmt.Errorf("save counters: %w", err)
	}
	if err := os.Rename(tmp, r.countsFile()); err != nil {
		return fmt.Errorf("save counters: %w", err)
	}
	return nil
}

func (r *Reporter) loadCounts() error {
	body, err := os.ReadFile(r.countsFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	// Whatever happens next, these counts are read only once.
	defer os.Remove(r.countsFile())
	var list []*apiv1.Counters
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("%s: %w", r.countsFile(), err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range list {
		if c == nil {
			continue
		}
		k := counterKey{app: c.AppID, minute: c.Minute.Unix()}
		r.counts[k] = mergeCounters(r.counts[k], c)
	}
	return nil
}
