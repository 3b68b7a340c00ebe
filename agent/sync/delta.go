package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Deltas (apiv1/delta.go). A delta is verified like any ruleset, then
// merged onto the ruleset in force (it must be its base) and applied as
// the whole ruleset the merge makes. On disk the node keeps the last whole
// ruleset it got and the signed deltas since, each verified again at
// Restore: nothing it saved can be changed undetected, and nothing merged
// is trusted without its signatures.

// deltasFile holds the signed deltas applied since the last whole ruleset
// (a JSON array, oldest first).
const deltasFile = "ruleset.deltas.json"

// maxSavedDeltas is how many deltas the node keeps before it asks the
// cloud for the whole ruleset again, which replaces them.
const maxSavedDeltas = 64

// ErrDeltaBase refuses a delta whose base is not the ruleset in force;
// the poller asks for the whole ruleset next.
var ErrDeltaBase = errors.New("delta is not based on the ruleset in force")

// ResultDeltaBase is the sync result of such a refusal.
const ResultDeltaBase = "delta_base"

// mergeDelta returns the whole ruleset delta makes of the one in force.
// Callers hold s.mu.
func (s *Syncer) mergeDelta(delta *apiv1.Ruleset) (*apiv1.Ruleset, error) {
	if s.inForce == nil || s.inForce.RulesetVersion != delta.BaseVersion {
		return nil, fmt.Errorf("%w: delta %d is based on %d, %d is in force", ErrDeltaBase, delta.RulesetVersion, delta.BaseVersion, s.version())
	}
	rs, err := apiv1.ApplyDelta(s.inForce, delta)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDeltaBase, err)
	}
	return rs, nil
}

// persist saves what the cloud sent: a whole ruleset replaces the saved
// one and the deltas; a delta is added to the saved deltas.
func (s *Syncer) persist(sr *apiv1.SignedRuleset, delta bool) error {
	if !delta {
		if err := saveLastGood(s.cfg.StateDir, sr); err != nil {
			return err
		}
		s.savedDeltas = 0
		if err := os.Remove(filepath.Join(s.cfg.StateDir, deltasFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove saved deltas: %w", err)
		}
		return nil
	}
	saved, err := loadDeltas(s.cfg.StateDir)
	if err != nil {
		return err
	}
	saved = append(saved, sr)
	raw, err := json.Marshal(saved)
	if err != nil {
		return fmt.Errorf("encode saved deltas: %w", err)
	}
	if err := writeFileAtomic(s.cfg.StateDir, deltasFile, raw); err != nil {
		return fmt.Errorf("save delta: %w", err)
	}
	s.savedDeltas = len(saved)
	return nil
}

// replayDeltas applies the saved deltas after Restore applied the saved
// whole ruleset. It stops at the first that does not apply (which the
// next poll then makes good) and says how many did.
func (s *Syncer) replayDeltas() (int, error) {
	saved, err := loadDeltas(s.cfg.StateDir)
	if err != nil {
		return 0, err
	}
	for i, sr := range saved {
		if err := s.apply(sr, "disk"); err != nil {
			return i, fmt.Errorf("saved delta %d of %d: %w", i+1, len(saved), err)
		}
	}
	s.mu.Lock()
	s.savedDeltas = len(saved)
	s.mu.Unlock()
	return len(saved), nil
}

// wantsFull says whether the next download should be the whole ruleset:
// the node has none, a delta did not apply, or it keeps many deltas.
func (s *Syncer) wantsFull() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inForce == nil || s.needFull || s.savedDeltas >= maxSavedDeltas
}

func loadDeltas(dir string) ([]*apiv1.SignedRuleset, error) {
	f, err := os.Open(filepath.Join(dir, deltasFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read saved deltas: %w", err)
	}
	defer f.Close()
	limit := int64(maxSavedDeltas+1) * apiv1.MaxSignedRulesetBytes
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read saved deltas: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("saved deltas %s are over %d bytes", f.Name(), limit)
	}
	var saved []*apiv1.SignedRuleset
	if err := json.Unmarshal(raw, &saved); err != nil {
		return nil, fmt.Errorf("decode saved deltas %s: %w", f.Name(), err)
	}
	return saved, nil
}
