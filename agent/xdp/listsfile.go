package xdp

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// FileEntry is one line of a lists file.
type FileEntry struct {
	List  List
	Entry Entry
}

// ParseListsFile reads the lists file format, one entry per line:
//
//	# comment
//	deny  203.0.113.7            # reason text
//	deny  198.18.128.0/17  10m   # with a TTL
//	allow fd00:1::/64
//
// A TTL is a Go duration counted from load time. Every error names its line.
func ParseListsFile(r io.Reader) ([]FileEntry, error) {
	var out []FileEntry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, reason, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) > 3 {
			return nil, fmt.Errorf("line %d: want `<allow|deny> <ip|cidr> [ttl]`, got %d fields", n, len(fields))
		}
		l, err := ParseList(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("line %d: missing address", n)
		}
		p, err := ParsePrefix(fields[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		e := Entry{Prefix: p, Reason: strings.TrimSpace(reason), Source: SourceFile}
		if len(fields) == 3 {
			ttl, err := ParseTTL(fields[2])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			e.Expires = time.Now().Add(ttl)
		}
		out = append(out, FileEntry{List: l, Entry: e})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read lists file: %w", err)
	}
	return out, nil
}

// MaxTTL bounds TTLs so that boot-time arithmetic never overflows.
const MaxTTL = 10 * 365 * 24 * time.Hour

// ParseTTL parses a positive Go duration ("90s", "10m", "24h").
func ParseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("TTL %q is not a duration like 90s, 10m or 24h", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("TTL %q must be positive", s)
	}
	if d > MaxTTL {
		return 0, fmt.Errorf("TTL %q is above the maximum of 10 years", s)
	}
	return d, nil
}
