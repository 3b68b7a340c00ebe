package attack

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// URL-shaped attacks: remote file inclusion (a URL to code the application
// should include), server-side request forgery (a URL to the server's own
// network or to cloud metadata), open redirect (a URL to elsewhere, in a
// parameter the application redirects to).

type parsedURL struct {
	scheme string
	host   string // lower case, brackets and port removed
	port   string
	rest   string // path, query, fragment
	start  int    // offset of the URL in the value
}

// findURL returns the first scheme://host URL in lv (at the start of the
// value or after a separator).
func findURL(lv string) (parsedURL, bool) {
	i := strings.Index(lv, "://")
	for i > 0 {
		s := i - 1
		for s > 0 && (lv[s-1] >= 'a' && lv[s-1] <= 'z' || lv[s-1] >= '0' && lv[s-1] <= '9' || lv[s-1] == '+' || lv[s-1] == '.' || lv[s-1] == '-') {
			s--
		}
		if s < i && lv[s] >= 'a' && lv[s] <= 'z' {
			u := parsedURL{scheme: lv[s:i], start: s}
			parseAuthority(lv[i+3:], &u)
			return u, true
		}
		j := strings.Index(lv[i+3:], "://")
		if j < 0 {
			break
		}
		i += 3 + j
	}
	return parsedURL{}, false
}

func parseAuthority(s string, u *parsedURL) {
	end := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '/' || c == '?' || c == '#' || c == '\\' || c == ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c < 0x20 {
			end = i
			break
		}
	}
	auth := s[:end]
	u.rest = s[end:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	if strings.HasPrefix(auth, "[") {
		if j := strings.IndexByte(auth, ']'); j > 0 {
			u.host = auth[1:j]
			u.port = strings.TrimPrefix(auth[j+1:], ":")
			return
		}
	}
	if j := strings.LastIndexByte(auth, ':'); j >= 0 && strings.Count(auth, ":") == 1 {
		u.host, u.port = auth[:j], auth[j+1:]
	} else if j := strings.IndexByte(auth, ':'); j >= 0 && strings.Count(auth, ".") == 3 && strings.IndexByte(auth[:j], '.') > 0 {
		u.host, u.port = auth[:j], auth[j+1:] // "127.1.1.1:80:" a parser reads up to the first ':'
	} else {
		u.host = auth
	}
	u.host = strings.TrimSuffix(u.host, ".")
	for i := 0; i < len(u.host); i++ {
		if u.host[i] >= 0x80 {
			// Resolvers map a host through IDNA, which folds compatibility
			// forms: "①②⑦.⓪.⓪.①" is 127.0.0.1.
			u.host = strings.ToLower(norm.NFKC.String(u.host))
			break
		}
	}
}

// internalHost reports whether host names this server, its private
// network or a cloud metadata service, in any of the spellings attackers
// use (decimal, hex and octal IPv4, IPv4-mapped IPv6, short forms).
// oastHost reports whether host is under a domain of the out-of-band
// interaction services scanners point SSRF and blind injections at: a
// request there only confirms the server fetched what it was given.
func oastHost(host string) bool {
	for _, d := range oastDomains {
		if host == d || len(host) > len(d) && strings.HasSuffix(host, d) && host[len(host)-len(d)-1] == '.' {
			return true
		}
	}
	return false
}

// oastDomains are the domains of out-of-band interaction services.
var oastDomains = []string{"burpcollaborator.net", "oastify.com", "interact.sh", "oast.fun", "oast.live", "oast.me",
	"oast.online", "oast.pro", "oast.site", "dnslog.cn", "ceye.io", "requestbin.net", "canarytokens.com", "bxss.me"}

// oastDomainSet finds any of oastDomains in one pass: most values name
// none, and then no token needs looking at.
var oastDomainSet = newSubstrings(oastDomains)

