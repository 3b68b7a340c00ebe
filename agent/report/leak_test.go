package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/detect/attack"
	"github.com/palisadewaf/palisade/agent/mask"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// The leak test generates requests that carry random secrets in every kind
// of sensitive point and encoding, next to and inside attacks, runs them
// through the real detection engine and the reporter, and checks that
// neither the bytes a test cloud received, nor the logs, nor the metrics
// contain any secret or any 6-character piece of one.

// alphabets secrets are drawn from: plain, mixed, hex, base64-ish, every
// printable ASCII character (quotes, '&', '=', '%', '<', '\' included) and
// non-ASCII.
var alphabets = []string{
	"abcdefghijklmnopqrstuvwxyz",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"0123456789ABCDEF",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-",
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
	"äöüßéèçñøåæœ漢字かなカナ한글абвгдежзλμπ😀🔑abc123",
}

// attacks the engine detects; they are public text, never secrets.
var attacks = []string{
	"' OR 1=1--",
	"1 UNION SELECT password FROM users--",
	"<script>alert(1)</script>",
	"\"><img src=x onerror=alert(1)>",
	"; cat /etc/passwd",
	"../../../etc/passwd",
}

// sensitiveNames are spellings of default sensitive names.
var sensitiveNames = []string{
	"password", "Password", "PASSWD", "pwd", "new_password", "secret", "client_secret",
	"token", "access_token", "refreshToken", "id_token", "api_key", "apiKey", "X-API-KEY",
	"session", "email", "cc_number", "cardNumber", "cvv", "ssn", "iban", "pin",
}

// Rules of application 3 that mark points sensitive, as the cloud would.
var leakRules = []detect.SensitivePoint{
	{RuleID: 901, AppID: 3, Point: point.MustParsePattern("query.loyalty_ref")},
	{RuleID: 902, AppID: 3, Point: point.MustParsePattern("body|json.**.loyalty_id")},
	{RuleID: 903, AppID: 3, Point: point.MustParsePattern("path[1]")},
}

type leakGen struct {
	r *rand.Rand
	// public holds every 6-rune piece of text that is not secret: the
	// generator's vocabulary and what the pipeline writes on its own.
	public map[string]bool
	// fixed, when set, is the one secret (a fuzzer's input).
	fixed string
}

func (g *leakGen) addPublic(text string) {
	r := []rune(text)
	for i := 0; i+6 <= len(r); i++ {
		g.public[string(r[i:i+6])] = true
	}
}

// secret returns a random secret of 8 to 48 characters that shares no
// 6-character piece with public text (else a match would prove nothing).
func (g *leakGen) secret() string {
	if g.fixed != "" {
		return g.fixed
	}
	for {
		alpha := []rune(alphabets[g.r.IntN(len(alphabets))])
		n := 8 + g.r.IntN(41)
		rs := make([]rune, n)
		for i := range rs {
			rs[i] = alpha[g.r.IntN(len(alpha))]
		}
		s := string(rs)
		if strings.TrimSpace(s) != s || !g.isPrivate(s) {
			continue
		}
		return s
	}
}

func (g *leakGen) isPrivate(s string) bool {
	r := []rune(s)
	for i := 0; i+6 <= len(r); i++ {
		if g.public[string(r[i:i+6])] {
			return false
		}
	}
	return true
}

func (g *leakGen) from(alpha string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[g.r.IntN(len(alpha))]
	}
	return string(b)
}

