package detect

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/palisadewaf/palisade/agent/detect/attack"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// The rule kinds the engine applies, as plain data. The ruleset document
// the cloud signs is mapped onto these by the rules sync; NewRules
// validates and compiles them. AppID 0 in any rule means every
// application.

// CustomDetector reports an attack of Type wherever Regex (RE2) matches a
// decoded value at one of Points (every value when Points is empty).
// Experimental detectors report without blocking.
type CustomDetector struct {
	RuleID       int64
	AppID        int64
	Type         string
	Points       []point.Pattern
	Regex        string
	Experimental bool
}

// VirtualPatch blocks requests that match all of its conditions: the
// method (any when empty), the decoded path (RE2, any when empty), and
// every point condition.
type VirtualPatch struct {
	RuleID     int64
	AppID      int64
	Method     string
	Path       string
	Conditions []PointCondition
}

// PointCondition holds when some value at (or beneath) Point matches
// Regex, or, with an empty Regex, when the request has a value there.
type PointCondition struct {
	Point point.Pattern
	Regex string
}

// DisabledAttack turns attack type Type (every type when empty) off at
// Point and beneath it (everywhere when Point is zero) for an application.
type DisabledAttack struct {
	RuleID int64
	AppID  int64
	Type   string
	Point  point.Pattern
}

// SensitivePoint marks the values at Point and beneath it as sensitive
// data: masking never lets them leave the node.
type SensitivePoint struct {
	RuleID int64
	AppID  int64
	Point  point.Pattern
}

// RulesConfig is the plain-data input of NewRules.
type RulesConfig struct {
	Version         int64
	CustomDetectors []CustomDetector
	VirtualPatches  []VirtualPatch
	Disabled        []DisabledAttack
	Sensitive       []SensitivePoint
}

// VirtualPatchType is the attack type of virtual patch detections.
const VirtualPatchType = "vpatch"

// Rules is a compiled, immutable ruleset, safe for concurrent use. The
// engine swaps whole Rules atomically (Engine.SetRules).
type Rules struct {
	version int64
	global  appRules
	apps    map[int64]*appRules // global rules merged in
}

type appRules struct {
	detectors []compiledDetector
	patches   []compiledPatch
	disabled  []DisabledAttack
	sensitive []point.Pattern
}

type compiledDetector struct {
	CustomDetector
	re *regexp.Regexp
}

type compiledPatch struct {
	VirtualPatch
	path  *regexp.Regexp
	conds []compiledCondition
}

type compiledCondition struct {
	point point.Pattern
	re    *regexp.Regexp // nil: presence
}

// NewRules validates and compiles cfg.
func NewRules(cfg RulesConfig) (*Rules, error) {
	r := &Rules{version: cfg.Version, apps: map[int64]*appRules{}}
	var errs []error
	target := func(app int64) *appRules {
		if app == 0 {
			return &r.global
		}
		a := r.apps[app]
		if a == nil {
			a = &appRules{}
			r.apps[app] = a
		}
		return a
	}
	for _, d := range cfg.CustomDetectors {
		if d.Type == "" {
			errs = append(errs, fmt.Errorf("custom detector rule %d: empty attack type", d.RuleID))
			continue
		}
		re, err := regexp.Compile(d.Regex)
		if err != nil {
			errs = append(errs, fmt.Errorf("custom detector rule %d: %w", d.RuleID, err))
			continue
		}
		a := target(d.AppID)
		a.detectors = append(a.detectors, compiledDetector{CustomDetector: d, re: re})
	}
	for _, p := range cfg.VirtualPatches {
		cp := compiledPatch{VirtualPatch: p}
		var err error
		if p.Path != "" {
			if cp.path, err = regexp.Compile(p.Path); err != nil {
				errs = append(errs, fmt.Errorf("virtual patch rule %d: path: %w", p.RuleID, err))
				continue
			}
		}
		if p.Method == "" && p.Path == "" && len(p.Conditions) == 0 {
			errs = append(errs, fmt.Errorf("virtual patch rule %d: no condition (it would block everything)", p.RuleID))
			continue
		}
		ok := true
		for i, c := range p.Conditions {
			if c.Point.IsZero() {
				errs = append(errs, fmt.Errorf("virtual patch rule %d: condition %d: empty point", p.RuleID, i))
				ok = false
				continue
			}
			cc := compiledCondition{point: c.Point}
			if c.Regex != "" {
				if cc.re, err = regexp.Compile(c.Regex); err != nil {
					errs = append(errs, fmt.Errorf("virtual patch rule %d: condition %d: %w", p.RuleID, i, err))
					ok = false
					continue
				}
			}
			cp.conds = append(cp.conds, cc)
		}
		if ok {
			a := target(p.AppID)
			a.patches = append(a.patches, cp)
		}
	}
	for _, d := range cfg.Disabled {
		if d.Type != "" && !knownType(d.Type) {
			errs = append(errs, fmt.Errorf("disable rule %d: unknown attack type %q", d.RuleID, d.Type))
			continue
		}
		a := target(d.AppID)
		a.disabled = append(a.disabled, d)
	}
	for _, s := range cfg.Sensitive {
		if s.Point.IsZero() {
			errs = append(errs, fmt.Errorf("sensitive data rule %d: empty point", s.RuleID))
			continue
		}
		a := target(s.AppID)
		a.sensitive = append(a.sensitive, s.Point)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("compile ruleset %d: %w", cfg.Version, err)
	}
	for _, a := range r.apps {
		a.detectors = append(a.detectors, r.global.detectors...)
		a.patches = append(a.patches, r.global.patches...)
		a.disabled = append(a.disabled, r.global.disabled...)
		a.sensitive = append(a.sensitive, r.global.sensitive...)
	}
	return r, nil
}

func knownType(t string) bool {
	for _, k := range attack.Types {
		if k == t {
			return true
		}
	}
	// Custom detectors may report types of their own; those can be
	// disabled too, as long as the name is a plain identifier.
	return t != "" && strings.IndexFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
	}) < 0
}

// Version returns the ruleset version the rules were compiled from.
func (r *Rules) Version() int64 {
	if r == nil {
		return 0
	}
	return r.version
}

func (r *Rules) forApp(app int64) *appRules {
	if r == nil {
		return &appRules{}
	}
	if a, ok := r.apps[app]; ok {
		return a
	}
	return &r.global
}

// Sensitive reports whether the value at p is sensitive data for
// application app.
func (r *Rules) Sensitive(app int64, p point.Point) bool {
	for _, s := range r.forApp(app).sensitive {
		if s.Covers(p) {
			return true
		}
	}
	return false
}

// SensitivePatterns returns the sensitive-data patterns of application app
// (the caller must not modify the slice).
func (r *Rules) SensitivePatterns(app int64) []point.Pattern {
	return r.forApp(app).sensitive
}

// disabled reports whether attack type typ is disabled at p.
func (a *appRules) isDisabled(typ string, p point.Point) bool {
	for _, d := range a.disabled {
		if (d.Type == "" || d.Type == typ) && (d.Point.IsZero() || d.Point.Covers(p)) {
			return true
		}
	}
	return false
}
