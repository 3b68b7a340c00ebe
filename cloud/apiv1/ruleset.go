package apiv1

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// Ruleset is the compiled set of rules a node applies, as the cloud issues
// it for one node (its applications). It travels inside a SignedRuleset; a
// node trusts none of it before the signature checks out (see Keyring.Open).
//
// RulesetVersion grows with every change the cloud makes for a tenant; a
// node never applies a version lower than the one it runs, so that an old,
// validly signed ruleset replayed by someone on the path cannot take rules
// back.
type Ruleset struct {
	// Version is the document format, always 1 here.
	Version        int   `json:"version"`
	RulesetVersion int64 `json:"ruleset_version"`
	TenantID       int64 `json:"tenant_id"`
	// NodeID is the node the ruleset was compiled for; empty in a
	// standalone node's local rules file.
	NodeID string    `json:"node_id,omitempty"`
	Issued time.Time `json:"issued"`
	Rules  []Rule    `json:"rules"`
	// IPList holds deny, allow and gray entries. Global deny and allow
	// entries go to the node's XDP maps; gray and application-scoped
	// entries are enforced by the proxy.
	IPList []IPEntry `json:"ip_list"`
	// BaseVersion, when set, makes this a delta (delta.go): IPList holds
	// only the entries put since BaseVersion and DeletedIPEntries the ids
	// removed since; rules are always whole.
	BaseVersion      int64   `json:"base_version,omitempty"`
	DeletedIPEntries []int64 `json:"deleted_ip_entries,omitempty"`
}

// RuleKind says what a rule does; exactly the body of that kind is set.
type RuleKind string

const (
	KindSensitive      RuleKind = "sensitive"       // mark a point as sensitive data
	KindVirtualPatch   RuleKind = "virtual_patch"   // block requests matching conditions
	KindDetector       RuleKind = "detector"        // custom regex detector
	KindDisableAttack  RuleKind = "disable_attack"  // turn an attack type off at a point
	KindFiltrationMode RuleKind = "filtration_mode" // filtration mode for an application or path prefix
	KindRateLimit      RuleKind = "rate_limit"      // requests per source and path prefix
)

// Rule is one instruction from the cloud. AppID scopes it to one
// application; 0 means every application of the node.
type Rule struct {
	ID    int64    `json:"id"`
	Kind  RuleKind `json:"kind"`
	AppID int64    `json:"app_id,omitempty"`

	Sensitive      *SensitiveRule      `json:"sensitive,omitempty"`
	VirtualPatch   *VirtualPatchRule   `json:"virtual_patch,omitempty"`
	Detector       *DetectorRule       `json:"detector,omitempty"`
	DisableAttack  *DisableAttackRule  `json:"disable_attack,omitempty"`
	FiltrationMode *FiltrationModeRule `json:"filtration_mode,omitempty"`
	RateLimit      *RateLimitRule      `json:"rate_limit,omitempty"`
}

// SensitiveRule marks the values at Point and beneath it as sensitive: the
// node masks them before anything leaves it.
type SensitiveRule struct {
	Point point.Pattern `json:"point"`
}

// VirtualPatchRule blocks, in every filtration mode but off, the requests
// matching all of its conditions.
type VirtualPatchRule struct {
	Method string `json:"method,omitempty"` // any when empty
	// Path is an RE2 expression over the decoded path; any when empty.
	Path       string           `json:"path,omitempty"`
	Conditions []PointCondition `json:"conditions,omitempty"`
}

// PointCondition holds when a value at Point matches Regex (RE2), or, with
// an empty Regex, when the request has a value there.
type PointCondition struct {
	Point point.Pattern `json:"point"`
	Regex string        `json:"regex,omitempty"`
}

// DetectorRule reports an attack of AttackType wherever Regex (RE2)
// matches a value at one of Points (every value when Points is empty).
// Experimental detectors report without ever blocking.
type DetectorRule struct {
	AttackType   string          `json:"attack_type"`
	Points       []point.Pattern `json:"points,omitempty"`
	Regex        string          `json:"regex"`
	Experimental bool            `json:"experimental,omitempty"`
}

// DisableAttackRule turns AttackType (every type when empty) off at Point
// and beneath it (everywhere when Point is absent).
type DisableAttackRule struct {
	AttackType string        `json:"attack_type,omitempty"`
	Point      point.Pattern `json:"point,omitzero"`
}

// Filtration modes (DESIGN.md).
const (
	ModeOff          = "off"
	ModeMonitoring   = "monitoring"
	ModeSafeBlocking = "safe_blocking"
	ModeBlock        = "block"
)