const (
	upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// shaped returns a random value of a shape a value detector knows, not
// sharing pieces with public text.
func (g *leakGen) shaped() (kind, value string) {
	for {
		switch g.r.IntN(9) {
		case 0:
			kind, value = "card", g.card()
		case 1:
			kind, value = "email", g.from("abcdefghijklmnopqrstuvwxyz0123456789", 6+g.r.IntN(10))+"@"+g.from("abcdefghijklmnopqrstuvwxyz", 5+g.r.IntN(8))+".com"
		case 2:
			kind, value = "aws", "AKIA"+g.from(upperDigits, 16)
		case 3:
			kind, value = "github", "ghp_"+g.from(alnum, 36)
		case 4:
			kind, value = "stripe", "sk_live_"+g.from(alnum, 24)
		case 5:
			kind, value = "google", "AIza"+g.from(alnum+"_-", 35)
		case 6:
			kind, value = "slack", "xoxb-"+g.from("0123456789", 12)+"-"+g.from(alnum, 24)
		case 7:
			claims, _ := json.Marshal(map[string]string{"sub": g.from(alnum, 20), "role": "admin"})
			kind, value = "jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."+base64.RawURLEncoding.EncodeToString(claims)+"."+g.from(alnum+"_-", 43)
		case 8:
			kind, value = "private-key", "-----BEGIN RSA PRIVATE KEY-----\n"+g.from(alnum+"+/", 64)+"\n"+g.from(alnum+"+/", 40)+"\n-----END RSA PRIVATE KEY-----"
		}
		if g.isPrivate(secretPart(kind, value)) {
			return kind, value
		}
	}
}

// secretPart is the part of a shaped value that must not leak: its fixed
// prefix ("AKIA", "-----BEGIN") is public.
func secretPart(kind, v string) string {
	switch kind {
	case "aws", "google":
		return v[4:]
	case "github":
		return v[4:]
	case "stripe":
		return v[8:]
	case "slack":
		return v[5:]
	case "jwt":
		return v[strings.Index(v, ".")+1:]
	case "private-key":
		return strings.TrimSuffix(strings.TrimPrefix(v, "-----BEGIN RSA PRIVATE KEY-----\n"), "\n-----END RSA PRIVATE KEY-----")
	}
	return v
}

// card returns a random Luhn-valid 16-digit card number, sometimes grouped.
func (g *leakGen) card() string {
	d := make([]byte, 16)
	d[0] = "45"[g.r.IntN(2)]
	for i := 1; i < 15; i++ {
		d[i] = byte('0' + g.r.IntN(10))
	}
	for c := byte('0'); c <= '9'; c++ {
		d[15] = c
		if luhnOK(d) {
			break
		}
	}
	s := string(d)
	if g.r.IntN(2) == 0 {
		s = s[0:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:16]
	}
	return s
}

func luhnOK(d []byte) bool {
	sum := 0
	for i := range d {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// leakRequest is one generated request and what it must not leak.
type leakRequest struct {
	path    string
	query   []string
	header  http.Header
	cookies []string
	body    string // json, form, multipart, xml
	json    map[string]any
	form    []string
	parts   [][2]string
	xml     []string
	secrets []string
	kinds   []string
}

func (q *leakRequest) addSecret(kind, s string) {
	q.secrets = append(q.secrets, s)
	q.kinds = append(q.kinds, kind)
}

// placement puts a secret into a request, the way a client would encode
// it there. body says which body type it needs ("" for any).
type placement struct {
	kind string
	body string
	put  func(g *leakGen, q *leakRequest)
}

var placements = []placement{
	{"query arg with a sensitive name", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.query = append(q.query, url.QueryEscape(pick(g, sensitiveNames))+"="+url.QueryEscape(s))
		q.addSecret("query", s)
	}},
	{"attack inside a sensitive query arg", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.query = append(q.query, "password="+url.QueryEscape(pick(g, attacks)+s))
		q.addSecret("query+attack", s)
	}},
	{"query arg marked by a rule", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.query = append(q.query, "loyalty_ref="+url.QueryEscape(s))
		q.addSecret("query rule", s)
	}},
	{"path segment marked by a rule", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.path = "/account/" + url.PathEscape(s) + "/settings/" + pick(g, []string{"../../../etc/passwd", "x"})
		q.addSecret("path rule", s)
	}},
	{"authorization bearer", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.header.Set("Authorization", "Bearer "+s)
		q.addSecret("authorization", s)
	}},
	{"authorization basic", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.header.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("bob:"+s)))
		q.addSecret("basic", s)
	}},
	{"api key header", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.header.Set("X-Api-Key", s)
		q.addSecret("x-api-key", s)
	}},
	{"cookie", "", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.cookies = append(q.cookies, pick(g, []string{"session", "theme", "prefs"})+"="+url.QueryEscape(s))
		q.addSecret("cookie", s)
	}},
	{"shaped value next to an attack in a plain query arg", "", func(g *leakGen, q *leakRequest) {
		kind, v := g.shaped()
		q.query = append(q.query, "note="+url.QueryEscape(pick(g, attacks)+" contact "+v))
		q.addSecret("detector "+kind, secretPart(kind, v))
	}},
	{"json member at depth", "json", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		var v any = map[string]any{pick(g, sensitiveNames): s}
		for range g.r.IntN(4) {
			v = map[string]any{pick(g, []string{"user", "profile", "data", "settings"}): v}
		}
		q.json[pick(g, []string{"account", "login", "meta"})] = v
		q.addSecret("json", s)
	}},
	{"json array element", "json", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.json["creds"] = []any{map[string]any{"id": 1}, map[string]any{"pwd": s, "comment": pick(g, attacks)}}
		q.addSecret("json array", s)
	}},
	{"json member marked by a rule", "json", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.json["member"] = map[string]any{"loyalty_id": s, "comment": pick(g, attacks)}
		q.addSecret("json rule", s)
	}},
	{"base64 inside json", "json", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		inner, _ := json.Marshal(map[string]any{"token": s, "q": pick(g, attacks)})
		q.json["data"] = base64.StdEncoding.EncodeToString(inner)
		q.addSecret("base64 in json", s)
	}},
	{"jwt claims in json", "json", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		claims, _ := json.Marshal(map[string]string{"email": s, "sub": "42"})
		q.json["id_hint"] = "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + "."
		q.addSecret("jwt in json", s)
	}},
	{"shaped value next to an attack in json", "json", func(g *leakGen, q *leakRequest) {
		kind, v := g.shaped()
		q.json["comment"] = pick(g, attacks) + " my details: " + v
		q.addSecret("detector "+kind, secretPart(kind, v))
	}},
	{"form field", "form", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.form = append(q.form, url.QueryEscape(pick(g, sensitiveNames))+"="+url.QueryEscape(s))
		q.addSecret("form", s)
	}},
	{"url-encoded form inside a form field", "form", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		inner := "next=%2Fhome&password=" + url.QueryEscape(s) + "&q=" + url.QueryEscape(pick(g, attacks))
		q.form = append(q.form, "payload="+url.QueryEscape(inner))
		q.addSecret("form in form", s)
	}},
	{"multipart field", "multipart", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.parts = append(q.parts, [2]string{pick(g, sensitiveNames), s})
		q.addSecret("multipart", s)
	}},
	{"xml element", "xml", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.xml = append(q.xml, "<password>"+xmlEscape(s)+"</password>")
		q.addSecret("xml element", s)
	}},
	{"xml attribute", "xml", func(g *leakGen, q *leakRequest) {
		s := g.secret()
		q.xml = append(q.xml, `<card cvv="`+xmlEscape(s)+`"/>`)
		q.addSecret("xml attribute", s)
	}},
}

