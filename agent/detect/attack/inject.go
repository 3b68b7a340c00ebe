package attack

import "strings"

// Injections into interpreters other than SQL and the shell: template
// engines (SSTI), Log4j lookups, HTTP and mail headers (CRLF, mail
// injection), MongoDB queries (NoSQL injection), LDAP filters, XML
// entities (XXE).

// checkSSTI looks inside template delimiters ({{ }}, ${ }, #{ }, *{ },
// <%= %>, {% %}) for what a template author never writes in data but an
// attacker probes with: arithmetic on literals, Python dunders, class and
// runtime access, engine internals. "{{ user.name }}" is just a template.
func checkSSTI(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fBrace|fLT|fHash|fDollar|fAt) == 0 {
		return 0, 0, false
	}
	for _, d := range [...]struct{ open, close string }{
		{"{{", "}}"}, {"${", "}"}, {"#{", "}"}, {"*{", "}"}, {"@{", "}"}, {"<%=", "%>"}, {"<%", "%>"}, {"{%", "%}"}, {"{#", "#}"}, {"[[", "]]"}, {"@(", ")"},
	} {
		from := 0
		for {
			i := strings.Index(lv[from:], d.open)
			if i < 0 {
				break
			}
			i += from
			body := lv[i+len(d.open):]
			if len(body) > 512 {
				// Expressions are short: looking for the close further on,
				// from every opening, would be quadratic ("{{{{{{...").
				body = body[:512]
			}
			unclosed := false
			if j := strings.Index(body, d.close); j >= 0 {
				body = body[:j]
			} else if d.open == "[[" {
				// Thymeleaf reads "[[...]]" only whole; Markdown writes
				// "\[[`hash`](url)]" in every changelog.
				from = i + len(d.open)
				continue
			} else if len(body) > 256 {
				body, unclosed = body[:256], true
			}
			if d.open == "${" && (strings.HasPrefix(body, "jndi:") || strings.Contains(body, "${")) {
				from = i + 2
				continue // log4shell's
			}
			if templateExpr(body) {
				return i, min(len(v), i+len(d.open)+len(body)+len(d.close)), true
			}
			from = i + len(d.open)
			if unclosed {
				// No close within the window: the openings inside it
				// start no short expression either ("{{{{{{...").
				from = i + len(d.open) + 256
			}
		}
	}
	// The polyglot that probes for any engine: "${{<%[%'"}}%\.".
	if len(lv) <= 64 {
		n := 0
		for _, d := range [...]string{"${", "{{", "<%", "[%", "#{", "}}", "%>", "%}"} {
			if strings.Contains(lv, d) {
				n++
			}
		}
		if n >= 4 {
			return 0, len(v), true
		}
	}
	// Engine directives outside expression delimiters.
	if i := containsAny(lv, "freemarker.template.utility", "<#assign", "#set($", "#set ($", "$class.inspect", "{php}", "{system(", "{$smarty", "{self::", "#foreach("); i >= 0 {
		return i, len(v), true
	}
	return 0, 0, false
}

var templateMarkers = []string{
	"__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__", "__init__", "__import__",
	"__base__", "__bases__", "__dict__", "__getattribute__", "config.items", "config.__", "self._",
	"request.application", "request.environ", "lipsum", "cycler", "joiner", "namespace.__",
	"getclass(", ".class.", "class.forname", "t(java.", "java.lang", "runtime", "processbuilder", ".exec(",
	"getruntime", "new java", "_self.env", "registerundefinedfiltercallback", "|attr(", "['__", "[\"__",
	"constructor", "popen", "os.system", "subprocess", "freemarker", "?new(", "product.getclass",
	"system(", "%x(", "file.read", "io.popen", "kernel.", "getenv", "filter('system", "filter(\"system",
	"filter('exec", "|map('system", "sort('system", "|filter(", "range(", "import os", "from os",
	"request.getparameter", "applicationscope", "facescontext", "getbean(", "springframework",
	"7*7", "7*'7'", "7*\"7\"", "file.open", "classloader", "dump(", "app.request", "global.process", "process.mainmodule", "child_process",
}

