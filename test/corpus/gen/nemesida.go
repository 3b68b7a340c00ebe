package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/palisadewaf/palisade/test/corpus"
)

// The payload set of waf-bypass, Nemesida WAF's bypass tool
// (github.com/nemesida-waf/waf-bypass, utils/payload/, MIT licence,
// copied byte for byte into test/corpus/nemesida/payload) is one JSON
// file per payload, {"payload": [{ZONE: value, ...}]}, in a directory per
// attack family. The tool (utils/bypass.py, utils/payloads.py) sends, with
// python requests, one request per zone of a file and per encoding its
// ENCODE lists, plus one with the zone raw. nemesida builds the same
// requests, one corpus case each, as requests puts them on the wire
// (requests 2.34 and urllib3 2.7 on Python 3.11), except that what the
// tool draws at random (%RND%, the cookie and header names, the multipart
// boundary and part name) is fixed or derived from a hash, so that the
// output is deterministic.

// nemZones are the tool's zones, in the order it tests them.
var nemZones = []string{"URL", "ARGS", "BODY", "COOKIE", "USER-AGENT", "REFERER", "HEADER"}

// nemRND stands for %RND%, secrets.token_hex(3) in the tool: 6 hex digits.
const nemRND = "a1b2c3"

// nemUA is the User-Agent the tool's main.py sends with every request
// whose User-Agent is not the payload.
const nemUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36"

// nemEntry is a payload file as utils/payloads.py reads it.
type nemEntry struct {
	zone     map[string]string // zone -> value, %RND% replaced; absent or "" = zone not tested
	boundary string            // BOUNDARY (MFD only)
	method   string            // METHOD, upper case; "" = GET, POST for BODY
	encode   []string          // ENCODE split on spaces and commas
	json     bool              // JSON: Content-Type application/json
	blocked  bool              // BLOCKED (default true); false = a legitimate request
}

// nemLoad reads a payload file the way utils/payloads.py does: strict
// JSON, the first element of "payload", zone values that are strings,
// JSON and BLOCKED only when they are booleans. An error means the tool
// loads no request from the file either.
func nemLoad(name string) (*nemEntry, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("not UTF-8")
	}
	var doc map[string]json.RawMessage // json.load(f)['payload'][0]
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var list []map[string]any
	if err := json.Unmarshal(doc["payload"], &list); err != nil || len(list) == 0 || list[0] == nil {
		return nil, fmt.Errorf(`no "payload" list of objects`)
	}
	m := list[0]
	// str reads a value the tool uses as a string: a false one (null,
	// false, 0, "", [], {}) means not set, any other that is not a
	// string makes the tool fail on the file.
	str := func(k string) (string, error) {
		switch v := m[k].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		case bool:
			if !v {
				return "", nil
			}
		case float64:
			if v == 0 {
				return "", nil
			}
		case []any:
			if len(v) == 0 {
				return "", nil
			}
		case map[string]any:
			if len(v) == 0 {
				return "", nil
			}
		}
		return "", fmt.Errorf("%s is %T, not a string", k, m[k])
	}
	e := &nemEntry{zone: map[string]string{}, blocked: true}
	for _, z := range nemZones {
		v, err := str(z)
		if err != nil {
			return nil, err
		}
		e.zone[z] = strings.ReplaceAll(v, "%RND%", nemRND)
	}
	if e.boundary, err = str("BOUNDARY"); err != nil {
		return nil, err
	}
	if e.method, err = str("METHOD"); err != nil {
		return nil, err
	}
	e.method = strings.ToUpper(strings.ToLower(e.method)) // payloads.py lowers it, requests uppers it
	enc, err := str("ENCODE")
	if err != nil {
		return nil, err
	}
	e.encode = strings.Fields(strings.ReplaceAll(enc, ",", " "))
	e.json, _ = m["JSON"].(bool)
	if v, ok := m["BLOCKED"].(bool); ok {
		e.blocked = v
	}
	return e, nil
}

// nemDirType maps a payload directory to a Palisade attack type;
// "benign" marks the false-positive set, "" a directory whose files are
// typed one by one (nemFileType).
func nemDirType(dir string) (string, bool) {
	switch dir {
	case "SQLi":
		return "sqli", true
	case "XSS":
		return "xss", true
	case "RCE", "CM": // CM: command injection sent with custom methods
		return "rce", true
	case "SSI": // server-side includes run commands, as GoTestWAF's ss-include
		return "rce", true
	case "LFI":
		return "ptrav", true
	case "RFI":
		return "rfi", true
	case "SSRF":
		return "ssrf", true
	case "SSTI":
		return "ssti", true
	case "NoSQLi":
		return "nosqli", true
	case "LDAP":
		return "ldapi", true
	case "OR": // open redirect
		return "redir", true
	case "UWA": // unwanted access: probes for backups, shells, repository files
		return "scanner", true
	case "FP":
		return corpus.Benign, true
	case "API", "GraphQL", "MFD", "Misc":
		return "", true
	}
	return "", false
}