func pick[T any](g *leakGen, list []T) T { return list[g.r.IntN(len(list))] }

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// generate builds one request with a few placements of one body type,
// always with an attack in a plain field so that events are reported.
func (g *leakGen) generate() (*detect.Request, *leakRequest) {
	q := &leakRequest{
		path:   "/api/orders",
		header: http.Header{},
		body:   pick(g, []string{"json", "form", "multipart", "xml"}),
		json:   map[string]any{},
	}
	q.query = append(q.query, "id="+url.QueryEscape(pick(g, attacks)))
	for range 2 + g.r.IntN(5) {
		p := pick(g, placements)
		if p.body != "" && p.body != q.body {
			continue
		}
		p.put(g, q)
	}
	req := &detect.Request{
		AppID:    3,
		Method:   "POST",
		Host:     "shop.example.test",
		Path:     q.path,
		RawQuery: strings.Join(q.query, "&"),
		Header:   q.header,
	}
	if len(q.cookies) > 0 {
		q.header.Set("Cookie", strings.Join(q.cookies, "; "))
	}
	switch q.body {
	case "json":
		q.json["comment2"] = pick(g, attacks)
		b, _ := json.Marshal(q.json)
		req.Body, req.ContentType = b, "application/json"
	case "form":
		q.form = append(q.form, "q="+url.QueryEscape(pick(g, attacks)))
		req.Body, req.ContentType = []byte(strings.Join(q.form, "&")), "application/x-www-form-urlencoded"
	case "multipart":
		q.parts = append(q.parts, [2]string{"q", pick(g, attacks)})
		var b strings.Builder
		for _, p := range q.parts {
			fmt.Fprintf(&b, "--BOUNDARY\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", p[0], p[1])
		}
		b.WriteString("--BOUNDARY--\r\n")
		req.Body, req.ContentType = []byte(b.String()), "multipart/form-data; boundary=BOUNDARY"
	case "xml":
		q.xml = append(q.xml, "<q>"+xmlEscape(pick(g, attacks))+"</q>")
		req.Body, req.ContentType = []byte("<?xml version=\"1.0\"?><login>"+strings.Join(q.xml, "")+"</login>"), "application/xml"
	}
	return req, q
}

