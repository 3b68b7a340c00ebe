package attack

import (
	"strings"

	"github.com/corazawaf/libinjection-go"
)

// Cross-site scripting is what a value does once an application echoes it
// into HTML: open a tag that runs script, add an event handler or a
// javascript: URL to a tag, or close a JavaScript string and call
// something. xss.html parses the tags in a value and judges each; benign
// markup (forum and CMS posts: <p>, <a href="https://...">, <img
// src="...png">, style="color:red", YouTube iframes) passes.
// xss.libinjection adds libinjection's HTML5 tokenizer for attribute
// contexts, overruled where xss.html has parsed the markup and found it
// benign.

func checkXSSLibinjection(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fLT|fQuote|fEq) == 0 || len(v) < 4 {
		return 0, 0, false
	}
	if c.Where == InHeader && !headerTakesFreeText(c.Header) {
		return 0, 0, false
	}
	if !libinjection.IsXSS(v) {
		return 0, 0, false
	}
	if f&fLT != 0 {
		// There is markup: xss.html judged it, tag by tag, with more
		// context than libinjection keeps.
		if _, _, bad := scanTags(lv); !bad {
			return 0, 0, false
		}
	} else if !attrBreakout(lv) {
		return 0, 0, false
	}
	return 0, len(v), true
}

func checkXSSHTML(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fLT|fColon|fQuote|fEq) == 0 {
		return 0, 0, false
	}
	if f&fLT != 0 {
		if s, e, bad := scanTags(lv); bad {
			return s, e, true
		}
		// "<marquee+loop=1+onfinish=...": a tag whose spaces a form
		// decoder was to make of '+' (sent unescaped into a query).
		if f&fSpace == 0 && strings.IndexByte(lv, '+') >= 0 {
			if s, e, bad := scanTags(strings.ReplaceAll(lv, "+", " ")); bad {
				return s, e, true
			}
		}
		// "o<x>nmouseover=alert<x>(1)": names cut by tags that a filter
		// removing tags takes out, leaving the handler.
		if f&fGT != 0 {
			if t, ok := withoutTinyTags(lv); ok {
				if i := attrBreakoutAt(t); i >= 0 {
					return 0, len(v), true
				}
				if _, ok := unquotedHandler(t); ok {
					return 0, len(v), true
				}
			}
		}
		// Markup cut into CDATA sections, "<![CDATA[<]]>SCRIPT<![CDATA[>]]>",
		// is whole again to the XML parser that hands it to a page.
		if strings.Contains(lv, "<![cdata[") {
			joined := strings.ReplaceAll(strings.ReplaceAll(lv, "<![cdata[", ""), "]]>", "")
			if _, _, bad := scanTags(joined); bad {
				return strings.Index(lv, "<![cdata["), len(v), true
			}
		}
	}
	// A URL attribute injection: the whole value is a script URL.
	if f&fColon != 0 {
		t, off := trimLeftSpaceCtl(lv)
		if scriptURL(t) && !wordsOnlyScript(t) {
			return off, len(v), true
		}
		if k := strings.Index(t, "url="); k >= 0 && k <= 4 && strings.Trim(t[:k], "0123456789; ") == "" && scriptURL(trimSpaceCtl(t[k+4:])) {
			return off, len(v), true // "0;url=javascript:...": a refresh's content
		}
		if f&fQuote != 0 && len(t) > 1 && (t[0] == '"' || t[0] == '\'') {
			// `"javascript:alert(1)">`: the URL in the quotes of the
			// attribute it was written for.
			u := t[1:]
			if k := strings.IndexByte(u, t[0]); k >= 0 {
				u = u[:k]
			}
			if scriptURL(u) && !wordsOnlyScript(u) {
				return off, len(v), true
			}
		}
	}
	// A style attribute out of its tag: `style=-moz-binding:url(...)`,
	// `" style="x:expression(...)`.
	if f&fEq != 0 && f&fColon != 0 {
		n := 0
		for k := range occurrences(lv, "style") {
			if n++; n > 16 {
				break // each look reads on; "style=style=..." stays linear
			}
			e := k + 5
			for e < len(lv) && lv[e] == ' ' {
				e++
			}
			if e < len(lv) && lv[e] == '=' && (k == 0 || strings.IndexByte(" \"'/\t", lv[k-1]) >= 0) && dangerousStyle(lv[e+1:min(len(lv), e+1+1024)]) {
				return k, len(v), true
			}
		}
	}
	// An attribute breakout: `" onmouseover="alert(1)`.
	if f&fQuote != 0 && f&fEq != 0 {
		if i := attrBreakoutAt(lv); i >= 0 {
			return i, len(v), true
		}
	}
	// The same out of an unquoted attribute: `x onerror=alert(1)`.
	if f&fEq != 0 && (f&fSpace != 0 || f&fSlash != 0 || strings.IndexByte(lv, '+') >= 0 || strings.HasPrefix(lv, "on")) {
		if i, ok := unquotedHandler(lv); ok {
			return i, len(v), true
		}
	}
	if i := strings.Index(lv, "<?import"); i >= 0 {
		return i, i + 8, true // IE's HTML component import
	}
	if f&fEq != 0 {
		if i := strings.Index(lv, "onerror="); i >= 0 && strings.Contains(lv[i:], "throw") {
			// {onerror=alert}throw 1: the thrown value becomes the
			// handler's argument, a call with no parentheses.
			if _, ok := jsSink(lv[i+8:], 0); ok || startsWithDialog(lv[i+8:]) {
				return i, len(v), true
			}
		}
	}
	if f&fLT != 0 && f&fGT != 0 && f&fQuote != 0 {
		// `"><iframe ...`, `'><b>`: the value closes the attribute it is
		// put in and the tag, then opens one of its own.
		if t := strings.TrimLeft(lv, " "); len(t) > 3 && (t[0] == '"' || t[0] == '\'') && t[1] == '>' && t[2] == '<' && t[3] >= 'a' && t[3] <= 'z' {
			return len(lv) - len(t), len(v), true
		}
	}
	if f&fEq != 0 && f&fColon != 0 {
		if i, ok := scriptURLAttr(lv); ok {
			return i, len(v), true
		}
	}
	return 0, 0, false
}