// nemFileType types the files of the directories named after where the
// payload travels rather than what it is, by what each payload is.
var nemFileType = map[string]string{
	"API/1":     "sqli",    // 1 union select user from password
	"API/2":     "sqli",    // the same, percent-encoded
	"API/7":     "sqli",    // the same, base64
	"API/8":     "xss",     // <script>alert('1')</script> as \uXXXX
	"GraphQL/1": "scanner", // introspection: reconnaissance of the schema
	"GraphQL/3": "nosqli",  // a MongoDB projection smuggled in an options argument
	"GraphQL/5": "sqli",    // ';SELECT pg_sleep(30);--
	"MFD/1":     "xss",
	"MFD/3":     "xss",
	"MFD/4":     "sqli", // base64 of ' OR 1=1--
	"MFD/7":     "sqli",
	"MFD/8":     "rce", // ;+/b??/c?t+/et?/pa??wd, percent-encoded twice
	"Misc/1":    "xss", // a polyglot of XSS breakouts
}

// nemFile is one payload file: its directory and number.
type nemFile struct {
	dir  string
	n    int
	path string
}

func (g *gen) nemesida(root string) error {
	paths, err := filepath.Glob(filepath.Join(root, "payload", "*", "*.json"))
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return fmt.Errorf("nemesida: no payload/*/*.json in %s", root)
	}
	var files []nemFile
	for _, p := range paths {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(p), ".json"))
		if err != nil {
			return fmt.Errorf("nemesida: %s: not a numbered payload file", p)
		}
		files = append(files, nemFile{dir: filepath.Base(filepath.Dir(p)), n: n, path: p})
	}
	sort.Slice(files, func(i, j int) bool {
		if files[i].dir != files[j].dir {
			return files[i].dir < files[j].dir
		}
		return files[i].n < files[j].n
	})
	skipped := map[string]int{}
	for _, f := range files {
		name := fmt.Sprintf("%s/%d", f.dir, f.n)
		typ, known := nemDirType(f.dir)
		if !known {
			return fmt.Errorf("nemesida: %s: no Palisade type for directory %s (add it to nemDirType)", f.path, f.dir)
		}
		if typ == "" {
			if typ = nemFileType[name]; typ == "" {
				return fmt.Errorf("nemesida: %s: no Palisade type for this file (add it to nemFileType)", f.path)
			}
		}
		e, err := nemLoad(f.path)
		if err != nil {
			// The tool prints "file not in JSON format" and sends nothing.
			fmt.Printf("nemesida: %s not loadable by the tool either, skipped: %v\n", name, err)
			continue
		}
		label := corpus.Attack
		if !e.blocked {
			label, typ = corpus.Benign, ""
		} else if typ == corpus.Benign {
			return fmt.Errorf("nemesida: %s: a false-positive file with BLOCKED true", f.path)
		}
		key := nemSplitKey(e)
		sp := split(typ + key)
		if label == corpus.Benign {
			sp = split(key)
		}
		cs, why := nemRequests(name, f.dir, e)
		if why != "" {
			fmt.Printf("nemesida: %s skipped, as the tool does: %s\n", name, why)
			continue
		}
		for _, c := range cs {
			if !c.ok {
				skipped[c.zone+" requests not sendable by python requests"]++
				continue
			}
			if c.empty {
				skipped[c.zone+" requests that carry nothing of the payload (cut at '#', resolved away by '..')"]++
				continue
			}
			c.ID = g.uniqueID(c.ID)
			c.Label, c.Type, c.Split, c.Source = label, typ, sp, corpus.SourceNemesida
			g.add(c.Case)
		}
	}
	reportSkipped(skipped, func(zone string, n int) { fmt.Printf("nemesida: %d %s, skipped\n", n, zone) })
	return nil
}

// uniqueID returns id, or id with a counter when it was taken (an
// encoding listed twice in ENCODE, which the tool sends twice).
func (g *gen) uniqueID(id string) string {
	g.ids[id]++
	if n := g.ids[id]; n > 1 {
		return fmt.Sprintf("%s-%d", id, n)
	}
	return id
}

