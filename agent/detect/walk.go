package detect

import (
	"errors"
	"hash/maphash"
	"mime"
	"slices"
	"strconv"
	"strings"

	"github.com/palisadewaf/palisade/agent/detect/attack"
	"github.com/palisadewaf/palisade/agent/detect/decode"
	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// walker inspects one request. It is the decode.Sink of every structural
// decoder: they push and pop steps on its stack, and report values at the
// current position.
type walker struct {
	opts  *Options
	rules *appRules
	req   *Request
	res   *Result

	root   point.Root
	stack  []point.Step
	arena  []point.Step // backing store of the points handed out
	where  attack.Where
	header string // current header name, for InHeader
	layers int    // structural layers applied to the current value
	values int
	gql    int // stack depth of a GraphQL-over-JSON body's top level, or -1

	ctx    attack.Context // reused by scan, so that it is not allocated per value
	recent *recentScans   // what the values of this request were found to hold, see builtin

	encodedNL bool // the value being scanned got its line breaks from Normalize

	// keep records every value and its point in res.Values; detect runs
	// the detectors. Inspect walks once detecting without keeping, and
	// walks again keeping without detecting only when it found something
	// (see Inspect): most requests are clean, and never need their values.
	keep, detect bool
	at           point.Point // the point of the value being scanned, once made (see here)
	// The value being scanned (origin) and the reading of it the window
	// being scanned is cut from, at byte base (see located).
	origin, reading string
	base            int
	claims          int // depth of JWT payloads the walk is in

	noPrefilter bool        // Engine.noPrefilter
	clean       *cleanCache // Engine.clean
}

// scanned remembers what the built-in detectors found in one value in one
// context. Requests repeat values (the same field in every item of a JSON
// array, the same cookie twice); detectors are pure functions of the value
// and its context, so a repeat is answered from here.
type scanned struct {
	v       string
	ctx     attack.Context
	matches []attack.Match
}

// recentScans is a direct-mapped table of the values a request had
// scanned, by value and field name: a repeat in an array of a few hundred
// items finds its slot unless a value hashed to it since.
type recentScans struct {
	slots [recentSlots]scanned
	used  []uint16 // slots filled for this request, emptied by release
}

const recentSlots = 256

var recentSeed = maphash.MakeSeed()

// slot returns the slot of v in context c, and whether it holds them.
func (r *recentScans) slot(v string, c *attack.Context) (*scanned, bool) {
	h := maphash.String(recentSeed, v) ^ maphash.String(recentSeed, c.Name)>>1 ^ uint64(c.Where)
	i := uint16(h % recentSlots)
	s := &r.slots[i]
	if s.v == v && s.ctx == *c {
		return s, true
	}
	if s.ctx.Where == 0 {
		r.used = append(r.used, i)
	}
	return s, false
}

func (r *recentScans) reset() {
	for _, i := range r.used {
		r.slots[i] = scanned{matches: r.slots[i].matches[:0]}
	}
	r.used = r.used[:0]
}

func (w *walker) run() {
	w.gql = -1
	if w.stack == nil {
		w.stack = make([]point.Step, 0, 16)
	}
	if w.recent == nil {
		w.recent = new(recentScans)
	}
	if w.keep {
		w.res.Values = make([]Value, 0, 32)
	}
	w.path()
	w.query()
	w.headers()
	w.body()
	w.virtualPatches()
}

// release drops what the walker holds of the request and its result, so
// that a pooled walker keeps only its scratch space.
func (w *walker) release() {
	if w.recent != nil {
		w.recent.reset()
	}
	clear(w.stack[:cap(w.stack)])
	*w = walker{stack: w.stack[:0], recent: w.recent}
}

// point returns the current position as a Point backed by the arena.
func (w *walker) point() point.Point {
	n := len(w.stack)
	if n == 0 {
		return point.Own(w.root, nil)
	}
	if cap(w.arena)-len(w.arena) < n {
		w.arena = make([]point.Step, 0, max(64, 4*n))
	}
	start := len(w.arena)
	w.arena = append(w.arena, w.stack...)
	return point.Own(w.root, w.arena[start:start+n])
}

func (w *walker) push(s point.Step) { w.stack = append(w.stack, s) }
func (w *walker) pop()              { w.stack = w.stack[:len(w.stack)-1] }

// Enter, Leave, Value, Name and Declaration make walker a decode.XMLSink.
func (w *walker) Enter(s point.Step) { w.push(s) }
func (w *walker) Leave() {
	if len(w.stack) > 0 {
		w.pop()
	}
}
func (w *walker) Value(v string) {
	if w.gql >= 0 && len(w.stack) == w.gql+1 && w.stack[w.gql].Kind == point.Field && w.stack[w.gql].Name == "query" {
		w.graphqlDocument(v)
		return
	}
	w.value(v, attack.InField, true)
}
func (w *walker) Name(name string) { w.name(name) }
func (w *walker) Declaration(raw string) {
	save := w.where
	w.scan(point.Point{}, raw, attack.InMarkup)
	w.where = save
}

// budget counts one value and reports whether the request is still within
// MaxValues.
func (w *walker) budget() bool {
	if w.values >= w.opts.MaxValues {
		w.res.Truncated = true
		return false
	}
	w.values++
	return true
}

// value handles one raw value at the current position: undo transparent
// encodings, record it, run the detectors, and look inside it for nested
// structure (JSON, JWT, base64, XML).
func (w *walker) value(raw string, where attack.Where, record bool) {
	if !w.budget() {
		return
	}
	v := decode.Normalize(raw)
	var p point.Point
	if record && w.keep {
		p = w.point()
		w.res.Values = append(w.res.Values, Value{Point: p, Value: v})
	}
	if w.nested(v, where) {
		return
	}
	w.encodedNL = len(v) != len(raw) && strings.IndexByte(raw, '\n') < 0 && strings.IndexByte(v, '\n') >= 0
	w.scan(p, v, where)
	w.encodedNL = false
	if (strings.IndexByte(raw, '%') >= 0 || strings.IndexByte(raw, '\\') >= 0) && strings.IndexByte(v, ' ') >= 0 {
		// Normalize read a decoded '+' as a space; it may be a '+',
		// unless there are many: text whose spaces were written so.
		if kept := decode.NormalizeKeepingPlus(raw); kept != v && strings.Count(kept, "+") <= 2 {
			w.read(p, v, kept, where)
		}
	}
	if spaced, ok := decode.PlusAsSpace(v); ok {
		// A server that decodes the value once more reads its '+' as
		// spaces: "1+union+select+1,2,3--" sent as "1%2Bunion%2B...".
		w.read(p, v, spaced, where)
	}
}

// keepValue records a value that is not scanned (a structured header,
// file contents) for masking.
func (w *walker) keepValue(v string) {
	if w.budget() && w.keep {
		w.res.Values = append(w.res.Values, Value{Point: w.point(), Value: v})
	}
}

// here returns the point of the value being scanned, made the first time
// something needs it: a finding, a rule that applies at some points only.
func (w *walker) here() point.Point {
	if w.at.Root() == 0 {
		w.at = w.point()
	}
	return w.at
}

// nested decodes v when it is itself a structure, and reports whether it
// was: the parts then stand for the whole.
func (w *walker) nested(v string, where attack.Where) bool {
	if w.layers >= w.opts.MaxLayers || len(v) < 2 {
		if w.layers >= w.opts.MaxLayers {
			w.res.Truncated = true
		}
		return false
	}
	c := v[0]
	switch {
	case (c == '{' || c == '[' || c == ' ' || c == '\n') && decode.LooksLikeJSON(v):
		return w.layer(point.LayerJSON, where, func() error { return decode.JSON(v, w.limits(), w) })
	case c == 'e' || c == 'B' || c == 'b':
		if h, pl, ok := decode.JWT(v); ok {
			return w.layer(point.LayerJWT, where, func() error {
				w.push(point.Step{Kind: point.Field, Name: "header"})
				err1 := w.jsonOrValue(h)
				w.pop()
				w.push(point.Step{Kind: point.Field, Name: "payload"})
				w.claims++
				err2 := w.jsonOrValue(pl)
				w.claims--
				w.pop()
				return errors.Join(err1, err2)
			})
		}
	case c == '<' && (strings.HasPrefix(v, "<?xml") || strings.HasPrefix(v, "<!DOCTYPE") || strings.HasPrefix(v, "<!doctype")):
		// XML in a value: walk its structure, and still scan it whole
		// (DOCTYPE, markup) as the caller does next.
		w.layer(point.LayerXML, where, func() error { return decode.XML(v, w.limits(), w) })
		return false
	}
	if len(v) >= decode.MinBase64 && where != attack.InPath {
		if b, ok := decode.Base64(v); ok {
			w.push(point.Step{Kind: point.Layer, Name: point.LayerBase64})
			w.layers++
			w.value(b, attack.InField, true)
			w.layers--
			w.pop()
			// A data: URL is also a URL (what an include or a fetch is
			// pointed at): scanned whole as well.
			return !strings.HasPrefix(v, "data:")
		}
	}
	return false
}

func (w *walker) jsonOrValue(s string) error {
	if decode.LooksLikeJSON(s) {
		return decode.JSON(s, w.limits(), w)
	}
	w.value(s, attack.InField, true)
	return nil
}

// layer runs a structural decoder under a new layer step. On a syntax
// error it reports false so that the caller scans the value as text.
func (w *walker) layer(name string, where attack.Where, decodeFn func() error) bool {
	depth := len(w.stack)
	w.push(point.Step{Kind: point.Layer, Name: name})
	w.layers++
	err := decodeFn()
	w.layers--
	w.stack = w.stack[:depth+1] // report at the layer
	ok := w.decodeErr(err)
	w.stack = w.stack[:depth]
	return ok
}

// decodeErr turns a structural decoder's error into a verdict: nesting
// beyond the limit is a data_bomb, too many items truncates, a syntax error
// means "not this structure".
func (w *walker) decodeErr(err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, decode.ErrTooDeep):
		w.report(w.point(), "", attack.Match{Type: attack.DataBomb, DetectorID: "data_bomb.nesting"})
		w.res.Truncated = true
		return true
	case errors.Is(err, decode.ErrTooMany):
		w.res.Truncated = true
		return true
	}
	return false
}