// withoutTinyTags returns lv without the tags of one to three letters
// and no attributes that stand inside a word ("o<x>nerror"), and whether
// there were any.
func withoutTinyTags(lv string) (string, bool) {
	var b []byte
	last := 0
	for i := 1; i+2 < len(lv); i++ {
		if lv[i] != '<' || !isWordByte(lv[i-1]) {
			continue
		}
		j := i + 1
		for j < len(lv) && j-i <= 4 && lv[j] >= 'a' && lv[j] <= 'z' {
			j++
		}
		if j == i+1 || j-i > 4 || j+1 >= len(lv) || lv[j] != '>' || !isWordByte(lv[j+1]) && lv[j+1] != '(' {
			continue
		}
		b = append(b, lv[last:i]...)
		last = j + 1
		i = j
	}
	if b == nil {
		return lv, false
	}
	return string(append(b, lv[last:]...)), true
}

// trimSpaceCtl drops the leading spaces and C0 controls a browser strips
// from a URL attribute ("&#14;  javascript:...").
func trimSpaceCtl(s string) string {
	t, _ := trimLeftSpaceCtl(s)
	return t
}

// scriptURLAttr finds a script URL given as an attribute's value inside
// markup, whatever the attribute is called: `<ahref="javascript:top[...]()">`
// is no valid tag, but the browser that repairs it, or the filter that
// keeps only the URL, still runs it.
func scriptURLAttr(lv string) (int, bool) {
	for i := range occurrences(lv, "script:") {
		j := i
		switch {
		case j >= 4 && lv[j-4:j] == "java":
			j -= 4
		case j >= 2 && lv[j-2:j] == "vb":
			j -= 2
		default:
			continue
		}
		b := j
		for b > 0 && (lv[b-1] == '"' || lv[b-1] == '\'' || lv[b-1] == ' ') {
			b--
		}
		if b == 0 || lv[b-1] != '=' {
			continue
		}
		// Inside markup, whatever the attribute; or the attribute alone,
		// `href="javascript:..."`, added to a tag the value lands in.
		if strings.LastIndexByte(lv[:b], '<') < 0 && !(urlAttr(strings.TrimSpace(lv[:b-1])) && j > b) {
			continue
		}
		if wordsOnlyScript(lv[j:]) {
			continue
		}
		return j, true
	}
	return 0, false
}

// unquotedHandler finds an event handler attribute added after a space or
// a '/' (what ends an unquoted attribute value), whose code calls or
// reaches for a sink: "x onerror=alert(1)", "x/onload=import('//a')".
// A known event with nothing after the '=' is the probe for the same
// ("  onload= ").
func unquotedHandler(lv string) (int, bool) {
	for i := range occurrences(lv, "on") {
		if i > 0 && lv[i-1] != ' ' && lv[i-1] != '/' && lv[i-1] != '\t' && lv[i-1] != '\n' && lv[i-1] != '+' {
			continue // '+': a space to a server that decodes the form twice
		}
		n := i + 2
		for n < len(lv) && lv[n] >= 'a' && lv[n] <= 'z' {
			n++
		}
		name := lv[i:n]
		e := n
		for e < len(lv) && lv[e] == ' ' {
			e++
		}
		if !eventHandler(name) || e >= len(lv) || lv[e] != '=' {
			continue
		}
		code := strings.TrimLeft(lv[e+1:], " \"'`")
		if i == 0 && strings.IndexByte(strings.TrimRight(code, " "), ' ') >= 0 {
			// The value starts with the handler: it is the attribute
			// only if code is all it holds ("onload=init() in the body
			// tag is old-fashioned" is a sentence).
			continue
		}
		if code == "" {
			if domEvents[name[2:]] {
				return i, true
			}
			continue
		}
		if _, ok := jsSink(code, 0); ok {
			return i, true
		}
		w := 0
		for w < len(code) && (isWordByte(code[w]) || code[w] == '.' || code[w] == '$') {
			w++
		}
		if w > 0 && w < len(code) && (code[w] == '(' || code[w] == '`') {
			return i, true
		}
		if dialogNamed(code[:min(len(code), 200)]) {
			// "onloadend='new class extends (confirm)/**/`` {}'": the
			// dialog reached without calling it by name.
			return i, true
		}
		if callsSomething(code[:min(len(code), 200)]) {
			// "onload=x=>$.getScript('//a/2.js')", "onfocus=;write(
			// cookie)", "OnFocus=top?.['ale'+'rt'](1)": handler code
			// that calls, however it names what.
			return i, true
		}
	}
	return 0, false
}

// callsSomething reports whether code has a call or an arrow function: an
// identifier, ']' or ')' then '(' or a template's '`', or "=>".
func callsSomething(code string) bool {
	if strings.Contains(code, "=>") {
		return true
	}
	for i := 1; i < len(code); i++ {
		if c := code[i]; (c == '(' || c == '`') && (isWordByte(code[i-1]) || code[i-1] == ']' || code[i-1] == ')') {
			return true
		}
	}
	return false
}

// dialogs are the functions XSS probes call: the three dialogs, and eval.
var dialogs = [...]string{"alert", "prompt", "confirm", "eval"}

// startsWithDialog reports whether s starts with one of dialogs.
func startsWithDialog(s string) bool {
	for _, fn := range dialogs {
		if strings.HasPrefix(s, fn) {
			return true
		}
	}
	return false
}

// dialogNamed reports whether code names a dialog or eval as a whole
// identifier.
func dialogNamed(code string) bool {
	for _, fn := range dialogs {
		for i := range occurrences(code, fn) {
			after := i + len(fn)
			if (i == 0 || !isWordByte(code[i-1]) && code[i-1] != '_') && (after == len(code) || !isWordByte(code[after]) && code[after] != '_') {
				return true
			}
		}
	}
	return false
}

