package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"unicode/utf16"

	"gopkg.in/yaml.v3"

	"github.com/palisadewaf/palisade/test/corpus"
)

// The GoTestWAF test cases (github.com/wallarm/gotestwaf, MIT licence,
// copied byte for byte into test/corpus/gotestwaf) are YAML files each
// listing payloads, encoders and placeholders; GoTestWAF sends every
// payload × encoder × placeholder combination. gotestwaf does the same,
// one corpus case per combination, with GoTestWAF's semantics for each
// encoder and placeholder (internal/payload/encoder and
// internal/payload/placeholder of GoTestWAF) except that the names
// GoTestWAF draws at random (parameter, header, form field, SOAP element,
// multipart boundary) are derived from a hash of the combination so that
// the output is deterministic.

type gtwFile struct {
	Payload     []string `yaml:"payload"`
	Encoder     []string `yaml:"encoder"`
	Placeholder []any    `yaml:"placeholder"` // a name, or {name: config}
	Type        string   `yaml:"type"`
}

// gtwFileType maps a test file (base name) to a Palisade attack type;
// "benign" marks GoTestWAF's false-positive set, "" a file whose payloads
// are typed one by one (gtwPayloadType).
func gtwFileType(name string) (string, bool) {
	switch name {
	case "sql-injection", "community-sqli":
		return "sqli", true
	case "xss-scripting", "community-xss":
		return "xss", true
	case "shell-injection", "rce", "rce-urlparam", "rce-urlpath", "community-rce", "community-rce-rawrequests":
		return "rce", true
	case "ss-include": // server-side includes run commands and include files
		return "rce", true
	case "path-traversal", "community-lfi", "community-lfi-multipart":
		return "ptrav", true
	case "sst-injection":
		return "ssti", true
	case "ldap-injection":
		return "ldapi", true
	case "mail-injection":
		return "mail_injection", true
	case "nosql-injection":
		return "nosqli", true
	case "xml-injection", "community-xxe":
		return "xxe", true
	case "crlf":
		return "crlf", true
	case "texts":
		return corpus.Benign, true
	case "community-user-agent", "graphql", "graphql-post", "grpc", "soap", "non-crud", "rest":
		return "", true
	}
	return "", false
}

var (
	reGTWSQL = regexp.MustCompile(`(?i)\b(union|select|sleep|pg_sleep|json_extract|json_depth)\b`)
)

// gtwPayloadType types the payloads of the files that mix attacks: the
// OWASP API sets (SQL injection and XSS sent through REST, SOAP, gRPC,
// non-CRUD methods and GraphQL) and the community user agents.
func gtwPayloadType(file, p string) string {
	switch {
	case strings.Contains(p, "${jndi:"):
		return "log4shell"
	case file == "community-user-agent":
		return "scanner" // scanner and out-of-band probe user agents
	case strings.Contains(p, "__schema"):
		return "scanner" // GraphQL introspection: reconnaissance of the schema
	case reGTWSQL.MatchString(p):
		return "sqli"
	}
	return "xss"
}

const gtwUA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"

