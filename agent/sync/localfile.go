package sync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/palisadewaf/palisade/agent/xdp"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// MaxLocalFileBytes bounds a standalone rules file.
const MaxLocalFileBytes = 64 << 20

// ParseLocalFile reads a standalone node's rules file: the ruleset
// document of docs/RULES.md written in YAML, with conveniences for people
// editing it by hand: "version" defaults to 1, "ruleset_version" to 1,
// "issued" to modTime, an IP-list "prefix" may be a bare address, and
// "origin" defaults to manual. Unknown fields are errors, as in a signed
// ruleset.
func ParseLocalFile(r io.Reader, modTime time.Time) (*apiv1.Ruleset, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxLocalFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read rules file: %w", err)
	}
	if len(raw) > MaxLocalFileBytes {
		return nil, fmt.Errorf("rules file is over %d bytes", MaxLocalFileBytes)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	setDefault(doc, "version", apiv1.Version)
	setDefault(doc, "ruleset_version", 1)
	setDefault(doc, "issued", modTime.UTC().Format(time.RFC3339))
	setDefault(doc, "rules", []any{})
	setDefault(doc, "ip_list", []any{})
	if list, ok := doc["ip_list"].([]any); ok {
		for i, item := range list {
			e, ok := item.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("rules file: ip_list entry %d is not a mapping", i)
			}
			setDefault(e, "origin", apiv1.OriginManual)
			if s, ok := e["prefix"].(string); ok {
				p, err := xdp.ParsePrefix(s)
				if err != nil {
					return nil, fmt.Errorf("rules file: ip_list entry %d: %w", i, err)
				}
				e["prefix"] = p.String()
			}
		}
	}
	// The YAML is re-encoded as JSON and decoded like a downloaded ruleset,
	// so that both paths share one set of types and checks.
	js, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	var rs apiv1.Ruleset
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	if err := rs.Validate(); err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	return &rs, nil
}

func setDefault(m map[string]any, key string, v any) {
	if _, ok := m[key]; !ok {
		m[key] = v
	}
}

// readLocalFile opens and parses path.
func readLocalFile(path string) (*apiv1.Ruleset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("rules file " + path + " is not a regular file")
	}
	rs, err := ParseLocalFile(f, st.ModTime())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rs, nil
}