// domEvents are the events probes name most.
var domEvents = map[string]bool{
	"load": true, "error": true, "mouseover": true, "focus": true, "click": true, "toggle": true, "begin": true,
	"start": true, "pageshow": true, "animationstart": true, "animationend": true, "pointerover": true,
	"focusin": true, "blur": true, "mouseenter": true, "input": true, "change": true, "submit": true,
}

// scriptURL reports whether u (lower case, trimmed) is a URL that runs
// script when followed.
func scriptURL(u string) bool {
	u = squeeze(u)
	for _, p := range []string{"javascript:", "vbscript:", "livescript:", "mocha:", "data:text/html", "data:application/x-javascript", "data:text/javascript", "data:image/svg+xml", "data:application/xhtml"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// wordsOnlyScript reports whether u is a javascript: URL followed by
// words and spaces only ("javascript: the good parts", a book searched
// for): script made of bare words cannot call, assign or load anything.
func wordsOnlyScript(u string) bool {
	rest, ok := strings.CutPrefix(u, "javascript:")
	if !ok || !strings.Contains(strings.TrimSpace(rest), " ") {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c != ' ' && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

func attrBreakout(lv string) bool { return attrBreakoutAt(lv) >= 0 }

// attrBreakoutAt finds a quote followed by an event handler attribute:
// the value closed the attribute it was in and added one.
func attrBreakoutAt(lv string) int {
	for i := 0; i < len(lv); i++ {
		if lv[i] != '"' && lv[i] != '\'' && lv[i] != '`' {
			continue
		}
		j := i + 1
		for j < len(lv) && (lv[j] <= ' ' || lv[j] == '/') {
			j++
		}
		// Other attributes may come first: `" autofocus onfocus=...`.
		for k := 0; k < 4 && j < len(lv); k++ {
			n := j
			for n < len(lv) && (lv[n] >= 'a' && lv[n] <= 'z' || lv[n] == '-') {
				n++
			}
			if n == j {
				break
			}
			name := lv[j:n]
			m := n
			for m < len(lv) && lv[m] <= ' ' {
				m++
			}
			if m < len(lv) && lv[m] == '=' && (eventHandler(name) || name == "style" && dangerousStyle(lv[m:]) || urlAttr(name) && scriptURL(attrValue(lv[m+1:]))) {
				return i
			}
			if m < len(lv) && lv[m] == '=' && k == 0 && (i == 0 || lv[i-1] == '\\') {
				// `\"autofocus=alert(1)//`: the value starts by closing the
				// attribute, and what it adds calls a dialog.
				if a := strings.TrimLeft(lv[m+1:], " '\""); strings.HasPrefix(a, "alert(") || strings.HasPrefix(a, "prompt(") || strings.HasPrefix(a, "confirm(") || strings.HasPrefix(a, "alert`") {
					return i
				}
			}
			j = m
			for j < len(lv) && (lv[j] <= ' ' || lv[j] == '/') {
				j++
			}
		}
	}
	return -1
}

// eventHandler reports whether an attribute name is an HTML event handler.
// EventHandler reports whether name (lower case) is an HTML event
// handler attribute's ("onload", "onfocus").
func EventHandler(name string) bool { return eventHandler(name) }

func eventHandler(name string) bool {
	if len(name) < 5 || !strings.HasPrefix(name, "on") {
		return false
	}
	for i := 2; i < len(name); i++ {
		if name[i] < 'a' || name[i] > 'z' {
			return false
		}
	}
	// "one=", "only=", "once=" and "online=" are words people use as
	// names; real handlers are on + an event name of 4+ letters, with
	// none of these exact spellings.
	switch name {
	case "online", "onion", "ontop", "onset", "onward", "onwards":
		return false
	}
	return true
}

// frameworkHandler reports whether name is an attribute a client-side
// framework evaluates as script when it renders the markup: Vue's v-on:
// and @, Alpine's x-on: and x-init, AngularJS's ng-click and ng-init.
func frameworkHandler(name string) bool {
	for _, p := range [...]string{"v-on:", "x-on:", "@"} {
		if ev, ok := strings.CutPrefix(name, p); ok && len(ev) >= 3 && strings.Trim(ev, "abcdefghijklmnopqrstuvwxyz.-") == "" {
			return true
		}
	}
	switch name {
	case "x-init", "ng-init", "ng-click", "ng-dblclick", "ng-focus", "ng-blur", "ng-change", "ng-submit",
		"ng-mouseover", "ng-mouseenter", "ng-mousedown", "ng-mouseup", "ng-keyup", "ng-keydown", "ng-keypress", "ng-copy", "ng-paste":
		return true
	}
	return false
}

func urlAttr(name string) bool {
	switch name {
	case "href", "src", "action", "formaction", "data", "xlink:href", "background", "poster",
		"lowsrc", "dynsrc", "codebase", "srcdoc", "to", "from", "values", "content", "value", "ping", "manifest", "icon":
		return true
	}
	return false
}

func attrValue(s string) string {
	s, _ = trimLeftSpaceCtl(s)
	if s != "" && (s[0] == '"' || s[0] == '\'' || s[0] == '`') {
		s = s[1:]
	}
	return s
}

func dangerousStyle(s string) bool {
	t := cssUnescape(squeeze(s))
	if strings.Contains(t, "/*") {
		// CSS drops comments, in old IE's expressions even inside a word:
		// "expr/*x*/ession(".
		t = withoutCSSComments(t)
	}
	return containsAny(t, "expression(", "javascript:", "behavior:", "behaviour:", "-moz-binding", "@import", "vbscript:") >= 0
}

func withoutCSSComments(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "/*")
		if i < 0 {
			break
		}
		e := strings.Index(s[i+2:], "*/")
		if e < 0 {
			break
		}
		b.WriteString(s[:i])
		s = s[i+2+e+2:]
	}
	b.WriteString(s)
	return b.String()
}

// cssUnescape undoes CSS escapes in s (lower case): `\6a` and `\00006a `
// are 'j', `\p` is 'p', so `@im\port'\ja\vasc\ript:...` reads as the
// @import of a javascript: URL it is to the browser.
func cssUnescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b = append(b, s[i])
			continue
		}
		j := i + 1
		var r rune
		for j < len(s) && j < i+7 && isHex(s[j]) {
			r = r*16 + rune(hexVal(s[j]))
			j++
		}
		if j == i+1 {
			b = append(b, s[j]) // `\p`: the character itself
			i = j
			continue
		}
		if j < len(s) && s[j] == ' ' {
			j++ // the space that ends a hex escape
		}
		if r > 0 && r < 0x80 {
			b = append(b, byte(r))
		}
		i = j - 1
	}
	return string(b)
}