// loopbackLinkShown reports whether the URL at lv[at:] is a link to the
// writer's own machine shown in a field: in running text ("then open
// http://localhost:3000", "check http://127.0.0.1:8080/ in a browser"),
// in Markdown code, or as a string argument of a call in code shown:
// developers write so in every forum. Only loopback counts: metadata and
// private hosts in text stay flagged, a link previewer fetches them.
func loopbackLinkShown(lv string, at int, host string, c *Context) bool {
	if c.Where != InField && c.Where != InBody || at < 2 {
		return false
	}
	if host != "localhost" && !strings.HasPrefix(host, "127.") && host != "[::1]" && host != "::1" {
		return false
	}
	if strings.Count(lv[:at], "`")%2 == 1 && strings.IndexByte(lv[at:], '`') >= 0 {
		// In Markdown code, inline or fenced ("```yaml url:
		// http://localhost:9201/write ```"): a configuration shown, which
		// no link previewer opens.
		return true
	}
	if q := strings.LastIndexAny(lv[max(0, at-80):at], `'"`); q >= 0 {
		// In a string argument of a call in code shown
		// ("http.get('http://localhost:3000', ...)", "console.log('Server
		// running at http://127.0.0.1:8124/')").
		q += max(0, at-80)
		if q > 0 && lv[q-1] == '(' && strings.IndexByte(lv[at:], lv[q]) > 0 {
			return true
		}
	}
	return lv[at-1] == ' ' && proseWordBefore(lv[:at-1]) && sentenceWords(lv) >= 4
}

// loopbackRedirect reports whether u is the redirection URI of an OAuth
// native application, "redirect_uri=http://127.0.0.1:53682/" (RFC 8252,
// 7.3): the command-line tools that sign in through a browser (cloud
// CLIs, rclone, gh) listen on a loopback port for the browser to come
// back to. The browser goes there, not the server.
func loopbackRedirect(u parsedURL, c *Context) bool {
	if u.scheme != "http" || c.Where != InQuery && c.Where != InField {
		return false
	}
	switch strings.ToLower(c.Name) {
	case "redirect_uri", "post_logout_redirect_uri", "redirect_url", "redirecturi":
	default:
		return false
	}
	return u.host == "localhost" || u.host == "::1" || strings.HasPrefix(u.host, "127.") && strings.Count(u.host, ".") == 3
}