func (w *walker) limits() decode.Limits {
	return decode.Limits{MaxDepth: w.opts.MaxDepth, MaxItems: w.opts.MaxValues}
}

// name inspects a key (query or form name, JSON key) at the current
// position, reported as the :name property of its point.
func (w *walker) name(n string) {
	if n == "" || !w.budget() {
		return
	}
	v := decode.Normalize(n)
	// Keys that look like names are skipped, but for prototype paths and
	// dotted paths, which may name a Java class.
	if isPlainName(v) && !strings.Contains(v, "proto") && strings.IndexByte(v, '.') < 0 {
		return
	}
	w.push(point.Step{Kind: point.Meta, Name: point.MetaName})
	w.scan(point.Point{}, v, attack.InName)
	w.pop()
}

// wholePair returns name=value as one value when the pair is not a name
// and a value: the name holds what names do not (quotes, spaces,
// parentheses; brackets are PHP's arrays, "a[b]"), or there is no value
// but for base64 padding and the name is long enough to be base64 (whose
// '+' and '/' a name does not hold either), or the name is an event
// handler attribute's.
func wholePair(name, value string) (string, bool) {
	if value != "" && len(name) >= 5 && (name[0]|0x20) == 'o' && (name[1]|0x20) == 'n' && attack.EventHandler(strings.ToLower(name)) {
		// "?onfocus=;write(cookie)": a handler attribute sent as a pair,
		// for a page that writes parameters out as attributes.
		return name + "=" + value, true
	}
	notName := !plainName(name, true)
	if strings.Trim(value, "=") == "" {
		if !notName && len(name) < decode.MinBase64 {
			return "", false
		}
		return name + value, true
	}
	if !notName {
		return "", false
	}
	return name + "=" + value, true
}

