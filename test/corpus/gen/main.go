// Command gen writes Palisade's labeled detection corpus (test/corpus/*.jsonl):
// the attack payloads of payloads.go placed in every point kind and
// encoding that fits their type, benign traffic built to be hard, and the
// positive regression tests of the OWASP CRS, the GoTestWAF test cases
// (test/corpus/gotestwaf) and the waf-bypass payloads of Nemesida WAF
// (test/corpus/nemesida) converted to requests. Output
// is deterministic for a given seed; each case lands in the "tune" or
// "holdout" split by a hash of its payload, so that variants of one
// payload never straddle the split.
//
//	go run ./test/corpus/gen -crs $(go env GOMODCACHE)/github.com/corazawaf/coraza-coreruleset/v4@v4.25.0
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"maps"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/palisadewaf/palisade/test/corpus"
)

type gen struct {
	r     *rand.Rand
	cases []corpus.Case
	ids   map[string]int
}

func main() {
	out := flag.String("out", "test/corpus", "output directory")
	crs := flag.String("crs", "", "directory of the github.com/corazawaf/coraza-coreruleset/v4 module (optional)")
	gtw := flag.String("gotestwaf", "test/corpus/gotestwaf", "directory of the GoTestWAF test cases (skipped when the default is absent; \"\" to skip)")
	nem := flag.String("nemesida", "test/corpus/nemesida", "directory of the waf-bypass payload set, payload/<DIR>/<N>.json (skipped when the default is absent; \"\" to skip)")
	seed := flag.Uint64("seed", 3, "random seed")
	flag.Parse()

	g := &gen{r: rand.New(rand.NewPCG(*seed, 1)), ids: map[string]int{}}
	g.attacks()
	write(filepath.Join(*out, "attacks.jsonl"), g.cases)
	g.cases = nil
	g.benign()
	write(filepath.Join(*out, "benign.jsonl"), g.cases)
	if *crs != "" {
		g.cases = nil
		if err := g.crs(*crs); err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*out, "crs.jsonl"), g.cases)
	}
	gtwSet, nemSet := false, false
	flag.Visit(func(f *flag.Flag) {
		gtwSet = gtwSet || f.Name == "gotestwaf"
		nemSet = nemSet || f.Name == "nemesida"
	})
	if _, err := os.Stat(*gtw); *gtw != "" && (err == nil || gtwSet) {
		g.cases = nil
		if err := g.gotestwaf(*gtw); err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*out, "gotestwaf.jsonl"), g.cases)
	}
	if _, err := os.Stat(*nem); *nem != "" && (err == nil || nemSet) {
		g.cases = nil
		if err := g.nemesida(*nem); err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*out, "nemesida.jsonl"), g.cases)
	}
}

