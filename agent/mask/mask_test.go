package mask

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

func newMasker(t *testing.T, cfg Config) *Masker {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSensitiveNames(t *testing.T) {
	n := newNames(nil)
	for _, name := range []string{
		"password", "PASSWORD", "Passwd", "pwd", "pass", "new_password", "passwordConfirm",
		"token", "access_token", "refreshToken", "ID_TOKEN", "api_key", "apiKey", "X-API-KEY",
		"x_api_key", "Authorization", "proxy-authorization", "cookie", "Set-Cookie", "session",
		"email", "emails", "E-Mail", "cc_number", "cardNumber", "pan", "cvv", "CVC", "ssn", "iban",
		"client_secret", "aws_secret_access_key", "user[password]", "creds.pin", "github_token",
	} {
		if !n.sensitive(name) {
			t.Errorf("%q is not sensitive", name)
		}
	}
	for _, name := range []string{"id", "q", "user", "name", "page", "compass", "passenger", "sort", "lang", ""} {
		if n.sensitive(name) {
			t.Errorf("%q is sensitive", name)
		}
	}
}

func TestSensitivePoints(t *testing.T) {
	n := newNames([]string{"mother_maiden_name"})
	for p, want := range map[string]bool{
		"query.password":                          true,
		"query.q":                                 false,
		"body|json.user.profile.Password":         true,
		"body|json.password.history[2]":           true,
		"body|json.data|base64|json.token":        true,
		"body|multipart.api_key":                  true,
		"body|xml.login@pwd":                      true,
		"cookie.theme":                            true,
		"header.authorization|jwt.payload.sub":    true,
		"header.user-agent":                       false,
		"query.password:name":                     false,
		"body|form.mother_maiden_name":            true,
		"path[2]":                                 false,
		"body|json.items[0].sku":                  false,
		"body|multipart.avatar:filename":          false,
		"body|graphql.variables.input.cardNumber": true,
	} {
		if got := n.sensitivePoint(point.MustParse(p)); got != want {
			t.Errorf("sensitivePoint(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestValueDetectors(t *testing.T) {
	cases := []struct {
		text, secret string
	}{
		{"card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"},
		{"n=5500-0000-0000-0004&x", "5500-0000-0000-0004"},
		{"amex 378282246310005.", "378282246310005"},
		{"mail john.doe+x@example.co.uk now", "john.doe+x@example.co.uk"},
		{"t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig_nature-1", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.sig_nature-1"},
		{"Authorization: Bearer abc.DEF-123_xyz", "abc.DEF-123_xyz"},
		{"basic dXNlcjpwYXNz", "dXNlcjpwYXNz"},
		{"k=-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\n-----END RSA PRIVATE KEY-----!", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\n-----END RSA PRIVATE KEY-----"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r (cut", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1r (cut"},
		{"id AKIAIOSFODNN7EXAMPLE,", "AKIAIOSFODNN7EXAMPLE"},
		{"ghp_" + strings.Repeat("a1B2", 9), "ghp_" + strings.Repeat("a1B2", 9)},
		{"github_pat_11ABCDEFG0123456789_abcdefghij", "github_pat_11ABCDEFG0123456789_abcdefghij"},
		{"xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"},
		{"key sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"AIzaSyA-" + strings.Repeat("x", 31), "AIzaSyA-" + strings.Repeat("x", 31)},
		{"sk-proj-" + strings.Repeat("Ab9", 10), "sk-proj-" + strings.Repeat("Ab9", 10)},
		{"glpat-" + strings.Repeat("z", 20), "glpat-" + strings.Repeat("z", 20)},
		{"https://admin:hunter22@db.example/x", "admin:hunter22"},
		{"iban DE89 3704 0044 0532 0130 00 ok", "DE89 3704 0044 0532 0130 00"},
		{"a=1&password=hunter2&b=2", "hunter2"},
		{`{"user":"x","apiKey": "k-12345"}`, "k-12345"},
		{"<pin>0042</pin>", "0042"},
		{"cred pcn_" + strings.Repeat("Ab1_", 10) + "xyz end", "pcn_" + strings.Repeat("Ab1_", 10) + "xyz"},
	}
	m := newMasker(t, Config{})
	for _, c := range cases {
		got, masked := m.Known().Text(c.text)
		if !masked || strings.Contains(got, c.secret) {
			t.Errorf("Text(%q) = %q: %q not masked", c.text, got, c.secret)
		}
	}
	// Look-alikes that must stay.
	for _, text := range []string{
		"4111 1111 1111 1112",         // Luhn fails
		"ts=1700000000000&n=1",        // a millisecond timestamp passes Luhn but starts with 1
		"user@localhost",              // no top-level domain
		"GB00 1234",                   // too short for an IBAN
		"DE00 3704 0044 0532 0130 00", // checksum fails
		"select * from users where id=1",
	} {
		if got, masked := m.Known().Text(text); masked {
			t.Errorf("Text(%q) = %q: masked a look-alike", text, got)
		}
	}
}

func TestExcerptAtSensitivePointIsMaskedWhole(t *testing.T) {
	m := newMasker(t, Config{})
	p := point.MustParse("body|form.password")
	v := "' OR 1=1-- hunter2secret"
	s := m.ForRequest(1, []Value{{p, v}})
	ex, masked, _ := s.Excerpt(p, v, 0, 10, 256)
	if ex != Redacted || !masked {
		t.Fatalf("excerpt %q masked=%v, want %q", ex, masked, Redacted)
	}
}

func TestSecretFoundWhereverItReappears(t *testing.T) {
	m := newMasker(t, Config{})
	secret := "s3cr3t/P@ss w0rd"
	body := "user=alice&password=" + url.QueryEscape(secret) + "&q=' union select 1--"
	values := []Value{
		{point.MustParse("body"), body},
		{point.MustParse("body|form.user"), "alice"},
		{point.MustParse("body|form.password"), secret},
		{point.MustParse("body|form.q"), "' union select 1--"},
	}
	s := m.ForRequest(1, values)
	// The attack matched in the raw body: the excerpt shows the body
	// around it, where the password sits percent-encoded.
	i := strings.Index(body, "union")
	ex, masked, _ := s.Excerpt(point.Body(), body, i, i+5, 256)
	if !masked || strings.Contains(ex, "w0rd") || strings.Contains(ex, "P%40ss") || !strings.Contains(ex, "union select") {
		t.Fatalf("excerpt %q", ex)
	}
	// The secret in the path, percent-encoded one way or another.
	for _, raw := range []string{"/reset/" + url.PathEscape(secret), "/reset/" + strings.NewReplacer("%2F", "%2f").Replace(url.QueryEscape(secret)),
		"/reset/" + percentAll(secret)} {
		path, masked, _ := s.Path(raw, 1024)
		if !masked || strings.Contains(path, "w0rd") || !strings.HasPrefix(path, "/reset/") {
			t.Errorf("Path(%q) = %q", raw, path)
		}
	}
}

func TestExcerptWindowNeverCutsASecretOpen(t *testing.T) {
	m := newMasker(t, Config{})
	secret := strings.Repeat("Zq9", 20) // 60 bytes
	value := strings.Repeat("a", 300) + "<script>" + strings.Repeat("b", 90) + secret + strings.Repeat("c", 300)
	values := []Value{{point.MustParse("body|json.comment"), value}, {point.MustParse("body|json.token"), secret}}
	s := m.ForRequest(1, values)
	i := strings.Index(value, "<script>")
	// The window reaches into the middle of the secret: none of it shows.
	ex, masked, truncated := s.Excerpt(point.MustParse("body|json.comment"), value, i, i+8, 256)
	if !masked || !truncated || strings.Contains(ex, "Zq9Zq9") || !strings.Contains(ex, "<script>") {
		t.Fatalf("excerpt %q masked=%v truncated=%v", ex, masked, truncated)
	}
	if len(ex) > 256 {
		t.Fatalf("excerpt is %d bytes", len(ex))
	}
}

func TestSecretInsideEncodedLayerMasksItsHolder(t *testing.T) {
	m := newMasker(t, Config{})
	inner := `{"token":"tkn-9f8e7d6c5b"}`
	b64 := base64.StdEncoding.EncodeToString([]byte(inner))
	outer := `{"data":"` + b64 + `","q":"<svg onload=1>"}`
	values := []Value{
		{point.MustParse("body"), outer},
		{point.MustParse("body|json.data"), b64},
		{point.MustParse("body|json.data|base64"), inner},
		{point.MustParse("body|json.data|base64|json.token"), "tkn-9f8e7d6c5b"},
		{point.MustParse("body|json.q"), "<svg onload=1>"},
	}
	s := m.ForRequest(1, values)
	if !s.Sensitive(point.MustParse("body|json.data")) {
		t.Fatal("the base64 value holding a token is not masked whole")
	}
	i := strings.Index(outer, "<svg")
	ex, _, _ := s.Excerpt(point.Body(), outer, i, i+4, 256)
	if strings.Contains(ex, b64[:12]) || !strings.Contains(ex, "<svg onload=1>") {
		t.Fatalf("excerpt %q shows the encoded token or lost the attack", ex)
	}
}

func TestCorrelationTags(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	m1 := newMasker(t, Config{CorrelationKey: key})
	m2 := newMasker(t, Config{CorrelationKey: []byte("another-node-key-of-32-bytes-xxx")})
	p := point.MustParse("query.token")
	tag := func(m *Masker, v string) string {
		ex, _, _ := m.ForRequest(1, []Value{{p, v}}).Excerpt(p, v, 0, 1, 256)
		return ex
	}
	a, b := tag(m1, "tok-AAAA-1111"), tag(m1, "tok-AAAA-1111")
	if a != b || !strings.HasPrefix(a, "[hmac:") || strings.Contains(a, "AAAA") {
		t.Fatalf("tags %q %q", a, b)
	}
	if tag(m1, "tok-BBBB-2222") == a {
		t.Fatal("different values, same tag")
	}
	if tag(m2, "tok-AAAA-1111") == a {
		t.Fatal("different keys, same tag")
	}
	// The percent-encoded form of a value gets the value's tag.
	s := m1.ForRequest(1, []Value{{p, "tok/AAAA 1111"}})
	path, _, _ := s.Path("/x/"+url.PathEscape("tok/AAAA 1111"), 1024)
	ex, _, _ := s.Excerpt(p, "tok/AAAA 1111", 0, 1, 256)
	if path != "/x/"+ex {
		t.Fatalf("path %q, excerpt tag %q", path, ex)
	}
	if _, err := New(Config{CorrelationKey: []byte("short")}); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

func TestLimitExportKeepsOnlyStructure(t *testing.T) {
	m := newMasker(t, Config{LimitExport: true})
	p := point.MustParse("query.id")
	v := "1' OR '1'='1"
	s := m.ForRequest(1, []Value{{p, v}})
	ex, masked, _ := s.Excerpt(p, v, 0, len(v), 256)
	if ex != "***' *** '***'='***" || !masked {
		t.Fatalf("excerpt %q", ex)
	}
	path, _, _ := s.Path("/api/users/42/orders", 1024)
	if path != "/***/***/***/***" {
		t.Fatalf("path %q", path)
	}
	// Points are structure and stay, unless a name is data.
	q, masked := s.Point(point.MustParse(`body|json["alice@example.com"].role`))
	if !masked || strings.Contains(q.String(), "alice") {
		t.Fatalf("point %s", q)
	}
}

func TestPointNamesAreMasked(t *testing.T) {
	m := newMasker(t, Config{})
	p := point.MustParse(`body|json["bob@example.org"].x`)
	s := m.ForRequest(1, []Value{{p, "1"}})
	q, masked := s.Point(p)
	if !masked || strings.Contains(q.String(), "bob") {
		t.Fatalf("point %s", q)
	}
	if _, err := point.Parse(q.String()); err != nil {
		t.Fatalf("masked point does not parse: %v", err)
	}
}

// TestDecodingOfSensitiveValueIsSensitive: what the engine reads inside a
// sensitive value (an API key sent as a form, as base64) is part of it:
// values and names beneath the layer are masked whole, however little of
// the key they show.
func TestDecodingOfSensitiveValueIsSensitive(t *testing.T) {
	m := newMasker(t, Config{})
	key := `?@ 000A "0100AA#0000000=`
	holder := point.MustParse("header.x-api-key")
	name := holder.Layer(point.LayerForm).Field(`?@ 000A "0100AA#0000000`).Meta(point.MetaName)
	s := m.ForRequest(1, []Value{{holder, key}, {name, `?@ 000A "0100AA#0000000`}})
	if !s.Sensitive(name) {
		t.Error("a name inside a sensitive header's form layer is not sensitive")
	}
	q, masked := s.Point(name)
	if !masked || strings.Contains(q.String(), "0100AA") {
		t.Errorf("point %s", q)
	}
	if _, err := point.Parse(q.String()); err != nil {
		t.Fatalf("masked point does not parse: %v", err)
	}
	// Beneath an ordinary value, names stay.
	plain := point.MustParse("header.x-trace").Layer(point.LayerForm).Field("span").Meta(point.MetaName)
	if q, masked := s.Point(plain); masked || s.Sensitive(plain) {
		t.Errorf("ordinary point masked: %s", q)
	}
}

func TestRulesMarkPointsSensitive(t *testing.T) {
	pat := point.MustParsePattern("body|json.**.loyalty_id")
	m := newMasker(t, Config{Sensitive: func(app int64, p point.Point) bool { return app == 7 && pat.Covers(p) }})
	p := point.MustParse("body|json.member.loyalty_id")
	v := "LOY-77788899"
	if !m.ForRequest(7, []Value{{p, v}}).Sensitive(p) {
		t.Fatal("rule of application 7 not applied")
	}
	if m.ForRequest(8, []Value{{p, v}}).Sensitive(p) {
		t.Fatal("rule of application 7 applied to application 8")
	}
	s := m.ForRequest(7, []Value{{p, v}, {point.Path(), "/m/LOY-77788899"}})
	if path, masked, _ := s.Path("/m/LOY-77788899", 1024); !masked || strings.Contains(path, "7778") {
		t.Fatalf("path %q", path)
	}
}

func FuzzExcerpt(f *testing.F) {
	f.Add("hello world <script>alert(1)</script> password=hunter22", "hunter22", 12, 20, 40)
	f.Add("ééé secret€€€ ééé", "secret€€€", 0, 3, 7)
	f.Fuzz(func(t *testing.T, value, secret string, start, end, limit int) {
		limit = 1 + abs(limit)%300
		m, _ := New(Config{})
		sp := point.MustParse("query.token")
		s := m.ForRequest(1, []Value{{point.MustParse("query.q"), value}, {sp, secret}})
		ex, _, _ := s.Excerpt(point.MustParse("query.q"), value, start, end, limit)
		if len(ex) > limit {
			t.Fatalf("excerpt of %d bytes, limit %d", len(ex), limit)
		}
		// The placeholder is not the secret's bytes: a secret that holds
		// a '*' ("*000") can be spelled by its own mask and the value's
		// bytes around it ("**000000" masks to "*" "***" "000"), so the
		// check is only exact for secrets without one.
		if len(secret) >= MinHuntLen && !strings.Contains(secret, "*") && strings.Contains(ex, secret) {
			t.Fatalf("excerpt %q contains the secret %q", ex, secret)
		}
	})
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// percentAll percent-encodes every byte, as some clients and attackers do.
func percentAll(s string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, "%%%02X", s[i])
	}
	return b.String()
}

func TestPathPartsMaskedInPlace(t *testing.T) {
	pat := point.MustParsePattern("path[1]")
	m := newMasker(t, Config{Sensitive: func(_ int64, p point.Point) bool { return pat.Covers(p) }})
	s := m.ForRequest(1, nil)
	path, masked, _ := s.Path("/account/ab1/settings?pwd=xy&page=2&q=%27+or+1%3D1", 1024)
	if !masked || path != "/account/***/settings?pwd=***&page=2&q=%27+or+1%3D1" {
		t.Fatalf("path %q", path)
	}
}

// TestEveryDetectorHasAnExample keeps the detector list and its tests
// together: each detector masks a value of its shape.
func TestEveryDetectorHasAnExample(t *testing.T) {
	r := strings.Repeat
	examples := map[string][2]string{ // id: text, the part that must go
		"card":                  {"pay 5500 0000 0000 0004 now", "5500 0000 0000 0004"},
		"email":                 {"to a.b@c-d.example.org,", "a.b@c-d.example.org"},
		"jwt":                   {"t=eyJhbGciOi.eyJzdWIiOi.c2ln", "eyJhbGciOi.eyJzdWIiOi.c2ln"},
		"auth-scheme":           {"Authorization: Token abcdef123456", "abcdef123456"},
		"private-key":           {"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----", "MHcCAQEE"},
		"url-credentials":       {"redis://app:s3cretpw@cache:6379", "app:s3cretpw"},
		"aws-access-key":        {"key=ASIAJEXAMPLEKEY12345 ", "ASIAJEXAMPLEKEY12345"},
		"github-token":          {"gho_" + r("Zz9", 12), "gho_" + r("Zz9", 12)},
		"github-pat":            {"github_pat_" + r("A1_", 10), "github_pat_" + r("A1_", 10)},
		"gitlab-token":          {"glpat-" + r("x-", 11), "glpat-" + r("x-", 11)},
		"slack-token":           {"xoxp-" + r("12-", 5), "xoxp-" + r("12-", 5)},
		"slack-webhook":         {"https://hooks.slack.com/services/T0/B0/abcDEF", "hooks.slack.com/services/T0/B0/abcDEF"},
		"stripe-key":            {"rk_test_" + r("aB3", 5), "rk_test_" + r("aB3", 5)},
		"stripe-webhook-secret": {"whsec_" + r("k9", 12), "whsec_" + r("k9", 12)},
		"google-api-key":        {"AIza" + r("Q_-7", 8) + "abc", "AIza" + r("Q_-7", 8) + "abc"},
		"google-oauth-token":    {"ya29." + r("a0_", 8), "ya29." + r("a0_", 8)},
		"openai-anthropic-key":  {"sk-ant-api03-" + r("Xy1", 10), "sk-ant-api03-" + r("Xy1", 10)},
		"npm-token":             {"npm_" + r("aZ0", 12), "npm_" + r("aZ0", 12)},
		"pypi-token":            {"pypi-AgE" + r("Ib3", 20), "pypi-AgE" + r("Ib3", 20)},
		"sendgrid-key":          {"SG." + r("ab", 11) + "." + r("cd", 11), "SG." + r("ab", 11) + "." + r("cd", 11)},
		"twilio-key":            {"SK" + r("0f", 16), "SK" + r("0f", 16)},
		"shopify-token":         {"shpat_" + r("a1", 16), "shpat_" + r("a1", 16)},
		"digitalocean-token":    {"dop_v1_" + r("af09", 16), "dop_v1_" + r("af09", 16)},
		"huggingface-token":     {"hf_" + r("Hg7", 12), "hf_" + r("Hg7", 12)},
		"palisade-secret":       {"pce_" + r("e", 43), "pce_" + r("e", 43)},
		"iban":                  {"GB82WEST12345698765432", "GB82WEST12345698765432"},
	}
	m := newMasker(t, Config{})
	for _, d := range valueDetectors {
		ex, ok := examples[d.id]
		if !ok {
			t.Errorf("detector %s has no example here", d.id)
			continue
		}
		got, masked := m.Known().Text(ex[0])
		if !masked || strings.Contains(got, ex[1]) {
			t.Errorf("detector %s: Text(%q) = %q", d.id, ex[0], got)
		}
		delete(examples, d.id)
	}
	for id := range examples {
		t.Errorf("example for %s, which is not a detector", id)
	}
}
