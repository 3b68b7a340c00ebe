package detect_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/test/corpus"
)

// sameResult reports how two results of the same request differ, or "".
// Detections are compared whole (type, point, detector, value, offsets,
// rule, flags), and so are the values masking reads.
func sameResult(with, without *detect.Result) string {
	if d := sameDetections(with, without, "with the prefilter", "without"); d != "" {
		return d
	}
	if len(with.Values) != len(without.Values) {
		return fmt.Sprintf("%d values with the prefilter, %d without", len(with.Values), len(without.Values))
	}
	for i := range with.Values {
		if !with.Values[i].Point.Equal(without.Values[i].Point) || with.Values[i].Value != without.Values[i].Value {
			return fmt.Sprintf("value %d: %v with the prefilter, %v without", i, with.Values[i], without.Values[i])
		}
	}
	if with.Truncated != without.Truncated {
		return "truncated differs"
	}
	return ""
}

// sameDetections reports how the detections of two results of the same
// request differ (type, point, detector, value, offsets, rule, flags), or
// "": a and b name how each was obtained.
func sameDetections(x, y *detect.Result, a, b string) string {
	if len(x.Detections) != len(y.Detections) {
		return fmt.Sprintf("%d detections %s, %d %s: %v / %v", len(x.Detections), a, len(y.Detections), b, ids(x), ids(y))
	}
	for i := range x.Detections {
		d, e := x.Detections[i], y.Detections[i]
		if d.Type != e.Type || d.DetectorID != e.DetectorID || !d.Point.Equal(e.Point) || d.Value != e.Value || d.Start != e.Start || d.End != e.End || d.RuleID != e.RuleID || d.Block != e.Block || d.Experimental != e.Experimental {
			return fmt.Sprintf("detection %d: %+v %s, %+v %s", i, d, a, e, b)
		}
	}
	return ""
}

func ids(r *detect.Result) []string {
	var s []string
	for _, d := range r.Detections {
		s = append(s, d.DetectorID+"@"+d.Point.String())
	}
	return s
}

// TestPrefilterSameResultsOnCorpus runs every case of test/corpus (attacks,
// CRS positives, benign) through the engine with and without the
// per-value prefilter: the prefilter may only skip detectors that could
// not have matched, so the results must be identical.
func TestPrefilterSameResultsOnCorpus(t *testing.T) {
	cases, err := corpus.Load("../../test/corpus")
	if err != nil {
		t.Fatal(err)
	}
	with, without := detect.New(detect.Options{}), detect.NewWithoutPrefilter(detect.Options{})
	bad := 0
	for i := range cases {
		req, err := cases[i].Request()
		if err != nil {
			t.Fatal(err)
		}
		if diff := sameResult(with.Inspect(req), without.Inspect(req)); diff != "" {
			t.Errorf("case %s: %s", cases[i].ID, diff)
			if bad++; bad == 10 {
				t.Fatal("too many differences")
			}
		}
	}
	if !t.Failed() {
		t.Logf("%d corpus cases, identical with and without the prefilter", len(cases))
	}
}

// prefilterPieces are fragments random values are built from: parts of
// attacks of every type, the byte pairs the prefilter looks for, and
// ordinary text, so that values fall on both sides of every mask.
var prefilterPieces = []string{
	"'", "\"", "`", " or 1=1", "--", "#", "/*", "*/", ";", "|", "&", "&&", "$", "{", "}", "${", "${jndi:ldap://x/a}",
	"(", ")", ")(uid=*", "<", ">", "<!", "<!ENTITY a \"&b;&b;\">", "<!DOCTYPE x SYSTEM \"http://x/\">", "<script>",
	"onerror=", "javascript:", "..", "../", "..\\", "/etc/passwd", "\r\n", "Set-Cookie: a=b", "\nBcc: x@y",
	"$ne", "[$gt]", "{{7*7}}", "<%= 7*7 %>", "#{1+1}", "http://", "//evil.example", "169.254.169.254", "localhost",
	"127.0.0.1", "file://", "php://filter", "union select", "sleep(5)", "id", "cat /etc/hosts", "$(whoami)",
	"%", "@", "=", ":", ".", "/", "\\", "\x00", "é", "\u560a", "UNION", "Select", "nikto", "sqlmap", "/.git/",
	"running shoes", "the quick brown fox", "12", "3.5", "a", "value", "Hello, World.", "shell.php", "?",
}

func randomValue(rng *rand.Rand) string {
	var b strings.Builder
	for k := rng.IntN(6); k >= 0; k-- {
		b.WriteString(prefilterPieces[rng.IntN(len(prefilterPieces))])
	}
	return b.String()
}

// TestPrefilterSameResultsOnRandomValues places random values, built from
// attack fragments and plain text, in every kind of point and compares the
// engine with and without the prefilter.
func TestPrefilterSameResultsOnRandomValues(t *testing.T) {
	with, without := detect.New(detect.Options{}), detect.NewWithoutPrefilter(detect.Options{})
	rng := rand.New(rand.NewPCG(7, 11))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		v1, v2, v3, v4 := randomValue(rng), randomValue(rng), randomValue(rng), randomValue(rng)
		req := &detect.Request{
			Method: "POST", Host: "shop.example.com",
			Path:     "/a/" + url.PathEscape(v1),
			RawQuery: "q=" + url.QueryEscape(v2) + "&url=" + url.QueryEscape(v3) + "&" + url.QueryEscape(v4) + "=1",
			Header: http.Header{
				"User-Agent": {v3}, "X-Api-Version": {v4}, "Referer": {v2},
				"Cookie": {"sid=" + url.QueryEscape(v1)},
			},
			ContentType: "application/json",
			Body:        fmt.Appendf(nil, `{"name":%q,"filter":{%q:%q},"items":[%q,%q]}`, v1, v4, v2, v3, v1),
		}
		if i%2 == 1 {
			req.ContentType = "application/x-www-form-urlencoded"
			req.Body = []byte("comment=" + url.QueryEscape(v4) + "&file=" + url.QueryEscape(v2))
		}
		if diff := sameResult(with.Inspect(req), without.Inspect(req)); diff != "" {
			t.Fatalf("values %q %q %q %q: %s", v1, v2, v3, v4, diff)
		}
	}
}
