package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/xdp"
)

const (
	sqli = "/products?id=1%27%20OR%20%271%27%3D%271"
	xss  = "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
)

// seen is what the test upstream echoes about each request it got.
type seen struct {
	Method, URI, Host, XFF, XRealIP, Forwarded, XFProto string
	ContentLength                                       int64
	TransferEncoding                                    []string
	Body                                                string
	Header                                              http.Header
}

type env struct {
	t        *testing.T
	p        *Proxy
	addr     string // the proxy's listener
	reg      *prometheus.Registry
	upstream *httptest.Server
	hits     atomic.Int64
	cfg      *config.Config
	ln       net.Listener
}

// newEnv starts an echoing upstream and a proxy in reverse-proxy mode in
// front of it, with mode and whatever edit adds to the configuration.
func newEnv(t *testing.T, mode string, edit func(*config.Config), opts ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, reg: prometheus.NewPedanticRegistry()}
	e.upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(seen{
			Method: r.Method, URI: r.RequestURI, Host: r.Host,
			XFF: r.Header.Get("X-Forwarded-For"), XRealIP: r.Header.Get("X-Real-IP"),
			Forwarded: r.Header.Get("Forwarded"), XFProto: r.Header.Get("X-Forwarded-Proto"),
			ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding, Body: string(body), Header: r.Header,
		})
	}))
	t.Cleanup(e.upstream.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.ln = ln
	e.addr = ln.Addr().String()
	cfg := config.Default()
	cfg.Applications = []config.Application{{
		ID: 1, Name: "shop", Mode: mode, Listen: e.addr, Upstream: e.upstream.URL,
	}}
	cfg.Proxy.ReadHeaderTimeout = 2 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.cfg = &cfg
	o := Options{Engine: detect.New(detect.Options{}), Registerer: e.reg}
	for _, f := range opts {
		f(&o)
	}
	e.p, err = New(&cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	go e.p.Serve(ln, "listen "+e.addr)
	t.Cleanup(func() {
		ln.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.p.Shutdown(ctx)
	})
	return e
}

func (e *env) get(path string, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.addr+path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func decodeSeen(t *testing.T, b []byte) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("upstream answer %q: %v", b, err)
	}
	return s
}

// raw sends bytes on a fresh connection and returns everything the proxy
// answered until it closed the connection (or 3s passed).
func (e *env) raw(data string) string {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, data); err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// counter returns the value of the first series matching labels, once it
// is non-zero (metrics are recorded just after the response is sent) or
// after a second.
func (e *env) counter(name string, labels map[string]string) float64 {
	e.t.Helper()
	var v float64
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if v = e.gather(name, labels); v != 0 {
			break
		}
	}
	return v
}