func templateExpr(body string) bool {
	body = strings.TrimSpace(body)
	switch body {
	case "":
		return false
	case "config", "self", "request", "settings", "_self", "app", "this", "session", "g", "url_for", "get_flashed_messages", "debug":
		// Objects a template exposes and a probe dumps ({% debug %}
		// prints Django's whole context).
		return true
	}
	for _, o := range [...]string{"settings.", "config.", "request.environ", "request.application", "app.request.server"} {
		// Their secrets: {{settings.SECRET_KEY}}, {{config.items()}}.
		if strings.HasPrefix(body, o) {
			return true
		}
	}
	if strings.HasPrefix(body, "#with ") && strings.Contains(body, " as |") {
		return true // Handlebars' prototype walk starts so
	}
	if literalMethodCall(body) {
		return true
	}
	for _, m := range templateMarkers {
		if strings.Contains(body, m) {
			return true
		}
	}
	// Arithmetic on two number literals: {{7*7}}, ${1337+1}, #{9*9}.
	for i := 0; i < len(body); i++ {
		if body[i] != '*' && body[i] != '+' && body[i] != '/' && body[i] != '-' && body[i] != '%' {
			continue
		}
		l := strings.TrimRight(body[:i], " ")
		r := strings.TrimLeft(body[i+1:], " '\"")
		if l != "" && r != "" && l[len(l)-1] >= '0' && l[len(l)-1] <= '9' && r[0] >= '0' && r[0] <= '9' {
			// Both sides numbers, and the whole body a small expression.
			if len(body) <= 40 && !strings.ContainsAny(body, " ,:") || len(body) <= 12 {
				return true
			}
		}
	}
	return false
}

// literalMethodCall reports whether an expression is a method called on a
// string literal, "'abc'.toUpperCase()", "\"x\".join(...)": the probe that
// tells which engine evaluates it. A template calls methods on the data it
// is given, not on constants it spells out.
func literalMethodCall(body string) bool {
	if len(body) < 5 || body[0] != '\'' && body[0] != '"' {
		return false
	}
	e := strings.IndexByte(body[1:], body[0])
	if e < 0 || e > 64 {
		return false
	}
	rest := body[e+2:]
	if len(rest) < 3 || rest[0] != '.' {
		return false
	}
	n := 1
	for n < len(rest) && isWordByte(rest[n]) {
		n++
	}
	return n > 1 && n < len(rest) && rest[n] == '('
}