// partyHost reports whether host, an internal one, is how a deployment
// names its own services: localhost, a private network's name, or a
// loopback or private address written plainly. A token's claims name
// their issuer and audience so; a metadata address, a link-local one or
// an address in disguise (decimal, octal, wrapped) is no party.
func partyHost(host string) bool {
	if host == "localhost" || privateName(host) {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil || a.String() != strings.Trim(host, "[]") {
		return false
	}
	return a.IsLoopback() || a.IsPrivate()
}

// privateName reports whether host is a name of a private network's DNS
// (a Kubernetes service, a corporate or home network, mDNS) rather than a
// loopback, metadata or numeric address. Systems inside such a network
// describe themselves by those names in every document they send (a
// webhook's project URL, an alert's source, a client's configuration), so
// one is SSRF only where a person or a scanner puts it (see
// privateNameFetched); the well-known names an SSRF probes,
// kubernetes.default.svc and the metadata services, count everywhere.
func privateName(host string) bool {
	switch host {
	case "kubernetes.default.svc", "metadata.google.internal", "instance-data.ec2.internal":
		return false
	}
	// ".consul": Consul's service DNS; ".home.arpa", ".lan", ".intranet",
	// ".corp": names of a private network.
	for _, suf := range []string{".internal", ".local", ".svc", ".cluster.local", ".consul", ".home.arpa", ".lan", ".intranet", ".corp"} {
		if strings.HasSuffix(host, suf) {
			return true
		}
	}
	return false
}

// privateNameFetched reports whether a private network's name in c is
// SSRF: in a parameter named for a URL the server fetches, and not in a
// record of a list a system reports (a webhook's commits[0].url).
func privateNameFetched(c *Context) bool { return fetchParam(c.Name) && !c.Record }

// serviceAPIPath reports whether a URL's path is the API of a cluster's
// control plane an SSRF aims at: Consul's key-value store and agent,
// etcd's keys, the Kubernetes and Docker APIs.
func serviceAPIPath(rest string) bool {
	for _, p := range [...]string{"/v1/kv/", "/v1/agent/", "/v1/catalog/", "/v2/keys", "/v3/kv/", "/api/v1/namespaces", "/api/v1/secrets", "/containers/json"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	return false
}

// fetchParam reports whether a parameter is named for a URL the server
// fetches: "url", "webhook", "callback_url", "feed", not "web_url" or
// "externalURL", which describe a resource.
func fetchParam(name string) bool {
	var buf [32]byte
	switch string(paramKey(buf[:0], name)) {
	case "url", "uri", "webhook", "webhookurl", "callback", "callbackurl", "target", "targeturl", "feed", "feedurl", "src", "source", "sourceurl",
		"dest", "proxy", "endpoint", "image", "imageurl", "img", "host", "server", "domain", "fetch", "fetchurl", "load", "download", "downloadurl",
		"remote", "remoteurl", "api", "apiurl", "address", "addr", "site", "import", "importurl", "avatar", "avatarurl", "icon", "iconurl", "file", "fileurl", "path":
		return true
	}
	return false
}

func internalHost(host string) bool {
	switch host {
	case "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "metadata",
		"metadata.google.internal", "instance-data", "instance-data.ec2.internal", "kubernetes",
		"kubernetes.default", "kubernetes.default.svc", "0", "localtest.me", "lvh.me", "vcap.me",
		"metadata.azure.com", "metadata.packet.net", "metadata.tencentyun.com", "localhost4", "localhost6", "rancher-metadata",
		"localhost4.localdomain4", "localhost6.localdomain6":
		return true
	case "":
		return false
	}
	if privateName(host) {
		return true
	}
	for _, suf := range []string{".localhost", ".localtest.me", ".lvh.me"} {
		if strings.HasSuffix(host, suf) {
			return true
		}
	}
	// Wildcard DNS services that resolve an embedded address.
	for _, svc := range []string{".nip.io", ".xip.io", ".sslip.io", ".traefik.me", ".localdomain", ".1u.ms", ".rbndr.us", ".localtest.me"} {
		if strings.HasSuffix(host, svc) {
			return true
		}
	}
	addr, ok := parseIPAny(host)
	if !ok {
		if addr, ok = parseIPWrapped(host); !ok {
			return false
		}
	}
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsUnspecified() ||
		addr.IsLinkLocalMulticast() || addr.IsInterfaceLocalMulticast() {
		return true
	}
	if addr.Is4() {
		b := addr.As4()
		return b[0] == 100 && b[1]&0xC0 == 64 || // 100.64.0.0/10 (carrier NAT, Alibaba metadata)
			b == [4]byte{192, 0, 0, 192} || // Oracle Cloud metadata
			b[0] == 0 || b[0] == 198 && b[1]&0xFE == 18 // 198.18.0.0/15 benchmarking
	}
	return strings.HasPrefix(host, "fd00:ec2:")
}

// parseIPWrapped parses the numeric hosts that overflow what inet_aton
// accepts, the way parsers that keep the low bits read them:
// "7147006462" and "0x41414141A9FEA9FE" are 169.254.169.254 to a 32-bit
// conversion, "425.510.425.510" to one that keeps each part's low byte;
// "0o177.0.0.1" is octal spelled as in Python and JavaScript.
func parseIPWrapped(host string) (netip.Addr, bool) {
	if host == "" || len(host) > 64 {
		return netip.Addr{}, false
	}
	parts := strings.Split(host, ".")
	if len(parts) != 1 && len(parts) != 4 {
		return netip.Addr{}, false
	}
	var b [4]byte
	var whole uint64
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
		case strings.HasPrefix(p, "0o"):
			base, p = 8, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" || len(p) > 32 {
			return netip.Addr{}, false
		}
		var v uint64
		for k := 0; k < len(p); k++ {
			if !isHex(p[k]) || int(hexVal(p[k])) >= base {
				return netip.Addr{}, false
			}
			v = v*uint64(base) + uint64(hexVal(p[k])) // wraps: the low bits are what such a parser keeps
		}
		whole, b[i%4] = v, byte(v)
	}
	if len(parts) == 1 {
		b = [4]byte{byte(whole >> 24), byte(whole >> 16), byte(whole >> 8), byte(whole)}
		if whole < 1<<24 {
			return netip.Addr{}, false // a small number, not an address
		}
	}
	return netip.AddrFrom4(b), true
}