// newLeakGen seeds the generator (PALISADE_LEAK_SEED reproduces a run) and
// fills the public vocabulary.
func newLeakGen(t testing.TB) *leakGen {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PALISADE_LEAK_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with PALISADE_LEAK_SEED=%d)", seed, seed)
	g := &leakGen{r: rand.New(rand.NewPCG(seed, seed>>1|1)), public: map[string]bool{}}
	for _, list := range [][]string{attacks, sensitiveNames, {
		"/api/orders", "/account/", "/settings/", "shop.example.test", "loyalty_ref", "loyalty_id", "payload",
		"next=%2Fhome&password=", "comment2", "contact", " my details: ", "creds", "id_hint", "account",
		"login", "profile", "settings", "session", "theme", "prefs", "BOUNDARY", "form-data", "Content-Disposition",
		"<?xml version=\"1.0\"?>", "bob:", "Bearer ", "Basic ", "eyJhbGciOiJub25lIn0.", "198.18.0.9",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
		"attack detected", "upload", "request failed", "user=bob",
	}} {
		for _, s := range list {
			g.addPublic(s)
			g.addPublic(url.QueryEscape(s))
		}
	}
	// What the pipeline writes by itself: event field names, detector
	// ids, attack types, metric names, log messages.
	ev, _ := json.Marshal(apiv1.ReportBatch{Version: 1, Events: []apiv1.Event{{Masked: true, Truncated: true, Experimental: true, RuleIDs: []int64{1}}}, Counters: []apiv1.Counters{{}}, Health: &apiv1.NodeHealth{}})
	g.addPublic(string(ev))
	for _, s := range []string{
		"sqli.libinjection sqli.tokenizer xss.libinjection xss.html ptrav.dotdot ptrav.file rce.shell rce.command",
		"sqli xss ptrav rce data_bomb", "[hmac:", mask.Redacted, "query.", "body|json.", "body|form.", "body|xml.",
		"body|multipart.", "header.", "cookie.", "path[1]", "|base64", "|jwt.payload",
		// the points of attacks the generator places
		"query.id", "query.note", "query.password", "body|json.comment", "body|json.comment2",
		"body|json.member.comment", "body|json.creds[1].comment", "body|json.data|base64|json.q",
		"body|form.q", "body|form.payload", "body|multipart.q", "body|xml.login.q", "path[4]", "path[5]",
	} {
		g.addPublic(s)
	}
	for _, d := range attack.Detectors {
		g.addPublic(d.ID + " " + d.Type)
	}
	return g
}

// TestNothingSensitiveLeaves is the property test of principle 1.
func TestNothingSensitiveLeaves(t *testing.T) {
	for _, mode := range []struct {
		name string
		cfg  mask.Config
	}{
		{"redacted", mask.Config{}},
		{"hmac", mask.Config{CorrelationKey: []byte("node-local-correlation-key-32byt")}},
		{"limit export", mask.Config{LimitExport: true}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			g := newLeakGen(t)
			runLeakTest(t, g, mode.cfg, 60)
		})
	}
}

