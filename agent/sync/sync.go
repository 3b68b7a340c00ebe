// Package sync applies rulesets on the node. A ruleset comes signed from
// the cloud (or, on a standalone node, from a local YAML rules file); the
// syncer verifies it against the pinned keys, compiles it, and swaps it in
// everywhere at once: detector rules into the detection engine, global
// deny and allow entries into the XDP maps, global gray entries into the
// proxy's gray list, and the rest (application-scoped lists, filtration
// modes and rate limits by path prefix) into a Policy the proxy reads per
// request. The last ruleset that applied is kept on disk, and the node
// starts from it when the cloud cannot be reached (DESIGN.md, principle 2).
//
// A ruleset that is unsigned, badly signed, signed for another node, older
// than the one in force, or that does not compile is refused: the one in
// force stays, the refusal is logged and counted.
package sync

import (
	"errors"
	"fmt"
	"log/slog"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Config wires a Syncer to the node's enforcement points.
type Config struct {
	// Keyring holds the cloud keys the node pinned. Nil on a standalone
	// node, which takes rules only from its local file.
	Keyring *apiv1.Keyring
	// TenantID and NodeID, when set, must match the ruleset's: a ruleset
	// compiled for another node is refused even when validly signed.
	TenantID int64
	NodeID   string
	// StateDir keeps the last known good ruleset.
	StateDir string

	Engine   Engine
	Filter   IPFilter // nil: no XDP (global deny/allow not enforced at the NIC)
	GrayList GrayList // nil: no proxy
	Log      *slog.Logger
	// Registerer receives the syncer's metrics. May be nil.
	Registerer prometheus.Registerer
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
}

// Results of one sync, the result label of palisade_ruleset_sync_total.
const (
	ResultApplied          = "applied"
	ResultUnchanged        = "unchanged" // the cloud confirmed the version in force (304, or the same version again)
	ResultSignatureFailure = "signature_failure"
	ResultInvalid          = "invalid"
	ResultStale            = "stale"
	ResultApplyError       = "apply_error"
	ResultPersistError     = "persist_error"
	ResultFetchError       = "fetch_error"
)

var results = []string{ResultApplied, ResultUnchanged, ResultSignatureFailure, ResultInvalid,
	ResultStale, ResultDeltaBase, ResultApplyError, ResultPersistError, ResultFetchError}

// ErrStale refuses a ruleset older than the one in force: replaying an old,
// validly signed ruleset must not take rules back.
var ErrStale = errors.New("ruleset is older than the one in force")

// Syncer applies rulesets. It is safe for concurrent use; applies are
// serialised.
type Syncer struct {
	cfg Config
	log *slog.Logger
	m   *metrics

	mu      gosync.Mutex // serialises applies
	current *compiled
	// inForce is the whole ruleset in force, the base of the next delta.
	inForce *apiv1.Ruleset
	// needFull asks the cloud for the whole ruleset: a delta did not apply.
	needFull bool
	// savedDeltas counts the deltas saved since the last whole ruleset.
	savedDeltas int
	issued      atomic.Int64 // unix nanoseconds of the ruleset in force, 0: none
	policy      atomic.Pointer[Policy]
}

// New returns a syncer with no ruleset in force.
func New(cfg Config) (*Syncer, error) {
	if cfg.Engine == nil {
		return nil, errors.New("rules sync: no detection engine")
	}
	if cfg.Keyring != nil && cfg.StateDir == "" {
		return nil, errors.New("rules sync: a cloud-managed node needs a state directory for its last known good ruleset")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Syncer{cfg: cfg, log: cfg.Log.With("component", "rules-sync")}
	s.m = newMetrics(s)
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.m); err != nil {
			return nil, fmt.Errorf("rules sync metrics: %w", err)
		}
	}
	s.policy.Store(&Policy{apps: map[int64]*appPolicy{}})
	return s, nil
}

// Version is the ruleset version in force (0: none).
func (s *Syncer) Version() int64 { return s.Policy().Version() }

// Policy is the L7 policy of the ruleset in force. The proxy loads it once
// per request.
func (s *Syncer) Policy() *Policy { return s.policy.Load() }

// Restore applies the last known good ruleset saved on disk, verifying its
// signature again. It is what a node does at start, before the cloud
// answers, so that it filters with its last rules even when the cloud is
// down. It returns false when nothing was saved yet.
func (s *Syncer) Restore() (bool, error) {
	if s.cfg.Keyring == nil {
		return false, errors.New("restore: no pinned cloud key (standalone node)")
	}
	sr, err := loadLastGood(s.cfg.StateDir)
	if errors.Is(err, errNoLastGood) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := s.apply(sr, "disk"); err != nil {
		return false, fmt.Errorf("restore last known good ruleset: %w", err)
	}
	if n, err := s.replayDeltas(); err != nil {
		// What applied stays in force; the cloud sends the rest.
		s.log.Warn("saved deltas not all restored", "applied", n, "version", s.Version(), "err", err)
	}
	return true, nil
}

