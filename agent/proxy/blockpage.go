package proxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
)

// blockPageData is what block page templates can use.
type blockPageData struct {
	RequestID string
	Status    int
	App       string
}

const defaultBlockHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Status}} Request blocked</title></head>
<body><h1>Request blocked</h1>
<p>This request was blocked by the site's web application firewall.</p>
<p>If you think this is a mistake, contact the site's owner and quote this request id: <code>{{.RequestID}}</code></p>
</body></html>
`

const defaultBlockJSON = `{"error":"request blocked","status":{{.Status}},"request_id":"{{.RequestID}}"}
`

// renderBlockPage renders the block page in the form the client prefers:
// JSON when Accept asks for JSON and not for HTML, else HTML. Template
// data are a request id (hex), a status and an application name (checked
// by the configuration), none of which needs escaping.
func renderBlockPage(s *settings, accept string, d blockPageData) (contentType string, body []byte) {
	var buf bytes.Buffer
	if wantsJSON(accept) {
		if err := s.blockJSON.Execute(&buf, d); err == nil {
			return "application/json", buf.Bytes()
		}
		buf.Reset()
	}
	if err := s.blockHTML.Execute(&buf, d); err != nil {
		buf.Reset()
		buf.WriteString("Request blocked. Request id: " + d.RequestID + "\n")
		return "text/plain; charset=utf-8", buf.Bytes()
	}
	return "text/html; charset=utf-8", buf.Bytes()
}

func wantsJSON(accept string) bool {
	a := strings.ToLower(accept)
	return strings.Contains(a, "json") && !strings.Contains(a, "text/html")
}

// newRequestID returns 16 random bytes in hex: the id a blocked client can
// quote and an event carries.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + http.StatusText(code/100*100)
}
