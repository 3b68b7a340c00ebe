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

// lastGoodFile is the last known good signed ruleset under the state
// directory. It is kept signed, as received, and verified again when read:
// a file changed on disk is refused like a tampered download.
const lastGoodFile = "ruleset.signed.json"

// saveLastGood writes sr to dir atomically: a temporary file in the same
// directory, fsynced, renamed over the old one, and the directory fsynced,
// so that a crash leaves the old ruleset or the new one, never a mix.
func saveLastGood(dir string, sr *apiv1.SignedRuleset) error {
	raw, err := json.Marshal(sr)
	if err != nil {
		return fmt.Errorf("encode last known good ruleset: %w", err)
	}
	if err := writeFileAtomic(dir, lastGoodFile, raw); err != nil {
		return fmt.Errorf("save last known good ruleset: %w", err)
	}
	return nil
}

// writeFileAtomic replaces dir/name with data: a temporary file in dir,
// fsynced, renamed over the old one, and the directory fsynced.
func writeFileAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory: %w", err)
	}
	return nil
}

// errNoLastGood says no ruleset was ever saved.
var errNoLastGood = errors.New("no last known good ruleset")

// loadLastGood reads the saved signed ruleset, unverified.
func loadLastGood(dir string) (*apiv1.SignedRuleset, error) {
	f, err := os.Open(filepath.Join(dir, lastGoodFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoLastGood
	}
	if err != nil {
		return nil, fmt.Errorf("read last known good ruleset: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, apiv1.MaxSignedRulesetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read last known good ruleset: %w", err)
	}
	if len(raw) > apiv1.MaxSignedRulesetBytes {
		return nil, fmt.Errorf("last known good ruleset %s is over %d bytes", f.Name(), apiv1.MaxSignedRulesetBytes)
	}
	var sr apiv1.SignedRuleset
	if err := json.Unmarshal(raw, &sr); err != nil {
		return nil, fmt.Errorf("decode last known good ruleset %s: %w", f.Name(), err)
	}
	return &sr, nil
}
