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
	minGeneratedDetection = 0.998  // attacks of test/corpus/attacks.jsonl detected (99.91 %: private names in note fields are not SSRF since the fifth session)
	minCRSDetection       = 0.845  // CRS PL1 regression positives detected
	minGTWDetection       = 0.995  // GoTestWAF test cases (gotestwaf.jsonl) detected
	maxBenignFlagged      = 0.0010 // hard benign requests (benign.jsonl) flagged (the target)
	maxGTWBenignFlagged   = 0.0050 // GoTestWAF false-positive texts flagged
	// The waf-bypass payloads of Nemesida WAF (nemesida.jsonl): a
	// regression guard of an external source measured blind on
	// 2026-12-04 (first measurement, of the tool's older payload/ set,
	// 85.5 % detected, before that day's fixes), not a target.
	minNemDetection     = 0.945 // its attacks detected (95.3 % of 3706 when last raised)
	maxNemBenignFlagged = 0.0   // its false-positive payloads flagged (none of 7 when set)
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
	sum := func(m map[string]*corpus.Stats) corpus.Stats {
		var all corpus.Stats
		for _, s := range m {
			all.Cases += s.Cases
			all.Flagged += s.Flagged
		}
		return all
	}
	gen, crs, gtw, nem := sum(rep.AttackByType), sum(rep.CRSByType), sum(rep.GTWByType), sum(rep.NemByType)
	var benign, gtwBenign, nemBenign corpus.Stats
	if s := rep.BenignBySource["gen"]; s != nil {
		benign = *s
	}
	if s := rep.BenignBySource[corpus.SourceGoTestWAF]; s != nil {
		gtwBenign = *s
	}
	if s := rep.BenignBySource[corpus.SourceNemesida]; s != nil {
		nemBenign = *s
	}
	for typ, s := range rep.AttackByType {
		t.Logf("%-15s %5d cases, %6.2f%% detected", typ, s.Cases, 100*s.Rate())
	}
	for typ, s := range rep.GTWByType {
		t.Logf("GoTestWAF %-15s %5d cases, %6.2f%% detected", typ, s.Cases, 100*s.Rate())
	}
	for typ, s := range rep.NemByType {
		t.Logf("nemesida %-15s %5d cases, %6.2f%% detected", typ, s.Cases, 100*s.Rate())
	}
	t.Logf("generated attacks: %.2f%% of %d; CRS PL1: %.2f%% of %d; GoTestWAF: %.2f%% of %d; nemesida: %.2f%% of %d; benign flagged: %.3f%% of %d; GoTestWAF benign flagged: %.3f%% of %d; nemesida benign flagged: %.3f%% of %d",
		100*gen.Rate(), gen.Cases, 100*crs.Rate(), crs.Cases, 100*gtw.Rate(), gtw.Cases, 100*nem.Rate(), nem.Cases,
		100*benign.Rate(), benign.Cases, 100*gtwBenign.Rate(), gtwBenign.Cases, 100*nemBenign.Rate(), nemBenign.Cases)
	if gen.Rate() < minGeneratedDetection {
		t.Errorf("generated attacks detected %.2f%%, threshold %.2f%%", 100*gen.Rate(), 100*minGeneratedDetection)
	}
	if crs.Rate() < minCRSDetection {
		t.Errorf("CRS attacks detected %.2f%%, threshold %.2f%%", 100*crs.Rate(), 100*minCRSDetection)
	}
	if gtw.Cases == 0 || gtw.Rate() < minGTWDetection {
		t.Errorf("GoTestWAF attacks detected %.2f%% of %d, threshold %.2f%%", 100*gtw.Rate(), gtw.Cases, 100*minGTWDetection)
	}
	if nem.Cases == 0 || nem.Rate() < minNemDetection {
		t.Errorf("nemesida attacks detected %.2f%% of %d, threshold %.2f%%", 100*nem.Rate(), nem.Cases, 100*minNemDetection)
	}
	if benign.Rate() > maxBenignFlagged || gtwBenign.Rate() > maxGTWBenignFlagged || nemBenign.Rate() > maxNemBenignFlagged {
		for _, f := range rep.FalseAlarms {
			d := f.Detections[0]
			t.Logf("false positive %s: %s at %s", f.Case.ID, d.DetectorID, d.Point)
		}
	}
	if benign.Cases == 0 || benign.Rate() > maxBenignFlagged {
		t.Errorf("benign flagged %.3f%% of %d, threshold %.3f%%", 100*benign.Rate(), benign.Cases, 100*maxBenignFlagged)
	}
	if gtwBenign.Rate() > maxGTWBenignFlagged {
		t.Errorf("GoTestWAF benign flagged %.3f%%, threshold %.3f%%", 100*gtwBenign.Rate(), 100*maxGTWBenignFlagged)
	}
	if nemBenign.Cases == 0 || nemBenign.Rate() > maxNemBenignFlagged {
		t.Errorf("nemesida benign flagged %.3f%% of %d, threshold %.3f%%", 100*nemBenign.Rate(), nemBenign.Cases, 100*maxNemBenignFlagged)
	}
}