var dangerousTags = map[string]bool{
	"script": true, "object": true, "embed": true, "applet": true, "base": true, "frameset": true,
	"frame": true, "xss": true, "import": true, "isindex": true, "xml": true, "vmlframe": true,
	"portal": true, "noembed": false, "set": true, "animate": false, "handler": true, "listener": true,
	"layer": true, "ilayer": true,
}

// scanTags parses every tag in lv and reports the first dangerous one.
func scanTags(lv string) (int, int, bool) {
	unclosed := false
	for i := 0; i < len(lv); i++ {
		if lv[i] != '<' {
			continue
		}
		j := i + 1
		if j < len(lv) && lv[j] == '/' {
			continue // closing tags carry no attributes
		}
		n := j
		for n < len(lv) && (lv[n] >= 'a' && lv[n] <= 'z' || lv[n] >= '0' && lv[n] <= '9' || lv[n] == ':' || lv[n] == '-' || lv[n] == '_') {
			n++
		}
		if n == j || !(lv[j] >= 'a' && lv[j] <= 'z') {
			continue // "<!--", "<?", "a < b": not a tag
		}
		name := lv[j:n]
		if strings.HasPrefix(name, "esi:") {
			return i, n, true // Edge Side Includes: the cache in front runs it
		}
		if k := strings.IndexByte(name, ':'); k >= 0 {
			name = name[k+1:]
		}
		if unclosed {
			// An earlier tag's attributes already ran to the end of the
			// value and were judged; walking them again from every later
			// '<' is quadratic ("<a x=<a x=<a x=..."). Names still count.
			if dangerousTags[name] {
				return i, min(len(lv), n+1), true
			}
			continue
		}
		end, bad := judgeTag(lv, name, n)
		if bad {
			return i, end, true
		}
		unclosed = end >= len(lv)
	}
	return 0, 0, false
}

// judgeTag looks at the attributes of tag name starting at lv[i:] and
// returns where the tag ends and whether it is dangerous.
func judgeTag(lv, name string, i int) (int, bool) {
	if dangerousTags[name] {
		return min(len(lv), i+1), true
	}
	src, linksCode := "", false
	for i < len(lv) {
		for i < len(lv) && (lv[i] <= ' ' || lv[i] == '/' || lv[i] == '"' || lv[i] == '\'') {
			i++
		}
		if i >= len(lv) || lv[i] == '>' || lv[i] == '<' && (i+1 >= len(lv) || lv[i+1] != '/') {
			break // "</" inside a tag is an attribute name's junk to a browser ("<svg </onload=...")
		}
		if lv[i] == '<' {
			i++
			continue
		}
		n := i
		for n < len(lv) && lv[n] > ' ' && lv[n] != '=' && lv[n] != '>' && lv[n] != '/' {
			n++
		}
		attr := lv[i:n]
		if n == i {
			i++
			continue
		}
		i = n
		for i < len(lv) && lv[i] <= ' ' {
			i++
		}
		val := ""
		if i < len(lv) && lv[i] == '=' {
			i++
			for i < len(lv) && lv[i] <= ' ' {
				i++
			}
			if i < len(lv) && (lv[i] == '"' || lv[i] == '\'' || lv[i] == '`') {
				q := lv[i]
				e := strings.IndexByte(lv[i+1:], q)
				if e < 0 {
					e = len(lv) - i - 1
				}
				val = lv[i+1 : i+1+e]
				i = min(len(lv), i+e+2) // an unclosed quote runs to the end
			} else {
				s := i
				for i < len(lv) && lv[i] > ' ' && lv[i] != '>' {
					i++
				}
				val = lv[s:i]
				// "<img/src=x/onerror=...": the value runs on past the
				// '/' to a browser, not to every filter or repairing
				// parser; the handler after it is the intent.
				if k := strings.Index(val, "/on"); k >= 0 {
					if e := strings.IndexByte(val[k:], '='); e > 0 && eventHandler(val[k+1:k+e]) {
						return i, true
					}
				}
			}
		}
		switch {
		case eventHandler(attr) || val != "" && frameworkHandler(attr):
			return i, true
		case attr == "style" && dangerousStyle(val):
			return i, true
		case urlAttr(attr) && scriptURL(trimSpaceCtl(val)):
			return i, true
		case attr == "srcdoc":
			return i, true
		case attr == "src" || attr == "data":
			src = val
		case attr == "http-equiv" && (strings.Contains(val, "refresh") || strings.Contains(val, "link") || strings.Contains(val, "set-cookie")):
			return i, true
		case attr == "rel" && strings.Contains(val, "import"):
			return i, true
		case attr == "dataformatas" && strings.HasPrefix(val, "html"):
			return i, true // IE's data binding, which renders bound data as markup
		case name == "link" && (attr == "rel" && strings.Contains(val, "stylesheet") || attr == "import"):
			linksCode = true
		case name == "link" && attr == "href":
			src = val
		}
	}
	switch name {
	case "link":
		// A style sheet or an import from elsewhere restyles or scripts
		// the page; a site's own links are relative.
		if linksCode && (strings.HasPrefix(src, "http:") || strings.HasPrefix(src, "https:") || strings.HasPrefix(src, "//") || strings.HasPrefix(src, "data:")) {
			return i, true
		}
	case "iframe", "frame", "object":
		// Embeds of web pages are ordinary content; anything else
		// (javascript:, data:, no source at all) is not.
		if !strings.HasPrefix(src, "https://") && !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "//") {
			return i, true
		}
	case "style":
		end := strings.Index(lv[i:], "</style")
		if end < 0 {
			end = len(lv) - i
		}
		if dangerousStyle(lv[i : i+end]) {
			return i, true
		}
	case "svg", "math":
		// SVG and MathML are where parsers disagree (mutation XSS).
		if strings.Contains(lv[i:], "<script") || strings.Contains(lv[i:], "<style") || strings.Contains(lv[i:], "<!--") {
			return i, true
		}
	}
	return i, false
}