// nemSplitKey is what the split of a file's cases is drawn from: the
// payload as it stands alone (the cookie, header and user agent zones
// hold it bare, ARGS and BODY often behind "param=", URL behind a '/'),
// so that files that send one payload in different ways (CM: one per
// method) fall on the same side.
func nemSplitKey(e *nemEntry) string {
	for _, z := range []string{"COOKIE", "HEADER", "USER-AGENT", "REFERER", "URL", "BODY", "ARGS"} {
		if v := e.zone[z]; v != "" {
			return v
		}
	}
	return ""
}

// nemCase is a request of a payload file; ok is false when python
// requests refuses to send it, empty is true when nothing of the payload
// reaches the server (a request line of "/" or "/?&": the payload was cut
// at its '#' or resolved away by a "..").
type nemCase struct {
	corpus.Case
	zone      string
	ok, empty bool
}

// nemRequests builds the requests utils/bypass.py sends for the file
// name (DIR/N) of directory dir, in its order; why is set when the tool
// skips the whole file.
func nemRequests(name, dir string, e *nemEntry) (cs []nemCase, why string) {
	encs := e.encode
	ct := ""
	body := e.zone["BODY"]
	if e.json {
		ct = "application/json"
		if len(encs) > 0 {
			return nil, `simultaneous use of "JSON" and "ENCODE" is prohibited`
		}
	}
	switch dir {
	case "API":
		ct, encs = "application/json", nil
	case "MFD":
		if body == "" {
			return nil, "empty BODY"
		}
		encs = nil
		if e.boundary != "" {
			ct = "multipart/form-data; boundary=" + e.boundary
		} else {
			// secrets.token_hex(30) and secrets.token_urlsafe(5).
			bnd := nemHex(name, "boundary", 60)
			h := sha256.Sum256([]byte("part\x00" + name))
			part := base64.RawURLEncoding.EncodeToString(h[:5])
			body = "--" + bnd + "\r\nContent-Disposition: form-data; name=\"" + part + "\"\r\n\r\n" + body + "\r\n--" + bnd + "--\r\n"
			ct = "multipart/form-data; boundary=" + bnd
		}
	}
	encs = append(append([]string(nil), encs...), "") // the raw request comes last
	for _, zone := range nemZones {
		v := e.zone[zone]
		if v == "" {
			continue
		}
		method := "GET"
		if zone == "BODY" {
			method = "POST"
		}
		if e.method != "" {
			method = e.method
		}
		for _, enc := range encs {
			if enc != "" && (zone == "URL" || zone == "USER-AGENT" || zone == "REFERER") {
				continue
			}
			z := strings.ToLower(strings.ReplaceAll(zone, "-", ""))
			place, encName := "nem-"+z, "plain"
			if enc != "" {
				encName = strings.ToLower(enc)
				place += "-" + encName
			}
			seed := strings.Join([]string{name, zone, enc}, "\x00")
			c := nemCase{zone: zone, ok: true}
			c.ID = "nem-" + strings.ReplaceAll(name, "/", "-") + "-" + z + "-" + encName
			c.Place, c.Encoding = place, encName
			c.Method, c.Path, c.ContentType = method, "/", ct
			hdr := [][2]string{{"User-Agent", nemUA}, {"Accept", "*/*"}}
			p := nemEncode(zone, v, enc)
			target := ""
			switch zone {
			case "URL":
				target, c.ok = nemURLTarget(p)
			case "ARGS":
				target = nemArgsTarget(p)
			case "BODY":
				c.Body = nemEncode(zone, body, enc)
			case "COOKIE":
				c.ok = nemCookieOK(p)
				hdr = append(hdr, [2]string{"Cookie", "WBC-" + nemHex(seed, "cookie", 6) + "=" + p})
			case "USER-AGENT":
				c.ok = nemHeaderOK(p)
				hdr[0][1] = p
			case "REFERER":
				c.ok = nemHeaderOK(p)
				hdr = append(hdr, [2]string{"Referer", p})
			case "HEADER":
				c.ok = nemHeaderOK(p)
				hdr = append(hdr, [2]string{"WBH-" + nemHex(seed, "header", 6), p})
			}
			if target != "" {
				c.Path, c.Query, _ = strings.Cut(target, "?")
				c.empty = strings.Trim(target, "/?&=") == ""
			}
			c.Headers = hdr
			cs = append(cs, c)
		}
	}
	return cs, ""
}

// nemHex stands for secrets.token_hex: n hex digits drawn from a hash.
func nemHex(seed, what string, n int) string {
	var s string
	for i := 0; len(s) < n; i++ {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%s", what, i, seed)))
		s += hex.EncodeToString(h[:])
	}
	return s[:n]
}

