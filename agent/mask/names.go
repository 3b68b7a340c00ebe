package mask

import (
	"strings"
	"unicode"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// DefaultNames are the field names whose values are sensitive wherever they
// appear: query and form arguments, JSON keys at any depth, XML elements and
// attributes, multipart fields, cookies and headers. Matching ignores case
// and the separators '-', '_', '.' and ' ' ("X-Api-Key", "x_api_key" and
// "XApiKey" are one name), and a plural "s".
var DefaultNames = []string{
	// credentials
	"password", "passwd", "pwd", "pass", "passphrase", "secret", "client_secret",
	"token", "access_token", "refresh_token", "id_token", "auth_token", "csrf_token",
	"api_key", "apikey", "x-api-key", "access_key", "secret_key", "private_key",
	"authorization", "proxy-authorization", "credential", "otp", "pin",
	// sessions
	"cookie", "set-cookie", "session", "sessionid", "sid", "jsessionid", "phpsessid",
	// personal and payment data
	"email", "e-mail", "cc", "cc_number", "card_number", "cardnumber", "credit_card",
	"pan", "cvv", "cvv2", "cvc", "security_code", "expiry", "ssn", "iban", "account_number",
}

// sensitiveWords are fragments that make a longer name sensitive:
// "new_password", "db_passwd", "github_token", "stripeSecretKey".
var sensitiveWords = []string{
	"password", "passwd", "passphrase", "secret", "token", "apikey", "accesskey",
	"privatekey", "credential", "authorization", "cardnumber", "ccnumber",
	"creditcard", "sessionid", "cookie",
}

// names decides whether a field name is sensitive.
type names struct {
	exact map[string]bool
	words []string
}

func newNames(extra []string) *names {
	n := &names{exact: make(map[string]bool), words: sensitiveWords}
	for _, s := range DefaultNames {
		n.exact[normalizeName(s)] = true
	}
	for _, s := range extra {
		n.exact[normalizeName(s)] = true
	}
	return n
}

// normalizeName lower-cases a name and drops separators, so that spelling
// conventions do not matter.
func normalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '-', '_', '.', ' ', '[', ']':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// sensitive reports whether a field called name holds sensitive data.
func (n *names) sensitive(name string) bool {
	if name == "" || len(name) > 128 {
		return false
	}
	if n.sensitiveWord(normalizeName(name)) {
		return true
	}
	// "user[pass]", "creds.pin": a structured name whose last part is
	// sensitive.
	if i := strings.LastIndexAny(strings.TrimRight(name, "]"), "[."); i >= 0 {
		return n.sensitiveWord(normalizeName(name[i+1:]))
	}
	return false
}

func (n *names) sensitiveWord(k string) bool {
	if n.exact[k] || (len(k) > 3 && strings.HasSuffix(k, "s") && n.exact[k[:len(k)-1]]) {
		return true
	}
	for _, w := range n.words {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// sensitivePoint reports whether a point sits under a sensitive name: any
// of its names (a query argument, header, cookie, JSON member, XML element
// or attribute, form or multipart field) is sensitive, so that the whole
// subtree of a "password" object and every decoding of a "token" value are
// covered. Every cookie is sensitive. The ":name" property of a point is the
// key itself, which is not.
func (n *names) sensitivePoint(p point.Point) bool {
	if last := p.Len() - 1; last >= 0 && p.Step(last) == (point.Step{Kind: point.Meta, Name: point.MetaName}) {
		return false
	}
	if p.Root() == point.RootCookie {
		return true
	}
	for i := range p.Len() {
		if st := p.Step(i); (st.Kind == point.Field || st.Kind == point.Attr) && n.sensitive(st.Name) {
			return true
		}
	}
	return false
}
