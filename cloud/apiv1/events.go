package apiv1

import (
	"errors"
	"fmt"
	"time"
)

// Decision is what the node did with a request that carried an attack.
type Decision string

const (
	// DecisionBlocked: the node answered with its block page.
	DecisionBlocked Decision = "blocked"
	// DecisionPassed: the attack reached the application because the
	// filtration mode, an allowlist or an experimental rule let it through.
	DecisionPassed Decision = "passed"
	// DecisionMonitored: the application is in monitoring mode.
	DecisionMonitored Decision = "monitored"
)

// Valid reports whether d is one of the known decisions.
func (d Decision) Valid() bool {
	switch d {
	case DecisionBlocked, DecisionPassed, DecisionMonitored:
		return true
	}
	return false
}

// Event is the meta-information about one detected attack. It never carries
// a whole request, header or body: only the excerpt around the matched
// fragment, already masked on the node.
type Event struct {
	// ID is a UUID chosen by the node; the cloud stores each ID once.
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	NodeID    string    `json:"node_id,omitempty"` // filled by the cloud from the credential
	AppID     int64     `json:"app_id"`
	RequestID string    `json:"request_id"`
	SourceIP  string    `json:"source_ip"`
	Method    string    `json:"method"`
	Host      string    `json:"host"`
	// Path is the request path with sensitive values masked.
	Path string `json:"path"`
	// AttackType is a detector class: sqli, xss, rce, ptrav, ...
	AttackType string `json:"attack_type"`
	// Point is where the value sits, in the point syntax of docs/POINTS.md.
	Point string `json:"point"`
	// DetectorID is the stable id of the detector or custom rule that fired.
	DetectorID string  `json:"detector_id"`
	RuleIDs    []int64 `json:"rule_ids,omitempty"`
	// Excerpt is a short, masked window around the matched fragment.
	Excerpt string `json:"excerpt"`
	// Masked says that at least one value in Path or Excerpt was masked.
	Masked       bool     `json:"masked,omitempty"`
	Truncated    bool     `json:"truncated,omitempty"`
	Decision     Decision `json:"decision"`
	Status       int      `json:"status"`
	Experimental bool     `json:"experimental,omitempty"`
}

// Limits on an event's free-text fields. A node truncates to them; the cloud
// refuses longer ones.
const (
	MaxExcerptLen = 256
	MaxPathLen    = 1024
	MaxHostLen    = 255
	MaxPointLen   = 512
)

// Validate checks the fields a cloud must be able to rely on.
func (e *Event) Validate() error {
	var errs []error
	if e.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if e.Time.IsZero() {
		errs = append(errs, errors.New("time is empty"))
	}
	if e.AttackType == "" {
		errs = append(errs, errors.New("attack_type is empty"))
	}
	if !e.Decision.Valid() {
		errs = append(errs, fmt.Errorf("decision %q is not one of blocked, passed, monitored", e.Decision))
	}
	if len(e.Excerpt) > MaxExcerptLen {
		errs = append(errs, fmt.Errorf("excerpt is %d bytes, limit %d", len(e.Excerpt), MaxExcerptLen))
	}
	if len(e.Path) > MaxPathLen {
		errs = append(errs, fmt.Errorf("path is %d bytes, limit %d", len(e.Path), MaxPathLen))
	}
	if len(e.Host) > MaxHostLen {
		errs = append(errs, fmt.Errorf("host is %d bytes, limit %d", len(e.Host), MaxHostLen))
	}
	if len(e.Point) > MaxPointLen {
		errs = append(errs, fmt.Errorf("point is %d bytes, limit %d", len(e.Point), MaxPointLen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("event %q: %w", e.ID, err)
	}
	return nil
}

// Counters are one node's request counters for one application and one
// minute. They are summed by the cloud; a node sends each minute once per
// application, with its (node, app, minute) key making the upload
// idempotent.
type Counters struct {
	AppID    int64     `json:"app_id"`
	Minute   time.Time `json:"minute"` // start of the minute, UTC
	Requests uint64    `json:"requests"`
	Blocked  uint64    `json:"blocked"`
	// Attacks counts detected attacks by attack type.
	Attacks map[string]uint64 `json:"attacks,omitempty"`
}

// ReportBatch is the body of POST /api/v1/ingest (possibly gzip-encoded with
// Content-Encoding: gzip).
type ReportBatch struct {
	Version  int        `json:"version"`
	Events   []Event    `json:"events,omitempty"`
	Counters []Counters `json:"counters,omitempty"`
	// Sources are per-source request counts the cloud's brute-force and
	// forced-browsing triggers read (sources.go).
	Sources []SourceCounters `json:"sources,omitempty"`
	// Node health carried on every upload so the console can show it.
	Health *NodeHealth `json:"health,omitempty"`
}

// NodeHealth is what a node says about itself on each upload.
type NodeHealth struct {
	AgentVersion   string `json:"agent_version"`
	RulesetVersion int64  `json:"ruleset_version"`
	SpoolEvents    int64  `json:"spool_events"`
	SpoolBytes     int64  `json:"spool_bytes"`
}

// Limits of one ingest batch.
const (
	MaxBatchEvents = 5000
	MaxBatchBytes  = 8 << 20 // after decompression
)

// IngestResult is the cloud's answer to a ReportBatch.
type IngestResult struct {
	// Accepted counts events stored now; Duplicates counts events whose id
	// was already stored (a retried upload). Both mean "delivered".
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Rejected lists events the cloud refused for good (invalid, or still
	// carrying a value that looks sensitive). A node must not retry them.
	Rejected []RejectedEvent `json:"rejected,omitempty"`
}

// RejectedEvent says why one event of a batch was refused.
type RejectedEvent struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}
