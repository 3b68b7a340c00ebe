package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Triggers are a tenant's triggers, the counts they are judged on, and
// what they fired. A trigger watches what nodes report, per source IP,
// and acts when a source crosses its threshold within its window: it
// puts the source on the deny or gray list for a while, or notifies.
type Triggers interface {
	// CreateTrigger stores t (validated by the caller); t.ID is set.
	// ErrConflict when the tenant has a trigger of that name.
	CreateTrigger(ctx context.Context, by Actor, t *Trigger) error
	GetTrigger(ctx context.Context, tenantID, id int64) (Trigger, error)
	ListTriggers(ctx context.Context, tenantID int64) ([]Trigger, error)
	// ReplaceTrigger changes everything but the id of a trigger.
	ReplaceTrigger(ctx context.Context, by Actor, t *Trigger) error
	DeleteTrigger(ctx context.Context, by Actor, tenantID, id int64) error

	// CountForTrigger counts, for each of sources, what t's condition
	// counts from since on (t's application, or every application when
	// t.AppID is 0). Sources with nothing to count are left out.
	CountForTrigger(ctx context.Context, t *Trigger, sources []netip.Addr, since time.Time) (map[netip.Addr]int64, error)
	// HeldSources answers which of sources t fired for already, with a
	// firing that still holds at now: they need not be judged again.
	HeldSources(ctx context.Context, t *Trigger, sources []netip.Addr, now time.Time) (map[netip.Addr]bool, error)
	// FireTrigger records that f.TriggerID fired for f.Source and does
	// what its action says to the IP lists (bumping the ruleset version
	// when they change), in one transaction, unless the trigger fired for
	// that source and application already and that firing still holds
	// (Until after f.FiredAt): then it changes nothing and answers false.
	// Any number of cloud replicas may call it at once for the same
	// source; exactly one of them fires.
	FireTrigger(ctx context.Context, t *Trigger, f *Firing) (bool, error)
	// ListFirings lists a tenant's firings, newest first; triggerID 0 lists
	// every trigger's.
	ListFirings(ctx context.Context, tenantID, triggerID int64, limit int) ([]Firing, error)
}

// Condition kinds: what a trigger counts per source.
const (
	// CountAttacks counts attack events (of AttackType, or of any type).
	CountAttacks = "attacks"
	// CountDistinctAttacks counts distinct attacks: events that differ in
	// application, attack type or point (the grouping of GroupAttacks).
	CountDistinctAttacks = "distinct_attacks"
	// CountBruteForce counts requests to Path (and paths under it).
	CountBruteForce = "brute_force"
	// CountForcedBrowsing counts requests answered 404.
	CountForcedBrowsing = "forced_browsing"
)

// Action kinds: what a trigger does to a source that crossed its
// threshold.
const (
	ActionDeny   = "deny"   // deny list for Duration: dropped at the NIC when the trigger covers every application
	ActionGray   = "gray"   // gray list for Duration: blocked in safe_blocking mode
	ActionNotify = "notify" // only tell the integration
)