func runLeakTest(t *testing.T, g *leakGen, mcfg mask.Config, requests int) {
	engine := detect.New(detect.Options{})
	rules, err := detect.NewRules(detect.RulesConfig{Version: 1, Sensitive: leakRules})
	if err != nil {
		t.Fatal(err)
	}
	engine.SetRules(rules)
	mcfg.Sensitive = func(app int64, p point.Point) bool { return engine.Rules().Sensitive(app, p) }
	m, err := mask.New(mcfg)
	if err != nil {
		t.Fatal(err)
	}

	srv := newIngestServer(t)
	logs := &syncBuffer{}
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	log := slog.New(mask.NewHandler(slog.NewJSONHandler(logs, &slog.HandlerOptions{ReplaceAttr: noTime}), m, srv.credential))
	reg := prometheus.NewRegistry()
	r := &testReporter{logs: logs, reg: reg}
	r.Reporter, err = New(Config{
		Dir: t.TempDir(), IngestURL: srv.url(), Credential: srv.credential, Masker: m, Logger: log,
		Registerer: reg, AgentVersion: "test", BatchDelay: 5 * time.Millisecond,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, RequestTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Start with a failing cloud, so that the failure paths log too.
	srv.mode.Store(mode500)
	stop := r.run(t)

	var secrets []string
	kinds := map[string]int{}
	reported := 0
	for i := range requests {
		req, q := g.generate()
		res := engine.Inspect(req)
		in := Input{
			AppID: 3, RequestID: fmt.Sprintf("rq-%c%c", 'a'+i/26%26, 'a'+i%26), SourceIP: "198.18.0.9",
			Method: req.Method, Host: req.Host, Target: req.Path + "?" + req.RawQuery,
			Decision: apiv1.DecisionBlocked, Status: 403,
		}
		in.AddResult(res, nil)
		if len(in.Detections) == 0 {
			t.Fatalf("request %d: no detection, nothing would be reported: %+v", i, req)
		}
		if err := r.Report(in); err != nil {
			t.Fatal(err)
		}
		reported += min(len(in.Detections), 16)
		r.Count(3, apiv1.DecisionBlocked, res.Detections[0].Type)
		// What the proxy might log about it: raw credentials under their
		// header names, a secret inside an error text, a struct.
		log.Warn("attack detected", "app_id", 3, "authorization", req.Header.Get("Authorization"),
			"cookie", req.Header.Get("Cookie"), "x-api-key", req.Header.Get("X-Api-Key"),
			"err", fmt.Errorf("upstream refused: password=%s", firstOr(q.secrets, "none")),
			"user", struct{ Name, Password string }{"bob", firstOr(q.secrets, "none")})
		secrets = append(secrets, q.secrets...)
		for _, k := range q.kinds {
			kinds[k]++
		}
	}
	waitFor(t, "failed uploads", func() bool { return r.metric(t, `palisade_report_uploads_total{result="failed"}`) >= 2 })
	srv.mode.Store(modeOK)
	srv.waitStored(reported)
	metricsText := r.metricsText(t)
	stop()

	if n := r.metric(t, `palisade_report_events_dropped_total{reason="rejected"}`); n != 0 {
		t.Errorf("the cloud's scanner rejected %v events as still sensitive; log:\n%s", n, logs)
	}
	events := srv.storedEvents()
	if len(events) != reported {
		t.Fatalf("cloud stored %d events, %d reported", len(events), reported)
	}
	masked := 0
	for _, ev := range events {
		if ev.Masked {
			masked++
		}
	}
	if masked == 0 {
		t.Fatal("no event says it was masked")
	}
	t.Logf("%d requests, %d secrets, %d events (%d masked); kinds: %v", requests, len(secrets), len(events), masked, kinds)

	checkNoLeak(t, "ingest", srv.rawBytes(), secrets)
	checkNoLeak(t, "logs", []byte(logs.String()), secrets)
	checkNoLeak(t, "metrics", metricSeries(metricsText), secrets)
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

var (
	uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	hmacRE = regexp.MustCompile(`\[hmac:[a-p]{16}\]`)
)

// metricSeries keeps the names and labels of metric samples, not their
// values: numbers the node computes cannot carry a request value; labels
// could.
func metricSeries(text string) []byte {
	var b bytes.Buffer
	for line := range strings.Lines(text) {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	return b.Bytes()
}

// checkNoLeak looks for every secret, and every 6-character piece of one,
// in out: in the raw bytes and in every JSON string they hold (escapes
// undone). Event ids, times and correlation tags are blanked first: the
// node makes them up, and a random id could share 6 hex digits with a
// random hex secret.
func checkNoLeak(t *testing.T, what string, out []byte, secrets []string) {
	t.Helper()
	blank := func(s string) string {
		s = uuidRE.ReplaceAllString(s, "<uuid>")
		s = timeRE.ReplaceAllString(s, "<time>")
		return hmacRE.ReplaceAllString(s, "<hmac>")
	}
	texts := []string{blank(string(out))}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			break
		}
		collectStrings(v, func(s string) { texts = append(texts, blank(s)) })
	}
	for _, sec := range secrets {
		for _, text := range texts {
			if i := strings.Index(text, sec); i >= 0 {
				t.Fatalf("%s contains secret %q: ...%s...", what, sec, around(text, i))
			}
			r := []rune(sec)
			for j := 0; j+6 <= len(r); j++ {
				piece := string(r[j : j+6])
				if i := strings.Index(text, piece); i >= 0 {
					t.Fatalf("%s contains %q, a piece of secret %q: ...%s...", what, piece, sec, around(text, i))
				}
			}
		}
	}
}

func around(text string, i int) string {
	lo, hi := max(0, i-80), min(len(text), i+80)
	for lo > 0 && !utf8.RuneStart(text[lo]) {
		lo--
	}
	for hi < len(text) && !utf8.RuneStart(text[hi]) {
		hi++
	}
	return text[lo:hi]
}

func collectStrings(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			collectStrings(e, fn)
		}
	case map[string]any:
		for k, e := range x {
			fn(k)
			collectStrings(e, fn)
		}
	}
}