func (e *env) gather(name string, labels map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func TestBenignRequestReachesApplication(t *testing.T) {
	e := newEnv(t, config.ModeBlock, nil)
	resp, b := e.get("/products?page=2", map[string]string{
		"X-Forwarded-For": "203.0.113.9", // spoofed by an untrusted client
		"X-Real-IP":       "203.0.113.9",
		"Forwarded":       "for=203.0.113.9",
	})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	s := decodeSeen(t, b)
	if s.URI != "/products?page=2" || s.Host != e.addr {
		t.Errorf("upstream saw %s %s", s.Host, s.URI)
	}
	if s.XFF != "127.0.0.1" || s.XRealIP != "127.0.0.1" || s.XFProto != "http" {
		t.Errorf("forwarding fields: XFF %q, X-Real-IP %q, proto %q", s.XFF, s.XRealIP, s.XFProto)
	}
	if s.Forwarded != `for=127.0.0.1;host="`+e.addr+`";proto=http` {
		t.Errorf("Forwarded = %q", s.Forwarded)
	}
	if got := e.counter("palisade_requests_total", map[string]string{"app": "shop", "decision": DecisionClean}); got != 1 {
		t.Errorf("clean requests = %v", got)
	}
}

func TestTrustedProxyForwardingFields(t *testing.T) {
	e := newEnv(t, config.ModeSafeBlocking, func(c *config.Config) {
		c.Proxy.TrustedProxies = []string{"127.0.0.0/8", "10.0.0.0/8"}
	})
	_, b := e.get("/", map[string]string{"X-Forwarded-For": "198.18.7.7, 10.1.1.1", "X-Forwarded-Proto": "https"})
	s := decodeSeen(t, b)
	if s.XFF != "198.18.7.7, 10.1.1.1, 127.0.0.1" || s.XRealIP != "198.18.7.7" || s.XFProto != "https" {
		t.Errorf("XFF %q, X-Real-IP %q, proto %q", s.XFF, s.XRealIP, s.XFProto)
	}
	// The resolved client is what lists apply to.
	e.p.GrayList().Add(xdp.Entry{Prefix: netip.MustParsePrefix("198.18.7.7/32")})
	resp, _ := e.get(sqli, map[string]string{"X-Forwarded-For": "198.18.7.7"})
	if resp.StatusCode != 403 {
		t.Errorf("graylisted client behind a trusted proxy: status %d", resp.StatusCode)
	}
}

func TestFiltrationModes(t *testing.T) {
	for _, tc := range []struct {
		mode       string
		gray       bool
		allowed    bool
		wantStatus int
		decision   string
	}{
		{config.ModeBlock, false, false, 403, "blocked"},
		{config.ModeBlock, false, true, 200, "passed"},
		{config.ModeMonitoring, true, false, 200, "monitored"},
		{config.ModeSafeBlocking, false, false, 200, "passed"},
		{config.ModeSafeBlocking, true, false, 403, "blocked"},
		{config.ModeSafeBlocking, true, true, 200, "passed"},
		{config.ModeOff, true, false, 200, ""},
	} {
		t.Run(fmt.Sprintf("%s/gray=%v/allow=%v", tc.mode, tc.gray, tc.allowed), func(t *testing.T) {
			e := newEnv(t, tc.mode, func(c *config.Config) {
				if tc.gray {
					c.Proxy.GrayList = []string{"127.0.0.0/8"}
				}
			}, func(o *Options) {
				if tc.allowed {
					o.Allowlisted = func(a netip.Addr) bool { return a.IsLoopback() }
				}
			})
			resp, b := e.get(sqli, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, b)
			}
			if tc.wantStatus == 403 {
				if e.hits.Load() != 0 {
					t.Error("a blocked request reached the application")
				}
				if id := resp.Header.Get("X-Request-Id"); len(id) != 32 || !strings.Contains(string(b), id) {
					t.Errorf("block page %q lacks request id %q", b, id)
				}
			}
			if tc.decision != "" {
				if got := e.counter("palisade_attacks_total", map[string]string{"type": "sqli", "decision": tc.decision}); got < 1 {
					t.Errorf("attacks_total{decision=%s} = %v", tc.decision, got)
				}
			} else if got := e.counter("palisade_requests_total", map[string]string{"decision": DecisionUninspected}); got != 1 {
				t.Errorf("uninspected = %v", got)
			}
		})
	}
}

func TestBlockPageNegotiation(t *testing.T) {
	e := newEnv(t, config.ModeBlock, nil)
	resp, b := e.get(xss, map[string]string{"Accept": "application/json"})
	if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, type %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var page struct {
		RequestID string `json:"request_id"`
		Status    int    `json:"status"`
	}
	if err := json.Unmarshal(b, &page); err != nil || page.Status != 403 || page.RequestID != resp.Header.Get("X-Request-Id") {
		t.Fatalf("json page %s: %v", b, err)
	}
	resp, b = e.get(xss, map[string]string{"Accept": "text/html,application/json"})
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "Request blocked") {
		t.Fatalf("html page: %s %s", resp.Header.Get("Content-Type"), b)
	}
}

func TestCustomBlockPage(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "blocked.html")
	os.WriteFile(page, []byte("<h1>No.</h1><p>{{.App}} {{.Status}} {{.RequestID}}</p>"), 0o600)
	e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Proxy.BlockPage.HTML = page })
	resp, b := e.get(xss, nil)
	want := "<h1>No.</h1><p>shop 403 " + resp.Header.Get("X-Request-Id") + "</p>"
	if resp.StatusCode != 403 || string(b) != want {
		t.Fatalf("status %d, page %q, want %q", resp.StatusCode, b, want)
	}
}

