// Package attack holds Palisade's detectors: one per attack type, each a
// pure function from a decoded value and where it was found to the matched
// fragment. Detectors know nothing of requests, points or rules; the engine
// in agent/detect feeds them every value it decodes and filters what they
// find through the ruleset.
//
// A detector has a stable id ("sqli.libinjection", "xss.html", ...) that
// events carry, so a console user can tell which check fired and a rule
// can be written against it.
package attack

import (
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Attack types. These strings are part of the wire contract (events,
// rules, counters).
const (
	SQLi      = "sqli"
	XSS       = "xss"
	RCE       = "rce"
	PTrav     = "ptrav"
	RFI       = "rfi"
	SSRF      = "ssrf"
	SSTI      = "ssti"
	CRLF      = "crlf"
	NoSQLi    = "nosqli"
	LDAPi     = "ldapi"
	XXE       = "xxe"
	Redir     = "redir"
	Log4Shell = "log4shell"
	Mail      = "mail_injection"
	Scanner   = "scanner"
	DataBomb  = "data_bomb"
)

// Types lists every built-in attack type.
var Types = []string{SQLi, XSS, RCE, PTrav, RFI, SSRF, SSTI, CRLF, NoSQLi, LDAPi, XXE, Redir, Log4Shell, Mail, Scanner, DataBomb}

// Where says what kind of value a detector is looking at. Detectors use it
// to apply the checks that make sense there: a newline is an attack in a
// query argument and an ordinary character in a JSON text field.
type Where uint8

const (
	InPath        Where = iota + 1 // the whole decoded request path
	InPathSegment                  // one path segment
	InQuery                        // a query argument value
	InName                         // a key: query or form name, JSON key
	InHeader                       // a request header value (Context.Header names it)
	InCookie                       // a cookie value
	InBody                         // a raw body no structural decoder could parse
	InField                        // a value inside a form, JSON, XML, multipart or GraphQL body
	InFilename                     // a multipart file name
	InMarkup                       // an XML declaration (DOCTYPE, ENTITY, processing instruction)
)

// Context is what a detector knows about a value besides its bytes.
type Context struct {
	Where  Where
	Header string // lower-case header name, for InHeader
	Name   string // name of the field or argument holding the value, if any
	Host   string // request Host, for open-redirect checks
	// Parent names the field holding the key, for InName: JSON's
	// {"constructor":{"prototype":...}} is told by the pair.
	Parent string
	// EncodedNewline is set when the value's line breaks came from
	// undoing an encoding (a literal "%0a" in a JSON string): no text
	// editor writes them so, and they then separate shell commands even
	// in the fields where a newline is usually prose.
	EncodedNewline bool
	// Claim is set in the payload of a token (a JWT's claims): what an
	// identity provider signed, whose URLs name parties (an issuer on
	// http://keycloak.auth.svc.cluster.local) and are not fetched.
	Claim bool
	// Record is set for a value inside an element of a list in a JSON or
	// XML document (commits[0].url, alerts[2].generatorURL): what a
	// system reports about many things, not an input of one.
	Record bool
	// Query is set inside a parameter whose name says it carries a
	// query (filters, where, filter, query, criteria): a filter
	// language's operators are its syntax there.
	Query bool
}

// Match is one finding: the attack type, the detector that found it and
// the matched fragment v[Start:End].
type Match struct {
	Type       string
	DetectorID string
	Start, End int
	// ReportOnly matches are reported and never block (Detector.ReportOnly).
	ReportOnly bool
}

// Detector is one check.
type Detector struct {
	ID   string
	Type string
	// Check returns the matched fragment of v, if any. lv is v with ASCII
	// letters lower-cased (same length, same offsets) and f its features.
	Check func(v, lv string, f Features, c *Context) (start, end int, ok bool)
	// Needs is the prefilter: each of its masks must share a feature with
	// the value, or Check cannot match (see Scan). Every mask restates a
	// test at the top of Check, which returns early without it.
	Needs []Features
	// In lists the places Check can match at; nil means everywhere.
	In []Where
	// ReportOnly detectors find what may be legitimate where the product
	// it belongs to is installed (an admin console's path): reported,
	// never blocking.
	ReportOnly bool
	// Excludes, when set, is a finer prefilter run after Needs: it reports
	// that Check cannot match lv (the lower-cased value), more cheaply than
	// Check would find out.
	Excludes func(lv string) bool
}

// needs is a shorthand for Needs entries.
func needs(masks ...Features) []Features { return masks }

// Detectors lists the built-in detectors in the order Scan runs them.
//
// Needs and In restate, per detector, the early returns at the top of its
// Check, so that Scan skips it without calling it: a detector whose
// tokens all need a quote, a bracket or a line break cannot match a value
// without one. The masks marked "digraph" are stronger than the check's
// own first test and follow from its next one: log4shell.lookup reads
// from strings.Index(lv, "${"), ptrav.dotdot matches only at "..",
// data_bomb.xml_entities counts "<!entity" declarations. sqli.libinjection
// also Excludes running prose, which its Check leaves to the tokenizer, and
// values made of plain words, numbers and symbol operators, whose every
// fingerprint libinjection lets pass (libinjectionCannotMatch).
var Detectors = []Detector{
	{ID: "log4shell.lookup", Type: Log4Shell, Check: checkLog4Shell, Needs: needs(fDollarBrace | fBackslash)}, // digraph; "$\{" escaped
	{ID: "sqli.libinjection", Type: SQLi, Check: checkSQLiLibinjection, Needs: needs(fQuote | fSpace | fParen | fSemi | fHash | fDash | fStar | fSlash | fPipe | fAmp | fEq), Excludes: libinjectionExcludes},
	{ID: "sqli.tokenizer", Type: SQLi, Check: checkSQLiTokens, Needs: needs(fQuote | fSpace | fParen | fSemi | fHash | fDash | fStar | fSlash), Excludes: sqlTokensExcluded},
	{ID: "sqli.internals", Type: SQLi, Check: checkSQLiInternals, Needs: needs(fOther | fParen | fQuote | fColon)},
	{ID: "xss.libinjection", Type: XSS, Check: checkXSSLibinjection, Needs: needs(fLT | fQuote | fEq)},
	{ID: "xss.html", Type: XSS, Check: checkXSSHTML, Needs: needs(fLT | fColon | fQuote | fEq)},
	{ID: "xss.js", Type: XSS, Check: checkXSSJS, Needs: needs(fParen|fBacktick|fEq|fBrace, fQuote|fSemi|fGT)},
	{ID: "xss.call", Type: XSS, Check: checkXSSCall, Needs: needs(fParen | fBacktick)},
	{ID: "xss.dom", Type: XSS, Check: checkXSSDOM, Needs: needs(fDot | fBracket | fDash)},
	{ID: "rce.shell", Type: RCE, Check: checkShell},
	{ID: "rce.code", Type: RCE, Check: checkCodeInjection, Needs: needs(fParen | fLT | fDollar)},
	{ID: "rce.java", Type: RCE, Check: checkJavaGadget},
	{ID: "rce.dotnet", Type: RCE, Check: checkDotNetGadget, Needs: needs(fDot | fSlash)},
	{ID: "rce.serialized", Type: RCE, Check: checkSerialized, Needs: needs(fColon | fDollar | fDot)},
	{ID: "rce.varcall", Type: RCE, Check: checkVarCall, Needs: needs(fDollar, fParen)},
	{ID: "rce.node", Type: RCE, Check: checkNodeGlobal, Needs: needs(fDot | fBracket | fParen)},
	{ID: "rce.ssi", Type: RCE, Check: checkSSI, Needs: needs(fMarkupDecl)},
	{ID: "rce.upload", Type: RCE, Check: checkUpload, In: []Where{InFilename}},
	{ID: "rce.prototype", Type: RCE, Check: checkPrototypePath, Needs: needs(fOther | fDot | fBracket), In: prototypePlaces},
	{ID: "rce.prototype_key", Type: RCE, Check: checkPrototypeKey, In: []Where{InName}},
	{ID: "ptrav.dotdot", Type: PTrav, Check: checkDotDot, Needs: needs(fDotDot, fSlash|fBackslash|fSemi|fHigh)}, // digraph
	{ID: "ptrav.file", Type: PTrav, Check: checkSensitiveFile, Needs: needs(fSlash | fBackslash | fDot | fColon)},
	{ID: "ptrav.obfuscated", Type: PTrav, Check: checkObfuscatedClimb, Needs: needs(fDot | fHigh | fPercent | fDigit)},
	{ID: "rfi.url", Type: RFI, Check: checkRFI, Needs: needs(fColon, fSlash)},
	{ID: "ssrf.url", Type: SSRF, Check: checkSSRF, Needs: needs(fColon | fDot | fDigit | fSlash)},
	{ID: "ssti.template", Type: SSTI, Check: checkSSTI, Needs: needs(fBrace | fLT | fHash | fDollar | fAt)},
	{ID: "crlf.header", Type: CRLF, Check: checkCRLF, Needs: needs(fNewline | fHigh)},
	{ID: "mail.header", Type: Mail, Check: checkMail, Needs: needs(fNewline)},
	{ID: "nosqli.operator", Type: NoSQLi, Check: checkNoSQLOperator, Needs: needs(fDollar), In: []Where{InName, InQuery, InField, InPath, InPathSegment, InBody}},
	{ID: "nosqli.js", Type: NoSQLi, Check: checkNoSQLJS, Needs: needs(fQuote | fSemi | fPipe | fAmp | fParen)},
	{ID: "ldapi.filter", Type: LDAPi, Check: checkLDAP, Needs: needs(fParen)},
	{ID: "xxe.entity", Type: XXE, Check: checkXXE, Needs: needs(fLT)},
	{ID: "data_bomb.xml_entities", Type: DataBomb, Check: checkEntityBomb, Needs: needs(fMarkupDecl, fAmp), In: []Where{InMarkup, InBody, InField, InQuery}}, // digraph
	{ID: "redir.url", Type: Redir, Check: checkRedirect, Needs: needs(fSlash | fBackslash | fColon | fAt), In: []Where{InQuery, InField}},
	{ID: "scanner.agent", Type: Scanner, Check: checkScannerAgent, In: []Where{InHeader}},
	{ID: "scanner.probe", Type: Scanner, Check: checkProbePath, In: []Where{InPath}},
	{ID: "scanner.console", Type: Scanner, Check: checkConsolePath, In: []Where{InPath}, ReportOnly: true},
	{ID: "scanner.introspection", Type: Scanner, Check: checkGraphQLIntrospection, Needs: needs(fBrace)},
}

// bareCommands are commands whose names are no word of any language, so
// that one alone as a whole value is the command: the probe of an
// injection into a command line ("cmd=whoami").
var bareCommands = []string{"whoami", "ifconfig", "ipconfig", "netstat", "systeminfo", "uname", "nslookup", "tasklist", "ipconfig.exe", "whoami.exe"}

// bareCommand reports whether v, a single word, is one of bareCommands in
// any case.
func bareCommand(v string) bool {
	if len(v) < 5 || len(v) > 12 {
		return false
	}
	switch v[0] | 0x20 {
	case 'w', 'i', 'n', 's', 'u', 't':
	default:
		return false
	}
	for _, b := range bareCommands {
		if strings.EqualFold(v, b) {
			return true
		}
	}
	return false
}

// numberDetectors are the detectors that can flag a value made of digits,
// dots and dashes only (attack/prefilter_test.go checks that no other can).
var numberDetectors = func() []*Detector {
	var ds []*Detector
	for i := range Detectors {
		if Detectors[i].ID == "ssrf.url" {
			ds = append(ds, &Detectors[i])
		}
	}
	return ds
}()

// candidate is a detector as Scan's loop reads it: its first two Needs
// masks inline (detectors have at most two; zero means none).
type candidate struct {
	d          *Detector
	need, also Features
}

// candidates lists, for each Where, the detectors whose In allows it, in
// Detectors order (the order of findings).
var candidates = func() (t [InMarkup + 1][]candidate) {
	for w := range t {
		for i := range Detectors {
			d := &Detectors[i]
			if len(d.Needs) > 2 {
				panic("attack: " + d.ID + " has more than two Needs masks")
			}
			if d.In != nil && !slices.Contains(d.In, Where(w)) {
				continue
			}
			c := candidate{d: d}
			if len(d.Needs) > 0 {
				c.need = d.Needs[0]
			}
			if len(d.Needs) > 1 {
				c.also = d.Needs[1]
			}
			t[w] = append(t[w], c)
		}
	}
	return t
}()

// can reports whether d's prefilter lets it look at a value with
// features f at w.
func (d *Detector) can(f Features, w Where) bool {
	for _, m := range d.Needs {
		if f&m == 0 {
			return false
		}
	}
	return d.In == nil || slices.Contains(d.In, w)
}

// Scan runs every detector whose type skip does not exclude on v and calls
// fn for each finding (at most one per detector). It computes the value's
// features once and calls only the detectors whose prefilter (Needs, In)
// the value passes.
func Scan(v string, c *Context, skip func(typ string) bool, fn func(Match)) {
	scan(v, c, skip, fn, true)
}

// ScanWithoutPrefilter is Scan calling every detector on every value. It
// finds exactly what Scan finds, only slower: it is the reference that
// the engine's equivalence test and benchmarks compare Scan with.
func ScanWithoutPrefilter(v string, c *Context, skip func(typ string) bool, fn func(Match)) {
	scan(v, c, skip, fn, false)
}

func scan(v string, c *Context, skip func(typ string) bool, fn func(Match), prefilter bool) {
	if len(v) == 0 {
		return
	}
	f := features(v)
	if prefilter && f&^(fDigit|fDot|fDash) == 0 && c.Where != InPath {
		// A number, a date, a version or an address: only an address can
		// be an attack (SSRF to "10.1", "2130706433" in a url parameter).
		// The value has no letters, so lv is v.
		for _, d := range numberDetectors {
			if d.can(f, c.Where) && (skip == nil || !skip(d.Type)) {
				if s, e, ok := d.Check(v, v, f, c); ok {
					fn(Match{Type: d.Type, DetectorID: d.ID, Start: s, End: e, ReportOnly: d.ReportOnly})
				}
			}
		}
		return
	}
	if prefilter && f&^(fLetter|fUpper|fDigit|fSpace) == 0 && c.Where != InHeader && c.Where != InPath && c.Where != InName {
		// Words, numbers and spaces: only keyword-shaped SQL injection
		// (and, in a key, a prototype: "__proto__")
		// ("1 union select 2") can hide in those.
		// So can a command no word is spelled like ("whoami"), which
		// rce.shell flags as a whole value.
		if (f&fSpace == 0 || f&fLetter == 0) && !bareCommand(v) {
			return
		}
	}
	lv := v
	if f&fUpper != 0 {
		// The lower-cased copy lives only during this call (detectors
		// return offsets, never slices of lv), so its bytes are pooled.
		buf := lowerPool.Get().(*[]byte)
		defer lowerPool.Put(buf)
		*buf = lowerASCII((*buf)[:0], v)
		lv = unsafe.String(unsafe.SliceData(*buf), len(*buf))
	}
	if !prefilter {
		for i := range Detectors {
			d := &Detectors[i]
			if skip != nil && skip(d.Type) {
				continue
			}
			if s, e, ok := d.Check(v, lv, f, c); ok {
				fn(Match{Type: d.Type, DetectorID: d.ID, Start: s, End: e, ReportOnly: d.ReportOnly})
			}
		}
		return
	}
	cands := candidates[0] // no Where of ours: the detectors In every place
	if int(c.Where) < len(candidates) {
		cands = candidates[c.Where]
	}
	for i := range cands {
		k := &cands[i]
		if k.need != 0 && f&k.need == 0 || k.also != 0 && f&k.also == 0 {
			continue
		}
		d := k.d
		if d.Excludes != nil && d.Excludes(lv) || skip != nil && skip(d.Type) {
			continue
		}
		if s, e, ok := d.Check(v, lv, f, c); ok {
			fn(Match{Type: d.Type, DetectorID: d.ID, Start: s, End: e, ReportOnly: d.ReportOnly})
		}
	}
}

// Features is a bit set of character classes present in a value, computed
// once so that each detector can skip values that cannot hold its attack.
type Features uint64

const (
	fLetter Features = 1 << iota
	fUpper
	fDigit
	fSpace
	fQuote     // ' " `
	fLT        // <
	fGT        // >
	fParen     // ( )
	fSemi      // ;
	fPipe      // |
	fAmp       // &
	fDollar    // $
	fBrace     // { }
	fSlash     // /
	fBackslash // \
	fDot       // .
	fColon     // :
	fNewline   // \r \n
	fEq        // =
	fHash      // #
	fDash      // -
	fStar      // *
	fPercent   // %
	fAt        // @
	fBracket   // [ ]
	fCtl       // other control bytes, NUL
	fHigh      // bytes >= 0x80
	fBacktick  // `
	fComma     // ,
	fOther

	// Byte pairs, for the detectors that start from one.
	fDotDot      // ..
	fDollarBrace // ${
	fMarkupDecl  // <!
)

var featureOf = func() (t [256]Features) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z':
			t[c] = fLetter
		case c >= 'A' && c <= 'Z':
			t[c] = fLetter | fUpper
		case c >= '0' && c <= '9':
			t[c] = fDigit
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			t[c] = fSpace
		case c == '\r' || c == '\n':
			t[c] = fNewline | fSpace
		case c == '\'' || c == '"':
			t[c] = fQuote
		case c == '`':
			t[c] = fQuote | fBacktick
		case c >= 0x80:
			t[c] = fHigh
		case c < 0x20 || c == 0x7f:
			t[c] = fCtl
		default:
			t[c] = fOther
		}
	}
	for c, f := range map[byte]Features{
		'<': fLT, '>': fGT, '(': fParen, ')': fParen, ';': fSemi, '|': fPipe, '&': fAmp,
		'$': fDollar, '{': fBrace, '}': fBrace, '/': fSlash, '\\': fBackslash, '.': fDot,
		':': fColon, '=': fEq, '#': fHash, '-': fDash, '*': fStar, '%': fPercent, '@': fAt,
		'[': fBracket, ']': fBracket, ',': fComma,
	} {
		t[c] = f
	}
	return t
}()

func features(v string) Features {
	var f Features
	for i := 0; i < len(v); i++ {
		f |= featureOf[v[i]]
	}
	// Pairs are looked for only when both bytes are there.
	if f&fDot != 0 && strings.Contains(v, "..") {
		f |= fDotDot
	}
	if f&(fDollar|fBrace) == fDollar|fBrace && strings.Contains(v, "${") {
		f |= fDollarBrace
	}
	if f&fLT != 0 && strings.Contains(v, "<!") {
		f |= fMarkupDecl
	}
	return f
}

// lowerPool holds the buffers Scan lower-cases values into.
var lowerPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// lowerASCII appends v to dst with ASCII letters lower-cased only, so
// offsets are preserved.
func lowerASCII(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
