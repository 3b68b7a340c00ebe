package apiv1

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files from the Go types")

// TestGolden pins the wire format: every golden document decodes strictly
// into its type and encodes back to the same bytes. A renamed or retyped
// field breaks this test, which is the point: the contract is versioned and
// a reader in the field must keep understanding it.
func TestGolden(t *testing.T) {
	cases := []struct {
		file string
		doc  any
	}{
		{"report_batch.json", &ReportBatch{}},
		{"ingest_result.json", &IngestResult{}},
		{"enroll_request.json", &EnrollRequest{}},
		{"enroll_response.json", &EnrollResponse{}},
		{"error.json", &Error{}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(want))
			dec.DisallowUnknownFields()
			if err := dec.Decode(c.doc); err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			got, err := json.MarshalIndent(c.doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s does not round-trip; re-encoded:\n%s", path, got)
			}
		})
	}
}

func TestGoldenBatchIsValid(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "report_batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b ReportBatch
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.Version != Version {
		t.Fatalf("version %d, want %d", b.Version, Version)
	}
	if len(b.Events) != 2 || len(b.Counters) != 1 || b.Health == nil {
		t.Fatalf("golden batch lost content: %+v", b)
	}
	for i := range b.Events {
		if err := b.Events[i].Validate(); err != nil {
			t.Errorf("golden event %d: %v", i, err)
		}
	}
	bad := b.Events[0]
	bad.Decision = "dropped"
	bad.Excerpt = string(make([]byte, MaxExcerptLen+1))
	if err := bad.Validate(); err == nil {
		t.Error("an event with an unknown decision and an oversize excerpt validated")
	}
}
