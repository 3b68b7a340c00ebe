package detect_test

import (
	"fmt"
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/test/corpus"
)

// sameValues reports how the result of an engine that keeps every value
// (kept) and one that keeps them only for requests with a detection
// (lazy) differ, or "": detections must be the same, and the values too
// when there is a detection; a clean request has none.
func sameValues(kept, lazy *detect.Result) string {
	if d := sameDetections(kept, lazy, "keeping values", "without"); d != "" {
		return d
	}
	if kept.Truncated != lazy.Truncated {
		return "truncated differs"
	}
	if !lazy.Attack() {
		if len(lazy.Values) != 0 {
			return fmt.Sprintf("clean request: %d values kept", len(lazy.Values))
		}
		return ""
	}
	if len(kept.Values) != len(lazy.Values) {
		return fmt.Sprintf("%d values kept, %d walked again", len(kept.Values), len(lazy.Values))
	}
	for i := range kept.Values {
		if !kept.Values[i].Point.Equal(lazy.Values[i].Point) || kept.Values[i].Value != lazy.Values[i].Value {
			return fmt.Sprintf("value %d: %v kept, %v walked again", i, kept.Values[i], lazy.Values[i])
		}
	}
	return ""
}

// TestValuesWalkedAgainOnDetection runs the corpus through an engine that
// keeps every value and one that walks a request again for its values
// only when it found something: same detections, same values.
func TestValuesWalkedAgainOnDetection(t *testing.T) {
	cases, err := corpus.Load("../../test/corpus")
	if err != nil {
		t.Fatal(err)
	}
	kept, lazy := detect.New(detect.Options{KeepValues: true}), detect.New(detect.Options{})
	bad := 0
	for _, c := range cases {
		req, err := c.Request()
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameValues(kept.Inspect(req), lazy.Inspect(req)); diff != "" {
			if bad++; bad <= 10 {
				t.Errorf("%s: %s", c.ID, diff)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(cases))
	}
}
