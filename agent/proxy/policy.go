package proxy

import (
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// Policy is the part of the ruleset in force that the proxy applies to each
// request besides the detector's rules: filtration modes by path prefix,
// application-scoped IP lists and rate limits. Rule sync (agent/sync)
// compiles it; the daemon hands the proxy an adapter, so that the proxy
// does not depend on rule sync. Implementations answer from memory and are
// safe for concurrent use: they are asked on every request.
type Policy interface {
	// Mode returns the filtration mode ("off", "monitoring",
	// "safe_blocking", "block") the ruleset sets for a request of
	// application app to path; ok is false when the application's
	// configured mode applies.
	Mode(app int64, path string) (mode string, ok bool)
	// Source returns the application-scoped list that holds address a
	// at now: SourceDeny, SourceAllow, SourceGray or SourceUnlisted.
	// Node-wide lists are not its business (the XDP filter's deny and
	// allow lists, the proxy's gray list).
	Source(app int64, a netip.Addr, now time.Time) string
	// RateLimit returns the rate limit for a request of application app
	// to path, if there is one.
	RateLimit(app int64, path string) (RateLimit, bool)
}

// RateLimit is a rate limit rule: each source may send Requests requests
// per Period to the paths under PathPrefix, in bursts of up to Burst
// (Requests when 0).
type RateLimit struct {
	RuleID     int64
	PathPrefix string
	Requests   int64
	Period     time.Duration
	Burst      int64
}

// Answers of Policy.Source.
const (
	SourceUnlisted = ""
	SourceDeny     = "deny"
	SourceAllow    = "allow"
	SourceGray     = "gray"
)

// Attack types of the requests the policy refuses, as events and the type
// label of palisade_attacks_total know them.
const (
	AttackIPDeny    = "ip_deny"    // source on an application-scoped denylist
	AttackRateLimit = "rate_limit" // source over a rate limit
)

// Detector ids of policy events.
const (
	detectorIPDeny    = "policy.ip_deny"
	detectorRateLimit = "policy.rate_limit"
)

// eventInterval is how often one source's refusals of one kind (a
// denylist, one rate limit rule) are reported as an event: a refused
// client hammering the node must not fill the report spool and push out
// the events of real attacks. Every refusal is still counted.
const eventInterval = time.Minute

// admission is what the policy says about a request before its body is
// read.
type admission struct {
	mode   Mode
	scoped string // application-scoped list of the source
	// allowlisted is known once allowKnown: the global allowlist is only
	// asked when an answer depends on it.
	allowlisted, allowKnown bool
	// refusal, when set, is the answer: the request is not forwarded.
	refusal *refusal
	// overLimit is a rate limit detection of a request that goes on
	// anyway (monitoring mode); quiet says its event is left out.
	overLimit *detect.Detection
	quiet     bool
}

// refusal is a request the policy answers itself.
type refusal struct {
	status     int   // 403 or 429
	retryAfter int64 // seconds, for 429
	detection  detect.Detection
	quiet      bool // counted, not reported as an event
}

// admit applies the policy to a request of application a to rawPath (as
// sent, without the query) from client.
func (p *Proxy) admit(a *app, rawPath string, client netip.Addr) admission {
	ad := admission{mode: a.mode}
	pol := p.opts.Policy
	if pol == nil {
		return ad
	}
	path := policyPath(rawPath)
	if m, ok := pol.Mode(a.id, path); ok {
		ad.mode = parseMode(m)
	}
	if ad.mode == ModeOff {
		return ad
	}
	now := p.now()
	ad.scoped = pol.Source(a.id, client, now)
	switch ad.scoped {
	case SourceAllow:
		ad.allowlisted, ad.allowKnown = true, true
	case SourceDeny:
		// Denylisted sources are refused in every mode but off, as the
		// XDP filter drops node-wide ones; allowlisted ones never are.
		if !ad.isAllowlisted(p, client) {
			ad.refusal = &refusal{
				status:    403,
				detection: detect.Detection{Type: AttackIPDeny, Point: point.Path(), DetectorID: detectorIPDeny, Block: true},
				quiet:     !p.eventDue(a.id, 0, AttackIPDeny, client, now),
			}
			return ad
		}
	}
	rl, ok := pol.RateLimit(a.id, path)
	if !ok || ad.isAllowlisted(p, client) {
		return ad
	}
	within, wait := p.limits.take(bucketKey{app: a.id, rule: rl.RuleID, scope: rl.PathPrefix, src: client}, rl, now)
	if within {
		return ad
	}
	a.metrics.rateLimited.Inc()
	det := detect.Detection{Type: AttackRateLimit, Point: point.Path(), DetectorID: detectorRateLimit, RuleID: rl.RuleID}
	quiet := !p.eventDue(a.id, rl.RuleID, AttackRateLimit, client, now)
	if ad.mode == ModeMonitoring {
		// Monitoring never blocks: the request goes on, reported.
		ad.overLimit, ad.quiet = &det, quiet
		return ad
	}
	det.Block = true
	ad.refusal = &refusal{status: 429, retryAfter: retryAfterSeconds(wait), detection: det, quiet: quiet}
	return ad
}

// isAllowlisted reports whether client is allowlisted for this request:
// on the application's allowlist or the node's.
func (ad *admission) isAllowlisted(p *Proxy, client netip.Addr) bool {
	if !ad.allowKnown {
		ad.allowlisted = p.opts.Allowlisted != nil && p.opts.Allowlisted(client)
		ad.allowKnown = true
	}
	return ad.allowlisted
}

// isGraylisted reports whether client is graylisted for this request: on
// the application's gray list or the proxy's.
func (ad *admission) isGraylisted(p *Proxy, client netip.Addr) bool {
	return ad.scoped == SourceGray || p.gray.Contains(client)
}

// verdict is the verdict of a refused request.
func (r *refusal) verdict(mode Mode) verdict {
	v := verdict{block: true, decision: DecisionBlocked, mode: mode, result: &detect.Result{Detections: []detect.Detection{r.detection}}}
	if r.quiet {
		v.unreported = r.detection.Type
	}
	return v
}

// eventDue reports whether a refusal of kind for client under rule should
// become an event: the first in eventInterval does.
func (p *Proxy) eventDue(app, rule int64, kind string, client netip.Addr, now time.Time) bool {
	ok, _ := p.eventGate.take(bucketKey{app: app, rule: rule, scope: kind, src: client},
		RateLimit{Requests: 1, Period: eventInterval, Burst: 1}, now)
	return ok
}

// policyPath is the path rule prefixes are matched against: percent-decoded
// once and cleaned of dot segments and repeated slashes, the way an
// application's router sees it, so that /%61dmin, //admin and /x/../admin
// all meet the rules for /admin. A trailing slash is kept.
func policyPath(raw string) string {
	p := raw
	if strings.IndexByte(p, '%') >= 0 {
		if dec, err := url.PathUnescape(p); err == nil {
			p = dec
		}
	}
	if !strings.HasPrefix(p, "/") {
		return p // "*" of OPTIONS
	}
	if strings.Contains(p, "//") || strings.Contains(p, "/.") {
		clean := path.Clean(p)
		if strings.HasSuffix(p, "/") && clean != "/" {
			clean += "/"
		}
		p = clean
	}
	return p
}