// FiltrationModeRule sets the filtration mode of an application, or of the
// requests whose path starts with PathPrefix. The longest matching prefix
// wins.
type FiltrationModeRule struct {
	Mode       string `json:"mode"`
	PathPrefix string `json:"path_prefix,omitempty"`
}

// RateLimitRule allows each source at most Requests requests per Period to
// paths starting with PathPrefix (every path when empty), with bursts of
// up to Burst (Requests when 0).
type RateLimitRule struct {
	PathPrefix    string `json:"path_prefix,omitempty"`
	Requests      int64  `json:"requests"`
	PeriodSeconds int64  `json:"period_seconds"`
	Burst         int64  `json:"burst,omitempty"`
}

// IP lists.
const (
	ListDeny  = "deny"
	ListAllow = "allow"
	ListGray  = "gray"
)

// Origins of an IP-list entry.
const (
	OriginManual  = "manual"  // a person, through the console or the API
	OriginTrigger = "trigger" // generated by a trigger from reported events
	OriginImport  = "import"  // bulk import
)

// IPEntry is one entry of an IP list.
type IPEntry struct {
	ID     int64        `json:"id"`
	List   string       `json:"list"`
	Prefix netip.Prefix `json:"prefix"`
	// Expires is when the entry stops applying; absent: never.
	Expires time.Time `json:"expires,omitzero"`
	Reason  string    `json:"reason,omitempty"`
	// AppIDs scopes the entry to applications; empty: the whole node.
	AppIDs []int64 `json:"app_ids,omitempty"`
	Origin string  `json:"origin"`
	// TriggerID is the trigger that generated the entry (origin trigger).
	TriggerID int64     `json:"trigger_id,omitempty"`
	Created   time.Time `json:"created"`
}

// Limits of a ruleset's content.
const (
	MaxRuleRegexLen = 4096
	MaxReasonLen    = 256
	MaxPathPrefix   = 1024
	// MaxSignedRulesetBytes bounds a signed ruleset as read from the wire
	// or from disk: room for a million IP-list entries.
	MaxSignedRulesetBytes = 512 << 20
)