// parseIPAny parses an IP address the way inet_aton and browsers do: one
// to four parts, each decimal, octal (leading 0) or hex (0x).
func parseIPAny(host string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true
	}
	if host == "" || strings.IndexFunc(host, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r == 'x' || r >= 'a' && r <= 'f')
	}) >= 0 {
		return netip.Addr{}, false
	}
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		}
		if p == "" {
			p = "0"
		}
		v, err := strconv.ParseUint(p, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	var ip uint64
	last := len(vals) - 1
	for i := 0; i < last; i++ {
		if vals[i] > 255 {
			return netip.Addr{}, false
		}
		ip |= vals[i] << (24 - 8*i)
	}
	if vals[last] >= 1<<(32-8*last) {
		return netip.Addr{}, false
	}
	ip |= vals[last]
	return netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)}), true
}

func checkSSRF(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fColon == 0 && f&fDot == 0 && f&fDigit == 0 && f&fSlash == 0 {
		return 0, 0, false
	}
	if f&(fColon|fDot|fSlash) == 0 && f&(fLetter|fUpper) != 0 {
		// A bare word ("localhost", "localhost4") is a name in prose as
		// often as a host; the prefilter skips word-only values anyway.
		return 0, 0, false
	}
	if c.Where == InHeader {
		switch c.Header {
		case "referer", "origin", "host", "x-forwarded-for", "x-real-ip", "forwarded", "x-forwarded-host", "via", "true-client-ip", "x-client-ip":
			return 0, 0, false
		}
	}
	if f&fSlash != 0 {
		// Cloud metadata paths reached through another host (a proxy, a
		// redirect service): "/proxy/169.254.169.254/latest/meta-data/".
		if i := containsAny(lv, "/latest/meta-data/iam", "/latest/user-data", "/computemetadata/v1", "/metadata/instance?api-version", "/metadata/identity/oauth2", "169.254.169.254/latest"); i >= 0 {
			return i, len(v), true
		}
	}
	if f&fDot != 0 {
		// An interaction service's host outside a URL: a blind command,
		// template or lookup injection calling home ("|getent hosts
		// x.burpcollaborator.net", "gethostbyname('x.oastify.com')").
		if i, e, ok := oastName(lv); ok {
			return i, e, true
		}
	}
	if u, ok := findURL(lv); ok {
		// Every URL in the value, up to a few: one may sit in another's
		// query ("...icon-uri?consumerUri=http://169.254.169.254/").
		for base, n := 0, 0; ok && n < 4; n++ {
			at := base + u.start
			switch u.scheme {
			case "gopher", "dict", "ldap", "tftp", "sftp", "netdoc", "jar", "smb", "ldaps", "rmi":
				return at, len(v), true
			}
			if at >= 4 && lv[at-4:at] == "jar:" {
				return at - 4, len(v), true // jar:http://host!/: Java fetches the archive
			}
			if oastHost(u.host) || internalHost(u.host) && !(c.Claim && partyHost(u.host)) && !loopbackLinkShown(lv, at, u.host, c) && !(at == 0 && loopbackRedirect(u, c)) &&
				(!privateName(u.host) || privateNameFetched(c) || serviceAPIPath(u.rest)) {
				return at, len(v), true
			}
			if len(u.rest) > 2 && (u.rest[0] == '#' || u.rest[0] == '?' || u.rest[0] == '\\') && u.rest[1] == '@' {
				// "http://evil.example#@127.0.0.1/": parsers that take the
				// host after the last '@' of the whole URL fetch this one.
				h := u.rest[2:]
				h = h[:strings.IndexFunc(h+"/", func(r rune) bool { return r == '/' || r == '?' || r == '#' || r == ':' })]
				if internalHost(h) {
					return at, len(v), true
				}
			}
			base = at + len(u.scheme) + 3
			u, ok = findURL(lv[base:])
		}
		return 0, 0, false
	}
	// A bare host or host:port in a parameter that takes one.
	if c.Where == InQuery || c.Where == InField {
		if f&fSpace == 0 && hostParam(c.Name) {
			h := lv
			if j := strings.IndexAny(h, "/?#"); j >= 0 {
				h = h[:j]
			}
			var u parsedURL
			parseAuthority(h, &u)
			if n, err := strconv.ParseUint(u.host, 10, 64); err == nil && n < 1<<24 {
				return 0, 0, false // a number, not a decimal IPv4 address
			}
			if internalHost(u.host) && (!privateName(u.host) || privateNameFetched(c)) {
				return 0, len(v), true
			}
		}
	}
	return 0, 0, false
}