// maxJoinedCookie bounds the text cookie tails are joined into.
const maxJoinedCookie = 4 << 10

// cookieRest returns a cookie pair as text when it is no cookie but the
// rest of the previous value: no value and a name that is not one (or is
// long enough to be base64), or a name with characters cookie names never
// hold (spaces, quotes, parentheses, colons, slashes, markup and its
// entities).
func cookieRest(name, value string) (string, bool) {
	if value == "" {
		return wholePair(name, value)
	}
	for i := 0; i < len(name); i++ {
		if notCookieName[name[i]] {
			return name + "=" + value, true
		}
	}
	return "", false
}

// notCookieName holds the bytes cookieRest takes for no cookie name's.
var notCookieName = func() (t [256]bool) {
	for _, c := range []byte(" ()<>\"'`:{}\\/&#") {
		t[c] = true
	}
	return t
}()

// isPlainName reports whether a key is made of the characters names are
// usually made of, which no detector could flag.
func isPlainName(s string) bool { return plainName(s, false) }

// plainName reports whether s is made of letters, digits, '_', '-' and
// '.', and of '[' and ']' (PHP's arrays, "a[b]") when brackets is set.
func plainName(s string, brackets bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || brackets && (c == '[' || c == ']')) {
			return false
		}
	}
	return true
}

// scan runs the detectors and the custom detectors on one decoded value
// at p, the current position; a zero p is made when needed (see here).
// A value not recorded yet (a zero p: one read whole or joined, a name,
// a value as sent) is recorded when values are kept: whatever a detection
// is reported in, masking must know.
func (w *walker) scan(p point.Point, v string, where attack.Where) {
	if w.keep && p.Root() == 0 {
		p = w.point()
		w.res.Values = append(w.res.Values, Value{Point: p, Value: v})
	}
	w.read(p, v, v, where)
}

// read scans v, which is origin or a reading of it, and the readings of v.
// What is found is reported in origin (see located).
func (w *walker) read(p point.Point, origin, v string, where attack.Where) {
	if !w.detect {
		return
	}
	w.origin = origin
	defer w.readAs("", 0)
	w.at = p
	if len(v) > w.opts.MaxValueLen {
		// The head and the tail: padding a value past what is read is
		// how a payload is pushed out of sight, and it goes at the end.
		w.res.Truncated = true
		tail := v[len(v)-w.opts.MaxValueLen/4:]
		w.readAs(v, 0)
		w.scanWindow(v[:w.opts.MaxValueLen], where)
		w.at = p
		w.readAs(v, len(v)-len(tail))
		w.scanWindow(tail, where)
		return
	}
	w.readAs(v, 0)
	w.scanWindow(v, where)
	if bare, ok := decode.StripInvisible(v); ok {
		// Also read as the filter that drops invisible characters, and
		// the parser that skips them, read it.
		w.at = p
		w.readAs(bare, 0)
		w.scanWindow(bare, where)
	}
	if folded, ok := decode.FoldCaseMapped(v); ok {
		w.at = p
		w.readAs(folded, 0)
		w.scanWindow(folded, where)
	}
	if joined, ok := decode.StripBreaks(v); ok {
		w.at = p
		w.readAs(joined, 0)
		w.scanWindow(joined, where)
	}
	if strings.IndexByte(v, '\\') >= 0 && (strings.Contains(v, `\"`) || strings.Contains(v, `\'`)) {
		// Quotes escaped once more than the context needs
		// ("0\"XOR(sleep(9))XOR\"Z"): the application that unescapes
		// the value (stripslashes, a JSON string inside a string) reads
		// them as quotes.
		w.at = p
		unescaped := unescapeQuotes.Replace(v)
		w.readAs(unescaped, 0)
		w.scanWindow(unescaped, where)
	}
}