// Framing a front end and a back end could read differently never reaches
// the application: 400 (or 501) and the connection closes.
func TestSmugglingRefused(t *testing.T) {
	e := newEnv(t, config.ModeMonitoring, nil)
	for _, tc := range []struct{ name, req, status string }{
		{"CL.TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", "400"},
		{"TE.CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", "400"},
		{"TE obfuscated", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n0\r\n\r\n", "501"},
		{"TE space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", "400"},
		{"double CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello", "400"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "400"},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", "400"},
		{"bad chunk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", "400"},
		{"no host", "GET / HTTP/1.1\r\n\r\n", "400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := e.raw(tc.req)
			if !strings.HasPrefix(out, "HTTP/1.1 "+tc.status+" ") {
				t.Fatalf("answer %q, want %s", out, tc.status)
			}
			if strings.Count(out, "HTTP/1.1") != 1 {
				t.Fatalf("more than one response: %q", out)
			}
		})
	}
	if e.hits.Load() != 0 {
		t.Fatalf("%d malformed requests reached the application", e.hits.Load())
	}
	if got := e.counter("palisade_proxy_malformed_requests_total", map[string]string{"reason": "content_length_with_transfer_encoding"}); got != 2 {
		t.Errorf("CL+TE counted %v times", got)
	}
}

func TestKeepAlivePipelinedAndChunked(t *testing.T) {
	e := newEnv(t, config.ModeBlock, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Three requests in one write: a GET, a chunked POST, and a GET with
	// an attack (blocked, connection stays usable), then a last GET.
	io.WriteString(c, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"+
		"POST /two HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\n\r\n"+
		"GET "+sqli+" HTTP/1.1\r\nHost: a\r\n\r\n"+
		"GET /four HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	var statuses []int
	for i := 0; i < 4; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		statuses = append(statuses, resp.StatusCode)
		if i == 1 {
			s := decodeSeen(t, b)
			if s.Body != "wikipedia" || s.ContentLength != 9 || len(s.TransferEncoding) != 0 {
				t.Errorf("chunked body forwarded as %+v", s)
			}
		}
	}
	if fmt.Sprint(statuses) != "[200 200 403 200]" {
		t.Fatalf("statuses %v", statuses)
	}
}

func TestBodyOverInspectionLimit(t *testing.T) {
	big := strings.Repeat("a", 200<<10) + "' OR '1'='1"
	t.Run("pass", func(t *testing.T) {
		e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Proxy.Inspection.MaxBodyBytes = 64 << 10 })
		req, _ := http.NewRequest("POST", "http://"+e.addr+"/upload", strings.NewReader(big))
		req.ContentLength = -1 // chunked: streamed in pieces
		resp, b := e.do(req)
		if resp.StatusCode != 200 || decodeSeen(t, b).Body != big {
			t.Fatalf("status %d; body forwarded whole: %v", resp.StatusCode, decodeSeen(t, b).Body == big)
		}
		if got := e.counter("palisade_proxy_inspection_truncated_total", nil); got != 1 {
			t.Errorf("truncated = %v", got)
		}
	})
	t.Run("block", func(t *testing.T) {
		e := newEnv(t, config.ModeMonitoring, func(c *config.Config) {
			c.Proxy.Inspection = config.Inspection{MaxBodyBytes: 64 << 10, Oversize: config.OversizeBlock}
		})
		resp, _ := e.do(mustRequest("POST", "http://"+e.addr+"/upload", big))
		if resp.StatusCode != 413 || e.hits.Load() != 0 {
			t.Fatalf("status %d, hits %d", resp.StatusCode, e.hits.Load())
		}
	})
}

func mustRequest(method, url, body string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	return req
}

func TestCompressedBodyInspected(t *testing.T) {
	e := newEnv(t, config.ModeBlock, nil)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	io.WriteString(zw, `{"q":"<script>alert(document.cookie)</script>"}`)
	zw.Close()
	req, _ := http.NewRequest("POST", "http://"+e.addr+"/api", bytes.NewReader(zb.Bytes()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	if resp, _ := e.do(req); resp.StatusCode != 403 {
		t.Fatalf("gzip JSON attack: status %d", resp.StatusCode)
	}
}

// A client that trickles its head is cut off at read_header_timeout, and
// meanwhile other clients are served.
func TestSlowClientDoesNotStarveOthers(t *testing.T) {
	e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Proxy.ReadHeaderTimeout = 500 * time.Millisecond })
	var slow []net.Conn
	for range 50 {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n")
		slow = append(slow, c)
	}
	for range 5 {
		if resp, _ := e.get("/", nil); resp.StatusCode != 200 {
			t.Fatalf("legit client: status %d", resp.StatusCode)
		}
	}
	for _, c := range slow {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "X-Slow: 1\r\n")
		// Closed by the proxy: EOF, or a reset for the unread bytes.
		if _, err := io.ReadAll(c); isTimeout(err) {
			t.Fatal("slow connection not closed by the proxy")
		}
		c.Close()
	}
	if got := e.counter("palisade_proxy_malformed_requests_total", map[string]string{"reason": "read_header_timeout"}); got != 50 {
		t.Errorf("header timeouts counted: %v", got)
	}
}