// checkXSSJS finds a value that closes a JavaScript string or statement and
// calls something: `';alert(1)//`, `"-alert(1)-"`, `</script><script>`.
func checkXSSJS(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&(fParen|fBacktick|fEq|fBrace) == 0 || f&(fQuote|fSemi|fGT) == 0 {
		return 0, 0, false
	}
	for i := 0; i < len(lv); i++ {
		ch := lv[i]
		if ch != '\'' && ch != '"' && ch != '`' && ch != ';' {
			continue
		}
		j := i + 1
		for j < len(lv) && (lv[j] <= ' ' || lv[j] == ')' || lv[j] == '}' || lv[j] == ']') {
			j++
		}
		if j >= len(lv) {
			break
		}
		// An operator that continues the expression or ends the statement.
		// ('(' too: "\"(prompt(1))in\"" calls a string, after its
		// argument ran; '!' as in "!=".)
		op := lv[j]
		if !strings.ContainsRune(";+-*/|&,^%?:=<>(!", rune(op)) && ch != ';' {
			continue
		}
		if op == '!' && (j+1 >= len(lv) || lv[j+1] != '=') {
			continue
		}
		if (op == '-' || op == '+') && j+1 < len(lv) && lv[j+1] == op && ch != ';' {
			// "'--x" is a decrement of a string, an early error that
			// stops the whole script; "`--import`" is a flag quoted.
			continue
		}
		if ch != ';' {
			j++
			for j < len(lv) && (lv[j] <= ' ' || strings.IndexByte("|&=+-!~(<>*", lv[j]) >= 0) {
				j++
			}
		} else {
			for j < len(lv) && lv[j] <= ' ' {
				j++
			}
		}
		if s, ok := jsSink(lv, j); ok {
			if ch == ';' && (strings.HasPrefix(lv[j:], "print") || strings.HasPrefix(lv[j:], "open") || strings.HasPrefix(lv[j:], "import")) {
				// After a bare statement break these are Python's as
				// often as script's: "import os; print(os.getcwd())".
				continue
			}
			if (strings.HasPrefix(lv[j:], "settimeout") || strings.HasPrefix(lv[j:], "setinterval")) && !timerRunsText(lv[s:]) {
				// "; setTimeout(fn, 1000)": a timer for a function, the
				// code of every script; one given text evaluates it.
				continue
			}
			return i, s, true
		}
	}
	return 0, 0, false
}

// timerRunsText reports whether the arguments of a setTimeout or
// setInterval call, args, start with text to evaluate (a string, a
// template) or hand it a dialog or an evaluator.
func timerRunsText(args string) bool {
	a := strings.TrimLeft(args, " ")
	if a != "" && (a[0] == '\'' || a[0] == '"' || a[0] == '`') {
		return true
	}
	if k := strings.IndexAny(a, ",)"); k >= 0 {
		a = a[:k]
	}
	// Text a page's attacker controls: the window's name, the URL.
	switch a = strings.TrimSpace(a); a {
	case "name", "window.name", "self.name", "top.name", "parent.name", "opener.name":
		return true
	}
	return strings.Contains(a, "alert") || strings.Contains(a, "prompt") || strings.Contains(a, "confirm") || strings.Contains(a, "eval") ||
		strings.Contains(a, "atob") || strings.Contains(a, "location") || strings.Contains(a, "unescape") || strings.Contains(a, "decodeuri") || strings.Contains(a, "fromcharcode")
}

