package detect_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/detect/benchdata"
)

// BenchmarkInspect measures the engine on the requests of
// agent/detect/benchdata; tools/corazabench runs the same requests through
// Coraza and the OWASP CRS for the baseline (docs/BENCHMARKS.md). Each
// request is also run through the engine without its cache of clean header
// values (.../nocache), and without that cache and its per-value prefilter
// (.../noprefilter: every detector on every value), in the same run.
func BenchmarkInspect(b *testing.B) {
	engines := []struct {
		suffix string
		e      *detect.Engine
	}{
		{"", detect.New(detect.Options{})},
		// Every header and cookie value as if first seen (no clean cache):
		// what a request costs whose headers no earlier request carried.
		{"/nocache", detect.New(detect.Options{CleanCache: -1})},
		{"/noprefilter", detect.NewWithoutPrefilter(detect.Options{CleanCache: -1})},
	}
	for _, r := range benchdata.Requests() {
		req := r.Detect()
		attack := r.Name == "AttackGET"
		for _, eng := range engines {
			b.Run(r.Name+eng.suffix, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(req.Body) + len(req.RawQuery) + len(req.Path)))
				for b.Loop() {
					res := eng.e.Inspect(req)
					if res.Attack() != attack {
						b.Fatalf("attack = %v, want %v: %+v", res.Attack(), attack, res.Detections)
					}
				}
			})
		}
	}
}

// BenchmarkPathological measures the engine on 60 KiB query values made of
// one fragment repeated, the inputs that make a scan quadratic when a
// detector restarts a search at every occurrence ("\r\n", "<a x=", "..",
// "{{", "'||'"). Their cost per byte should stay near that of a benign
// value's; a regression shows here as milliseconds turning into seconds
// (2026-12-04: the worst went from 1.4 s to about 10 ms).
func BenchmarkPathological(b *testing.B) {
	e := detect.New(detect.Options{})
	for _, unit := range []string{"\r\n", "<a x=", "..", "{{", "'||'", "(", "${", "<", "&#", "/*", "on", "\"&\"", "(alert,", "(;", "o<x>n", "style=x:", "a/**/", "a+", "<\t", "a\tb", "ı", "1) as x where ", ".%00", ",(select ", "in my /etc/passwd ", "use `id` ", "uses /bin/sh ", "Function(\"", "＜", " 'x' ",
		"`exec(", "process.kill(", "a/bin/sh", "..;a=", "'sys'.", "(&(a=b)", "('http://127.0.0.1/", "setTimeout(", "file://x "} {
		v := strings.Repeat(unit, (60<<10)/len(unit))
		for _, where := range []string{"query", "path", "cookie", "json"} {
			req := &detect.Request{AppID: 1, Method: "GET", Host: "shop.example.com", Path: "/", RawQuery: "q=" + url.QueryEscape(v), Header: http.Header{}}
			switch where {
			case "json":
				body, _ := json.Marshal(map[string]string{"text": v})
				req = &detect.Request{AppID: 1, Method: "POST", Host: "shop.example.com", Path: "/", Body: body, ContentType: "application/json", Header: http.Header{}}
			case "path":
				req = &detect.Request{AppID: 1, Method: "GET", Host: "shop.example.com", Path: "/" + url.PathEscape(v), Header: http.Header{}}
			case "cookie":
				req = &detect.Request{AppID: 1, Method: "GET", Host: "shop.example.com", Path: "/", Header: http.Header{"Cookie": {"s=" + v}}}
			}
			b.Run(fmt.Sprintf("%q/%s", unit, where), func(b *testing.B) {
				b.SetBytes(int64(len(v)))
				for b.Loop() {
					e.Inspect(req)
				}
			})
		}
	}
}
