package attack

import (
	"testing"
	"unicode/utf8"
)

// FuzzScan runs every detector, with and without the prefilter, on
// arbitrary values at every kind of place: no panic, the prefilter skips
// only detectors that would not have matched, and every fragment lies
// inside the value. The engine-level FuzzInspect reaches the detectors
// only through its decoders; this target reaches each directly.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`<svg x="open`, `<img src=x onerror=alert(1)>`, `' or 1=1--`, `;cat /etc/passwd`, `{{7*7}}`,
		`${jndi:ldap://x/a}`, `../../etc/passwd`, `http://169.254.169.254/`, `<!DOCTYPE a [<!ENTITY b SYSTEM "x">]>`,
		`*)(uid=*))(|(uid=*`, `{"$ne":1}`, "a\r\nBcc: x@y.z", `"Ex"&"e"&"cute(""x`, `db.x.find()`, `${PATH:0:1}`,
		`w'h'o'am'i`, `/et?/pa??wd`, `(CASE WHEN 1=1 THEN 1 END)`, `a=alert,a(1)`, `top[/al/.source](1)`,
		"..\xef\xbc\x8f..\xef\xbc\x8fetc", `<![CDATA[<]]>script`, `\nid;`,
	} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, v string, where uint8) {
		c := &Context{Where: Where(int(where) % int(InMarkup+1)), Header: "x-data", Name: "q", Host: "example.com"}
		got := map[string]bool{}
		Scan(v, c, nil, func(m Match) {
			got[m.DetectorID] = true
			if m.Start < 0 || m.End > len(v) || m.Start > m.End {
				t.Fatalf("%s: fragment [%d:%d] outside a value of %d bytes", m.DetectorID, m.Start, m.End, len(v))
			}
		})
		ScanWithoutPrefilter(v, c, nil, func(m Match) {
			if !got[m.DetectorID] && utf8.ValidString(v) {
				t.Fatalf("%s matched without the prefilter only", m.DetectorID)
			}
		})
	})
}