// readAs says what the windows scanned next are read from: reading, from
// its byte base on.
func (w *walker) readAs(reading string, base int) { w.reading, w.base = reading, base }

// located returns where a match in the window being scanned lies in the
// value that holds it: the walked value, not a reading of it, so that the
// masking, which knows the walked values, finds every secret in it.
func (w *walker) located(start, end int) (v string, from, to int) {
	start, end = w.base+start, w.base+end
	if w.reading == w.origin {
		return w.origin, start, end
	}
	return w.origin, decode.Locate(w.origin, w.reading, start), decode.Locate(w.origin, w.reading, end)
}

var unescapeQuotes = strings.NewReplacer(`\"`, `"`, `\'`, `'`)

func (w *walker) scanWindow(v string, where attack.Where) {
	w.ctx = attack.Context{Where: where, Header: w.header, Host: w.req.Host, Name: lastName(w.stack), EncodedNewline: w.encodedNL, Claim: w.claims > 0, Record: inRecord(w.stack)}
	if strings.IndexByte(v, '$') >= 0 {
		// Only the NoSQL operator check reads it, and only where a '$' is.
		w.ctx.Query = inQueryParam(w.stack)
	}
	if where == attack.InName {
		w.ctx.Parent = parentName(w.stack)
	}
	if len(w.rules.disabled) == 0 {
		w.builtin(v)
	} else {
		skip := func(typ string) bool { return w.rules.isDisabled(typ, w.here()) }
		report := func(m attack.Match) { w.reportFound(m) }
		if w.noPrefilter {
			attack.ScanWithoutPrefilter(v, &w.ctx, skip, report)
		} else {
			attack.Scan(v, &w.ctx, skip, report)
		}
	}
	for i := range w.rules.detectors {
		d := &w.rules.detectors[i]
		if len(d.Points) > 0 && !coveredByAny(d.Points, w.here()) {
			continue
		}
		if loc := d.re.FindStringIndex(v); loc != nil {
			held, start, end := w.located(loc[0], loc[1])
			w.add(Detection{
				Type: d.Type, Point: w.here(), DetectorID: "custom." + strconv.FormatInt(d.RuleID, 10),
				Value: held, Start: start, End: end, RuleID: d.RuleID,
				Experimental: d.Experimental, Block: !d.Experimental,
			})
		}
	}
}

// builtin runs the built-in detectors on v in w.ctx, or replays what they
// found when v was scanned in the same context moments ago.
func (w *walker) builtin(v string) {
	slot, hit := w.recent.slot(v, &w.ctx)
	if hit {
		for _, m := range slot.matches {
			w.reportFound(m)
		}
		return
	}
	cache := w.clean != nil && cacheable(&w.ctx, v)
	if cache && w.clean.has(&w.ctx, v) {
		return
	}
	*slot = scanned{v: v, ctx: w.ctx, matches: slot.matches[:0]}
	found := func(m attack.Match) {
		slot.matches = append(slot.matches, m)
		w.reportFound(m)
	}
	// Direct calls (not through a func value), so that the closures stay
	// on the stack.
	if w.noPrefilter {
		attack.ScanWithoutPrefilter(v, &w.ctx, nil, found)
	} else {
		attack.Scan(v, &w.ctx, nil, found)
	}
	if cache && len(slot.matches) == 0 {
		w.clean.add(&w.ctx, v)
	}
}

func coveredByAny(pats []point.Pattern, p point.Point) bool {
	if len(pats) == 0 {
		return true
	}
	for _, pat := range pats {
		if pat.Covers(p) {
			return true
		}
	}
	return false
}

// inQueryParam reports whether stack is inside a parameter that carries a
// query: a field named filters, filter, where, query, criteria or
// conditions, or a bracketed name rooted at one ("filters[price][$gte]").
func inQueryParam(stack []point.Step) bool {
	for _, st := range stack {
		if st.Kind != point.Field {
			continue
		}
		n := st.Name
		if i := strings.IndexByte(n, '['); i > 0 {
			n = n[:i]
		}
		for _, q := range [...]string{"filters", "filter", "where", "query", "criteria", "conditions"} {
			if strings.EqualFold(n, q) {
				return true
			}
		}
	}
	return false
}