// checkXSSCall flags a value that is nothing but a call of a dialog or an
// evaluator, "alert(1)", "prompt`1`", "eval(name)", "new Function(x)()":
// the probe that tests whether input reaches a script unescaped. A call
// among words ("please alert(me) when done") is prose.
func checkXSSCall(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fBacktick != 0 {
		if i, e, ok := templateSink(lv); ok {
			return i, e, true
		}
	}
	if f&fParen != 0 {
		if i, e, ok := functionConstructed(lv); ok {
			return i, e, true
		}
		if i, e, ok := sinkArgument(lv); ok {
			return i, e, true
		}
		if i, e, ok := sinkAlias(lv); ok {
			return i, e, true
		}
		if i, ok := dialogHandedOn(lv); ok {
			return i, len(v), true
		}
	}
	if f&fHigh != 0 {
		// US-ASCII with the high bit set: a page served in that charset
		// reads "¼script¾" as "<script>".
		if i := strings.Index(lv, "¼script¾"); i >= 0 {
			return i, len(v), true
		}
	}
	lead := len(lv) - len(strings.TrimLeft(lv, " \t\r\n"))
	if t := lv[lead:]; len(t) > 1 && (t[0] == '}' || t[0] == ')' || t[0] == ']') {
		// "}alert(1);{//", ")alert(1)//": a block or call closed, then the
		// dialog: the breakout out of script the value was put in.
		j := 1
		for j < len(t) && (t[j] == ';' || t[j] == ' ' || t[j] == '}' || t[j] == ')') {
			j++
		}
		for _, fn := range [...]string{"alert(", "prompt(", "confirm(", "eval(", "alert`", "prompt`", "confirm`"} {
			if strings.HasPrefix(t[j:], fn) {
				return lead, len(v), true
			}
		}
	}
	if f&fBacktick != 0 && strings.Contains(lv, "${") {
		// Reflect.set.call`${location}${'href'}${name}`: call and apply
		// as tags of a template, whose parts become the arguments; code
		// calls them with parentheses.
		if i := containsAny(lv, ".call`", ".apply`"); i >= 0 {
			return i, len(v), true
		}
	}
	body := lv
	if k := closingTagsPrefix(lv); k > 0 {
		// "'</style></script>alert(1)</script>": the value closes the
		// elements it was put in, then runs script outside them.
		body, lead = lv[k:], k
	}
	s := strings.TrimRight(strings.TrimSuffix(strings.TrimRight(strings.TrimSpace(body), " ;"), "//"), " ;")
	if len(s) > 2 && (s[0] == '+' || s[0] == '-') && s[len(s)-1] == s[0] {
		// "+alert(1)+": the inside of "'+alert(1)+'", what is left of it
		// when the quotes go elsewhere.
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	for range 3 {
		// "(prompt())": a call in parentheses is the same call.
		if len(s) < 2 || s[0] != '(' || closingParenByte(s, 0) != len(s)-1 {
			break
		}
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	// "+confirm(1)", "void alert(1)", "throw delete~typeof~confirm(1)":
	// unary operators change nothing of the call under them.
	for range 6 {
		t := strings.TrimLeft(s, "+-~!")
		for _, op := range [...]string{"void ", "typeof ", "delete ", "throw "} {
			t = strings.TrimPrefix(t, op)
		}
		t = strings.TrimLeft(t, " ")
		if t == s {
			break
		}
		s = t
	}
	if len(s) < 4 || len(s) > 200 {
		return 0, 0, false
	}
	name := s
	if strings.HasPrefix(name, "new ") {
		name = strings.TrimLeft(name[4:], " ")
		if !strings.HasPrefix(name, "function") {
			return 0, 0, false
		}
	}
	for _, fn := range [...]string{"alert", "prompt", "confirm", "eval", "settimeout", "setinterval", "function"} {
		if !strings.HasPrefix(name, fn) {
			continue
		}
		if fn == "function" && len(name) == len(s) {
			return 0, 0, false // "function(x) {...}" is code; "new Function(...)" builds it
		}
		rest := strings.TrimLeft(name[len(fn):], " ")
		// alert?.(1), alert.call(null, 1), alert.apply(null, [1]):
		// the same call, past filters that want "alert(".
		rest = strings.TrimPrefix(rest, "?.")
		for _, m := range [...]string{".call", ".apply", ".bind"} {
			if r, ok := strings.CutPrefix(rest, m); ok {
				rest = strings.TrimLeft(strings.TrimPrefix(r, "?."), " ")
				break
			}
		}
		if fn == "settimeout" || fn == "setinterval" {
			// A timer evaluates a string; setTimeout(fn, 100) is code.
			if arg := strings.TrimLeft(strings.TrimPrefix(rest, "("), " "); arg == "" || arg[0] != '\'' && arg[0] != '"' {
				return 0, 0, false
			}
		}
		switch {
		case strings.HasPrefix(rest, "("):
			// The call alone, or closing the tag or script it was put in
			// ("alert(1)>//x", "alert(1)</script>").
			if e := closingParenByte(rest, 0); e < 0 || e != len(rest)-1 && rest[e+1:] != "()" && !strings.HasPrefix(rest[e+1:], ">") && !strings.HasPrefix(rest[e+1:], "</") && !strings.HasPrefix(rest[e+1:], "//") {
				return 0, 0, false
			}
		case strings.HasPrefix(rest, "`"):
			if strings.IndexByte(rest[1:], '`') != len(rest)-2 {
				return 0, 0, false
			}
		default:
			return 0, 0, false
		}
		return lead, len(v), true
	}
	return 0, 0, false
}

// closingTagsPrefix returns the length of the closing tags lv starts
// with, after a quote that ends an attribute or a string ("'</style>
// </script>"), or 0.
func closingTagsPrefix(lv string) int {
	i := 0
	if strings.HasPrefix(lv, "/'") || strings.HasPrefix(lv, "/\"") {
		i++ // the request path's own '/'
	}
	if i < len(lv) && (lv[i] == '\'' || lv[i] == '"') {
		i++
	}
	n := 0
	for strings.HasPrefix(lv[i:], "</") {
		j := i + 2
		for j < len(lv) && lv[j] >= 'a' && lv[j] <= 'z' {
			j++
		}
		if j == i+2 || j >= len(lv) || lv[j] != '>' {
			break
		}
		i, n = j+1, n+1
	}
	if n == 0 {
		return 0
	}
	return i
}

// dialogHandedOn finds a dialog passed as a value, an argument or an
// array element ("[1,2,3].with(0,alert).shift()(1)"), in a value that
// then calls what an expression returned (")(" or "](").
func dialogHandedOn(lv string) (int, bool) {
	if !strings.Contains(lv, ")(") && !strings.Contains(lv, "](") {
		return 0, false // the common case, in one forward pass each
	}
	call := max(strings.LastIndex(lv, ")("), strings.LastIndex(lv, "]("))
	for _, fn := range dialogs {
		for i := range occurrences(lv[:call], fn) {
			e := i + len(fn)
			if i > 0 && strings.IndexByte("(,[", lv[i-1]) >= 0 && e < len(lv) && strings.IndexByte("),]", lv[e]) >= 0 {
				return i, true
			}
		}
	}
	return 0, false
}

// sinkArgument finds a dialog or an evaluator passed to a call, or called
// inside its arguments: "[1].find(alert('1'))", "[].map(eval)",
// "x.forEach(confirm)". The '(' must be a call's, glued to its callee:
// "press OK (confirm)" is prose.
func sinkArgument(lv string) (int, int, bool) {
	for p := range byteOccurrences(lv, '(') {
		if p == 0 || !isWordByte(lv[p-1]) && lv[p-1] != ')' && lv[p-1] != ']' {
			continue
		}
		arg := strings.TrimLeft(lv[p+1:], " \t")
		for _, fn := range dialogs {
			rest, ok := strings.CutPrefix(arg, fn)
			if !ok {
				continue
			}
			rest = strings.TrimLeft(rest, " \t")
			if rest != "" && strings.IndexByte("()`,", rest[0]) >= 0 {
				e := len(lv) - len(rest)
				return p, e + 1, true
			}
		}
	}
	return 0, 0, false
}

// sinkAlias finds a dialog or an evaluator called under another name or
// through parentheses, past filters that look for "alert(": "(alert)(1)",
// "a=alert,a(1)", "_=prompt,_(1)", and eval of the page's own address
// ("eval(location.hash.slice(1))", "eval(URL.slice(-8))").
func sinkAlias(lv string) (int, int, bool) {
	for _, fn := range dialogs {
		for i := range occurrences(lv, fn) {
			e := i + len(fn)
			if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '.') || e < len(lv) && isWordByte(lv[e]) {
				continue
			}
			rest := lv[e:]
			switch {
			case i > 0 && lv[i-1] == '(' && strings.HasPrefix(rest, ")(") || strings.HasPrefix(rest, ")`"):
				return i - 1, e + 2, true
			case i > 0 && lv[i-1] == '=':
				// name=alert, then name( later.
				n := i - 1
				for n > 0 && (isWordByte(lv[n-1]) || lv[n-1] == '_' || lv[n-1] == '$') {
					n--
				}
				name := lv[n : i-1]
				if name == "" || len(rest) == 0 || rest[0] != ',' && rest[0] != ';' {
					continue
				}
				near := rest[:min(len(rest), 16+len(name))]
				if j := strings.Index(near, name+"("); j >= 0 && (j == 0 || !isWordByte(near[j-1])) {
					return n, e + j + len(name) + 1, true
				}
				if j := strings.Index(near, name+"`"); j >= 0 {
					return n, e + j + len(name) + 1, true
				}
			case fn == "eval" && strings.HasPrefix(rest, "("):
				arg := strings.TrimLeft(rest[1:], " ")
				for _, src := range [...]string{"location", "url", "document.url", "document.location", "window.name", "name)", "document.referrer", "document.cookie", "atob(", "decodeuri", "unescape("} {
					if strings.HasPrefix(arg, src) {
						return i, e + 1, true
					}
				}
			}
		}
	}
	return 0, 0, false
}

// templateSink finds a template literal substituting a dialog or an
// evaluator, the way script calls without parentheses:
// "[].sort.call`${alert}1337`" calls alert with the template's parts.
func templateSink(lv string) (int, int, bool) {
	for i := range occurrences(lv, "${") {
		if strings.IndexByte(lv[:i], '`') < 0 {
			continue
		}
		name := strings.TrimLeft(lv[i+2:], " \t")
		for _, fn := range [...]string{"alert", "prompt", "confirm", "eval", "function"} {
			rest, ok := strings.CutPrefix(name, fn)
			if !ok {
				continue
			}
			// "`${alert}`" hands the dialog on; "`${alert`1`}`" and
			// "`${alert(1)}`" call it inside the template.
			if r := strings.TrimLeft(rest, " \t"); strings.HasPrefix(r, "}") || fn != "function" && (strings.HasPrefix(r, "`") || strings.HasPrefix(r, "(")) {
				return i, len(lv) - len(rest), true
			}
		}
	}
	return 0, 0, false
}

// functionConstructed finds the Function constructor given code as a
// string and called at once: `Function("alert(1)")()`,
// `(()=>{})["constructor"]("alert()")()`, `[].map.constructor('...')()`:
// eval under another name.
func functionConstructed(lv string) (int, int, bool) {
	for i := range occurrences(lv, "function(") {
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '.') {
			continue
		}
		if e, ok := stringCalledAtOnce(lv, i+len("function")); ok {
			return i, e, true
		}
	}
	for i := range occurrences(lv, "function`") {
		// Function`alert(1)``: a template tag builds the function, the
		// next template calls it.
		if i > 0 && (isWordByte(lv[i-1]) || lv[i-1] == '.') {
			continue
		}
		j := i + len("function`")
		if k := strings.IndexByte(lv[j:], '`'); k >= 0 && j+k+1 < len(lv) && lv[j+k+1] == '`' {
			return i, j + k + 2, true
		}
	}
	for i := range occurrences(lv, "constructor") {
		j := i + len("constructor")
		if i > 0 && (lv[i-1] == '"' || lv[i-1] == '\'') && j+1 < len(lv) && lv[j] == lv[i-1] && lv[j+1] == ']' {
			j += 2 // ["constructor"]
		}
		if e, ok := stringCalledAtOnce(lv, j); ok {
			return i, e, true
		}
	}
	return 0, 0, false
}

