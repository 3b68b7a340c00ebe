// Package detect is the node's L7 detection engine. Inspect splits an HTTP
// request into every value it carries, each addressed by a point (see
// cloud/apiv1/point and docs/POINTS.md), decodes them recursively (percent,
// HTML entities, JS escapes, base64, form, JSON, XML, multipart, cookies,
// JWT, GraphQL, gzip/deflate bodies), runs the attack detectors of
// agent/detect/attack on each decoded value, and applies the ruleset:
// custom detectors, virtual patches, attack types disabled at points.
//
// The engine is pure computation: no I/O, no goroutines, safe for
// concurrent use. Its work is bounded by Options whatever the input; a
// request that exceeds a bound is inspected up to it and marked Truncated,
// and a compression or nesting bomb is itself reported as a data_bomb
// detection.
package detect

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// Options bound the engine's work per request. Zero fields take the
// defaults.
type Options struct {
	// MaxBody is how many body bytes are inspected (default 1 MiB). The
	// proxy should buffer at most as much.
	MaxBody int
	// MaxInflated bounds a decompressed body (default 4 MiB), and
	// MaxInflateRatio its ratio to the compressed size (default 100).
	MaxInflated     int
	MaxInflateRatio int
	// MaxDepth bounds nesting inside one JSON, XML or GraphQL document
	// (default 64); deeper documents are a data_bomb.
	MaxDepth int
	// MaxLayers bounds nested decodings of one value, e.g. JSON inside
	// base64 inside a cookie (default 4).
	MaxLayers int
	// MaxValues bounds how many values one request yields (default 4096).
	MaxValues int
	// MaxValueLen is the longest value the detectors read (default 64 KiB);
	// longer values are inspected in their first MaxValueLen bytes and in
	// their last MaxValueLen/4.
	MaxValueLen int
	// CleanCache is how many header and cookie values the detectors found
	// nothing in are remembered across requests, to skip them next time
	// (default 4096 entries; negative: none). See cleanCache.
	CleanCache int
	// KeepValues fills Result.Values for every request, not only for those
	// with a detection (tests and tools that list what a request carries).
	KeepValues bool
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxBody, 1<<20)
	def(&o.MaxInflated, 4<<20)
	def(&o.MaxInflateRatio, 100)
	def(&o.MaxDepth, 64)
	def(&o.MaxLayers, 4)
	def(&o.MaxValues, 4096)
	def(&o.MaxValueLen, 64<<10)
	if o.CleanCache == 0 {
		o.CleanCache = 4096
	}
	return o
}

// Engine inspects requests. Create it with New; it is safe for concurrent
// use, and SetRules may be called while requests are being inspected.
type Engine struct {
	opts  Options
	rules atomic.Pointer[Rules]
	// noPrefilter makes every detector look at every value (see
	// attack.ScanWithoutPrefilter); tests and benchmarks set it to check
	// and measure the prefilter.
	noPrefilter bool
	clean       *cleanCache // nil when Options.CleanCache < 0
}

// New returns an engine with no rules (built-in detectors only).
func New(opts Options) *Engine {
	e := &Engine{opts: opts.withDefaults()}
	e.clean = newCleanCache(e.opts.CleanCache)
	e.rules.Store(&Rules{apps: map[int64]*appRules{}})
	return e
}

// SetRules atomically replaces the ruleset: requests already being
// inspected finish with the rules they started with, later ones use r.
// A nil r removes every rule.
func (e *Engine) SetRules(r *Rules) {
	if r == nil {
		r = &Rules{apps: map[int64]*appRules{}}
	}
	e.rules.Store(r)
}

// Rules returns the ruleset in use (for masking: Rules.Sensitive).
func (e *Engine) Rules() *Rules { return e.rules.Load() }

