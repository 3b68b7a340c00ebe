package detect_test

import (
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/test/corpus"
)

// Thresholds are the figures measured on the committed corpus (see
// docs/DETECTION.md), rounded down a little: the test fails when a change
// makes detection or false positives worse, not when it misses a wish.
const (
	minGeneratedDetection = 0.997  // attacks of test/corpus/attacks.jsonl detected
	minCRSDetection       = 0.780  // CRS PL1 regression positives detected
	maxBenignFlagged      = 0.0010 // benign requests flagged (the target)
)

func TestCorpusQuality(t *testing.T) {
	cases, err := corpus.Load("../../test/corpus")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := corpus.Run(detect.New(detect.Options{}), cases)
	if err != nil {
		t.Fatal(err)
	}
	var gen, crs corpus.Stats
	for place, s := range rep.AttackByPlace {
		target := &gen
		if place == "crs" {
			target = &crs
		}
		target.Cases += s.Cases
		target.Flagged += s.Flagged
	}
	for typ, s := range rep.AttackByType {
		t.Logf("%-15s %5d cases, %6.2f%% detected", typ, s.Cases, 100*s.Rate())
	}
	t.Logf("generated attacks: %.2f%% of %d; CRS PL1: %.2f%% of %d; benign flagged: %.3f%% of %d",
		100*gen.Rate(), gen.Cases, 100*crs.Rate(), crs.Cases, 100*rep.Benign.Rate(), rep.Benign.Cases)
	if gen.Rate() < minGeneratedDetection {
		t.Errorf("generated attacks detected %.2f%%, threshold %.2f%%", 100*gen.Rate(), 100*minGeneratedDetection)
	}
	if crs.Rate() < minCRSDetection {
		t.Errorf("CRS attacks detected %.2f%%, threshold %.2f%%", 100*crs.Rate(), 100*minCRSDetection)
	}
	if rep.Benign.Rate() > maxBenignFlagged {
		for _, f := range rep.FalseAlarms {
			d := f.Detections[0]
			t.Logf("false positive %s: %s at %s", f.Case.ID, d.DetectorID, d.Point)
		}
		t.Errorf("benign flagged %.3f%%, threshold %.3f%%", 100*rep.Benign.Rate(), 100*maxBenignFlagged)
	}
}