// stringCalledAtOnce reports whether lv[j:] is a call with one string
// argument whose result is called in turn, `("code")()`, and returns where
// that second call opens.
func stringCalledAtOnce(lv string, j int) (int, bool) {
	if j >= len(lv) || lv[j] != '(' {
		return 0, false
	}
	j++
	for j < len(lv) && lv[j] == ' ' {
		j++
	}
	if j >= len(lv) || lv[j] != '\'' && lv[j] != '"' && lv[j] != '`' {
		return 0, false
	}
	q := lv[j]
	k := j + 1
	for k < len(lv) && lv[k] != q {
		if lv[k] == '\\' {
			k++
		}
		k++
	}
	if k >= len(lv) {
		return 0, false
	}
	rest := strings.TrimLeft(lv[k+1:], " ")
	if !strings.HasPrefix(rest, ")(") {
		return 0, false
	}
	return len(lv) - len(rest) + 2, true
}

var jsSinks = []string{
	"alert", "prompt", "confirm", "eval", "print", "settimeout", "setinterval", "function", "fetch",
	"import", "atob", "document.", "window.", "top[", "top.", "self[", "self.", "parent.", "parent[",
	"this[", "globalthis", "frames[", "location", "constructor", "string.fromcharcode", "new function",
	"xmlhttprequest", "navigator.sendbeacon", "open(",
	// An object whose conversion is a dialog: ""+{toString:alert}.
	"{tostring:alert", "{valueof:alert", "{tostring:prompt", "{valueof:prompt", "{tostring:confirm", "{valueof:confirm",
}

// jsSink reports whether lv[j:] starts with a call or property access of a
// function that gives script its power.
func jsSink(lv string, j int) (int, bool) {
	for _, s := range jsSinks {
		if !strings.HasPrefix(lv[j:], s) {
			continue
		}
		k := j + len(s)
		last := s[len(s)-1]
		if last == '.' || last == '[' || last == '(' || s[0] == '{' {
			return k, true
		}
		for k < len(lv) && lv[k] <= ' ' {
			k++
		}
		if k < len(lv) && (lv[k] == '(' || lv[k] == '`' || lv[k] == '=') {
			return k + 1, true
		}
	}
	return 0, false
}