// Request is what the engine inspects. Body holds what the proxy buffered
// (at most Options.MaxBody bytes are read); BodyTruncated says the body was
// longer. The engine does not keep references to Body or Header.
type Request struct {
	AppID           int64
	Method          string
	Host            string
	Path            string // raw (percent-encoded) path, without the query
	RawQuery        string
	Header          http.Header
	Body            []byte
	ContentType     string
	ContentEncoding string
	BodyTruncated   bool
}

// Detection is one attack found in a request.
type Detection struct {
	Type       string      // attack type: sqli, xss, ... or a custom detector's type, or "vpatch"
	Point      point.Point // where the value is
	DetectorID string      // stable id of the detector: "sqli.tokenizer", "custom.<rule>", "vpatch"
	Value      string      // the decoded value the match is in, as walked (listed in Result.Values when kept), never a reading of it
	Start, End int         // the matched fragment: Value[Start:End]
	RuleID     int64       // the rule behind a custom detector or virtual patch
	// Experimental detections come from experimental custom detectors, or
	// from built-in detectors that only report (scanner.console): reported,
	// never blocking, and not counted by the cloud's triggers, so that an
	// administrator of phpMyAdmin is not denylisted for using it.
	Experimental bool
	Block        bool
}

// Fragment returns the matched part of the value.
func (d *Detection) Fragment() string { return d.Value[d.Start:d.End] }

// Value is one decoded value of a request and its point.
type Value struct {
	Point point.Point
	Value string
}

// Result is what Inspect found.
type Result struct {
	Detections []Detection
	// Values lists every value the engine decoded, with its point, in
	// request order. Masking uses it to find sensitive values wherever
	// they appear in what the node reports, so it is filled when there is
	// something to report (a detection) or Options.KeepValues asks.
	Values []Value
	// Truncated says part of the request was not inspected because it
	// exceeded a bound (body size, value count, nesting, layers).
	Truncated bool
	// RulesVersion is the version of the ruleset applied.
	RulesVersion int64
}

// Attack reports whether anything was detected.
func (r *Result) Attack() bool { return len(r.Detections) > 0 }

// Blocked reports whether a detection asks for the request to be blocked
// (the filtration mode decides whether it actually is).
func (r *Result) Blocked() bool {
	for i := range r.Detections {
		if r.Detections[i].Block {
			return true
		}
	}
	return false
}

// VirtualPatch returns the first virtual patch that matched, or nil.
// Virtual patches block in every filtration mode but off.
func (r *Result) VirtualPatch() *Detection {
	for i := range r.Detections {
		if r.Detections[i].Type == VirtualPatchType {
			return &r.Detections[i]
		}
	}
	return nil
}

// Inspect decodes and inspects one request.
func (e *Engine) Inspect(req *Request) *Result {
	rules := e.rules.Load()
	app := rules.forApp(req.AppID)
	// Virtual patches read the values as the walk ends.
	keep := e.opts.KeepValues || len(app.patches) > 0
	w := walkers.Get().(*walker)
	*w = walker{
		opts:  &e.opts,
		rules: app,
		req:   req,
		res:   &Result{RulesVersion: rules.Version()},

		keep:        keep,
		detect:      true,
		noPrefilter: e.noPrefilter,
		clean:       e.clean,
		stack:       w.stack[:0],
		recent:      w.recent,
	}
	w.run()
	res := w.res
	w.release()
	if res.Attack() && !keep {
		// Something to report: walk again for the values masking needs.
		// Decoding is deterministic, so this walk meets the same values at
		// the same points, and costs a fraction of the first (no
		// detectors); clean requests, the most, never pay for it.
		*w = walker{opts: &e.opts, rules: app, req: req, res: &Result{}, keep: true, stack: w.stack[:0], recent: w.recent}
		w.run()
		res.Values = w.res.Values
		w.release()
	}
	walkers.Put(w)
	return res
}

// walkers keeps walkers between requests for their scratch space (the
// point stack and the table of recent scans), which no result refers to.
var walkers = sync.Pool{New: func() any { return new(walker) }}