// inRecord reports whether stack is inside an element of a list of a
// JSON or XML layer.
func inRecord(stack []point.Step) bool {
	doc := false
	for _, st := range stack {
		switch {
		case st.Kind == point.Layer:
			doc = st.Name == point.LayerJSON || st.Name == point.LayerXML
		case doc && st.Kind == point.Index:
			return true
		}
	}
	return false
}

// parentName is the name of the field holding the last field of stack.
func parentName(stack []point.Step) string {
	seen := false
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Kind == point.Field {
			if seen {
				return stack[i].Name
			}
			seen = true
		}
	}
	return ""
}

func lastName(stack []point.Step) string {
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].Kind == point.Field {
			return stack[i].Name
		}
	}
	return ""
}

// reportFound reports a built-in detector's match in the window being
// scanned.
func (w *walker) reportFound(m attack.Match) {
	v, start, end := w.located(m.Start, m.End)
	m.Start, m.End = start, end
	w.report(w.here(), v, m)
}

// report records a built-in detector's match in v unless the rules
// disable its type at p.
func (w *walker) report(p point.Point, v string, m attack.Match) {
	if w.rules.isDisabled(m.Type, p) {
		return
	}
	w.add(Detection{Type: m.Type, Point: p, DetectorID: m.DetectorID, Value: v, Start: m.Start, End: m.End, Block: !m.ReportOnly, Experimental: m.ReportOnly})
}

// add records d once per (type, point, detector).
func (w *walker) add(d Detection) {
	for i := range w.res.Detections {
		o := &w.res.Detections[i]
		if o.Type == d.Type && o.DetectorID == d.DetectorID && o.Point.Equal(d.Point) {
			return
		}
	}
	w.res.Detections = append(w.res.Detections, d)
}

// path inspects the decoded path as a whole (traversal, probes) and each
// segment as a value.
func (w *walker) path() {
	raw := w.req.Path
	if raw == "" {
		return
	}
	w.root = point.RootPath
	w.value(raw, attack.InPath, true)
	if raw == "/" {
		return
	}
	w.segments(strings.TrimPrefix(raw, "/"), true)
}

// segments inspects the segments of a path that could hold anything a
// detector reads (long, or not plain names) at path[N]-style index steps.
func (w *walker) segments(path string, record bool) {
	i := 0
	for seg := range strings.SplitSeq(path, "/") {
		if seg != "" && (len(seg) >= decode.MinBase64 || !isPlainName(seg)) {
			w.push(point.Step{Kind: point.Index, Index: i})
			w.value(seg, attack.InPathSegment, record)
			w.pop()
		}
		i++
	}
}

// query inspects every query argument, names included; a name sent more
// than once is also inspected with its values joined, the way some
// frameworks join them (HTTP parameter pollution).
func (w *walker) query() {
	if w.req.RawQuery == "" {
		return
	}
	w.root = point.RootQuery
	w.form(w.req.RawQuery, attack.InQuery)
}

func (w *walker) form(raw string, where attack.Where) {
	type pair struct{ name, value string }
	var seenBuf [16]pair // most forms fit; saves growing the slice per request
	seen := seenBuf[:0]
	loose := false
	truncated := decode.Form(raw, w.opts.MaxValues, func(name, value, rawName, rawValue string) {
		// A bare "name" with spaces is the rest of a value whose '&' was
		// not escaped ("cmd=127.0.0.1 && ls /etc"): the application may
		// read the body whole.
		loose = loose || value == "" && strings.IndexByte(name, ' ') >= 0
		w.push(point.Step{Kind: point.Field, Name: name})
		w.name(name)
		if pair, ok := wholePair(name, value); ok {
			// The pair is one value whose '=' was not escaped
			// ("?admin' AND '1'='2", "?PHN2Zz4="): the application
			// reads such a query string whole, and so does the scan.
			w.push(point.Step{Kind: point.Meta, Name: point.MetaName})
			w.value(pair, where, false)
			if decode.PlusMatters(rawName) {
				// And with its unescaped '+' as sent.
				literal := decode.Percent(rawName)
				if rawValue != "" {
					literal += "=" + decode.Percent(rawValue)
				}
				w.value(literal, where, false)
			}
			w.pop()
		}
		w.value(value, where, true)
		if decode.PlusMatters(rawValue) {
			// Also as sent: a '+' the client left unescaped
			// ("'+alert(1)+'") may be meant, and be read, as itself.
			w.value(decode.Percent(rawValue), where, false)
		}
		w.pop()
		if len(seen) < 64 {
			seen = append(seen, pair{name, value})
		}
	})
	if truncated {
		w.res.Truncated = true
	}
	if loose {
		w.scan(point.Point{}, decode.Normalize(strings.ReplaceAll(raw, "+", " ")), where)
	}
	// HPP: join repeated names.
	for i := 1; i < len(seen); i++ {
		if i > 0 && !slices.ContainsFunc(seen[:i], func(p pair) bool { return p.name == seen[i].name }) {
			continue
		}
		if slices.ContainsFunc(seen[i+1:], func(p pair) bool { return p.name == seen[i].name }) {
			continue // join once, at the last occurrence
		}
		var b strings.Builder
		for _, p := range seen {
			if p.name == seen[i].name {
				if b.Len() > 0 {
					b.WriteByte(',')
				}
				b.WriteString(p.value)
			}
		}
		w.push(point.Step{Kind: point.Field, Name: seen[i].name})
		joined := decode.Normalize(strings.ReplaceAll(b.String(), ",", " "))
		w.scan(point.Point{}, joined, where)
		w.pop()
	}
}

