package xdp

import (
	"strings"
	"testing"
	"time"
)

func TestParseListsFile(t *testing.T) {
	in := `# operators' list
deny  203.0.113.7            # scanner
deny  198.18.128.0/17  10m   # burst
allow fd00:1::/64

`
	got, err := ParseListsFile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d entries", len(got))
	}
	if got[0].List != Deny || got[0].Entry.Prefix.String() != "203.0.113.7/32" || got[0].Entry.Reason != "scanner" || !got[0].Entry.Expires.IsZero() {
		t.Errorf("entry 0: %+v", got[0])
	}
	if d := time.Until(got[1].Entry.Expires); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("entry 1 expires in %s", d)
	}
	if got[2].List != Allow || got[2].Entry.Source != SourceFile {
		t.Errorf("entry 2: %+v", got[2])
	}
	for _, bad := range []string{
		"block 1.2.3.4", "deny", "deny 1.2.3.999", "deny 1.2.3.4 forever", "deny 1.2.3.4 -1m", "deny 1.2.3.4 1m extra",
	} {
		_, err := ParseListsFile(strings.NewReader("deny 198.18.0.1\n" + bad + "\n"))
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: want an error naming line 2, got %v", bad, err)
		}
	}
}