// ApplySigned verifies sr and applies it, then saves it as the last known
// good ruleset. On any error the ruleset in force stays.
func (s *Syncer) ApplySigned(sr *apiv1.SignedRuleset) error {
	if s.cfg.Keyring == nil {
		return errors.New("apply signed ruleset: no pinned cloud key (standalone node)")
	}
	return s.apply(sr, "cloud")
}

// FetchFailed records a failed download (cloud unreachable, HTTP error):
// the node keeps its ruleset and the failure shows in the metrics.
func (s *Syncer) FetchFailed(err error) {
	s.m.result(ResultFetchError)
	s.log.Warn("ruleset fetch failed; keeping the ruleset in force", "version", s.Version(), "err", err)
}

func (s *Syncer) apply(sr *apiv1.SignedRuleset, from string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.cfg.Keyring.Open(sr)
	if err != nil {
		if apiv1.IsSignatureError(err) {
			s.m.signatureFailures.Inc()
			s.m.result(ResultSignatureFailure)
			s.log.Error("ruleset refused: signature", "from", from, "key_id", sr.KeyID, "in_force", s.version(), "err", err)
			return err
		}
		return s.refuse(ResultInvalid, from, 0, err)
	}
	if s.cfg.TenantID != 0 && rs.TenantID != s.cfg.TenantID {
		return s.refuse(ResultInvalid, from, rs.RulesetVersion, fmt.Errorf("ruleset is for tenant %d, this node belongs to tenant %d", rs.TenantID, s.cfg.TenantID))
	}
	if s.cfg.NodeID != "" && rs.NodeID != s.cfg.NodeID {
		return s.refuse(ResultInvalid, from, rs.RulesetVersion, fmt.Errorf("ruleset is for node %q, this node is %q", rs.NodeID, s.cfg.NodeID))
	}
	switch v := s.version(); {
	case rs.RulesetVersion < v:
		return s.refuse(ResultStale, from, rs.RulesetVersion, fmt.Errorf("%w: %d < %d", ErrStale, rs.RulesetVersion, v))
	case rs.RulesetVersion == v:
		s.m.result(ResultUnchanged)
		return nil
	}
	delta := rs.BaseVersion != 0
	if delta {
		whole, err := s.mergeDelta(rs)
		if err != nil {
			s.needFull = true
			return s.refuse(ResultDeltaBase, from, rs.RulesetVersion, err)
		}
		rs = whole
	}
	if err := s.swap(rs, from); err != nil {
		return err
	}
	if !delta {
		s.needFull = false
	}
	if from == "disk" {
		return nil
	}
	if err := s.persist(sr, delta); err != nil {
		// The ruleset is in force; only a restart without the cloud would
		// fall back to an older one.
		s.m.result(ResultPersistError)
		s.log.Error("ruleset in force but not saved", "version", rs.RulesetVersion, "err", err)
		return err
	}
	return nil
}

// ApplyFile applies a standalone node's local rules file (YAML). The file
// is the operator's, trusted as the agent's configuration is: it is not
// signed, and its version may go down (an edit reverted by hand).
func (s *Syncer) ApplyFile(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := readLocalFile(path)
	if err != nil {
		return s.refuse(ResultInvalid, "file", 0, err)
	}
	return s.swap(rs, "file")
}

// swap compiles rs and puts it in force everywhere. Nothing changes when
// compiling fails; when writing the XDP maps fails, they are put back.
// Callers hold s.mu.
func (s *Syncer) swap(rs *apiv1.Ruleset, from string) error {
	now := s.cfg.Now()
	next, err := compile(rs, now)
	if err != nil {
		return s.refuse(ResultInvalid, from, rs.RulesetVersion, err)
	}
	if s.cfg.Filter != nil {
		if err := applyXDP(s.cfg.Filter, next, s.current); err != nil {
			return s.refuse(ResultApplyError, from, rs.RulesetVersion, err)
		}
	}
	// The engine's rules carry the sensitive points masking reads; they
	// are swapped before the policy, whose version is what the node
	// reports as in force.
	s.cfg.Engine.SetRules(next.rules)
	if s.cfg.GrayList != nil {
		s.cfg.GrayList.ReplaceSource(xdp.SourceCloud, next.gray)
	}
	s.policy.Store(next.policy)
	s.current = next
	s.inForce = rs
	s.issued.Store(rs.Issued.UnixNano())
	s.m.result(ResultApplied)
	s.log.Info("ruleset in force", "version", rs.RulesetVersion, "from", from, "rules", len(rs.Rules),
		"deny", len(next.xdp[xdp.Deny]), "allow", len(next.xdp[xdp.Allow]), "gray", len(next.gray))
	return nil
}

func (s *Syncer) refuse(result, from string, version int64, err error) error {
	s.m.result(result)
	s.log.Error("ruleset refused", "result", result, "from", from, "version", version, "in_force", s.version(), "err", err)
	return err
}

// version is the version in force; callers hold s.mu.
func (s *Syncer) version() int64 {
	if s.current == nil {
		return 0
	}
	return s.current.version
}