// nemEncode is the tool's payload_encoding: for ARGS and BODY the value
// of every '&'-separated k=v item is encoded (an item without '=' whole),
// other zones are encoded whole; "" leaves the payload raw.
func nemEncode(zone, p, enc string) string {
	if enc == "" {
		return p
	}
	if zone != "ARGS" && zone != "BODY" {
		return nemEncodeValue(enc, p)
	}
	items := strings.Split(p, "&")
	for i, it := range items {
		if k, v, ok := strings.Cut(it, "="); ok {
			items[i] = k + "=" + nemEncodeValue(enc, v)
		} else {
			items[i] = nemEncodeValue(enc, it)
		}
	}
	return strings.Join(items, "&")
}

// pyHTMLEscape is Python's html.escape(s, quote=True).
var pyHTMLEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")

// nemEncodeValue applies one of the tool's encodings. An unknown one
// leaves the value as it is (the tool prints a warning and sends it raw).
func nemEncodeValue(enc, v string) string {
	switch strings.ToUpper(enc) {
	case "HTML-ENTITY": // quote_plus(html.escape(v))
		return url.QueryEscape(pyHTMLEscape.Replace(v))
	case "UTF-16": // not UTF-16: "\u00" + hex(ord(c)) for every character
		var b strings.Builder
		for _, r := range v {
			fmt.Fprintf(&b, `\u00%x`, r)
		}
		return b.String()
	case "BASE64":
		return base64.StdEncoding.EncodeToString([]byte(v))
	}
	return v
}

// nemHeaderOK reports whether requests sends v as a header value: it
// refuses a leading space and CR or LF (InvalidHeader), http.client a
// character beyond Latin-1.
func nemHeaderOK(v string) bool {
	if r, _ := utf8.DecodeRuneInString(v); v != "" && pyIsSpace(r) {
		return false
	}
	return nemCookieOK(v)
}

// nemCookieOK reports whether http.client sends v in the Cookie header,
// which requests builds without checking it. A line break followed by a
// space or tab would go out as a folded line; such values are refused
// here too.
func nemCookieOK(v string) bool {
	for _, r := range v {
		if r == '\r' || r == '\n' || r > 0xff {
			return false
		}
	}
	return true
}

// pyIsSpace is \s of Python's str regular expressions.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// nemURLTarget is the request target of the URL zone: urljoin of the
// tool's host (http://host/) and the payload, then requests'
// prepare_url (urllib3's parse_url, requote_uri), path_url and urllib3's
// _encode_target. The fragment is not sent. ok is false when the
// payload leaves the host (another scheme, a network path), which the
// WAF in front of the host would not see.
func nemURLTarget(p string) (target string, ok bool) {
	path, query, ok := pyURLJoin(p)
	if !ok {
		return "", false
	}
	// urllib3's parse_url normalizes an http URL.
	path = urllib3Encode(removeDotSegments(path), urllib3PathChars)
	if query != "" {
		query = urllib3Encode(query, urllib3PathChars+"?")
	}
	u := path
	if query != "" {
		u += "?" + query
	}
	return nemTarget(requoteURI(u)), true
}

// nemArgsTarget is the request target of the ARGS zone: requests appends
// the payload (params given as a string) to the host's URL as its query
// unchanged, then requotes the URL.
func nemArgsTarget(p string) string {
	return nemTarget(requoteURI("/?" + p))
}

// nemTarget is requests' path_url of a requoted URL (fragment dropped,
// an empty query dropped) after urllib3's _encode_target.
func nemTarget(u string) string {
	for _, c := range "\t\r\n" { // urlsplit drops them
		u = strings.ReplaceAll(u, string(c), "")
	}
	u, _, _ = strings.Cut(u, "#")
	path, query, _ := strings.Cut(u, "?")
	if path == "" {
		path = "/"
	}
	t := urllib3Encode(path, urllib3PathChars)
	if query != "" {
		t += "?" + urllib3Encode(query, urllib3PathChars+"?")
	}
	return t
}