func (g *gen) gotestwaf(dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	skipped := map[string]int{}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yml"), ".yaml")
		ftype, known := gtwFileType(name)
		if !known {
			return fmt.Errorf("gotestwaf: %s: no Palisade type for this test file (add it to gtwFileType)", f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var tf gtwFile
		if err := yaml.Unmarshal(b, &tf); err != nil {
			return fmt.Errorf("gotestwaf: %s: %w", f, err)
		}
		for _, p := range tf.Payload {
			typ := ftype
			if typ == "" {
				typ = gtwPayloadType(name, p)
			}
			label, sp := corpus.Attack, split(typ+p)
			if typ == corpus.Benign {
				label, typ, sp = corpus.Benign, "", split(p)
			}
			for _, enc := range tf.Encoder {
				ev, err := gtwEncode(enc, p)
				if err != nil {
					return fmt.Errorf("gotestwaf: %s: %w", f, err)
				}
				for _, ph := range tf.Placeholder {
					phName, conf, err := gtwPlaceholder(ph)
					if err != nil {
						return fmt.Errorf("gotestwaf: %s: %w", f, err)
					}
					seed := strings.Join([]string{name, p, enc, phName}, "\x00")
					c, ok, err := gtwPlace(phName, conf, ev, seed)
					if err != nil {
						return fmt.Errorf("gotestwaf: %s: %w", f, err)
					}
					if !ok {
						// GoTestWAF cannot send it either (a URL that does
						// not parse, a header value with a line break).
						skipped[name+" "+phName]++
						continue
					}
					c.ID = g.id("gtw-" + name)
					c.Label, c.Type, c.Split, c.Source = label, typ, sp, corpus.SourceGoTestWAF
					c.Place, c.Encoding = "gtw-"+strings.ToLower(phName), strings.ToLower(enc)
					g.add(c)
				}
			}
		}
	}
	reportSkipped(skipped, func(kind string, n int) {
		fmt.Printf("gotestwaf: %d combinations of %s not sendable as HTTP/1 requests, skipped\n", n, kind)
	})
	return nil
}

func gtwPlaceholder(ph any) (string, map[string]any, error) {
	switch v := ph.(type) {
	case string:
		return v, nil, nil
	case map[string]any:
		if len(v) != 1 {
			return "", nil, fmt.Errorf("placeholder %v: want one name", v)
		}
		for k, c := range v {
			conf, _ := c.(map[string]any)
			return k, conf, nil
		}
	}
	return "", nil, fmt.Errorf("placeholder %v (%T)", ph, ph)
}

// gtwEncode applies a GoTestWAF encoder.
func gtwEncode(enc, p string) (string, error) {
	switch enc {
	case "Plain":
		return p, nil
	case "URL":
		return url.QueryEscape(p), nil
	case "Base64":
		return base64.StdEncoding.EncodeToString([]byte(p)), nil
	case "Base64Flat":
		return strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte(p)), "=", ""), nil
	case "JSUnicode":
		return jsUnicode(p), nil
	case "XMLEntity":
		var b bytes.Buffer
		if err := xml.NewEncoder(&b).Encode(p); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unknown encoder %q", enc)
}

// jsUnicode writes every UTF-16 code unit of s as \uXXXX.
func jsUnicode(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "\\u%04x", u)
	}
	return b.String()
}

// gtwName stands for GoTestWAF's RandomHex(5): 10 hex digits.
func gtwName(seed, what string) string {
	h := sha256.Sum256([]byte(what + "\x00" + seed))
	return hex.EncodeToString(h[:5])
}

// gtwURL parses a request URL as http.NewRequest does; the fragment is
// not sent.
func gtwURL(c *corpus.Case, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	c.Path, c.Query = u.EscapedPath(), u.RawQuery
	if c.Path == "" {
		c.Path = "/"
	}
	return true
}

// validHeader reports whether net/http would send v as a header value.
func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

const gtwBase = "http://shop.example.com"

