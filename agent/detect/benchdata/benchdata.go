// Package benchdata holds the requests Palisade's detection benchmarks run:
// the go test benchmarks of agent/detect and the side-by-side comparison
// with Coraza and the OWASP CRS in tools/corazabench use the same ones.
package benchdata

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/palisadewaf/palisade/agent/detect"
)

// Request is one benchmark request.
type Request struct {
	Name        string
	Method      string
	Host        string
	Path        string
	Query       string
	Header      http.Header
	ContentType string
	Body        []byte
}

func browserHeader() http.Header {
	return http.Header{
		"User-Agent":      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"},
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Language": {"en-US,en;q=0.5"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Cookie":          {"sid=5f2b9c1e7a3d4f60; cart_items=2; lang=en"},
		"Referer":         {"https://shop.example.com/"},
	}
}

// Requests returns the benchmark requests: a benign GET with a query
// string, a benign 2 KiB JSON POST, a 20 KiB form POST, an attack GET.
func Requests() []Request {
	jsonHeader := browserHeader()
	jsonHeader.Set("Accept", "application/json")
	jsonHeader.Set("Authorization", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
	return []Request{
		{Name: "BenignGET", Method: "GET", Host: "shop.example.com", Path: "/search",
			Query: "q=running+shoes&category=sport&page=2&sort=price_asc&utm_source=newsletter", Header: browserHeader()},
		{Name: "BenignJSON2K", Method: "POST", Host: "shop.example.com", Path: "/api/v2/orders",
			Header: jsonHeader, ContentType: "application/json", Body: []byte(orderJSON(2048))},
		{Name: "Form20K", Method: "POST", Host: "shop.example.com", Path: "/account/profile",
			Header: browserHeader(), ContentType: "application/x-www-form-urlencoded", Body: []byte(form(20 << 10))},
		{Name: "AttackGET", Method: "GET", Host: "shop.example.com", Path: "/products",
			Query: "id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--&sort=name", Header: browserHeader()},
	}
}

// orderJSON builds a realistic order document of about n bytes.
func orderJSON(n int) string {
	var b strings.Builder
	b.WriteString(`{"customer":{"id":48213,"email":"anne.oconnor@example.com","name":"Anne O'Connor","phone":"+44 20 7946 0958"},"currency":"EUR","items":[`)
	for i := 0; b.Len() < n-220; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%05d","name":"Coffee mug, 350 ml (blue)","qty":%d,"price":%d.99,"gift":false}`, 10000+i*37, 1+i%3, 5+i%40)
	}
	b.WriteString(`],"shipping":{"address":"12 Union Street, Apt 3","city":"Aberdeen","zip":"AB11 6BA","notes":"Please leave it at the door; ring twice."},"created_at":"2024-05-14T09:21:33Z"}`)
	return b.String()
}

// form builds a urlencoded profile form of about n bytes.
func form(n int) string {
	v := url.Values{}
	bio := "I have been writing software for twelve years, mostly web back ends and data pipelines. Outside work I select vinyl records, drop by the climbing gym and read about the history of trade unions. "
	for i := 0; len(v.Encode()) < n; i++ {
		v.Set(fmt.Sprintf("field_%03d", i), fmt.Sprintf("value %d: %s", i, bio[:40+i%120]))
	}
	return v.Encode()
}

// Detect converts r to the engine's request.
func (r Request) Detect() *detect.Request {
	return &detect.Request{
		AppID: 1, Method: r.Method, Host: r.Host, Path: r.Path, RawQuery: r.Query,
		Header: r.Header, Body: r.Body, ContentType: r.ContentType,
	}
}