func TestPerSourceConnectionLimit(t *testing.T) {
	e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Proxy.MaxConnsPerSource = 2 })
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	if out := e.raw("GET / HTTP/1.1\r\nHost: a\r\n\r\n"); out != "" {
		t.Fatalf("third connection answered: %q", out)
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond) // the proxy notices the close
	if out := e.raw("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("after one closed: %q", out)
	}
}

func TestUpstreamDown(t *testing.T) {
	e := newEnv(t, config.ModeBlock, nil)
	e.upstream.Close()
	if resp, _ := e.get("/", nil); resp.StatusCode != 502 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if got := e.counter("palisade_proxy_upstream_errors_total", map[string]string{"kind": "connect"}); got != 1 {
		t.Errorf("connect errors = %v", got)
	}
}

// A reload changes the mode under an open keep-alive connection.
func TestReloadKeepsConnections(t *testing.T) {
	e := newEnv(t, config.ModeMonitoring, nil)
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	ask := func() int {
		io.WriteString(c, "GET "+sqli+" HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := ask(); got != 200 {
		t.Fatalf("monitoring: %d", got)
	}
	cfg := *e.cfg
	cfg.Applications = []config.Application{cfg.Applications[0]}
	cfg.Applications[0].Mode = config.ModeBlock
	if err := e.p.Configure(&cfg); err != nil {
		t.Fatal(err)
	}
	if got := ask(); got != 403 {
		t.Fatalf("after reload to block: %d", got)
	}
}

func TestHeadAndStreamedResponses(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			for i := range 3 {
				fmt.Fprintf(w, "part%d;", i)
				w.(http.Flusher).Flush()
			}
		case "/close":
			hj, _, _ := w.(http.Hijacker).Hijack()
			io.WriteString(hj, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close")
			hj.Close()
		default:
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		}
	}))
	defer up.Close()
	e := newEnv(t, config.ModeBlock, func(c *config.Config) { c.Applications[0].Upstream = up.URL })
	resp, b := e.get("/stream", nil)
	if string(b) != "part0;part1;part2;" || resp.TransferEncoding == nil {
		t.Errorf("stream: %q %v", b, resp.TransferEncoding)
	}
	_, b = e.get("/close", nil)
	if string(b) != "until close" {
		t.Errorf("close-delimited: %q", b)
	}
	resp, b = e.do(mustRequest("HEAD", "http://"+e.addr+"/", ""))
	if resp.ContentLength != 5 || len(b) != 0 {
		t.Errorf("HEAD: length %d body %q", resp.ContentLength, b)
	}
}

func TestGrayListAdminRoutes(t *testing.T) {
	e := newEnv(t, config.ModeSafeBlocking, nil)
	mux := http.NewServeMux()
	e.p.RegisterAdmin(mux.Handle)
	do := func(method, target, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
		return rec
	}
	if rec := do("POST", "/v1/lists/gray", `{"prefix":"127.0.0.1","ttl":"1h","reason":"test"}`); rec.Code != 201 {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	if resp, _ := e.get(sqli, nil); resp.StatusCode != 403 {
		t.Fatalf("graylisted: %d", resp.StatusCode)
	}
	if rec := do("GET", "/v1/lists/gray", ""); !strings.Contains(rec.Body.String(), `"127.0.0.1/32"`) {
		t.Fatalf("list: %s", rec.Body)
	}
	if rec := do("DELETE", "/v1/lists/gray?prefix=127.0.0.1", ""); rec.Code != 204 {
		t.Fatalf("remove: %d", rec.Code)
	}
	if resp, _ := e.get(sqli, nil); resp.StatusCode != 200 {
		t.Fatalf("after removal: %d", resp.StatusCode)
	}
	if rec := do("POST", "/v1/lists/gray", `{"prefix":"nope"}`); rec.Code != 400 {
		t.Fatalf("bad prefix: %d", rec.Code)
	}
}