// pyURLJoin is urllib.parse.urljoin("http://host/", p), as path and
// query (the fragment is never sent); ok is false when the result is not
// on http://host.
func pyURLJoin(p string) (path, query string, ok bool) {
	u := strings.TrimLeftFunc(p, func(r rune) bool { return r <= ' ' })
	for _, c := range "\t\r\n" {
		u = strings.ReplaceAll(u, string(c), "")
	}
	if i := strings.IndexByte(u, ':'); i > 0 && u[0] < utf8.RuneSelf && unicode.IsLetter(rune(u[0])) {
		scheme := u[:i]
		if strings.Trim(scheme, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") == "" {
			if !strings.EqualFold(scheme, "http") {
				return "", "", false
			}
			u = u[i+1:]
		}
	}
	if strings.HasPrefix(u, "//") {
		return "", "", false // a network path: another host
	}
	u, _, _ = strings.Cut(u, "#")
	path, query, _ = strings.Cut(u, "?")
	params := ""
	if strings.Contains(path, ";") { // urlparse's _splitparams
		i := strings.IndexByte(path[strings.LastIndexByte(path, '/')+1:], ';')
		if i >= 0 {
			i += strings.LastIndexByte(path, '/') + 1
			path, params = path[:i], path[i+1:]
		}
	}
	if path == "" && params == "" {
		return "/", query, true
	}
	var segs []string
	if strings.HasPrefix(path, "/") {
		segs = strings.Split(path, "/")
	} else {
		rel := strings.Split(path, "/")
		segs = []string{""} // the base path "/" less its last segment
		for _, s := range rel[:len(rel)-1] {
			if s != "" {
				segs = append(segs, s)
			}
		}
		segs = append(segs, rel[len(rel)-1])
	}
	var out []string
	for _, s := range segs {
		switch s {
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case ".":
		default:
			out = append(out, s)
		}
	}
	if last := segs[len(segs)-1]; last == "." || last == ".." {
		out = append(out, "")
	}
	path = strings.Join(out, "/")
	if path == "" {
		path = "/"
	}
	if params != "" {
		path += ";" + params
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path // urlunsplit
	}
	return path, query, true
}

// removeDotSegments is urllib3's _remove_path_dot_segments.
func removeDotSegments(path string) string {
	var out []string
	for _, s := range strings.Split(path, "/") {
		switch {
		case s == ".":
		case s != "..":
			out = append(out, s)
		case len(out) > 0:
			out = out[:len(out)-1]
		}
	}
	if strings.HasPrefix(path, "/") && (len(out) == 0 || out[0] != "") {
		out = append([]string{""}, out...)
	}
	if strings.HasSuffix(path, "/.") || strings.HasSuffix(path, "/..") {
		out = append(out, "")
	}
	return strings.Join(out, "/")
}

// urllib3PathChars are the characters urllib3 leaves in a path (a query
// also keeps '?').
const urllib3PathChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~!$&'()*+,;=:@/"

// urllib3Encode is urllib3's _encode_invalid_chars: %XX escapes are
// upper-cased and kept when every '%' starts one (else every '%' becomes
// %25), any other byte outside allowed is escaped.
func urllib3Encode(s, allowed string) string {
	valid, pct := 0, strings.Count(s, "%")
	var up strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			up.WriteString("%" + strings.ToUpper(s[i+1:i+3]))
			valid++
			i += 2
			continue
		}
		up.WriteByte(s[i])
	}
	s = up.String()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && valid == pct || c < utf8.RuneSelf && strings.IndexByte(allowed, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// pyQuote is urllib.parse.quote(s, safe).
func pyQuote(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~", c) >= 0 || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// requoteURI is requests.utils.requote_uri: escapes of unreserved
// characters are decoded, characters that may not stand in a URI are
// escaped; a '%' followed by two alphanumerics that are not hex makes it
// escape every '%' instead.
func requoteURI(s string) string {
	parts := strings.Split(s, "%")
	for i := 1; i < len(parts); i++ {
		p := parts[i]
		r1, n1 := utf8.DecodeRuneInString(p)
		r2, n2 := utf8.DecodeRuneInString(p[n1:])
		if n1 == 0 || n2 == 0 || !pyIsAlnum(r1) || !pyIsAlnum(r2) {
			parts[i] = "%" + p
			continue
		}
		if r1 >= utf8.RuneSelf || r2 >= utf8.RuneSelf || !isHex(byte(r1)) || !isHex(byte(r2)) {
			return pyQuote(s, "!#$&'()*+,/:;=?@[]~") // InvalidURL
		}
		c, _ := strconv.ParseUint(p[:2], 16, 8)
		if b := byte(c); b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("-._~", b) >= 0 {
			parts[i] = string(b) + p[2:]
		} else {
			parts[i] = "%" + p
		}
	}
	return pyQuote(strings.Join(parts, ""), "!#$%&'()*+,/:;=?@[]~")
}

// pyIsAlnum approximates Python's str.isalnum for one character.
func pyIsAlnum(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}