// checkLog4Shell finds JNDI lookups and the other Log4j lookups attackers
// use to exfiltrate, after undoing nested lookups that spell them out
// (${${lower:j}ndi:...}, ${${::-j}${::-n}di:...}).
func checkLog4Shell(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fDollar == 0 || f&fBrace == 0 {
		return 0, 0, false
	}
	i := strings.Index(lv, "${")
	if i < 0 {
		i = strings.Index(lv, "$\\{")
	}
	if i < 0 {
		return 0, 0, false
	}
	region := lv[i:min(len(lv), i+512)]
	if strings.Contains(region, `\{`) || strings.Contains(region, `\}`) {
		// "$\{$\{::-j\}ndi:...": braces escaped for the layer in front,
		// which unescapes them before Log4j sees the lookup.
		region = unescapeBraces.Replace(region)
	}
	flat := flattenLookups(region)
	for _, p := range []string{"${jndi:", "jndi:ldap", "jndi:rmi", "jndi:dns", "jndi:iiop", "jndi:corba", "jndi:nds", "jndi:nis", "jndi:http"} {
		if strings.Contains(flat, p) {
			return i, len(v), true
		}
	}
	for _, p := range []string{"${env:", "${sys:", "${java:", "${ctx:", "${main:", "${spring:", "${k8s:", "${docker:", "${bundle:", "${log4j:", "${jvmrunargs:", "${sd:", "${web:", "${base64:", "${lower:", "${upper:", "${::-", "${date:", "${hostname", "${marker:", "${event:"} {
		if strings.Contains(region, p) {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

var unescapeBraces = strings.NewReplacer(`\{`, "{", `\}`, "}")

// flattenLookups rewrites ${lower:x}, ${upper:x} and ${anything:-x} to x,
// innermost first, a bounded number of times.
func flattenLookups(s string) string {
	for range 32 {
		open := -1
		for k := 0; k+1 < len(s); k++ {
			if s[k] == '$' && s[k+1] == '{' {
				open = k
			}
			if s[k] == '}' && open >= 0 {
				inner := s[open+2 : k]
				repl := ""
				switch {
				case strings.HasPrefix(inner, "lower:"), strings.HasPrefix(inner, "upper:"):
					repl = inner[6:]
				case strings.Contains(inner, ":-"):
					repl = inner[strings.Index(inner, ":-")+2:]
				default:
					// Keep a lookup that is not obfuscation, so "${jndi:...}"
					// stays visible; mark it so it is not rewritten again.
					repl = "\x01" + inner + "\x02"
				}
				s = s[:open] + repl + s[k+1:]
				goto next
			}
		}
		break
	next:
	}
	return lookupMarks.Replace(s)
}

// responseHeaders are headers an attacker injects into a response.
var responseHeaders = []string{
	"set-cookie", "location", "content-type", "content-length", "refresh", "x-xss-protection",
	"access-control-allow-origin", "access-control-allow-credentials", "content-security-policy",
	"link", "cache-control", "transfer-encoding", "content-disposition", "x-frame-options",
	"strict-transport-security", "www-authenticate", "last-modified", "expires", "pragma", "host",
	"x-forwarded-for", "x-forwarded-host", "server", "connection", "date", "etag", "vary", "cookie",
	"authorization", "referer", "user-agent", "accept", "x-",
}

// checkCRLF finds a line break followed by a header line (or a blank line
// and a body) in a value that should be one line.
var utf16LowBreaks = strings.NewReplacer("\u560a", "\n", "\u560d", "\r")

var lookupMarks = strings.NewReplacer("\x01", "${", "\x02", "}")

func checkCRLF(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fNewline == 0 && f&fHigh != 0 && (strings.Contains(lv, "\u560a") || strings.Contains(lv, "\u560d")) {
		// U+560A and U+560D: servers that keep the low byte of a UTF-16
		// code unit turn them into LF and CR.
		lv = utf16LowBreaks.Replace(lv)
		f |= fNewline
	}
	if f&fNewline == 0 {
		return 0, 0, false
	}
	if c.Where == InName {
		// A line break in a key ("parameter%0d%0a=x"): no form or API
		// names a field so; a server that copies keys into headers or
		// logs is split by it. A break that only ends the key is a
		// client's trailing CRLF after the body ("a=1&\r\n").
		i := strings.IndexAny(strings.TrimRight(lv, "\r\n"), "\r\n")
		return i, i + 1, i >= 0
	}
	multiline := c.Where == InField || c.Where == InBody
	runEnd := 0 // a run of breaks and blanks is judged once, at its start
	for i := 0; i < len(lv); i++ {
		if lv[i] != '\r' && lv[i] != '\n' || i < runEnd {
			continue
		}
		j := i + 1
		for j < len(lv) && (lv[j] == '\r' || lv[j] == '\n' || lv[j] == ' ' || lv[j] == '\t') {
			j++
		}
		runEnd = j
		rest := lv[j:]
		if strings.HasPrefix(rest, "http/1.") || strings.HasPrefix(rest, "<html") || strings.HasPrefix(rest, "<script") {
			return i, len(v), true
		}
		name := rest
		k := 0
		for k < len(name) && (name[k] >= 'a' && name[k] <= 'z' || name[k] == '-' || name[k] >= '0' && name[k] <= '9') {
			k++
		}
		if k == 0 || k >= len(name) || name[k] != ':' {
			continue
		}
		name = name[:k]
		if isMailHeader(name) || name == "content-type" && emailShaped(lv[:i]) {
			continue // mail injection's
		}
		if multiline {
			// Text fields have line breaks; only the headers that split
			// a response count there, unless the text before the break
			// is one word or nothing: then the field held a one-line
			// value (a name, an id) and any response header after it is
			// injected.
			if name == "set-cookie" || name == "location" || name == "refresh" {
				return i, len(v), true
			}
			if i > 0 && !oneWord(lv[:i]) {
				continue
			}
		}
		for _, h := range responseHeaders {
			if name == h || h == "x-" && strings.HasPrefix(name, h) {
				return i, len(v), true
			}
		}
		if c.Where != InHeader && !multiline {
			// Any header-shaped line in a query, path or cookie.
			return i, len(v), true
		}
	}
	return 0, 0, false
}

func isMailHeader(n string) bool {
	switch n {
	case "bcc", "cc", "to", "from", "reply-to", "subject", "sender", "mime-version", "x-mailer", "return-path", "content-transfer-encoding":
		return true
	}
	return false
}

// checkMail finds mail header or SMTP/IMAP command injection: a line break
// followed by Bcc:, To:, ... or by a protocol command.
func checkMail(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fNewline == 0 {
		return 0, 0, false
	}
	multiline := c.Where == InField || c.Where == InBody
	runEnd := 0 // a run of breaks and blanks is judged once, at its start
	for i := 0; i < len(lv); i++ {
		if lv[i] != '\r' && lv[i] != '\n' || i < runEnd {
			continue
		}
		j := i + 1
		for j < len(lv) && (lv[j] == '\r' || lv[j] == '\n' || lv[j] == ' ' || lv[j] == '\t') {
			j++
		}
		runEnd = j
		rest := lv[j:]
		for _, cmd := range []string{"mail from:", "rcpt to:", "data\r", "data\n", "helo ", "ehlo ", "quit\r", "vrfy ", "expn ", "a1 login", "a1 select", "a001 login", "a001 fetch", ". logout", "x login", "x select"} {
			if strings.HasPrefix(rest, cmd) {
				return i, len(v), true
			}
		}
		if imapCommand(rest) {
			return i, len(v), true
		}
		k := 0
		for k < len(rest) && (rest[k] >= 'a' && rest[k] <= 'z' || rest[k] == '-') {
			k++
		}
		if k == 0 || k >= len(rest) || rest[k] != ':' {
			continue
		}
		if !isMailHeader(rest[:k]) && !(rest[:k] == "content-type" && emailShaped(lv[:i])) {
			// Content-Type after an address starts a MIME body of the
			// attacker's choosing.
			continue
		}
		if !multiline || mailField(c.Name) || strings.Contains(lv[:i], "@") && !strings.Contains(lv[:i], " ") {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

// imapCommand reports whether a line starts with an IMAP command after its
// tag, "v100 capability", "a1 fetch 1 body[]": what a webmail front end
// forwards to its IMAP server when a line break reaches it. The tag must
// hold a digit, as clients number them; "a list of..." is prose.
func imapCommand(line string) bool {
	t := 0
	digit := false
	for t < len(line) && t < 9 && (line[t] >= 'a' && line[t] <= 'z' || line[t] >= '0' && line[t] <= '9') {
		digit = digit || line[t] <= '9'
		t++
	}
	if !digit || t == 0 || t >= len(line) || line[t] != ' ' {
		return false
	}
	cmd := line[t+1:]
	for _, c := range [...]string{"capability", "login", "select", "examine", "fetch", "store", "list", "lsub", "append", "logout", "authenticate", "starttls", "noop", "uid", "search", "copy", "create", "delete", "rename", "status", "expunge"} {
		if rest, ok := strings.CutPrefix(cmd, c); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\r' || rest[0] == '\n') {
			return true
		}
	}
	return false
}

// oneWord reports whether s is a short run of text without spaces.
func oneWord(s string) bool {
	return len(s) > 0 && len(s) <= 64 && !strings.ContainsAny(s, " \t\r\n")
}

// emailShaped reports whether s is one word holding an @.
func emailShaped(s string) bool {
	return oneWord(s) && strings.Contains(s, "@")
}

func mailField(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"mail", "from", "to", "subject", "sender", "reply", "cc", "name", "contact", "recipient", "addr"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

var mongoOperators = map[string]bool{
	"$ne": true, "$eq": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true, "$in": true, "$nin": true,
	"$regex": true, "$where": true, "$exists": true, "$or": true, "$and": true, "$not": true, "$nor": true,
	"$expr": true, "$elemmatch": true, "$function": true, "$accumulator": true, "$size": true, "$all": true,
	"$mod": true, "$text": true, "$jsonschema": true, "$lookup": true, "$options": true, "$set": true,
	"$unset": true, "$inc": true, "$push": true, "$rename": true, "$search": true, "$comment": true,
	"$type": true, "$natural": true, "$slice": true,
}

// reachingOperators are the operators that run code or reach further than
// a filter ($where, $function, $expr, $lookup, the updates): out of place
// wherever they are. The others (comparisons, logic, element and array
// tests) are a filter's, and inside a parameter that carries a query
// (Context.Query) the API's own syntax: Strapi's filters[price][$gte]=10,
// Parse's where={"age":{"$gt":18}}.
var reachingOperators = map[string]bool{
	"$where": true, "$expr": true, "$function": true, "$accumulator": true, "$jsonschema": true, "$lookup": true,
	"$set": true, "$unset": true, "$inc": true, "$push": true, "$rename": true, "$natural": true,
}

// injectedOperator reports whether op, a MongoDB operator, is out of place
// in c.
func injectedOperator(op string, c *Context) bool {
	return mongoOperators[op] && (!c.Query || reachingOperators[op])
}

// checkNoSQLOperator finds MongoDB query operators where a plain value was
// expected: as a JSON key, or in a bracketed query/form name (id[$ne]=1).
func checkNoSQLOperator(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fDollar == 0 || c.Where != InName && c.Where != InQuery && c.Where != InField && c.Where != InPath && c.Where != InPathSegment && c.Where != InBody {
		return 0, 0, false
	}
	if c.Where == InName {
		if i := strings.Index(lv, "[$"); i >= 0 {
			end := strings.IndexByte(lv[i:], ']')
			if end > 0 && injectedOperator(lv[i+1:i+end], c) {
				return i, i + end + 1, true
			}
		}
		// A key that is nothing but "$type" is .NET's type discriminator
		// (System.Text.Json, Json.NET) far more often than Mongo's
		// operator, and "$comment" JSON Schema's annotation; in brackets
		// (password[$type]=2) or spliced into a query they stay operators.
		if lv != "$type" && lv != "$comment" && injectedOperator(lv, c) {
			return 0, len(v), true
		}
		return 0, 0, false
	}
	// An operator in brackets, the PHP and Express array syntax, sent
	// inside a value that is itself a query string: "[$ne]=1",
	// "[$nin][]=admin".
	if i := strings.Index(lv, "[$"); i >= 0 {
		if end := strings.IndexByte(lv[i:], ']'); end > 0 && injectedOperator(lv[i+1:i+end], c) {
			rest := strings.TrimPrefix(lv[i+end+1:], "[]")
			if rest != "" && rest[0] == '=' {
				return i, i + end + 1, true
			}
		}
	}
	// An operator as an object key in text the application evaluates or
	// splices into a query: "', $or: [ {}, {'a':'a".
	for i := range byteOccurrences(lv, '$') {
		after := i + 1
		e := after
		for e < len(lv) && lv[e] >= 'a' && lv[e] <= 'z' {
			e++
		}
		if e == after || !injectedOperator(lv[i:e], c) {
			continue
		}
		r := strings.TrimLeft(lv[e:], "'\" ")
		if r != "" && r[0] == ':' && (i == 0 || lv[i-1] != '$') {
			return i, len(v), true
		}
	}
	// A value that is a JSON-ish operator object the decoder did not
	// parse: {"$gt": ""} sent as text, or {$ne: 1}.
	if f&fBrace != 0 {
		for i := strings.IndexByte(lv, '{'); i >= 0 && i < len(lv); {
			j := i + 1
			for j < len(lv) && (lv[j] == ' ' || lv[j] == '"' || lv[j] == '\'') {
				j++
			}
			k := j
			for k < len(lv) && (lv[k] == '$' || lv[k] >= 'a' && lv[k] <= 'z') {
				k++
			}
			if injectedOperator(lv[j:k], c) {
				return i, len(v), true
			}
			n := strings.IndexByte(lv[i+1:], '{')
			if n < 0 {
				break
			}
			i += n + 1
		}
	}
	return 0, 0, false
}

// checkNoSQLJS finds JavaScript injected into a server-side MongoDB
// expression ($where, mapReduce): a closed string followed by logic that
// makes the query true or slow.
func checkNoSQLJS(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fParen != 0 && f&fDot != 0 {
		if i, ok := mongoShell(lv); ok {
			return i, len(v), true
		}
	}
	if f&(fQuote|fSemi|fPipe|fAmp) == 0 {
		return 0, 0, false
	}
	for _, p := range []string{"this.password", "this.username", "this.constructor", "db.getcollection", "db.users.", "db.collection", "tojson(this", "return true", "return 1==1", "sleep(5000", "sleep(1000", "sleep(10000", "mapreduce", "$where:", "'$where'", "\"$where\""} {
		if i := strings.Index(lv, p); i >= 0 {
			if p == "return true" || p == "return 1==1" {
				// "return true" is prose too; code needs a statement break
				// before it.
				// After a '{' only a function's own body counts
				// ("function(){return true}"): "if (x > 0) { return
				// true; }" is code shown, not a $where.
				b := strings.TrimRight(lv[:i], " ")
				if b == "" || b[len(b)-1] != ';' && b[len(b)-1] != '{' {
					continue
				}
				if b[len(b)-1] == '{' {
					if h := strings.TrimRight(b[:len(b)-1], " "); !strings.HasSuffix(h, "function()") && !strings.HasSuffix(h, "function ()") && !strings.HasSuffix(h, "=>") {
						continue
					}
				}
			}
			return i, len(v), true
		}
	}
	// ' || '1'=='1 and "; while(true){}: JS equality or loops after a quote.
	for i := 0; i < len(lv); i++ {
		if lv[i] != '\'' && lv[i] != '"' {
			continue
		}
		rest := strings.TrimLeft(lv[i+1:min(len(lv), i+160)], " ")
		if strings.HasPrefix(rest, "||") || strings.HasPrefix(rest, "&&") || strings.HasPrefix(rest, ";") {
			tail := strings.TrimLeft(rest, "|&;")
			if strings.Contains(tail, "==") || strings.Contains(tail, "while(") || strings.Contains(tail, "while (") || strings.Contains(tail, "!=") {
				return i, len(v), true
			}
		}
	}
	return 0, 0, false
}

// mongoShell finds a mongo shell statement on a collection,
// "db.injection.insert({success:1})", "db.users.find()",
// "db.dropDatabase()": what a server that evaluates input (an eval, a
// $where, a shell wrapper) runs against the database.
func mongoShell(lv string) (int, bool) {
	for i := range occurrences(lv, "db.") {
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '.' || lv[i-1] == '_') {
			continue
		}
		rest := lv[i+3:]
		for _, m := range [...]string{"dropdatabase(", "getcollection(", "eval(", "runcommand(", "getsiblingdb(", "adminCommand("} {
			if strings.HasPrefix(rest, strings.ToLower(m)) {
				return i, true
			}
		}
		n := 0
		for n < len(rest) && (isWordByte(rest[n]) || rest[n] == '_') {
			n++
		}
		if n == 0 || n >= len(rest) || rest[n] != '.' {
			continue
		}
		method := rest[n+1:]
		for _, m := range [...]string{"insert", "insertone", "insertmany", "find", "findone", "remove", "drop", "update", "updateone", "updatemany", "deleteone", "deletemany", "aggregate", "mapreduce", "findandmodify", "replaceone", "count"} {
			if r, ok := strings.CutPrefix(method, m); ok && strings.HasPrefix(strings.TrimLeft(r, " "), "(") {
				return i, true
			}
		}
	}
	return 0, false
}

// checkLDAP finds LDAP filter injection: a value that closes the filter it
// was put in and opens another (*)(uid=*), )(|(..., or wildcards with
// filter operators.
func checkLDAP(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fParen == 0 {
		return 0, 0, false
	}
	if end, ok := ldapFilter(lv, 0, 0); ok && end == len(lv) {
		// The value is one whole filter, "(&(objectClass=user)(sAMAccountName=jdoe))":
		// what a directory's admin console sends. An injection breaks
		// out of an assertion value, so it cannot be one.
		return 0, 0, false
	}
	for i := 0; i+1 < len(lv); i++ {
		if lv[i] != ')' {
			continue
		}
		j := i + 1
		for j < len(lv) && lv[j] == ' ' {
			j++
		}
		if j >= len(lv) || lv[j] != '(' {
			continue
		}
		j++
		j0 := j
		for j < len(lv) && (lv[j] == '&' || lv[j] == '|' || lv[j] == '!' || lv[j] == '(') {
			j++
		}
		if j < len(lv) && lv[j] == ')' && j > j0 && (lv[j0] == '&' || lv[j0] == '|') { // (&) absolute true; "})();" is a call
			return i, len(v), true
		}
		k := j
		for k < len(lv) && (isWordByte(lv[k]) || lv[k] == '-' || lv[k] == ';' || lv[k] == '.') {
			k++
		}
		if k > j && k < len(lv) && (lv[k] == '=' || lv[k] == '~' || lv[k] == '>' || lv[k] == '<') {
			return i, len(v), true
		}
	}
	// A value that starts a filter clause: "*(|(objectclass=*))", "admin*)((|".
	// "*) Bugfix: ..." is a list item.
	if rest, ok := strings.CutPrefix(lv, "*)"); ok {
		rest = strings.TrimLeft(rest, ")")
		if rest == "" || strings.IndexByte("(&|%\x00", rest[0]) >= 0 {
			return 0, len(v), true
		}
	}
	if strings.Contains(lv, "*))") {
		return 0, len(v), true
	}
	if i := containsAny(lv, "*)(", "*))(", "(|(", "(&(", "(!("); i >= 0 {
		rest := lv[i:]
		if strings.Contains(rest, "=") || strings.HasPrefix(rest, "*)(") {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

// ldapFilter parses one RFC 4515 filter at s[i:] and returns where it
// ends: "(" then "&" or "|" and filters, "!" and a filter, or an
// attribute, an operator (=, ~=, >=, <=) and a value without parentheses,
// then ")".
func ldapFilter(s string, i, depth int) (int, bool) {
	if i >= len(s) || s[i] != '(' || depth > 16 {
		return 0, false
	}
	i++
	if i < len(s) && (s[i] == '&' || s[i] == '|' || s[i] == '!') {
		op := s[i]
		i++
		n := 0
		for i < len(s) && s[i] == '(' {
			end, ok := ldapFilter(s, i, depth+1)
			if !ok {
				return 0, false
			}
			i, n = end, n+1
		}
		if n == 0 || op == '!' && n != 1 || i >= len(s) || s[i] != ')' {
			return 0, false
		}
		return i + 1, true
	}
	a := i
	for i < len(s) && (isWordByte(s[i]) || s[i] == '-' || s[i] == ';' || s[i] == '.' || s[i] == ':') {
		i++
	}
	if i == a || i >= len(s) {
		return 0, false
	}
	if s[i] == '~' || s[i] == '>' || s[i] == '<' {
		i++
	}
	if i >= len(s) || s[i] != '=' {
		return 0, false
	}
	for i++; i < len(s) && s[i] != ')'; i++ {
		if s[i] == '(' {
			return 0, false
		}
	}
	if i >= len(s) {
		return 0, false
	}
	return i + 1, true
}

// checkXXE finds external entities and XInclude in XML (a declaration from
// the XML decoder, or XML text inside any value).
func checkXXE(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fLT == 0 {
		return 0, 0, false
	}
	if i := strings.Index(lv, "<!entity"); i >= 0 {
		decl := lv[i:]
		if strings.Contains(decl, "system") || strings.Contains(decl, "public") || strings.HasPrefix(strings.TrimLeft(decl[8:], " \t\r\n"), "%") {
			return i, len(v), true
		}
		// An internal subset declaring entities at all ("<!DOCTYPE x
		// [<!ENTITY foo "aaaaaa">]>"): the probe that tells whether the
		// parser expands them, before the external one.
		if d := strings.LastIndex(lv[:i], "<!doctype"); d >= 0 && strings.IndexByte(lv[d:i], '[') >= 0 {
			return d, len(v), true
		}
	}
	if i := strings.Index(lv, "php:function("); i >= 0 || strings.Contains(lv, "http://php.net/xsl") {
		// XSLT that calls PHP functions (registerPHPFunctions).
		return max(i, 0), len(v), true
	}
	if i := strings.Index(lv, "<!doctype"); i >= 0 {
		decl := lv[i:]
		end := strings.IndexAny(decl, "[>")
		if end > 0 && (strings.Contains(decl[:end], " system ") || strings.Contains(decl[:end], " public ")) && (strings.Contains(decl[:end], "://") || strings.Contains(decl[:end], "\"//") || strings.Contains(decl[:end], "'//")) {
			return i, len(v), true // an external DTD, also scheme-relative ("//x/x")
		}
	}
	if i := containsAny(lv, "<xi:include", "xmlns:xi=", "<xsl:include", "document('", "document(\"", "<!entity % ", "<xs:include", "<xs:import", "<xs:redefine", "<xsd:include", "<xsd:import", "<xsd:redefine"); i >= 0 {
		return i, len(v), true
	}
	if i, ok := schemaLocationProbe(lv); ok {
		return i, len(v), true
	}
	if i := strings.Index(lv, "<?xml"); i >= 0 {
		// A document declared in UTF-7 hides its markup from everything
		// but the parser: "+ADwAIQ-DOCTYPE" is "<!DOCTYPE".
		if end := strings.Index(lv[i:], "?>"); end > 0 && (strings.Contains(lv[i:i+end], "utf-7") || strings.Contains(lv[i:i+end], "utf7")) {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

// schemaLocationProbe finds an xsi:schemaLocation that a validating parser
// would fetch and that is no namespace-and-location list: one URL alone
// (pairs are "namespace location"), or any noNamespaceSchemaLocation URL.
// Requests that carry a schema reference at all are rare; an odd one is
// the out-of-band probe.
func schemaLocationProbe(lv string) (int, bool) {
	for _, attr := range [...]string{"xsi:schemalocation=", "xsi:nonamespaceschemalocation="} {
		i := strings.Index(lv, attr)
		if i < 0 {
			continue
		}
		val := attrValue(lv[i+len(attr):])
		if e := strings.IndexAny(val, "\"'>"); e >= 0 {
			val = val[:e]
		}
		if !strings.Contains(val, "://") {
			continue
		}
		if attr == "xsi:nonamespaceschemalocation=" || len(strings.Fields(val))%2 == 1 {
			return i, true
		}
	}
	return 0, false
}

// checkEntityBomb finds entity declarations that expand into each other
// (billion laughs): several entities whose values reference entities.
func checkEntityBomb(v, lv string, f Features, c *Context) (int, int, bool) {
	if c.Where != InMarkup && c.Where != InBody && c.Where != InField && c.Where != InQuery {
		return 0, 0, false
	}
	if f&fLT == 0 || f&fAmp == 0 {
		return 0, 0, false
	}
	n := 0
	for i := 0; ; {
		j := strings.Index(lv[i:], "<!entity")
		if j < 0 {
			break
		}
		i += j + 8
		end := strings.IndexByte(lv[i:], '>')
		if end < 0 {
			end = len(lv) - i
		}
		if strings.Count(lv[i:i+end], "&") >= 2 {
			n++
		}
	}
	if n >= 2 {
		return strings.Index(lv, "<!entity"), len(v), true
	}
	return 0, 0, false
}