// uploadNameHeader reports whether a header carries the name of the file in
// the body.
func uploadNameHeader(name string) bool {
	switch name {
	case "x-filename", "x_filename", "x-file-name", "x-file", "x-upload-filename":
		return true
	}
	return false
}

// headers inspects every header but Cookie, which is split into cookies.
func (w *walker) headers() {
	if len(w.req.Header) == 0 {
		return
	}
	keys := make([]string, 0, len(w.req.Header))
	for k := range w.req.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name := strings.ToLower(k)
		for _, v := range w.req.Header[k] {
			if name == "cookie" {
				w.cookies(v)
				continue
			}
			w.root = point.RootHeader
			w.header = name
			w.push(point.Step{Kind: point.Field, Name: name})
			if uploadNameHeader(name) {
				// The file name of a raw-body upload (fetch and XHR upload
				// libraries send it so): checked as a multipart one is.
				w.value(v, attack.InFilename, true)
			} else if !attack.HeaderTakesFreeText(name) && name != "authorization" && attack.StructuredHeaderValue(v) {
				// A well-formed structured header: recorded, not scanned.
				w.keepValue(v)
			} else {
				w.value(v, attack.InHeader, true)
			}
			if name == "authorization" {
				w.authorization(v)
			}
			if name == "referer" {
				w.refererURL(v)
			} else if len(v) > 3 && v[0] == '?' && strings.IndexByte(v, '=') > 0 && attack.HeaderTakesFreeText(name) {
				// A query string as the value ("?id=0+union+select..."),
				// what an application that builds a URL from it reads.
				w.push(point.Step{Kind: point.Layer, Name: point.LayerForm})
				w.form(v[1:], attack.InQuery)
				w.pop()
			}
			w.pop()
			w.header = ""
		}
	}
}

// authorization decodes Basic credentials (as header.authorization|base64).
// Bearer JWTs were decoded by value() already.
// refererURL walks the query of a Referer URL as a form and its long or
// odd path segments as values (header.referer|form.q,
// header.referer[N]): the page a link came from is logged, shown in
// analytics and followed back, and attacks ride in its parts as they do
// in the request's own.
func (w *walker) refererURL(v string) {
	rest := v
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	slash := strings.IndexAny(rest, "/?")
	if slash < 0 {
		return
	}
	if rest[slash] == '/' {
		slash++
	}
	rest = rest[slash:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	path, query, _ := strings.Cut(rest, "?")
	w.segments(path, false)
	if query != "" {
		w.push(point.Step{Kind: point.Layer, Name: point.LayerForm})
		w.form(query, attack.InQuery)
		w.pop()
	}
}

func (w *walker) authorization(v string) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "basic") {
		return
	}
	if b, ok := decode.Base64(strings.TrimSpace(cred)); ok {
		w.push(point.Step{Kind: point.Layer, Name: point.LayerBase64})
		w.layers++
		w.value(b, attack.InField, true)
		w.layers--
		w.pop()
	}
}

func (w *walker) cookies(h string) {
	w.root = point.RootCookie
	// A "cookie" without '=', or whose name is no name, is the rest of
	// the value before it, whose ';' was not escaped ("x=admin'; -- -",
	// "x=&lt;svg&gt;"): such a run is read together, once, at the point
	// of the cookie it started with, as an application that takes the
	// header's tail whole would. Runs are cut at 4 KiB; the text is only
	// built when a run has a second piece.
	var run []byte
	head, headName, pieces := "", "", 0
	flush := func() {
		if pieces > 0 {
			w.push(point.Step{Kind: point.Field, Name: headName})
			w.push(point.Step{Kind: point.Meta, Name: point.MetaName})
			w.value(string(run), attack.InCookie, false)
			w.pop()
			w.pop()
		}
		run, pieces = run[:0], 0
	}
	truncated := decode.Cookies(h, w.opts.MaxValues, func(name, value string) {
		rest, ok := cookieRest(name, value)
		switch {
		case !ok:
			flush()
			head, headName = value, name
		case pieces == 0 || len(run) > maxJoinedCookie:
			flush()
			if head != "" {
				run = append(append(run, head...), ';')
			} else {
				headName = name
			}
			run = append(run, rest...)
			head, pieces = "", 1
		default:
			run = append(append(run, ';'), rest...)
			pieces++
		}
		w.push(point.Step{Kind: point.Field, Name: name})
		w.name(name)
		w.value(value, attack.InCookie, true)
		w.pop()
	})
	flush()
	if truncated {
		w.res.Truncated = true
	}
}

