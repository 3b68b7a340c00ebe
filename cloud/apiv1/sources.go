package apiv1

import (
	"fmt"
	"net/netip"
	"time"
)

// SourceCounters count one minute of one source's requests to one path of
// one application, answered or not, attacks or not. Events only tell the
// cloud about attacks; a password-guessing run on a login form or a scan
// for hidden files is made of requests that are each harmless, and only
// their number from one source says what they are. The cloud's
// brute-force triggers sum Requests for a path, its forced-browsing
// triggers sum NotFound.
//
// A node sends each (application, minute, source, path) once; a re-sent
// one replaces the earlier upload. It need not send every path: a node
// bounds what it keeps per minute (the busiest sources and paths), since
// a source that matters is a busy one.
type SourceCounters struct {
	AppID    int64     `json:"app_id"`
	Minute   time.Time `json:"minute"` // start of the minute, UTC
	SourceIP string    `json:"source_ip"`
	// Path is the request path without the query, masked like an event's.
	// An empty Path carries the source's requests that the node counted
	// without their path (its bound on paths was reached): they count for
	// forced browsing, not for brute force on any path.
	Path     string `json:"path"`
	Requests uint64 `json:"requests"`
	// NotFound counts the answers with status 404 among Requests.
	NotFound uint64 `json:"not_found"`
}

// MaxBatchSources bounds the SourceCounters of one batch.
const MaxBatchSources = 10000

// Validate checks what the cloud can check without knowing the tenant.
func (c *SourceCounters) Validate() error {
	switch {
	case c.Minute.IsZero() || !c.Minute.Equal(c.Minute.Truncate(time.Minute)):
		return fmt.Errorf("minute must be the start of a minute")
	case len(c.Path) > MaxPathLen:
		return fmt.Errorf("path is %d bytes, limit %d", len(c.Path), MaxPathLen)
	case c.NotFound > c.Requests:
		return fmt.Errorf("not_found %d is more than requests %d", c.NotFound, c.Requests)
	case c.Requests > 1<<53:
		return fmt.Errorf("requests out of range")
	}
	if a, err := netip.ParseAddr(c.SourceIP); err != nil || a.Zone() != "" {
		return fmt.Errorf("source_ip is not an IP address")
	}
	return nil
}