// gtwPlace builds the request GoTestWAF's placeholder ph sends for the
// encoded payload ev.
func gtwPlace(ph string, conf map[string]any, ev, seed string) (corpus.Case, bool, error) {
	c := corpus.Case{Method: "GET", Path: "/"}
	hdr := [][2]string{{"User-Agent", gtwUA}, {"Accept", "*/*"}}
	ok := true
	switch ph {
	case "URLParam":
		ok = gtwURL(&c, gtwBase+"/?"+gtwName(seed, "param")+"="+ev)
	case "URLPath":
		ok = gtwURL(&c, gtwBase+"/"+ev)
	case "Header":
		if !validHeader(ev) {
			return c, false, nil
		}
		hdr = append(hdr, [2]string{"X-" + gtwName(seed, "header"), ev})
	case "UserAgent":
		if !validHeader(ev) {
			return c, false, nil
		}
		hdr[0][1] = ev
	case "HTMLForm":
		c.Method, c.ContentType = "POST", "application/x-www-form-urlencoded"
		c.Body = gtwName(seed, "form") + "=" + ev
	case "HTMLMultipartForm":
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		// A boundary of 60 hex digits, as multipart.Writer draws them.
		bnd := gtwName(seed, "b1") + gtwName(seed, "b2") + gtwName(seed, "b3") + gtwName(seed, "b4") + gtwName(seed, "b5") + gtwName(seed, "b6")
		if err := w.SetBoundary(bnd); err != nil {
			return c, false, err
		}
		fw, err := w.CreateFormField(gtwName(seed, "field"))
		if err != nil {
			return c, false, err
		}
		fw.Write([]byte(ev))
		w.Close()
		c.Method, c.ContentType, c.Body = "POST", w.FormDataContentType(), b.String()
	case "JSONBody":
		c.Method, c.ContentType, c.Body = "POST", "application/json", ev
	case "JSONRequest":
		c.Method, c.ContentType = "POST", "application/json"
		c.Body = fmt.Sprintf(`{"test":true, "%s": "%s"}`, gtwName(seed, "param"), jsUnicode(ev))
	case "XMLBody":
		c.Method, c.ContentType, c.Body = "POST", "text/xml", ev
	case "SOAPBody":
		x, err := gtwEncode("XMLEntity", ev)
		if err != nil {
			return c, false, err
		}
		el := "ab" + gtwName(seed, "param")
		c.Method, c.ContentType, c.Body = "POST", "text/xml", fmt.Sprintf(gtwSOAP, el, x, el)
		hdr = append(hdr, [2]string{"SOAPAction", `"http://schemas.xmlsoap.org/soap/actor/next"`})
	case "RequestBody":
		c.Method, c.Body = "POST", ev
	case "NonCRUDRequestBody":
		c.Method, c.Body = "CUST", ev
	case "NonCrudUrlPath":
		c.Method = "CUST"
		ok = gtwURL(&c, gtwBase+"/"+ev)
	case "NonCrudUrlParam":
		c.Method = "CUST"
		ok = gtwURL(&c, gtwBase+"/?"+gtwName(seed, "param")+"="+ev)
	case "NonCRUDHeader":
		if !validHeader(ev) {
			return c, false, nil
		}
		c.Method = "CUST"
		hdr = append(hdr, [2]string{"X-" + gtwName(seed, "header"), ev})
	case "GraphQL":
		method, _ := conf["method"].(string)
		switch method {
		case "GET":
			c.Query = url.Values{"query": {ev}}.Encode()
		case "POST":
			c.Method, c.Body = "POST", ev
		default:
			return c, false, fmt.Errorf("GraphQL placeholder: method %q", method)
		}
	case "gRPC":
		// GoTestWAF sends these over gRPC (HTTP/2 framing, protobuf); here
		// the payload is the value of a JSON field, as a gRPC-JSON
		// transcoding gateway would receive it.
		c.Method, c.ContentType, c.Path = "POST", "application/json", "/grpc"
		c.Body = mustJSON(map[string]any{"value": ev})
	case "RawRequest":
		const mark = "{{payload}}"
		method, _ := conf["method"].(string)
		path, _ := conf["path"].(string)
		body, _ := conf["body"].(string)
		if method == "" {
			return c, false, fmt.Errorf("RawRequest placeholder: no method")
		}
		c.Method = method
		ok = gtwURL(&c, gtwBase+"/"+strings.TrimPrefix(strings.ReplaceAll(path, mark, ev), "/"))
		c.Body = strings.ReplaceAll(body, mark, ev)
		hs, _ := conf["headers"].(map[string]any)
		names := make([]string, 0, len(hs))
		for k := range hs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v := strings.ReplaceAll(fmt.Sprint(hs[k]), mark, ev)
			if !validHeader(v) {
				return c, false, nil
			}
			switch strings.ToLower(k) {
			case "content-type":
				c.ContentType = v
			case "content-encoding":
				c.ContentEncoding = v
			case "user-agent":
				hdr[0][1] = v
			default:
				hdr = append(hdr, [2]string{k, v})
			}
		}
	default:
		return c, false, fmt.Errorf("unknown placeholder %q", ph)
	}
	c.Headers = hdr
	return c, ok, nil
}

// gtwSOAP is GoTestWAF's SOAP envelope (placeholder SOAPBody).
const gtwSOAP = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
	xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
	<soapenv:Header>
		<ns1:RequestHeader soapenv:actor="http://schemas.xmlsoap.org/soap/actor/next"
			soapenv:mustUnderstand="0" xmlns:ns1="https://www.google.com/apis/ads/publisher/v202002">
		</ns1:RequestHeader>
	</soapenv:Header>
	<soapenv:Body>
		<getAdUnitsByStatement xmlns="https://www.google.com/apis/ads/publisher/v202002">
			<filterStatement>
				<%s>%s</%s>
			</filterStatement>
		</getAdUnitsByStatement>
	</soapenv:Body>
</soapenv:Envelope>`
