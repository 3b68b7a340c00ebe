package attack

import "strings"

// scannerAgents are substrings of the User-Agent of security scanners and
// attack tools. The list follows the OWASP CRS file
// scanners-user-agents.data (Apache License 2.0, see
// test/corpus/LICENSE-CRS) with additions.
var scannerAgents = []string{
	".nasl", "arachni", "betabot", "bewica-security-scan", "bfac", "commix", "detectify", "dirbuster", "fimap",
	"gobuster", "havij", "hexometer", "jbrofuzz", "jorgee", "libwhisker", "masscan", "morfeus",
	"mozlila", "mozilla/5.g", "nessus", "netlab360", "netsparker", "nettacker", "nikto", "nmap",
	"nuclei", "openvas", "securityagent", "sitelockspider", "sqlmap", "sysscan", "tsunamisecurityscanner",
	"w3af", "webbandit", "webshag", "wfuzz", "whatweb", "wprecon", "wpscan", "feroxbuster", "l9explore",
	"l9tcpid", "wapiti", "vega/", "appspider", "ironwasp", "skipfish", "qualysguard", "n-stalker",
	"acunetix", "cmsmap", "sqlninja", "xsstrike", "xsser", "joomscan", "droopescan", "zgrab", "zmeu",
	"dirsearch", "ffuf", "httpx -", "interactsh", "jaeles", "burpcollaborator", "owasp zap", "zaproxy",
	"paros", "grabber", "pangolin", "brutus", "hydra", "medusa", "metasploit", "msfconsole", "dotdotpwn",
	"fuzz faster", "crimscanner", "blackwidow", "webinspect", "appscan", "struts-pwn", "log4j-scan",
	"nmap scripting engine", "python-nmap", "censysinspect", "expanse", "internet-measurement",
}

var scannerAgentSet = newSubstrings(scannerAgents)

func checkScannerAgent(v, lv string, f Features, c *Context) (int, int, bool) {
	if c.Where != InHeader || c.Header != "user-agent" && !strings.HasPrefix(c.Header, "x-") {
		return 0, 0, false
	}
	if e, i, ok := scannerAgentSet.index(lv); ok {
		return i, i + len(scannerAgents[e]), true
	}
	if f&fDot != 0 {
		if i, e, ok := oastName(lv); ok {
			return i, e, true
		}
	}
	return 0, 0, false
}

// oastName finds a host name of an out-of-band interaction service in
// text ("... Safari/537.36 root@x1y2.interact.sh"): a scanner planting a
// callback where a header is logged or evaluated.
func oastName(lv string) (int, int, bool) {
	if _, _, ok := oastDomainSet.index(lv); !ok {
		return 0, 0, false // the common case: no such domain at all
	}
	start := 0
	for i := 0; i <= len(lv); i++ {
		if i < len(lv) && (isWordByte(lv[i]) || lv[i] == '.' || lv[i] == '-' || lv[i] == '_') {
			continue
		}
		// A path segment named after one ("/oastify.com") is no host;
		// after "//" it is a URL's.
		pathSeg := start > 0 && lv[start-1] == '/' && !(start > 1 && lv[start-2] == '/')
		if tok := lv[start:i]; !pathSeg && strings.IndexByte(tok, '.') > 0 && oastHost(strings.Trim(tok, ".")) {
			return start, i, true
		}
		start = i + 1
	}
	return 0, 0, false
}

// checkGraphQLIntrospection finds a GraphQL introspection query, the
// schema dump that scanners and attackers start with ("{ __schema { types
// { name } } }", "__type(name: ...)"); "__typename", which clients ask for
// routinely, is not one.
func checkGraphQLIntrospection(v, lv string, f Features, c *Context) (int, int, bool) {
	for i := range occurrences(lv, "__type") {
		// { __type(name: "User") { fields { name } } }: one type's schema.
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '_') {
			continue
		}
		if rest := strings.TrimLeft(lv[i+6:], " \t\r\n"); rest != "" && rest[0] == '(' {
			return i, i + 6, true
		}
	}
	for i := range occurrences(lv, "__schema") {
		after := i + 8
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '_') {
			continue
		}
		if rest := strings.TrimLeft(lv[after:], " \t\r\n"); rest != "" && rest[0] == '{' {
			return i, after, true
		}
	}
	return 0, 0, false
}