// Validate checks everything a node relies on before applying a ruleset:
// known kinds with exactly their body, regular expressions that compile,
// valid modes, lists and prefixes. A signed ruleset that fails it is
// refused like a badly signed one.
func (rs *Ruleset) Validate() error {
	var errs []error
	if rs.Version != Version {
		errs = append(errs, fmt.Errorf("document version %d, want %d", rs.Version, Version))
	}
	if rs.RulesetVersion <= 0 {
		errs = append(errs, fmt.Errorf("ruleset_version %d is not positive", rs.RulesetVersion))
	}
	if rs.BaseVersion < 0 || (rs.BaseVersion > 0 && rs.BaseVersion >= rs.RulesetVersion) {
		errs = append(errs, fmt.Errorf("base_version %d is not below ruleset_version %d", rs.BaseVersion, rs.RulesetVersion))
	}
	if rs.BaseVersion == 0 && len(rs.DeletedIPEntries) > 0 {
		errs = append(errs, errors.New("deleted_ip_entries without a base_version"))
	}
	for i := range rs.Rules {
		if err := rs.Rules[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("rule %d (index %d): %w", rs.Rules[i].ID, i, err))
		}
	}
	for i := range rs.IPList {
		if err := rs.IPList[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("ip list entry %d (index %d): %w", rs.IPList[i].ID, i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ruleset %d: %w", rs.RulesetVersion, err)
	}
	return nil
}

// Validate checks one rule.
func (r *Rule) Validate() error {
	bodies := 0
	for _, set := range []bool{r.Sensitive != nil, r.VirtualPatch != nil, r.Detector != nil,
		r.DisableAttack != nil, r.FiltrationMode != nil, r.RateLimit != nil} {
		if set {
			bodies++
		}
	}
	if bodies != 1 {
		return fmt.Errorf("kind %q: %d rule bodies set, want exactly one", r.Kind, bodies)
	}
	if r.AppID < 0 {
		return fmt.Errorf("app_id %d is negative", r.AppID)
	}
	switch r.Kind {
	case KindSensitive:
		if r.Sensitive == nil {
			return errors.New("kind sensitive without a sensitive body")
		}
		if r.Sensitive.Point.IsZero() {
			return errors.New("sensitive: point is empty")
		}
	case KindVirtualPatch:
		vp := r.VirtualPatch
		if vp == nil {
			return errors.New("kind virtual_patch without a virtual_patch body")
		}
		if vp.Method == "" && vp.Path == "" && len(vp.Conditions) == 0 {
			return errors.New("virtual_patch: no condition (it would block every request)")
		}
		if err := checkRegex("virtual_patch path", vp.Path); err != nil {
			return err
		}
		for i, c := range vp.Conditions {
			if c.Point.IsZero() {
				return fmt.Errorf("virtual_patch condition %d: point is empty", i)
			}
			if err := checkRegex(fmt.Sprintf("virtual_patch condition %d", i), c.Regex); err != nil {
				return err
			}
		}
	case KindDetector:
		d := r.Detector
		if d == nil {
			return errors.New("kind detector without a detector body")
		}
		if !IsAttackTypeName(d.AttackType) {
			return fmt.Errorf("detector: attack_type %q is not a lower-case identifier", d.AttackType)
		}
		if d.Regex == "" {
			return errors.New("detector: regex is empty")
		}
		if err := checkRegex("detector", d.Regex); err != nil {
			return err
		}
	case KindDisableAttack:
		if r.DisableAttack == nil {
			return errors.New("kind disable_attack without a disable_attack body")
		}
		if t := r.DisableAttack.AttackType; t != "" && !IsAttackTypeName(t) {
			return fmt.Errorf("disable_attack: attack_type %q is not a lower-case identifier", t)
		}
	case KindFiltrationMode:
		fm := r.FiltrationMode
		if fm == nil {
			return errors.New("kind filtration_mode without a filtration_mode body")
		}
		if !ValidMode(fm.Mode) {
			return fmt.Errorf("filtration_mode: mode %q is not one of off, monitoring, safe_blocking, block", fm.Mode)
		}
		if err := checkPathPrefix(fm.PathPrefix); err != nil {
			return fmt.Errorf("filtration_mode: %w", err)
		}
	case KindRateLimit:
		rl := r.RateLimit
		if rl == nil {
			return errors.New("kind rate_limit without a rate_limit body")
		}
		if rl.Requests <= 0 || rl.PeriodSeconds <= 0 || rl.Burst < 0 {
			return fmt.Errorf("rate_limit: requests %d per %d s, burst %d: all must be positive",
				rl.Requests, rl.PeriodSeconds, rl.Burst)
		}
		if err := checkPathPrefix(rl.PathPrefix); err != nil {
			return fmt.Errorf("rate_limit: %w", err)
		}
	default:
		return fmt.Errorf("unknown kind %q", r.Kind)
	}
	return nil
}

// Validate checks one IP-list entry.
func (e *IPEntry) Validate() error {
	switch e.List {
	case ListDeny, ListAllow, ListGray:
	default:
		return fmt.Errorf("list %q is not one of deny, allow, gray", e.List)
	}
	if !e.Prefix.IsValid() {
		return errors.New("prefix is empty")
	}
	if e.Prefix != e.Prefix.Masked() || e.Prefix.Addr().Is4In6() || e.Prefix.Addr().Zone() != "" {
		return fmt.Errorf("prefix %s is not canonical (masked, unmapped, no zone)", e.Prefix)
	}
	switch e.Origin {
	case OriginManual, OriginImport:
		if e.TriggerID != 0 {
			return fmt.Errorf("origin %s with trigger_id %d", e.Origin, e.TriggerID)
		}
	case OriginTrigger:
		if e.TriggerID <= 0 {
			return errors.New("origin trigger without a trigger_id")
		}
	default:
		return fmt.Errorf("origin %q is not one of manual, trigger, import", e.Origin)
	}
	if len(e.Reason) > MaxReasonLen {
		return fmt.Errorf("reason is %d bytes, limit %d", len(e.Reason), MaxReasonLen)
	}
	for _, id := range e.AppIDs {
		if id <= 0 {
			return fmt.Errorf("app id %d is not positive", id)
		}
	}
	return nil
}

// ValidMode reports whether m is a filtration mode.
func ValidMode(m string) bool {
	switch m {
	case ModeOff, ModeMonitoring, ModeSafeBlocking, ModeBlock:
		return true
	}
	return false
}

// IsAttackTypeName reports whether t can name an attack type: a lower-case
// identifier (letters, digits, underscore), as built-in types are.
func IsAttackTypeName(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	return strings.IndexFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}) < 0
}

func checkRegex(what, re string) error {
	if len(re) > MaxRuleRegexLen {
		return fmt.Errorf("%s: regex is %d bytes, limit %d", what, len(re), MaxRuleRegexLen)
	}
	if _, err := regexp.Compile(re); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func checkPathPrefix(p string) error {
	if p == "" {
		return nil
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path_prefix %q does not start with /", p)
	}
	if len(p) > MaxPathPrefix {
		return fmt.Errorf("path_prefix is %d bytes, limit %d", len(p), MaxPathPrefix)
	}
	return nil
}