// FuzzNoLeak places one fuzzer-chosen secret in every kind of sensitive
// point of a JSON request and checks the events built for it.
func FuzzNoLeak(f *testing.F) {
	f.Add("hunter2-Secret-Value")
	f.Add(`p@ss w0rd "quoted" & more=`)
	f.Add("äöü漢字😀secret")
	public := newLeakGen(f)
	engine := detect.New(detect.Options{})
	rules, err := detect.NewRules(detect.RulesConfig{Version: 1, Sensitive: leakRules})
	if err != nil {
		f.Fatal(err)
	}
	engine.SetRules(rules)
	m, err := mask.New(mask.Config{Sensitive: func(app int64, p point.Point) bool { return engine.Rules().Sensitive(app, p) }})
	if err != nil {
		f.Fatal(err)
	}
	r := newTestReporter(f, f.TempDir(), "http://127.0.0.1:1/api/v1/ingest", "pcn_x", func(c *Config) { c.Masker = m })
	defer r.Close()
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.RuneCountInString(s) < 8 || !utf8.ValidString(s) || strings.TrimSpace(s) != s ||
			strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }) || !public.isPrivate(s) {
			return // not a value a header could carry, or it shares text with the request itself
		}
		g := &leakGen{r: rand.New(rand.NewPCG(1, 2)), public: public.public, fixed: s}
		q := &leakRequest{path: "/api/orders", header: http.Header{}, body: "json", json: map[string]any{}}
		q.query = []string{"id=" + url.QueryEscape(attacks[0])}
		for _, p := range placements {
			if p.body == "" || p.body == "json" {
				p.put(g, q)
			}
		}
		b, _ := json.Marshal(q.json)
		req := &detect.Request{AppID: 3, Method: "POST", Host: "shop.example.test", Path: q.path,
			RawQuery: strings.Join(q.query, "&"), Header: q.header, Body: b, ContentType: "application/json"}
		if len(q.cookies) > 0 {
			req.Header.Set("Cookie", strings.Join(q.cookies, "; "))
		}
		in := Input{AppID: 3, Method: "POST", Host: req.Host, Target: req.Path + "?" + req.RawQuery,
			Decision: apiv1.DecisionBlocked, Status: 403}
		in.AddResult(engine.Inspect(req), nil)
		events, err := r.events(in)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(events)
		checkNoLeak(t, "events", out, []string{s})
	})
}