// probePaths are request paths (lower case) that only scanners and
// attackers ask for: version control and secrets left in the web root,
// backups, admin consoles of other products, known exploit endpoints.
var probePaths = append([]string{
	"/.git/", "/.git", "/.svn/", "/.hg/", "/.bzr/", "/.env", "/.aws/", "/.ssh/", "/.docker/", "/.kube/",
	"/.htpasswd", "/.htaccess", "/.ds_store", "/.bash_history", "/.npmrc", "/.vscode/", "/.idea/",
	"/wp-config.php.", "/wp-config.bak", "/config.php.bak", "/.config/",
	"/phpinfo.php", "/info.php", "/actuator/env",
	"/actuator/heapdump", "/actuator/gateway", "/invoker/",
	"/hnap1", "/boaform", "/cgi-bin/test-cgi", "/cgi-bin/php", "/cgi-bin/luci",
	"/vendor/phpunit/", "/eval-stdin.php", "/_ignition/execute-solution", "/solr/admin/",
	"/console/login/loginform.jsp", "/wls-wsat/", "/_async/", "/setup.cgi", "/shell.php", "/cmd.php",
	"/webshell", "/.gitconfig", "/backup.sql", "/dump.sql", "/db.sql", "/database.sql",
	"/backup.zip", "/backup.tar.gz", "/site.tar.gz", "/www.zip", "/web.config", "/sftp-config.json",
	"/id_rsa", "/.well-known/security.txt.bak", "/config.json.bak", "/debug/pprof", "/telescope/requests",
	"/_profiler/phpinfo", "/elmah.axd", "/trace.axd", "/owa/auth/x.js", "/autodiscover/autodiscover.json",
	"/remote/fgt_lang", "/dana-na/", "/global-protect/", "/+cscoe+/", "/struts2-showcase",
	"/.travis.yml", "/.gitlab-ci.yml", "/docker-compose.yml", "/composer.lock", "/package-lock.json.bak",
	"/.claude/", "/.cursor/", "/.cursorignore", "/.cursorrules", "/.continue/", "/.roo/", "/.kiro/",
	"/.windsurf/", "/.rovodev/", "/.codex/", "/.opencode/", "/.a0proj/", "/.plandex/", "/.fabric/",
	"/.junie/", "/.aider", "/.gemini/", "/.clinerules", "/.amazonq/", "/.mcp.json",
	// A Java web application's private directories, which the servlet
	// specification forbids a container to serve.
	"/web-inf/", "/meta-inf/",
	"/nmaplowercheck", "/evox/about", "/mgmt/tm/util/bash",
}, webShellPaths()...)

// wholeProbePaths are probes only as the whole path: VMware's "/sdk" is
// where many sites keep their SDKs ("/sdk/js/app.js").
var wholeProbePaths = map[string]bool{"/sdk": true, "/sdk/": true}

// consolePaths are the admin consoles of products a server may well run
// (phpMyAdmin, Adminer, Tomcat's manager, Solr, Apache's status pages,
// JBoss, Liferay's JSON web services): scanners ask for them, and so do
// the people who administer them. scanner.console reports them and never
// blocks.
var consolePaths = []string{
	"/phpmyadmin", "/pma/", "/myadmin/", "/adminer.php", "/manager/html", "/solr/admin/", "/server-status",
	"/server-info", "/jmx-console", "/web-console", "/api/jsonws/invoke",
}

var consolePathSet = newSubstrings(consolePaths)

func checkConsolePath(v, lv string, f Features, c *Context) (int, int, bool) {
	if c.Where != InPath {
		return 0, 0, false
	}
	var start, end int
	found := consolePathSet.each(lv, func(k, i int) bool {
		e := i + len(consolePaths[k])
		if !namedWhole(lv, consolePaths[k], e) {
			return false // "/server-status-page" is another page
		}
		start, end = i, e
		return true
	})
	return start, end, found
}

// webShellPaths are the web shells' own names (webShells) as paths in the
// web root, which scanners ask for.
func webShellPaths() []string {
	var p []string
	for _, w := range webShells {
		if strings.HasSuffix(w, ".php") {
			p = append(p, "/"+w)
		}
	}
	return p
}