// Trigger turns what nodes report into rules.
type Trigger struct {
	ID       int64  `json:"id"`
	TenantID int64  `json:"tenant_id"`
	Name     string `json:"name"`
	Enabled  bool   `json:"enabled"`
	// AppID limits the trigger to one application's reports, and the IP
	// entry it makes to that application (enforced at L7). 0 counts every
	// application together and lists the source for the whole node.
	AppID     int64            `json:"app_id,omitempty"`
	Condition TriggerCondition `json:"condition"`
	Action    TriggerAction    `json:"action"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

// TriggerCondition is "Threshold or more of Kind from one source within
// WindowSeconds".
type TriggerCondition struct {
	Kind string `json:"kind"`
	// AttackType narrows attacks to one type (empty: every type).
	AttackType string `json:"attack_type,omitempty"`
	// Path is what brute_force watches: this path and the paths under it.
	Path          string `json:"path,omitempty"`
	Threshold     int64  `json:"threshold"`
	WindowSeconds int64  `json:"window_seconds"`
}

// TriggerAction is what a trigger does, and whom it tells.
type TriggerAction struct {
	Kind string `json:"kind"`
	// DurationSeconds is how long a deny or gray entry lasts.
	DurationSeconds int64 `json:"duration_seconds,omitempty"`
	// IntegrationID, when set, is notified of every firing (required for
	// notify).
	IntegrationID int64 `json:"integration_id,omitempty"`
}

// Limits of a trigger.
const (
	MaxTriggerWindow   = 7 * 24 * time.Hour
	MaxTriggerDuration = 365 * 24 * time.Hour
	MaxTriggerName     = 128
)

// Window is the condition's window as a duration.
func (c TriggerCondition) Window() time.Duration { return time.Duration(c.WindowSeconds) * time.Second }

// Duration is how long the action holds: the entry's lifetime for deny
// and gray, and for notify the window (a source is reported once per
// window, not once per event).
func (t *Trigger) Duration() time.Duration {
	if t.Action.Kind == ActionNotify {
		return t.Condition.Window()
	}
	return time.Duration(t.Action.DurationSeconds) * time.Second
}

// Validate checks a trigger the way the API does before storing it.
func (t *Trigger) Validate() error {
	var errs []error
	if t.Name == "" || len(t.Name) > MaxTriggerName {
		errs = append(errs, fmt.Errorf("name must be 1 to %d bytes", MaxTriggerName))
	}
	c := t.Condition
	switch c.Kind {
	case CountAttacks:
		if c.AttackType != "" && !apiv1.IsAttackTypeName(c.AttackType) {
			errs = append(errs, fmt.Errorf("condition: attack_type %q is not an attack type name", c.AttackType))
		}
	case CountDistinctAttacks, CountForcedBrowsing:
		if c.AttackType != "" {
			errs = append(errs, fmt.Errorf("condition: attack_type is only for %s", CountAttacks))
		}
	case CountBruteForce:
		if !strings.HasPrefix(c.Path, "/") || len(c.Path) > apiv1.MaxPathLen || strings.ContainsAny(c.Path, "?#") {
			errs = append(errs, errors.New("condition: brute_force needs a path: starting with /, without query"))
		}
	default:
		errs = append(errs, fmt.Errorf("condition: kind %q is not %s, %s, %s or %s", c.Kind,
			CountAttacks, CountDistinctAttacks, CountBruteForce, CountForcedBrowsing))
	}
	if c.Kind != CountBruteForce && c.Path != "" {
		errs = append(errs, fmt.Errorf("condition: path is only for %s", CountBruteForce))
	}
	if c.Threshold < 1 || c.Threshold > 1<<40 {
		errs = append(errs, errors.New("condition: threshold must be at least 1"))
	}
	if c.WindowSeconds < 1 || c.Window() > MaxTriggerWindow {
		errs = append(errs, fmt.Errorf("condition: window_seconds must be from 1 to %d", int64(MaxTriggerWindow.Seconds())))
	}
	a := t.Action
	switch a.Kind {
	case ActionDeny, ActionGray:
		if a.DurationSeconds < 1 || t.Duration() > MaxTriggerDuration {
			errs = append(errs, fmt.Errorf("action: duration_seconds must be from 1 to %d", int64(MaxTriggerDuration.Seconds())))
		}
	case ActionNotify:
		if a.IntegrationID == 0 {
			errs = append(errs, errors.New("action: notify needs an integration_id"))
		}
		if a.DurationSeconds != 0 {
			errs = append(errs, errors.New("action: duration_seconds is only for deny and gray"))
		}
	default:
		errs = append(errs, fmt.Errorf("action: kind %q is not %s, %s or %s", a.Kind, ActionDeny, ActionGray, ActionNotify))
	}
	if a.IntegrationID < 0 || t.AppID < 0 {
		errs = append(errs, errors.New("ids must not be negative"))
	}
	return errors.Join(errs...)
}

// DefaultTriggers are what a new tenant starts with: a source that tries
// three different attacks in an hour is graylisted for an hour (in
// safe_blocking mode its next attack is blocked), one that sends ten
// attacks in five minutes is denylisted for an hour (dropped at the NIC).
func DefaultTriggers() []Trigger {
	return []Trigger{
		{Name: "graylist a source of 3 distinct attacks in an hour", Enabled: true,
			Condition: TriggerCondition{Kind: CountDistinctAttacks, Threshold: 3, WindowSeconds: 3600},
			Action:    TriggerAction{Kind: ActionGray, DurationSeconds: 3600}},
		{Name: "denylist a source of 10 attacks in 5 minutes", Enabled: true,
			Condition: TriggerCondition{Kind: CountAttacks, Threshold: 10, WindowSeconds: 300},
			Action:    TriggerAction{Kind: ActionDeny, DurationSeconds: 3600}},
	}
}

// Firing is one time a trigger fired for one source.
type Firing struct {
	ID        int64      `json:"id"`
	TenantID  int64      `json:"tenant_id"`
	TriggerID int64      `json:"trigger_id"`
	AppID     int64      `json:"app_id,omitempty"`
	Source    netip.Addr `json:"source_ip"`
	// Count is what the condition counted, Threshold or more.
	Count       int64     `json:"count"`
	WindowStart time.Time `json:"window_start"`
	FiredAt     time.Time `json:"fired_at"`
	// Until is when the action ends: the entry expires, and the trigger
	// may fire again for the source.
	Until  time.Time `json:"until"`
	Action string    `json:"action"`
	// EntryID is the IP-list entry made or extended (0: none).
	EntryID int64 `json:"entry_id,omitempty"`
	// Note says why a deny or gray firing changed no list.
	Note string `json:"note,omitempty"`
}