func write(name string, cases []corpus.Case) {
	f, err := os.Create(name)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range cases {
		if err := enc.Encode(&cases[i]); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d cases\n", name, len(cases))
}

// split assigns a payload to tune (70%) or holdout (30%) by hash.
func split(key string) string {
	h := fnv.New32a()
	h.Write([]byte(key))
	if h.Sum32()%10 < 3 {
		return corpus.Holdout
	}
	return corpus.Tune
}

func (g *gen) id(prefix string) string {
	g.ids[prefix]++
	return fmt.Sprintf("%s-%d", prefix, g.ids[prefix])
}

func (g *gen) add(c corpus.Case) {
	if c.Method == "" {
		c.Method = "GET"
	}
	if c.Path == "" {
		c.Path = "/"
	}
	g.cases = append(g.cases, c)
}

func (g *gen) benignCase(place, encoding, method, path, query string, headers [][2]string, ct, ce, body string) {
	if method != "GET" && body == "" && query != "" {
		body, query = query, ""
	}
	key := place + path + query + body
	g.add(corpus.Case{
		ID: g.id("benign-" + place), Label: corpus.Benign, Place: place, Encoding: encoding, Split: split(key),
		Source: "gen", Method: method, Path: path, Query: query, Headers: headers, ContentType: ct,
		ContentEncoding: ce, Body: body,
	})
}

// Encodings applied to a payload before it is placed.
func encodings(typ string) []string {
	switch typ {
	case "xxe":
		return []string{"plain"}
	case "crlf", "mail_injection":
		return []string{"plain", "percent2"}
	}
	return []string{"plain", "percent2", "html", "unicode", "base64"}
}

func encode(p, enc string) string {
	switch enc {
	case "percent2": // double percent-encoding
		return strings.ReplaceAll(url.QueryEscape(url.QueryEscape(p)), "+", "%2B")
	case "html":
		var b strings.Builder
		for _, r := range p {
			if strings.ContainsRune(`<>"'();&=/:`, r) {
				fmt.Fprintf(&b, "&#x%x;", r)
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	case "unicode":
		var b strings.Builder
		for _, r := range p {
			if strings.ContainsRune(`<>"'();=/:${}|&`, r) {
				fmt.Fprintf(&b, "\\u%04x", r)
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte(p))
	}
	return p
}

// places lists where each type is placed.
func places(typ string) []string {
	all := []string{"query", "form", "json", "xml", "multipart", "header", "cookie", "path", "body", "graphql"}
	switch typ {
	case "xxe":
		return []string{"xmlbody", "multipartxml", "form"}
	case "crlf":
		return []string{"query", "path", "cookie", "form"}
	case "mail_injection":
		return []string{"query", "form", "json"}
	case "redir":
		return []string{"query", "form", "json"}
	case "nosqli":
		return []string{"query", "json", "form", "nosqlname"}
	case "log4shell":
		return []string{"query", "header", "useragent", "json", "cookie", "form", "path"}
	case "rfi", "ssrf":
		return []string{"query", "form", "json", "xml", "multipart", "cookie", "graphql"}
	}
	return all
}

// paramName picks a parameter name that fits the type (applications name
// redirect targets "next", include targets "page").
func paramName(typ string, r *rand.Rand) string {
	switch typ {
	case "redir":
		return pick(r, []string{"next", "redirect", "return_to", "returnUrl", "goto", "continue", "dest"})
	case "rfi":
		return pick(r, []string{"page", "file", "include", "template", "lang"})
	case "ssrf":
		return pick(r, []string{"url", "callback", "webhook", "feed", "target", "image_url"})
	case "mail_injection":
		return pick(r, []string{"email", "from", "subject", "reply_to"})
	}
	return pick(r, []string{"id", "q", "name", "search", "file", "cmd", "user", "lang", "item", "comment", "data", "value"})
}

func (g *gen) attacks() {
	types := []string{"sqli", "xss", "rce", "ptrav", "rfi", "ssrf", "ssti", "crlf", "nosqli", "ldapi", "log4shell", "redir", "mail_injection", "xxe"}
	for _, typ := range types {
		for _, p := range payloads[typ] {
			sp := split(typ + p)
			for _, enc := range encodings(typ) {
				if enc == "base64" && typ == "redir" {
					continue
				}
				ev := encode(p, enc)
				for _, place := range places(typ) {
					if !fits(typ, place, enc) {
						continue
					}
					c, ok := g.place(typ, place, ev, enc)
					if !ok {
						continue
					}
					c.ID = g.id(typ)
					c.Label, c.Type, c.Place, c.Encoding, c.Split, c.Source = corpus.Attack, typ, place, enc, sp, "gen"
					g.add(c)
				}
			}
		}
	}
	// Scanners: user agents and probe paths.
	for _, ua := range scannerAgents {
		h := [][2]string{{"User-Agent", ua}, {"Accept", "*/*"}}
		g.add(corpus.Case{ID: g.id("scanner"), Label: corpus.Attack, Type: "scanner", Place: "useragent", Split: split(ua), Source: "gen", Path: "/", Headers: h})
	}
	for _, p := range probePaths {
		h := [][2]string{{"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"}}
		g.add(corpus.Case{ID: g.id("scanner"), Label: corpus.Attack, Type: "scanner", Place: "path", Split: split(p), Source: "gen", Path: p, Headers: h})
	}
	// Data bombs: compression, nesting, entity expansion.
	for i, n := range []int{1 << 20, 4 << 20, 16 << 20} {
		body := gz(bytes.Repeat([]byte("A"), n))
		g.add(corpus.Case{ID: g.id("data_bomb"), Label: corpus.Attack, Type: "data_bomb", Place: "body", Encoding: "gzip", Split: []string{corpus.Tune, corpus.Holdout, corpus.Tune}[i], Source: "gen",
			Method: "POST", Path: "/api/upload", ContentType: "application/json", ContentEncoding: "gzip", BodyB64: base64.StdEncoding.EncodeToString(body)})
	}
	for i, d := range []int{100, 1000, 20000} {
		g.add(corpus.Case{ID: g.id("data_bomb"), Label: corpus.Attack, Type: "data_bomb", Place: "json", Split: []string{corpus.Tune, corpus.Holdout, corpus.Tune}[i], Source: "gen",
			Method: "POST", Path: "/api", ContentType: "application/json", Body: strings.Repeat("[", d) + strings.Repeat("]", d)})
	}
	lol := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]><lolz>&lol4;</lolz>`
	g.add(corpus.Case{ID: g.id("data_bomb"), Label: corpus.Attack, Type: "data_bomb", Place: "xml", Split: corpus.Tune, Source: "gen", Method: "POST", Path: "/soap", ContentType: "application/xml", Body: lol})
	g.add(corpus.Case{ID: g.id("data_bomb"), Label: corpus.Attack, Type: "data_bomb", Place: "xml", Split: corpus.Holdout, Source: "gen", Method: "POST", Path: "/soap", ContentType: "text/xml", Body: strings.ReplaceAll(lol, "lol", "ha")})
}

func fits(typ, place, enc string) bool {
	switch place {
	case "header", "useragent", "cookie":
		// Raw header values cannot carry CR/LF or arbitrary bytes.
		return !strings.ContainsAny(enc, "\r\n")
	case "path":
		return typ != "xxe"
	}
	return true
}

// place builds a request carrying the encoded payload ev at place.
func (g *gen) place(typ, place, ev, enc string) (corpus.Case, bool) {
	name := paramName(typ, g.r)
	c := corpus.Case{Method: "GET", Path: "/app/view"}
	hdr := [][2]string{{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"}, {"Accept", "*/*"}}
	raw := ev // value as it travels where no further encoding is needed
	if strings.ContainsAny(raw, "\r\n") && (place == "header" || place == "useragent" || place == "cookie") {
		return c, false
	}
	switch place {
	case "query":
		c.Query = "page=1&" + name + "=" + queryEsc(ev)
	case "path":
		c.Path = "/app/item/" + pathEsc(ev)
	case "form":
		c.Method, c.ContentType = "POST", "application/x-www-form-urlencoded"
		c.Body = "token=abc123&" + name + "=" + formEsc(ev)
	case "json":
		c.Method, c.ContentType = "POST", "application/json"
		c.Body = mustJSON(map[string]any{"user": map[string]any{"id": 7, name: ev}, "page": 1})
	case "graphql":
		c.Method, c.ContentType, c.Path = "POST", "application/json", "/graphql"
		c.Body = mustJSON(map[string]any{"query": fmt.Sprintf(`query { item(%s: %s) { id name } }`, "q", gqlString(ev)), "variables": map[string]any{}})
	case "xml":
		c.Method, c.ContentType, c.Path = "POST", "application/xml", "/api/order"
		c.Body = `<?xml version="1.0"?><order><id>5</id><` + "note" + `>` + xmlEsc(ev) + `</note></order>`
	case "xmlbody":
		c.Method, c.ContentType, c.Path = "POST", "application/xml", "/api/order"
		c.Body = ev
	case "multipartxml":
		c.Method, c.Path = "POST", "/import"
		c.ContentType, c.Body = multipartBody([][3]string{{"doc", "order.xml", ev}})
	case "multipart":
		c.Method, c.Path = "POST", "/upload"
		c.ContentType, c.Body = multipartBody([][3]string{{"title", "", "x"}, {name, "", ev}})
	case "header":
		hdr = append(hdr, [2]string{pick(g.r, []string{"X-Forwarded-Host-Name", "X-Api-Filter", "Referer", "X-Custom-Data"}), ev})
	case "useragent":
		hdr[0][1] = ev
	case "cookie":
		hdr = append(hdr, [2]string{"Cookie", "sid=9f86d081884c7d65; " + name + "=" + cookieEsc(ev)})
	case "body":
		c.Method, c.ContentType, c.Path = "POST", "text/plain", "/api/notes"
		c.Body = ev
	case "nosqlname":
		if !strings.HasPrefix(raw, "{") {
			return c, false
		}
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) != nil {
			return c, false
		}
		// The first operator, in order (the corpus is the same on every
		// run), at the top or in a field's object, sent as PHP and
		// Express read it: {"$ne": 1} and {"password": {"$ne": "x"}} are
		// password[$ne]=x.
		found := false
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if strings.HasPrefix(k, "$") {
				c.Query, found = "user=admin&password["+k+"]=x", true
				break
			}
			if ops, ok := m[k].(map[string]any); ok {
				for _, op := range slices.Sorted(maps.Keys(ops)) {
					if strings.HasPrefix(op, "$") {
						c.Query, found = "user=admin&"+k+"["+op+"]=x", true
						break
					}
				}
			}
			if found {
				break
			}
		}
		if !found {
			return c, false
		}
	default:
		return c, false
	}
	c.Headers = hdr
	if place == "json" && enc == "plain" && typ == "nosqli" && strings.HasPrefix(raw, "{") {
		var m any
		if json.Unmarshal([]byte(raw), &m) == nil {
			c.Body = mustJSON(map[string]any{"username": "admin", "password": m})
		}
	}
	return c, true
}

func queryEsc(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }
func formEsc(s string) string  { return url.QueryEscape(s) }
func pathEsc(s string) string  { return url.PathEscape(s) }
func cookieEsc(s string) string {
	return strings.NewReplacer(";", "%3B", " ", "%20", ",", "%2C", "\"", "%22", "\\", "%5C").Replace(s)
}
func xmlEsc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
func gqlString(s string) string { b, _ := json.Marshal(s); return string(b) }

func mustJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return strings.TrimSpace(b.String())
}

func multipartBody(parts [][3]string) (string, string) {
	const boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		if p[1] != "" {
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=%q; filename=%q\r\nContent-Type: application/octet-stream\r\n\r\n", p[0], p[1])
		} else {
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=%q\r\n\r\n", p[0])
		}
		b.WriteString(p[2] + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return "multipart/form-data; boundary=" + boundary, b.String()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func goroot() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		log.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// reportSkipped calls line for each kind of case a source skipped, in name
// order, with how many.
func reportSkipped(skipped map[string]int, line func(kind string, n int)) {
	for _, k := range slices.Sorted(maps.Keys(skipped)) {
		line(k, skipped[k])
	}
}