func hostParam(name string) bool { return hostParams.containsFold(name) }

var hostParams = newSubstrings([]string{"url", "uri", "host", "domain", "server", "target", "dest", "proxy", "fetch", "webhook", "callback", "endpoint", "address", "addr", "ip", "site", "feed", "link", "src", "source", "image", "img", "remote", "api", "download", "load"})

// includeParams are parameter names applications pass to include/require.
func includeParam(name string) bool { return includeParams.containsFold(name) }

var includeParams = newSubstrings([]string{"file", "page", "include", "inc", "path", "template", "tpl", "doc", "folder", "dir", "load", "read", "module", "mod", "lang", "locale", "layout", "conf", "cfg", "style", "pg", "show", "cat", "action", "content", "view", "body", "req", "location", "nav", "site", "theme", "skin", "main", "root", "base"})

// webShells are the names of well-known PHP web shells, and of their text
// copies that remote file inclusion loads.
var webShells = []string{"c99.php", "c100.php", "r57.php", "wso.php", "b374k.php", "c99.txt", "r57.txt", "c99shell.php"}

// webShellURL reports whether lv is an http(s) or ftp URL whose path ends
// in a web shell's name: whatever the parameter, the application is asked
// to fetch, include or link to one.
func webShellURL(lv string) bool {
	u, ok := findURL(lv)
	if !ok || u.start != 0 || u.scheme != "http" && u.scheme != "https" && u.scheme != "ftp" {
		return false
	}
	p := lv
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	base := p[strings.LastIndexByte(p, '/')+1:]
	return slices.Contains(webShells, base)
}

func checkRFI(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fColon == 0 || f&fSlash == 0 {
		return 0, 0, false
	}
	if c.Where == InHeader || c.Where == InPath {
		return 0, 0, false
	}
	if webShellURL(lv) {
		return 0, len(v), true
	}
	u, ok := findURL(lv)
	if !ok {
		if i := strings.Index(lv, "data:"); i >= 0 && strings.Contains(lv[i:], ";base64,") && strings.Contains(lv[i:], "text/plain") {
			return i, len(v), true
		}
		return 0, 0, false
	}
	switch u.scheme {
	case "http", "https", "ftp", "ftps", "data", "expect", "ssh2.shell", "ssh2.exec", "ogg", "rar", "zlib":
	default:
		return 0, 0, false
	}
	if u.scheme == "data" || u.scheme == "expect" || strings.HasPrefix(u.scheme, "ssh2") {
		return u.start, len(v), true
	}
	if internalHost(u.host) {
		return 0, 0, false // ssrf.url's
	}
	rest := u.rest
	// Trailing '?' or NUL: the application's own suffix (".php") is cut off.
	// A '?' that ends a query of its own, or a path with parameters
	// (an ad server's ";ord=123?"), is the page's; the suffix cut off
	// follows a file.
	if base := strings.TrimRight(rest, "?"); len(base) < len(rest) && !strings.ContainsAny(base, "?;=") || strings.Contains(rest, "\x00") || strings.HasSuffix(rest, "%00") {
		return u.start, len(v), true
	}
	path := rest
	if j := strings.IndexAny(path, "?#"); j >= 0 {
		path = path[:j]
	}
	scriptLike := false
	for _, ext := range []string{".txt", ".php", ".sh", ".pl", ".py", ".jsp", ".asp", ".cgi", ".inc", ".phtml"} {
		if strings.HasSuffix(path, ext) {
			scriptLike = true
		}
	}
	_, isIP := parseIPAny(u.host)
	if u.start == 0 && configPathParam(c.Name) {
		return u.start, len(v), true
	}
	if u.start == 0 && (includeParam(c.Name) || c.Name == "") && (scriptLike || isIP || u.scheme == "ftp") {
		return u.start, len(v), true
	}
	if u.start == 0 && isIP && u.scheme != "data" {
		// A whole value that is a URL on a literal IP address: what a
		// remote include or fetch is pointed at when the attacker has no
		// domain; applications hand out host names (CRS 931100 holds the
		// same at paranoia level 1).
		return u.start, len(v), true
	}
	if u.start == 0 && scriptLike && strings.Contains(path, "shell") {
		// A script on a bare IP address ("http://66.240.183.75/crash.php")
		// in any parameter: what a remote include is pointed at.
		return u.start, len(v), true
	}
	return 0, 0, false
}