func checkProbePath(v, lv string, f Features, c *Context) (int, int, bool) {
	if c.Where != InPath {
		return 0, 0, false
	}
	if i := strings.LastIndexByte(lv, '/'); i >= 0 && i+1 < len(lv) {
		if leftoverFile(lv[i+1:]) || disguisedScript(lv[i+1:]) {
			return i + 1, len(lv), true
		}
	}
	if wholeProbePaths[lv] {
		return 0, len(lv), true
	}
	var start, end int
	found := probePathSet.each(lv, func(k, i int) bool {
		p := probePaths[k]
		e := i + len(p)
		if !namedWhole(lv, p, e) {
			return false
		}
		start, end = i, e
		return true
	})
	return start, end, found
}

var probePathSet = newSubstrings(probePaths)

// namedWhole reports whether the path entry p, found in lv ending at e,
// names a file or directory exactly: "/.envoy" and "/.github/" are
// somebody's routes, not "/.env" and "/.git". An entry ending in '/' is a
// directory; one ending in '.' names a file's backups
// ("/wp-config.php.bak", ".php.save"); otherwise the name must end there
// or at a separator, an extension, a backup's '~' or a path parameter.
func namedWhole(lv, p string, e int) bool {
	if last := p[len(p)-1]; last == '/' || last == '.' || e >= len(lv) {
		return true
	}
	return strings.IndexByte("/?.~;", lv[e]) >= 0
}

// leftoverExts name what an editor, a backup or a database leaves next to
// the site's files, and no site links to: "/settings.php.swp",
// "/dump.sql", "/index.php.bak", "/shell.php.suspected" (what malware
// scanners rename infected files to).
var leftoverExts = []string{
	".sql", ".sql.gz", ".sql.zip", ".sql.bz2", ".bak", ".backup", ".old", ".orig", ".save", ".swp", ".swo",
	".sqlite", ".sqlite3", ".mdb", ".suspected",
}

// archiveExts and archiveNames: an archive of the whole site or database
// ("/backup.gz", "/www.zip", "/db.tar.gz").
var archiveExts = []string{".zip", ".tar", ".gz", ".tgz", ".rar", ".7z", ".bz2"}

var archiveNames = map[string]bool{
	"backup": true, "backups": true, "dump": true, "db": true, "database": true, "site": true, "www": true,
	"htdocs": true, "public_html": true, "wwwroot": true, "webroot": true,
}

// leftoverFile reports whether the last segment of a path (lower case)
// names an editor's, a backup's or a dump's leftover file.
func leftoverFile(seg string) bool {
	dot := strings.IndexByte(seg, '.')
	if dot < 0 {
		return false
	}
	for _, e := range leftoverExts {
		if strings.HasSuffix(seg, e) {
			return true
		}
	}
	if dot > 0 && archiveNames[seg[:dot]] {
		for _, e := range archiveExts {
			if strings.HasSuffix(seg, e) {
				return true
			}
		}
	}
	// "index.php~": an editor's backup of a script, served as text.
	return strings.HasSuffix(seg, "~") && dot > 0
}

// disguisedScript reports whether a path's last segment names a script
// with an image's extension added behind a character some server or
// framework cuts the name at: "do.php%23.png", "do.php;.png" (IIS),
// "do.php\n.png", "do.php\x00.png".
func disguisedScript(seg string) bool {
	if !strings.ContainsAny(seg, "#;\n\r\x00") && strings.IndexByte(seg, 0xE5) < 0 { // U+560A, U+560D start with 0xE5
		return false
	}
	for _, ext := range executableExts {
		for i := range occurrences(seg, ext) {
			e := i + len(ext)
			n := 0
			switch {
			case e+1 < len(seg) && strings.IndexByte("#;\n\r\x00", seg[e]) >= 0:
				n = 1
			case strings.HasPrefix(seg[e:], "\u560a"), strings.HasPrefix(seg[e:], "\u560d"):
				// U+560A and U+560D end in 0x0A and 0x0D: a server
				// that keeps a character's low byte reads "\n", "\r".
				n = len("\u560a")
			}
			if n > 0 && strings.IndexByte(seg[e+n:], '.') >= 0 {
				return true
			}
		}
	}
	return false
}