// body inspects the body according to its content encoding and type,
// sniffing the type when it is missing or generic.
func (w *walker) body() {
	b := w.req.Body
	if len(b) == 0 {
		return
	}
	if w.req.BodyTruncated {
		w.res.Truncated = true
	}
	if len(b) > w.opts.MaxBody {
		b = b[:w.opts.MaxBody]
		w.res.Truncated = true
	}
	w.root = point.RootBody
	w.stack = w.stack[:0]
	switch enc := strings.ToLower(strings.TrimSpace(w.req.ContentEncoding)); enc {
	case "", "identity":
	case "gzip", "x-gzip", "deflate":
		layer := point.LayerGzip
		if enc == "deflate" {
			layer = point.LayerDeflate
		}
		w.push(point.Step{Kind: point.Layer, Name: layer})
		out, err := decode.Inflate(b, enc, w.opts.MaxInflated, w.opts.MaxInflateRatio)
		switch {
		case errors.Is(err, decode.ErrBomb):
			w.report(w.point(), "", attack.Match{Type: attack.DataBomb, DetectorID: "data_bomb.compression"})
			w.res.Truncated = true
			return // a bomb is not worth reading further
		case err != nil && len(out) == 0:
			// Not actually compressed: inspect as sent.
			w.stack = w.stack[:0]
		default:
			b = out
		}
	default:
		// Unknown encodings (br, zstd) are not decoded; the bytes are
		// still scanned as they are.
	}
	w.typedBody(string(b), w.req.ContentType)
}

func (w *walker) typedBody(s, contentType string) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		w.push(point.Step{Kind: point.Layer, Name: point.LayerForm})
		w.form(s, attack.InField)
		w.pop()
		if strings.IndexByte(s, '=') >= 0 {
			return
		}
		// A "form" without one '=' is a single bare name, which frameworks
		// still hand to the application: scan it whole, decoded, below
		// (a key that looks like a name is otherwise not scanned).
		s = strings.ReplaceAll(s, "+", " ")
	case mt == "multipart/form-data" || strings.HasPrefix(mt, "multipart/"):
		if w.multipart(s, contentType) {
			return
		}
	case mt == "application/graphql":
		w.push(point.Step{Kind: point.Layer, Name: point.LayerGraphQL})
		w.push(point.Step{Kind: point.Field, Name: "query"})
		w.graphqlDocument(s)
		w.stack = w.stack[:len(w.stack)-2]
		return
	case strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "+json"):
		if w.jsonBody(s) {
			return
		}
	case strings.HasSuffix(mt, "xml"):
		if w.xmlBody(s) {
			return
		}
	default:
		// No or generic type: sniff.
		switch {
		case decode.LooksLikeJSON(s):
			if w.jsonBody(s) {
				return
			}
		case decode.LooksLikeXML(s):
			// Sniffed markup may be HTML as well as XML: walk it, and
			// scan it whole below.
			w.xmlBody(s)
		case looksLikeForm(s):
			// A sniffed form may as well be one token of text with an
			// '=' in it ("admin)(|(uid=*"): walk it, and scan it whole
			// below.
			w.push(point.Step{Kind: point.Layer, Name: point.LayerForm})
			w.form(s, attack.InField)
			w.pop()
		}
	}
	// Unparsed: the raw body is one value.
	w.value(s, attack.InBody, true)
}

// looksLikeForm reports whether an untyped body reads as form data: its
// first name (before the first '=') is a name, without spaces or markup;
// the values may hold anything a careless client leaves unescaped
// ("x=javascript:alert(1)>click"). Prose ("the value of x=5") and markup
// do not start so.
func looksLikeForm(s string) bool {
	if len(s) > 64<<10 || !strings.Contains(strings.TrimRight(s, "="), "=") {
		return false // no '=' but base64 padding
	}
	i := strings.IndexByte(s, '=')
	return i > 0 && !strings.ContainsAny(s[:i], " \n\r\t<>&")
}

func (w *walker) jsonBody(s string) bool {
	depth := len(w.stack)
	layer := point.LayerJSON
	if graphQLRequest(s) {
		layer = point.LayerGraphQL
		w.gql = depth + 1
	}
	w.push(point.Step{Kind: point.Layer, Name: layer})
	w.layers++
	err := decode.JSON(s, w.limits(), w)
	w.layers--
	w.gql = -1
	w.stack = w.stack[:depth+1]
	ok := w.decodeErr(err)
	w.stack = w.stack[:depth]
	return ok
}

// graphQLRequest reports whether a JSON body is a GraphQL request: an
// object whose "query" member is a GraphQL document.
func graphQLRequest(s string) bool {
	i := strings.Index(s, `"query"`)
	if i < 0 {
		return false
	}
	rest := strings.TrimLeft(s[i+7:], " \t\r\n")
	if !strings.HasPrefix(rest, ":") {
		return false
	}
	rest = strings.TrimLeft(rest[1:], " \t\r\n")
	if !strings.HasPrefix(rest, `"`) {
		return false
	}
	return decode.LooksLikeGraphQL(strings.ReplaceAll(rest[1:min(len(rest), 64)], `\n`, "\n"))
}