// domProps are the document properties and methods script injected into a
// page reaches for: reading the session, writing markup, navigating.
var domProps = []string{"cookie", "domain", "write(", "writeln(", "createelement(", "location=", "location.href=", "body.appendchild(", "body.innerhtml"}

// checkXSSDOM finds script that needs no tag: DOM access to the session or
// the page ("document.cookie", "document /**/ . cookie"), JSFuck, and
// UTF-7 markup ("+ADw-script+AD4-") for pages served without a charset.
func checkXSSDOM(v, lv string, f Features, c *Context) (int, int, bool) {
	if f&fBracket != 0 {
		if i, e, ok := jsFuck(lv); ok {
			return i, e, true
		}
		// "[]['filter']['constructor']": a method's constructor,
		// Function, reached by name in brackets, JSFuck's way to eval;
		// "[]+{}" is "[object Object]", the letters it is spelled from.
		if i := containsAny(lv, "]['constructor']", "][\"constructor\"]", "=[]+{}"); i >= 0 {
			return i, len(v), true
		}
	}
	if f&fDash != 0 {
		if i := strings.Index(lv, "+adw-"); i >= 0 && strings.Contains(lv[i:], "+ad4-") {
			return i, i + 5, true
		}
	}
	if f&(fDot|fBracket) == 0 {
		return 0, 0, false
	}
	if f&fBracket != 0 {
		if i, e, ok := computedGlobalCall(lv); ok {
			return i, e, true
		}
	}
	for from := 0; ; {
		k := strings.Index(lv[from:], "document")
		if k < 0 {
			return 0, 0, false
		}
		i := from + k
		j := skipJSSpace(lv, i+len("document"))
		if j < len(lv) && lv[j] == ')' && i > 0 && lv[i-1] == '(' {
			j = skipJSSpace(lv, j+1) // "(document)['cookie']"
		}
		if j < len(lv) && (lv[j] == '.' || lv[j] == '[') {
			j = skipJSSpace(lv, j+1)
			for j < len(lv) && (lv[j] == '\'' || lv[j] == '"') {
				j++
			}
			rest := lv[j:]
			for _, p := range domProps {
				if strings.HasPrefix(rest, p) {
					// "cookie" and "domain" must end there: "document.cookies
					// policy" is prose about them.
					e := j + len(p)
					if (p == "cookie" || p == "domain") && e < len(lv) && isWordByte(lv[e]) {
						continue
					}
					return i, e, true
				}
			}
		}
		from = i + len("document")
	}
}

// jsGlobals are the names a script reaches the global object by.
var jsGlobals = []string{"window", "top", "self", "parent", "frames", "globalthis", "this", "document"}

// computedGlobalCall finds a call of a global property named by a string
// expression, the way payloads hide a sink's name from filters:
// window['al'+'ert'](1), top["\x61lert"](1), self['eval'](x). A string
// is required (window[cb](data) is ordinary code), and it must be built
// (concatenation, escapes) or name a sink.
func computedGlobalCall(lv string) (int, int, bool) {
	for b := range byteOccurrences(lv, '[') {
		i := b
		for i > 0 && (lv[i-1] == ' ' || lv[i-1] == '\t') {
			i--
		}
		start := -1
		for _, g := range jsGlobals {
			if strings.HasSuffix(lv[:i], g) && (i == len(g) || !isWordByte(lv[i-len(g)-1]) && lv[i-len(g)-1] != '.') {
				start = i - len(g)
				break
			}
		}
		if start < 0 {
			continue
		}
		// The matching ']': the name may itself index an array,
		// "window[['a'][0]+'lert']".
		window := lv[b:min(len(lv), b+80)]
		e := closeBracket(window, 0) - 1
		if e <= 0 || window[e] != ']' {
			continue
		}
		inner := lv[b+1 : b+e]
		j := skipJSSpace(lv, b+e+1)
		if j >= len(lv) || lv[j] != '(' && lv[j] != '`' {
			continue
		}
		// The name built out of literals that spell no word a filter
		// knows: a regex's source ("/al/.source+/ert/.source"), a number
		// in base 30 ("8680439..toString(30)" is "alert").
		if strings.Contains(inner, ".source") || strings.Contains(inner, "tostring(") {
			return start, j + 1, true
		}
		if !strings.ContainsAny(inner, "'\"`") {
			continue
		}
		if strings.ContainsAny(inner, "+\\") || containsAny(inner, jsSinks...) >= 0 {
			return start, j + 1, true
		}
	}
	return 0, 0, false
}

// skipJSSpace skips white space and /* */ comments from lv[j:].
func skipJSSpace(lv string, j int) int {
	for j < len(lv) {
		switch {
		case lv[j] == ' ' || lv[j] == '\t' || lv[j] == '\n' || lv[j] == '\r':
			j++
		case strings.HasPrefix(lv[j:], "/*"):
			e := strings.Index(lv[j+2:], "*/")
			if e < 0 {
				return len(lv)
			}
			j += e + 4
		default:
			return j
		}
	}
	return j
}

// jsFuck reports a run of JavaScript written with []()!+ only, as JSFuck
// encodes any script: "(![]+[])[+!+[]]", "+!![]".
func jsFuck(lv string) (int, int, bool) {
	start, n := -1, 0
	for i := 0; i <= len(lv); i++ {
		if i < len(lv) && strings.IndexByte("[]()!+", lv[i]) >= 0 {
			if start < 0 {
				start, n = i, 0
			}
			n++
			continue
		}
		if start >= 0 && n >= 5 {
			run := lv[start:i]
			if strings.Contains(run, "[]") && (strings.Contains(run, "![]") || strings.Contains(run, "+[]") || strings.Contains(run, "[+")) {
				return start, i, true
			}
		}
		start = -1
	}
	return 0, 0, false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