// configPathParam reports whether a parameter name is an application's
// directory setting that register_globals-era PHP let a request override
// ("mosConfig_absolute_path", "_CONF[path]", "phpbb_root_path"): a URL
// there makes the application include from another host.
func configPathParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range [...]string{"absolute_path", "root_path", "include_path", "basedir", "base_dir", "_conf[", "globals["} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return strings.HasSuffix(n, "[path]")
}

// paramKey appends name to b lower-cased and without '_' and '-', up to
// b's capacity: "return_to", "returnTo" and "return-to" are one key.
func paramKey(b []byte, name string) []byte {
	for i := 0; i < len(name) && len(b) < cap(b); i++ {
		c := name[i]
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// redirectParam reports whether a parameter name says the application
// will redirect to its value.
func redirectParam(name string) bool {
	var buf [32]byte
	switch string(paramKey(buf[:0], name)) {
	case "redirect", "redirectto", "redirecturl", "redir", "redirurl", "return", "returnto", "returnurl",
		"returnpath", "next", "nexturl", "continue", "continueurl", "goto", "gotourl", "dest", "destination",
		"desturl", "forward", "forwardurl", "target", "targeturl", "go", "out", "exit", "jump", "jumpurl",
		"checkouturl", "successurl", "failureurl", "cancelurl", "rurl", "back", "backurl", "location",
		"logout", "loginurl", "logouturl", "redirectback", "returnuri", "redirecturi2":
		return true
	}
	return false
}

// urlParam reports whether a parameter name says its value is a URL.
func urlParam(name string) bool {
	switch strings.ToLower(name) {
	case "url", "uri", "link", "href", "u":
		return true
	}
	return false
}

func checkRedirect(v, lv string, f Features, c *Context) (int, int, bool) {
	if c.Where != InQuery && c.Where != InField {
		return 0, 0, false
	}
	if f&(fSlash|fBackslash|fColon) == 0 {
		// "url=@evil.example": appended to the site's own origin
		// ("https://shop.example" + value), the '@' makes what came
		// before it a user name and the value the host.
		if f&fAt != 0 && lv[0] == '@' && (redirectParam(c.Name) || urlParam(c.Name)) && looksLikeHost(lv[1:]) {
			return 0, len(v), true
		}
		return 0, 0, false
	}
	t, off := trimLeftSpaceCtl(lv)
	t = squeeze(t)
	// Scheme-relative and slash-confused forms: //evil.com, /\evil.com,
	// \/evil.com, /%09/evil.com, https:/\evil.com, http:evil.com.
	if len(t) > 3 && (t[0] == '/' || t[0] == '\\') && (t[1] == '/' || t[1] == '\\') {
		h := strings.TrimLeft(t, `/\`)
		if looksLikeHost(h) {
			return off, len(v), true
		}
	}
	if len(t) > 8 && (t[0] == '/' || t[0] == '\\') {
		// "/https://evil.example/", "//https:///evil.example": a URL behind
		// slashes a path check lets through, which the browser follows;
		// no path a site links to starts with a scheme.
		h := strings.TrimLeft(t, `/\`)
		for _, sc := range [...]string{"https:", "http:"} {
			if rest, ok := strings.CutPrefix(h, sc); ok && looksLikeHost(strings.TrimLeft(rest, `/\`)) {
				return off, len(v), true
			}
		}
		if strings.HasPrefix(h, "javascript:") || strings.HasPrefix(h, "data:text/html") {
			return off, len(v), true // the script URL a slash-stripping redirect follows
		}
	}
	for _, s := range []string{"http:", "https:"} {
		if strings.HasPrefix(t, s) {
			rest := t[len(s):]
			if strings.HasPrefix(rest, "//") {
				break
			}
			h := strings.TrimLeft(rest, `/\`)
			if k := strings.IndexAny(h, `/\`); rest != "" && rest[0] == '\\' && k >= 0 && strings.IndexByte(h[k:], '\\') >= 0 && !redirectParam(c.Name) {
				// "http:\\host\dir\file.mp3": a whole URL written with
				// Windows' separators, a link, not a slash trick.
				break
			}
			// ("http:/" and "http:/%2" alone are cut-off links, no host)
			if rest != "" && (rest[0] == '\\' || rest[0] == '/') && len(h) >= 3 && h[0] != '%' || looksLikeHost(rest) {
				return off, len(v), true
			}
		}
	}
	if f&fAt != 0 && (strings.HasPrefix(t, "http") || strings.HasPrefix(t, "//")) {
		// "https://www.trusted.example@evil.example/": user info spelled
		// as a host name, there to be read as the host by a person or a
		// prefix check; no link a site gives out is written so.
		a := t[strings.Index(t, "//")+2:]
		a = a[:strings.IndexFunc(a+"/", func(r rune) bool { return r == '/' || r == '?' || r == '#' || r == '\\' })]
		if at := strings.LastIndexByte(a, '@'); at > 0 && !strings.ContainsAny(a[:at], ":%") && strings.IndexByte(a[:at], '.') > 0 && looksLikeHost(a[at+1:]) {
			return off, len(v), true
		}
	}
	if !redirectParam(c.Name) || c.Host == "" {
		return 0, 0, false
	}
	u, ok := findURL(t)
	if !ok || u.start != 0 || u.scheme != "http" && u.scheme != "https" {
		return 0, 0, false
	}
	if strings.Contains(t[:min(len(t), len(u.scheme)+3+len(u.host)+64)], "@") {
		// https://good.example@evil.example: the real host is after '@'.
		return off, len(v), true
	}
	if !sameSite(u.host, strings.ToLower(c.Host)) {
		return off, len(v), true
	}
	return 0, 0, false
}

// idnaDots are the full stops IDNA maps to '.'.
var idnaDots = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".")

func looksLikeHost(s string) bool {
	if slash := strings.IndexByte(s, '/'); slash != 0 {
		auth := s
		if slash > 0 {
			auth = s[:slash]
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			s = s[at+1:] // "good.example@evil.example": the host is after the '@'
		}
	}
	if strings.Contains(s, "\u3002") || strings.Contains(s, "\uff0e") || strings.Contains(s, "\uff61") {
		// Ideographic and fullwidth full stops are dots to IDNA.
		s = idnaDots.Replace(s)
	}
	if strings.HasPrefix(s, "[") {
		if e := strings.IndexByte(s, ']'); e > 0 {
			_, ok := parseIPAny(s[1:e])
			return ok
		}
	}
	end := strings.IndexAny(s, "/?#\\")
	if end < 0 {
		end = len(s)
	}
	h := s[:end]
	if c := strings.IndexByte(h, ':'); c >= 0 {
		h = h[:c]
	}
	if _, ok := parseIPAny(h); ok {
		return true
	}
	dot := strings.LastIndexByte(h, '.')
	if dot <= 0 || dot >= len(h)-2 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	tld := h[dot+1:]
	for i := 0; i < len(tld); i++ {
		if tld[i] < 'a' || tld[i] > 'z' {
			return false
		}
	}
	return true
}

// sameSite compares the last two labels of two host names (without a
// public-suffix list, "a.co.uk" and "b.co.uk" compare equal: a miss, never
// a false alarm).
func sameSite(a, b string) bool {
	if i := strings.LastIndexByte(b, ':'); i >= 0 && !strings.Contains(b, "]") {
		b = b[:i]
	}
	return site(a) == site(b)
}

func site(h string) string {
	h = strings.TrimSuffix(h, ".")
	i := strings.LastIndexByte(h, '.')
	if i < 0 {
		return h
	}
	if j := strings.LastIndexByte(h[:i], '.'); j >= 0 {
		return h[j+1:]
	}
	return h
}