func (w *walker) graphqlDocument(doc string) {
	if !w.budget() {
		return
	}
	var p point.Point
	if w.keep {
		p = w.point()
		w.res.Values = append(w.res.Values, Value{Point: p, Value: doc})
	}
	depth := len(w.stack)
	err := decode.GraphQL(doc, w.limits(), w)
	w.stack = w.stack[:depth]
	if !w.decodeErr(err) || strings.Contains(doc, "__schema") || strings.Contains(doc, "__type(") {
		// Unparsed documents are scanned whole, and so are introspection
		// queries: their arguments are harmless, the query is the probe.
		w.scan(p, decode.Normalize(doc), attack.InField)
	}
}

func (w *walker) xmlBody(s string) bool {
	depth := len(w.stack)
	w.push(point.Step{Kind: point.Layer, Name: point.LayerXML})
	w.layers++
	err := decode.XML(s, w.limits(), w)
	w.layers--
	w.stack = w.stack[:depth+1]
	ok := w.decodeErr(err)
	if ok && schemaReference(s) {
		// XInclude and XML Schema references are elements and attributes,
		// not declarations: the document is scanned whole for them.
		save := w.where
		w.scan(point.Point{}, s, attack.InMarkup)
		w.where = save
	}
	w.stack = w.stack[:depth]
	return ok
}

// schemaReference reports whether an XML document may reference an
// external schema or include another document, the parts the element walk
// does not see.
func schemaReference(s string) bool {
	return strings.Contains(s, ":include") || strings.Contains(s, ":import") || strings.Contains(s, ":redefine") || strings.Contains(s, "chemaLocation")
}

func (w *walker) multipart(s, contentType string) bool {
	boundary, err := decode.Boundary(contentType)
	if err != nil {
		return false
	}
	depth := len(w.stack)
	w.push(point.Step{Kind: point.Layer, Name: point.LayerMultipart})
	err = decode.Multipart(s, boundary, w.opts.MaxValues, func(p decode.Part) {
		w.push(point.Step{Kind: point.Field, Name: p.Name})
		w.name(p.Name)
		if p.HasFilename {
			w.push(point.Step{Kind: point.Meta, Name: point.MetaFilename})
			w.value(p.Filename, attack.InFilename, true)
			w.pop()
		}
		mt, _, _ := mime.ParseMediaType(p.ContentType)
		switch {
		case strings.HasSuffix(mt, "json") && decode.LooksLikeJSON(p.Data):
			w.layer(point.LayerJSON, attack.InField, func() error { return decode.JSON(p.Data, w.limits(), w) })
		case strings.HasSuffix(mt, "xml"):
			if !w.xmlBody(p.Data) {
				w.value(p.Data, attack.InField, true)
			}
		case p.HasFilename && binary(p.Data):
			// File contents: recorded, not scanned as text.
			w.keepValue(p.Data)
		default:
			w.value(p.Data, attack.InField, true)
		}
		w.pop()
	})
	w.stack = w.stack[:depth]
	if errors.Is(err, decode.ErrTooMany) {
		w.res.Truncated = true
		return true
	}
	return err == nil
}

// binary reports whether data looks like a binary file (a NUL or many
// control bytes in its head).
func binary(data string) bool {
	head := data[:min(len(data), 512)]
	ctl := 0
	for i := 0; i < len(head); i++ {
		c := head[i]
		if c == 0 {
			return true
		}
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			ctl++
		}
	}
	return ctl*10 > len(head)
}

// virtualPatches evaluates the virtual patches once every value is known.
func (w *walker) virtualPatches() {
	if len(w.rules.patches) == 0 {
		return
	}
	decodedPath := ""
	if len(w.res.Values) > 0 && w.res.Values[0].Point.Root() == point.RootPath && w.res.Values[0].Point.Len() == 0 {
		decodedPath = w.res.Values[0].Value
	}
	for i := range w.rules.patches {
		vp := &w.rules.patches[i]
		if vp.Method != "" && !strings.EqualFold(vp.Method, w.req.Method) {
			continue
		}
		if vp.path != nil && !vp.path.MatchString(decodedPath) {
			continue
		}
		at := point.Path()
		val := decodedPath
		start, end := 0, len(val)
		ok := true
		for _, c := range vp.conds {
			found := false
			for _, v := range w.res.Values {
				if !c.point.Covers(v.Point) {
					continue
				}
				if c.re == nil {
					found, at, val, start, end = true, v.Point, v.Value, 0, len(v.Value)
					break
				}
				if loc := c.re.FindStringIndex(v.Value); loc != nil {
					found, at, val, start, end = true, v.Point, v.Value, loc[0], loc[1]
					break
				}
			}
			if !found {
				ok = false
				break
			}
		}
		if ok {
			w.add(Detection{Type: VirtualPatchType, Point: at, DetectorID: "vpatch", Value: val, Start: start, End: end, RuleID: vp.RuleID, Block: true})
		}
	}
}
