package proxy

import (
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/report"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// verdict is what the proxy decided about one request.
type verdict struct {
	block    bool
	decision string // request decision (metrics label)
	mode     Mode   // the filtration mode applied
	result   *detect.Result
	// allowlisted and graylisted describe the source at decision time.
	allowlisted, graylisted bool
	// unreported is an attack type counted but left out of the events
	// (a refused source already reported less than eventInterval ago).
	unreported string
	detectTime time.Duration
}

// inspect runs the engine on a request of application a from client and
// applies the filtration mode and the policy's admission of the request.
func (p *Proxy) inspect(a *app, ad *admission, req *detect.Request, client netip.Addr) verdict {
	v := verdict{mode: ad.mode}
	if ad.mode == ModeOff {
		v.decision = DecisionUninspected
		return v
	}
	req.AppID = a.id
	start := time.Now()
	res := p.opts.Engine.Inspect(req)
	v.result, v.detectTime = res, time.Since(start)
	a.metrics.detection.Observe(v.detectTime.Seconds())
	if res.Truncated {
		a.metrics.truncated.Inc()
	}
	if ad.overLimit != nil {
		res.Detections = append(res.Detections, *ad.overLimit)
		if ad.quiet {
			v.unreported = AttackRateLimit
		}
	}
	if !res.Attack() {
		v.decision = DecisionClean
		return v
	}
	v.allowlisted = ad.isAllowlisted(p, client)
	v.graylisted = ad.isGraylisted(p, client)
	v.block = decide(ad.mode, res, v.allowlisted, v.graylisted)
	switch {
	case v.block:
		v.decision = DecisionBlocked
	case ad.mode == ModeMonitoring:
		v.decision = DecisionMonitored
	default:
		v.decision = DecisionPassed
	}
	return v
}

// decide applies the filtration mode (DESIGN.md): allowlisted sources are
// never blocked; a virtual patch blocks in every mode but off; other
// blocking detections block in block mode, and in safe_blocking mode only
// when the source is graylisted. Experimental detections never block.
func decide(mode Mode, res *detect.Result, allowlisted, graylisted bool) bool {
	if mode == ModeOff || allowlisted {
		return false
	}
	if res.VirtualPatch() != nil {
		return true
	}
	if !res.Blocked() {
		return false
	}
	switch mode {
	case ModeBlock:
		return true
	case ModeSafeBlocking:
		return graylisted
	}
	return false
}

// attackDecision is the event decision for one detection of a request.
func attackDecision(mode Mode, v *verdict, d *detect.Detection) apiv1.Decision {
	switch {
	case v.block && !d.Experimental:
		return apiv1.DecisionBlocked
	case mode == ModeMonitoring:
		return apiv1.DecisionMonitored
	}
	return apiv1.DecisionPassed
}

// exchange is what record needs to know about a finished request.
type exchange struct {
	start                time.Time
	method, host, target string
	client               netip.Addr
	// requestID is the id the client was shown (block page), if any.
	requestID string
	// status is the response status the client got.
	status int
}

// record counts a finished request in the metrics, the per-minute
// counters and the per-source counters, and hands its detections to the
// reporting pipeline, which masks them before anything is written.
func (p *Proxy) record(a *app, v *verdict, ex *exchange) {
	am := a.metrics
	am.decisions[v.decision].Inc()
	am.duration.Observe(time.Since(ex.start).Seconds())
	var types []string
	if v.result != nil && len(v.result.Detections) > 0 {
		// One attack per type and decision per request, however many
		// detectors agreed on it.
		seen := map[[2]string]bool{}
		for i := range v.result.Detections {
			d := &v.result.Detections[i]
			dec := string(attackDecision(v.mode, v, d))
			if k := [2]string{d.Type, dec}; !seen[k] {
				seen[k] = true
				am.attack(d.Type, dec)
			}
			if !slices.Contains(types, d.Type) {
				types = append(types, d.Type)
			}
		}
	}
	r := p.opts.Reporter
	if r == nil {
		return
	}
	decision := requestDecision(v.mode, v)
	r.Count(a.id, decision, types...)
	// Every request, attack or not: brute force and forced browsing are
	// made of requests that are each harmless.
	r.CountSource(a.id, ex.client, ex.target, ex.status)
	if len(types) == 0 {
		return
	}
	res := v.result
	if v.unreported != "" {
		res = withoutType(res, v.unreported)
		if len(res.Detections) == 0 {
			return
		}
	}
	id := ex.requestID
	if id == "" {
		id = newRequestID()
	}
	in := report.Input{
		Time:      ex.start,
		AppID:     a.id,
		RequestID: id,
		SourceIP:  ex.client.String(),
		Method:    ex.method,
		Host:      ex.host,
		Target:    ex.target,
		Decision:  decision,
		Status:    ex.status,
	}
	in.AddResult(res, func(d *detect.Detection) apiv1.Decision { return attackDecision(v.mode, v, d) })
	if err := r.Report(in); err != nil {
		p.log.Warn("events not reported", "app", a.name, "error", err)
	}
}

// withoutType returns res without the detections of type typ.
func withoutType(res *detect.Result, typ string) *detect.Result {
	out := *res
	out.Detections = make([]detect.Detection, 0, len(res.Detections))
	for _, d := range res.Detections {
		if d.Type != typ {
			out.Detections = append(out.Detections, d)
		}
	}
	return &out
}

// requestDecision is what the node did with a request, as the cloud's
// counters know it: empty without an attack.
func requestDecision(mode Mode, v *verdict) apiv1.Decision {
	switch {
	case v.block:
		return apiv1.DecisionBlocked
	case v.result == nil || !v.result.Attack():
		return ""
	case mode == ModeMonitoring:
		return apiv1.DecisionMonitored
	}
	return apiv1.DecisionPassed
}

// headerMap builds the engine's view of the header fields: names as sent
// (the engine lower-cases them), Host left out (it is Request.Host). One
// backing array holds every value.
func headerMap(n int, each func(fn func(name, value string))) http.Header {
	h := make(http.Header, n)
	vals := make([]string, 0, n)
	each(func(name, value string) {
		if len(name) == 4 && equalFold(name, "host") {
			return
		}
		if old, ok := h[name]; ok {
			h[name] = append(old, value)
			return
		}
		vals = append(vals, value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	})
	return h
}

// splitTarget splits an origin-form target into path and raw query.
func splitTarget(target string) (path, query string) {
	for i := 0; i < len(target); i++ {
		if target[i] == '?' {
			return target[:i], target[i+1:]
		}
	}
	return target, ""
}
