// Command payloadreplay replays a public WAF payload collection through the
// detection engine the way the collection's own test templates send it,
// and prints, per payload file, the share of attack payloads blocked in
// every request and of legitimate ones flagged in any. It is a blind
// estimate: the collections are not in test/corpus, are not tuned on
// case by case, and are fetched by whoever runs it.
//
// The layout read is that of mgm-sp/WAF-Payload-Collection (the malicious
// half of the open-appsec WAF comparison project): DIR/<class>/
// true-positives.txt and false-positives.txt, one payload per line, sent
// as its nuclei templates do: URL-encoded with "%25" put back to "%" in
// a GET query and a urlencoded POST form (tp_param=...), XML as the body
// of a GET and a POST, log4shell and shellshock in the User-Agent (and
// shellshock in the form too).
//
//	git clone https://github.com/mgm-sp/WAF-Payload-Collection /tmp/wpc
//	go run ./tools/payloadreplay -dir /tmp/wpc/nuclei/payloads -misses 5
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/palisadewaf/palisade/agent/detect"
)

const browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:105.0) Gecko/20100101 Firefox/105.0"

func main() {
	dir := flag.String("dir", "", "the collection's payload directory (nuclei/payloads)")
	misses := flag.Int("misses", 0, "list this many missed attacks and flagged legitimate payloads per file")
	flag.Parse()
	if *dir == "" {
		log.Fatal("payloadreplay: -dir is required")
	}
	classes, err := os.ReadDir(*dir)
	if err != nil {
		log.Fatal(err)
	}
	e := detect.New(detect.Options{})
	var total [2]tally
	fmt.Printf("%-12s %-6s %8s %10s\n", "class", "set", "payloads", "result")
	for _, c := range classes {
		if !c.IsDir() {
			continue
		}
		for k, set := range []string{"true-positives.txt", "false-positives.txt"} {
			lines, err := readLines(filepath.Join(*dir, c.Name(), set))
			if err != nil {
				continue
			}
			t := replay(e, c.Name(), lines, k == 1)
			total[k].n += t.n
			total[k].hit += t.hit
			label := "attack blocked"
			if k == 1 {
				label = "legit flagged"
			}
			fmt.Printf("%-12s %-6s %8d %9.2f%% %s\n", c.Name(), strings.TrimSuffix(set, "-positives.txt"), t.n, t.pct(), label)
			for i, m := range t.odd {
				if i >= *misses {
					break
				}
				fmt.Printf("    %q\n", m)
			}
		}
	}
	fmt.Printf("%-12s %-6s %8d %9.2f%% attack blocked\n", "ALL", "true", total[0].n, total[0].pct())
	fmt.Printf("%-12s %-6s %8d %9.2f%% legit flagged\n", "ALL", "false", total[1].n, total[1].pct())
}

type tally struct {
	n, hit int
	odd    []string // misses of attacks, hits of legitimate payloads
}

func (t tally) pct() float64 { return 100 * float64(t.hit) / float64(max(t.n, 1)) }

// replay sends each payload in the class's requests. An attack counts as
// blocked when every request is; a legitimate payload as flagged when any
// is.
func replay(e *detect.Engine, class string, lines []string, legit bool) tally {
	var t tally
	for _, p := range lines {
		t.n++
		flagged, all := false, true
		for _, r := range requests(class, p) {
			r.AppID, r.Host, r.Path = 1, "waf.test", "/"
			if e.Inspect(r).Attack() {
				flagged = true
			} else {
				all = false
			}
		}
		switch {
		case legit && flagged:
			t.hit++
			t.odd = append(t.odd, p)
		case !legit && all:
			t.hit++
		case !legit:
			t.odd = append(t.odd, p)
		}
	}
	return t
}

// requests builds what the class's nuclei template sends for payload p.
func requests(class, p string) []*detect.Request {
	// {{replace(urlencode(p),"%25","%")}}: escapes the payload already
	// holds are sent as they are.
	enc := strings.ReplaceAll(url.QueryEscape(p), "%25", "%")
	header := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	form := func(ua string) *detect.Request {
		return &detect.Request{Method: "POST", Header: header("User-Agent", ua, "Content-Type", "application/x-www-form-urlencoded"),
			Body: []byte("tp_param=" + enc), ContentType: "application/x-www-form-urlencoded"}
	}
	switch class {
	case "xxe":
		return []*detect.Request{
			{Method: "GET", Header: header("User-Agent", browser, "Content-Type", "application/xml"), Body: []byte(p), ContentType: "application/xml"},
			{Method: "POST", Header: header("User-Agent", browser, "Content-Type", "application/xml"), Body: []byte(p), ContentType: "application/xml"},
		}
	case "log4shell":
		return []*detect.Request{
			{Method: "GET", RawQuery: "tp_param=foobar", Header: header("User-Agent", p, "Accept-Encoding", "gzip")},
			{Method: "POST", Header: header("User-Agent", p, "Accept-Encoding", "gzip"), Body: []byte("tp_param=foobar")},
		}
	case "shellshock":
		return []*detect.Request{
			{Method: "GET", RawQuery: "tp_param=foobar", Header: header("User-Agent", p, "Accept-Encoding", "gzip")},
			{Method: "POST", Header: header("User-Agent", p, "Accept-Encoding", "gzip", "Content-Type", "text/plain"), Body: []byte("tp_param=foobar"), ContentType: "text/plain"},
			form(browser),
		}
	}
	return []*detect.Request{{Method: "GET", RawQuery: "tp_param=" + enc, Header: header("User-Agent", browser)}, form(browser)}
}

// readLines returns the file's distinct non-empty lines, in order.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out, sc.Err()
}
