package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/palisadewaf/palisade/test/corpus"
)

// The OWASP CRS regression tests (shipped in the coraza-coreruleset
// module, Apache License 2.0) are requests each labeled with the rules
// that must fire. crs converts the positive tests of the attack rule
// families at paranoia level 1 (CRS's own low-false-positive set) into corpus cases.

type crsFile struct {
	RuleID int `yaml:"rule_id"`
	Tests  []struct {
		TestID int    `yaml:"test_id"`
		Desc   string `yaml:"desc"`
		Stages []struct {
			Input struct {
				Method  string            `yaml:"method"`
				URI     string            `yaml:"uri"`
				Headers map[string]string `yaml:"headers"`
				Data    any               `yaml:"data"`
				Raw     string            `yaml:"encoded_request"`
			} `yaml:"input"`
			Output struct {
				Log struct {
					ExpectIDs []int `yaml:"expect_ids"`
				} `yaml:"log"`
			} `yaml:"output"`
		} `yaml:"stages"`
	} `yaml:"tests"`
}

var (
	reID = regexp.MustCompile(`id:(\d+)`)
	rePL = regexp.MustCompile(`paranoia-level/(\d)`)
)

// crsTypes maps a CRS rule to a Palisade attack type ("" = not an attack
// class of ours, skipped).
func crsType(id int) string {
	switch {
	case id >= 930000 && id < 931000:
		return "ptrav"
	case id >= 931000 && id < 932000:
		return "rfi"
	case id >= 932000 && id < 934000:
		return "rce"
	case id == 934110 || id == 934190:
		return "ssrf"
	case id >= 934000 && id < 935000:
		return "rce"
	case id >= 941000 && id < 942000:
		return "xss"
	case id >= 942000 && id < 943000:
		return "sqli"
	case id == 944150 || id == 944151 || id == 944152:
		return "log4shell"
	case id >= 944000 && id < 945000:
		return "rce"
	case id >= 913000 && id < 914000:
		return "scanner"
	case id == 921120 || id == 921130 || id == 921140 || id == 921150 || id == 921160:
		return "crlf"
	}
	return ""
}

func (g *gen) crs(dir string) error {
	pl, err := crsParanoia(filepath.Join(dir, "rules", "@owasp_crs"))
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "tests", "REQUEST-*", "*.yaml"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var tf crsFile
		if err := yaml.Unmarshal(b, &tf); err != nil {
			continue // a few files use constructs this converter does not need
		}
		typ := crsType(tf.RuleID)
		if typ == "" || pl[tf.RuleID] != 1 {
			continue
		}
		for _, t := range tf.Tests {
			if len(t.Stages) != 1 {
				continue
			}
			in, out := t.Stages[0].Input, t.Stages[0].Output
			positive := false
			for _, id := range out.Log.ExpectIDs {
				if id == tf.RuleID {
					positive = true
				}
			}
			if !positive || in.Raw != "" || in.URI == "" {
				continue
			}
			c, ok := crsCase(in.Method, in.URI, in.Headers, in.Data)
			if !ok {
				continue
			}
			c.ID = fmt.Sprintf("crs-%d-%d", tf.RuleID, t.TestID)
			c.Label, c.Type, c.Place, c.Split = corpus.Attack, typ, "crs", split(c.ID)
			c.Source = fmt.Sprintf("OWASP CRS v4 test %d/%d (PL%d): %s", tf.RuleID, t.TestID, pl[tf.RuleID], strings.TrimSpace(t.Desc))
			g.add(c)
		}
	}
	return nil
}

func crsCase(method, uri string, headers map[string]string, data any) (corpus.Case, bool) {
	c := corpus.Case{Method: method}
	if c.Method == "" {
		c.Method = "GET"
	}
	if !strings.HasPrefix(uri, "/") {
		return c, false
	}
	c.Path, c.Query, _ = strings.Cut(uri, "?")
	keys := make([]string, 0, len(headers))
	for k := range headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch strings.ToLower(k) {
		case "host":
			c.Host = headers[k]
			continue
		case "content-type":
			c.ContentType = headers[k]
			continue
		case "content-length", "transfer-encoding":
			continue
		}
		if strings.ContainsAny(headers[k], "\r\n") {
			return c, false
		}
		c.Headers = append(c.Headers, [2]string{k, headers[k]})
	}
	switch d := data.(type) {
	case nil:
	case string:
		c.Body = d
	case []any:
		var lines []string
		for _, l := range d {
			lines = append(lines, fmt.Sprint(l))
		}
		c.Body = strings.Join(lines, "\r\n")
	default:
		return c, false
	}
	if c.Body != "" && c.ContentType == "" {
		c.ContentType = "application/x-www-form-urlencoded"
	}
	return c, true
}

// crsParanoia reads the paranoia level of every rule from the .conf files.
func crsParanoia(dir string) (map[int]int, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return nil, err
	}
	pl := map[int]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, chunk := range strings.Split(string(b), "\nSecRule") {
			id := reID.FindStringSubmatch(chunk)
			lvl := rePL.FindStringSubmatch(chunk)
			if id == nil || lvl == nil {
				continue
			}
			n, _ := strconv.Atoi(id[1])
			l, _ := strconv.Atoi(lvl[1])
			pl[n] = l
		}
	}
	return pl, nil
}
