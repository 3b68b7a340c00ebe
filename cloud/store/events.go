package store

import (
	"context"
	"net/netip"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Events keeps what nodes report: attack events and request counters.
type Events interface {
	// Ingest stores one batch of one node in one transaction. An event
	// whose id the tenant already has is a duplicate (a retried upload) and
	// is not stored again; counters replace an earlier upload of the same
	// (node, application, minute); the node's last-seen time and health
	// are updated.
	Ingest(ctx context.Context, b *IngestBatch) (IngestCounts, error)
	// SearchEvents returns events matching f, newest first, at most
	// p.Limit of them, and the cursor of the next page ("" at the end).
	SearchEvents(ctx context.Context, tenantID int64, f EventFilter, p Page) ([]Event, string, error)
	GetEvent(ctx context.Context, tenantID int64, id string) (Event, error)
	// AggregateEvents counts events matching f, grouped as a says.
	AggregateEvents(ctx context.Context, tenantID int64, f EventFilter, a Aggregation) ([]AggregateRow, error)
	// GroupAttacks folds events into attacks: events of one application
	// with the same attack type, point and source, each less than
	// AttackGap after the previous one. Newest attacks first.
	GroupAttacks(ctx context.Context, tenantID int64, f EventFilter, limit int) ([]Attack, error)
	// Traffic sums the request counters of f's range in buckets.
	Traffic(ctx context.Context, tenantID int64, f TrafficFilter) ([]TrafficRow, error)
}

// IngestBatch is one validated upload of one node.
type IngestBatch struct {
	TenantID int64
	NodeID   string
	At       time.Time // when the cloud received it
	ClientIP string
	Health   *apiv1.NodeHealth
	// Events have passed apiv1.Event.Validate and carry a UUID ID (stored
	// as its 16 bytes, read back in canonical form) and a parseable
	// SourceIP; NodeID is ignored (the batch's NodeID is stored).
	Events   []apiv1.Event
	Counters []apiv1.Counters
	// Sources have passed apiv1.SourceCounters.Validate; they replace an
	// earlier upload of the same (node, application, minute, source, path).
	Sources []apiv1.SourceCounters
}

// IngestCounts says what became of a batch's events.
type IngestCounts struct {
	Accepted   int
	Duplicates int
}

// Event is a stored event: the node's report plus what the cloud adds.
type Event struct {
	apiv1.Event
	TenantID   int64     `json:"tenant_id"`
	ReceivedAt time.Time `json:"received_at"`
}

// EventFilter selects events. Zero fields select everything.
type EventFilter struct {
	From, To   time.Time // From <= time < To
	AppID      *int64
	AttackType string
	// Source selects a source address or network; a single address is a
	// /32 or /128 prefix.
	Source   netip.Prefix
	Decision apiv1.Decision
	Point    string
	NodeID   string
}

// Page asks for one page of a listing: at most Limit items after the
// position Cursor (as returned with the previous page).
type Page struct {
	Limit  int
	Cursor string
}

// GroupBy names what AggregateEvents groups by.
type GroupBy string

const (
	ByNothing    GroupBy = ""
	ByAttackType GroupBy = "attack_type"
	BySource     GroupBy = "source_ip"
	ByPoint      GroupBy = "point"
	ByDecision   GroupBy = "decision"
	ByApp        GroupBy = "app_id"
	ByNode       GroupBy = "node_id"
)

// GroupBys lists the valid GroupBy values.
var GroupBys = []GroupBy{ByNothing, ByAttackType, BySource, ByPoint, ByDecision, ByApp, ByNode}

// Aggregation says how to group counted events: by a field, and by time
// buckets when Bucket > 0. Without buckets the rows are the Limit largest
// groups; with buckets, all groups of each bucket, oldest bucket first.
type Aggregation struct {
	By     GroupBy
	Bucket time.Duration
	Limit  int
}

// AggregateRow is one group of an aggregation.
type AggregateRow struct {
	Bucket *time.Time `json:"bucket,omitempty"`
	Key    string     `json:"key"`
	Count  int64      `json:"count"`
}

// AttackGap is the longest silence inside one attack: a later event with
// the same application, type, point and source starts a new attack.
const AttackGap = time.Hour

// Attack is a group of events that an operator reads as one attack.
type Attack struct {
	AppID      int64     `json:"app_id"`
	AttackType string    `json:"attack_type"`
	Point      string    `json:"point"`
	SourceIP   string    `json:"source_ip"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	Events     int64     `json:"events"`
	Blocked    int64     `json:"blocked"`
}

// TrafficFilter selects request counters.
type TrafficFilter struct {
	From, To time.Time
	AppID    *int64
	NodeID   string
	Bucket   time.Duration // minute granularity at least
}

// TrafficRow is the sum of counters in one bucket.
type TrafficRow struct {
	Bucket   time.Time `json:"bucket"`
	Requests int64     `json:"requests"`
	Blocked  int64     `json:"blocked"`
	Attacks  int64     `json:"attacks"`
}
