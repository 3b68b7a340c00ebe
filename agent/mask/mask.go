// Package mask removes sensitive data from what the node reports and logs.
//
// A value is sensitive when (1) a name on its point is a sensitive name
// (password, token, authorization, email, cc_number, ... in any letter
// case, at any depth, see DefaultNames), (2) a "mark as sensitive data" rule
// of its application covers its point, or (3) a value detector recognises
// it wherever it sits: Luhn-valid card numbers, email addresses, JWTs,
// Authorization credentials, private keys, well-known API key shapes.
//
// Masking works per request (Masker.ForRequest): every sensitive value of
// the request, with its common encodings, is hunted down in every text the
// event carries (the path, the excerpt, the point) and replaced, whole, by
// "***" or, when a node-local key is configured, by a keyed hash that lets
// the console correlate equal values without learning them. A value that
// sits inside an encoded layer (base64 inside JSON, a JWT, a gzip body)
// makes the enclosing value sensitive when it cannot be found there as
// such. In "limit data export" mode every value is masked and only the
// structure (punctuation, points, attack type) remains.
//
// Handler applies the same rules to log records.
package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"html"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/palisadewaf/palisade/cloud/apiv1/point"
)

// Redacted replaces a masked value when no correlation key is configured.
const Redacted = "***"

// MinHuntLen is the shortest sensitive value that is hunted for in other
// texts. Shorter values ("ab", "42") are masked where they sit and where a
// sensitive name precedes them ("pin=42"), but not wherever the same two
// characters occur, which would erase unrelated text.
const MinHuntLen = 4

// SensitiveFunc reports whether an application's rules mark a point as
// sensitive data (covering the points beneath it). The detection engine's
// compiled rules provide it.
type SensitiveFunc func(appID int64, p point.Point) bool

// Config configures a Masker.
type Config struct {
	// Sensitive tells which points rules mark as sensitive. May be nil.
	Sensitive SensitiveFunc
	// CorrelationKey, when set, replaces masked values by an HMAC-SHA256
	// under this node-local key ("[hmac:kdpgfbmcaoejnhil]") instead of
	// "***": equal values give equal tags on this node, and the key never
	// leaves it. At least 16 bytes.
	CorrelationKey []byte
	// LimitExport masks every value and keeps only the structure.
	LimitExport bool
	// ExtraNames are more sensitive names, added to DefaultNames.
	ExtraNames []string
}

// Masker holds the masking rules of a node. It is safe for concurrent use.
type Masker struct {
	cfg   Config
	names *names
}

var errShortKey = errors.New("mask: correlation key shorter than 16 bytes")

// New returns a Masker.
func New(cfg Config) (*Masker, error) {
	if cfg.CorrelationKey != nil && len(cfg.CorrelationKey) < 16 {
		return nil, errShortKey
	}
	return &Masker{cfg: cfg, names: newNames(cfg.ExtraNames)}, nil
}

// Value is one value of a request at its point, decoded, as the detection
// engine walked it.
type Value struct {
	Point point.Point
	Value string
}

// Secrets is what must be hidden for one request, ready to mask the texts of
// its events.
type Secrets struct {
	m     *Masker
	appID int64
	// sensitive holds the points (as strings) whose values are masked
	// whole; subtree those whose decodings are masked too (a value a
	// detector recognised as a whole: the claims of a JWT are part of it).
	sensitive map[string]bool
	subtree   map[string]bool
	// hunt are the sensitive values, and their encodings, searched for in
	// every text; key is what the correlation hash is computed over (the
	// value, not its encoding).
	hunt    []huntEntry
	hunted  map[string]bool // hunt's texts
	maxHunt int
}

type huntEntry struct {
	text, key string
}

// ForRequest finds every sensitive value of a request. values are all the
// (point, decoded value) pairs the detection engine walked.
func (m *Masker) ForRequest(appID int64, values []Value) *Secrets {
	s := &Secrets{m: m, appID: appID, sensitive: make(map[string]bool), subtree: make(map[string]bool)}
	// found[i] are the sensitive texts found in values[i].
	found := make([][]string, len(values))
	var work []int
	// First the values sensitive by their point, so that inline values
	// found next can be cut to the known value.
	plainValues := make([]int, 0, len(values))
	for i, v := range values {
		if !m.pointSensitive(appID, v.Point) {
			plainValues = append(plainValues, i)
			continue
		}
		s.sensitive[v.Point.String()] = true
		found[i] = []string{v.Value}
		s.add(v.Value)
		work = append(work, i)
	}
	var spans []span
	for _, i := range plainValues {
		v := values[i]
		if s.inSubtree(v.Point) {
			// Beneath a value a detector recognised whole (listed before
			// its decodings).
			s.sensitive[v.Point.String()] = true
			found[i] = []string{v.Value}
			s.add(v.Value)
			work = append(work, i)
			continue
		}
		spans = findValues(v.Value, spans[:0])
		n := len(spans)
		spans = m.names.findAssignments(v.Value, spans, decoded)
		for j := n; j < len(spans); j++ {
			spans[j].end = s.knownEnd(v.Value, spans[j])
		}
		for _, sp := range spans {
			found[i] = append(found[i], v.Value[sp.start:sp.end])
			s.add(v.Value[sp.start:sp.end])
			if sp.start == 0 && sp.end == len(v.Value) {
				s.sensitive[v.Point.String()] = true
				s.subtree[v.Point.String()] = true
			}
		}
		if len(spans) > 0 {
			work = append(work, i)
		}
	}
	if len(work) == 0 {
		return s
	}
	// A sensitive value inside a layer must not reach the cloud through
	// the values that hold it: walking up from it, each holder must show
	// it as such or in a hunted encoding; a holder that does not (base64,
	// gzip, a JWT) is masked whole, and its own holders must then hide it.
	byPoint := make(map[string][]int, len(values))
	for i, v := range values {
		k := v.Point.String()
		byPoint[k] = append(byPoint[k], i)
	}
	for _, i := range work {
		secrets := found[i]
		for p := values[i].Point; p.Len() > 0; {
			p = p.Parent()
			k := p.String()
			for _, j := range byPoint[k] {
				switch {
				case s.sensitive[k]:
				case s.locatable(values[j].Value, secrets):
					continue
				default:
					s.sensitive[k] = true
					s.add(values[j].Value)
				}
				secrets = []string{values[j].Value}
			}
		}
	}
	return s
}

// pointSensitive reports whether a point is sensitive by a name on it or
// by a rule.
func (m *Masker) pointSensitive(appID int64, p point.Point) bool {
	return m.names.sensitivePoint(p) || m.cfg.Sensitive != nil && m.cfg.Sensitive(appID, p)
}

// locatable reports whether every secret is present in holder as such or
// in one of the encodings hunted for.
func (s *Secrets) locatable(holder string, secrets []string) bool {
	for _, sec := range secrets {
		if len(sec) < MinHuntLen {
			continue // not hunted; the names rules mask it in place
		}
		ok := false
		for _, v := range encodings(sec) {
			if strings.Contains(holder, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// add registers a sensitive value and its encodings for hunting.
func (s *Secrets) add(v string) {
	if len(v) < MinHuntLen {
		return
	}
	if s.hunted == nil {
		s.hunted = make(map[string]bool)
	}
	for _, e := range encodings(v) {
		if !s.hunted[e] {
			s.hunted[e] = true
			s.hunt = append(s.hunt, huntEntry{text: e, key: v})
			s.maxHunt = max(s.maxHunt, len(e))
		}
	}
}

// encodings returns v and the forms it commonly takes inside another
// value: percent-encoded (query and path rules, either hex case), and
// JSON- and HTML-escaped. Only forms that differ from v are computed.
func encodings(v string) []string {
	out := []string{v}
	add := func(e string) {
		if e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if strings.IndexFunc(v, needsPercent) >= 0 {
		q := url.QueryEscape(v)
		add(q)
		add(lowerPercent(q))
		add(url.PathEscape(v))
		add(strings.ReplaceAll(q, "+", "%20"))
	}
	if strings.ContainsFunc(v, func(r rune) bool {
		return r < 0x20 || r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r == 0x2028 || r == 0x2029
	}) {
		if b, err := json.Marshal(v); err == nil {
			add(string(b[1 : len(b)-1]))
		}
		add(jsonNoHTML(v))
		add(html.EscapeString(v))
	} else if strings.ContainsRune(v, '\'') {
		add(html.EscapeString(v))
	}
	return out
}

// needsPercent reports whether r is escaped by url.QueryEscape.
func needsPercent(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~')
}

func jsonNoHTML(v string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return ""
	}
	out := strings.TrimSuffix(b.String(), "\n")
	return out[1 : len(out)-1]
}

func lowerPercent(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if c >= 'A' && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// Sensitive reports whether the value at p is masked whole.
func (s *Secrets) Sensitive(p point.Point) bool {
	return s.sensitive[p.String()] || s.m.pointSensitive(s.appID, p) || s.inSubtree(p) || s.decodedFromSensitive(p, p.Len())
}

// decodedFromSensitive reports whether the first n steps of p lie in a
// decoding (a layer) of a value sensitive by its point: what the engine
// read inside an API key sent as a form or as base64, names included, is
// the key.
func (s *Secrets) decodedFromSensitive(p point.Point, n int) bool {
	for p.Len() > n {
		p = p.Parent()
	}
	for p.Len() > 0 {
		layer := p.Step(p.Len()-1).Kind == point.Layer
		p = p.Parent() // the value the layer decodes
		if layer && s.m.pointSensitive(s.appID, p) {
			return true
		}
	}
	return false
}

// inSubtree reports whether p lies beneath a value masked with its
// decodings.
func (s *Secrets) inSubtree(p point.Point) bool {
	if len(s.subtree) == 0 {
		return false
	}
	for p.Len() > 0 {
		p = p.Parent()
		if s.subtree[p.String()] {
			return true
		}
	}
	return false
}

// spansIn finds what must be masked in text[from:to]: every hunted value
// (searched a little beyond the window, so that one cut by the window is
// still found), value detector matches and inline "name=value" pairs.
func (s *Secrets) spansIn(text string, from, to int, kind textKind) []span {
	lo, hi := max(0, from-s.maxHunt), min(len(text), to+s.maxHunt)
	region := text[lo:hi]
	var spans []span
	for _, h := range s.hunt {
		for off := 0; ; {
			k := strings.Index(region[off:], h.text)
			if k < 0 {
				break
			}
			spans = append(spans, span{start: lo + off + k, end: lo + off + k + len(h.text), key: h.key})
			off += k + 1
		}
	}
	// Detectors look at some context around the window: a token cut by
	// the window's edge is still recognised.
	clo, chi := max(0, from-detectorContext), min(len(text), to+detectorContext)
	n := len(spans)
	spans = findValues(text[clo:chi], spans)
	for i := n; i < len(spans); i++ {
		spans[i].start += clo
		spans[i].end += clo
	}
	// In a decoded text an inline value runs to the end of the text, so
	// a name anywhere before the window counts.
	alo := clo
	if kind == decoded {
		alo = 0
	}
	n = len(spans)
	spans = s.m.names.findAssignments(text[alo:chi], spans, kind)
	for i := n; i < len(spans); i++ {
		spans[i].start += alo
		spans[i].end += alo
		spans[i].end = s.knownEnd(text, spans[i])
	}
	return spans
}

// knownEnd returns where an inline value found at sp ends: where a known
// sensitive value that starts there ends (no need to hide what follows
// it), else where the finder said.
func (s *Secrets) knownEnd(text string, sp span) int {
	best := -1
	for _, h := range s.hunt {
		if len(h.text) > best && len(h.text) <= sp.end-sp.start && strings.HasPrefix(text[sp.start:], h.text) {
			best = len(h.text)
		}
	}
	if best < 0 {
		return sp.end
	}
	return sp.start + best
}

// detectorContext is how far around a window value detectors look.
const detectorContext = 512

// token is what replaces a masked text.
func (s *Secrets) token(masked, key string) string {
	if s.m.cfg.CorrelationKey == nil || s.m.cfg.LimitExport {
		return Redacted
	}
	if key == "" {
		key = masked
	}
	mac := hmac.New(sha256.New, s.m.cfg.CorrelationKey)
	mac.Write([]byte(key))
	return "[hmac:" + letterHex(mac.Sum(nil)[:8]) + "]"
}

// hasNew reports whether spans mask anything not masked already.
func hasNew(text string, spans []span) bool {
	for _, sp := range spans {
		if !isToken(text[sp.start:sp.end]) {
			return true
		}
	}
	return false
}

// letterHex writes b in hexadecimal with the letters a to p for the
// digits 0 to f. A tag of digits could read as a card number (16 hex
// digits hold a Luhn-valid run of 13 now and then), which the cloud
// rightly refuses; letters cannot.
func letterHex(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = 'a'+c>>4, 'a'+c&0x0f
	}
	return string(out)
}

// isToken reports whether t is what masking put there: masking it again
// would change nothing but the report that something was masked.
func isToken(t string) bool {
	if t == Redacted {
		return true
	}
	h, ok := strings.CutPrefix(t, "[hmac:")
	if !ok || len(h) != 17 || h[16] != ']' {
		return false
	}
	for i := range 16 {
		if h[i] < 'a' || h[i] > 'p' {
			return false
		}
	}
	return true
}

// render returns text[from:to] with every span that reaches into it
// replaced by a token; a span cut by the window is replaced whole. With
// shape (limit-export mode) the text between spans keeps only its
// structure.
func (s *Secrets) render(text string, spans []span, from, to int, shape bool) (string, bool) {
	if len(spans) == 0 {
		if shape {
			return structure(text[from:to])
		}
		return text[from:to], false
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	merged := spans[:1]
	for _, sp := range spans[1:] {
		last := &merged[len(merged)-1]
		if sp.start < last.end {
			if sp.end > last.end || sp.key != last.key {
				last.key = "" // a mixture: hash the text
			}
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	var b strings.Builder
	pos, masked := from, false
	emit := func(seg string) {
		if shape {
			var m bool
			seg, m = structure(seg)
			masked = masked || m
		}
		b.WriteString(seg)
	}
	for _, sp := range merged {
		if sp.end <= from || sp.start >= to || isToken(text[sp.start:sp.end]) {
			continue
		}
		if sp.start > pos {
			emit(text[pos:sp.start])
		}
		b.WriteString(s.token(text[sp.start:sp.end], sp.key))
		masked = true
		pos = max(pos, sp.end)
	}
	if pos < to {
		emit(text[pos:to])
	}
	return b.String(), masked
}

// Text masks every sensitive value in a whole text: hunted values, value
// detector matches and inline "name=value" pairs (to the end of the line:
// the text is taken as decoded).
func (s *Secrets) Text(text string) (string, bool) {
	return s.text(text, decoded)
}

func (s *Secrets) text(text string, kind textKind) (string, bool) {
	return s.render(text, s.spansIn(text, 0, len(text), kind), 0, len(text), s.m.cfg.LimitExport)
}

// Meta masks a text that describes the request rather than carries its
// values (host, method, source address, request id): sensitive values
// and value detector matches are masked, and limit-export mode keeps it.
func (s *Secrets) Meta(text string) (string, bool) {
	return s.render(text, s.spansIn(text, 0, len(text), plain), 0, len(text), false)
}

// Path masks a request target (path and query, as sent). Path segments
// and query arguments whose points are sensitive (by name or rule) are
// masked in place, however short; then every sensitive value is hunted
// as in Text. When a sensitive value shows up only once the target is
// percent-decoded, the decoded target is masked and returned instead. The
// result is at most limit bytes.
func (s *Secrets) Path(raw string, limit int) (path string, masked, truncated bool) {
	if s.Sensitive(point.Path()) {
		return s.token(raw, ""), true, false
	}
	path, masked = s.maskTargetParts(raw)
	var more bool
	path, more = s.text(path, encoded)
	masked = masked || more
	// A value hidden by an unusual percent-encoding: give up the encoded
	// form.
	if dec, err := url.PathUnescape(path); err == nil && dec != path {
		if spans := s.spansIn(dec, 0, len(dec), plain); hasNew(dec, spans) {
			path, _ = s.render(dec, spans, 0, len(dec), s.m.cfg.LimitExport)
			masked = true
		}
	}
	path, truncated = truncate(path, limit)
	return path, masked, truncated
}

// maskTargetParts replaces the path segments and query values whose points
// are sensitive.
func (s *Secrets) maskTargetParts(raw string) (string, bool) {
	p, query, hasQuery := strings.Cut(raw, "?")
	masked := false
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, seg := range segs {
		if seg != "" && s.Sensitive(point.Path().Index(i)) {
			dec, err := url.PathUnescape(seg)
			if err != nil {
				dec = seg
			}
			segs[i], masked = s.token(dec, dec), true
		}
	}
	out := strings.Join(segs, "/")
	if strings.HasPrefix(p, "/") {
		out = "/" + out
	}
	if !hasQuery {
		return out, masked
	}
	args := strings.Split(query, "&")
	for i, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok || value == "" {
			continue
		}
		dn, err := url.QueryUnescape(name)
		if err != nil {
			dn = name
		}
		if s.Sensitive(point.Query(dn)) {
			dv, err := url.QueryUnescape(value)
			if err != nil {
				dv = value
			}
			args[i], masked = name+"="+s.token(dv, dv), true
		}
	}
	return out + "?" + strings.Join(args, "&"), masked
}

// Excerpt returns a window of at most limit bytes of the value at p around
// value[start:end] (the matched fragment), masked. A value that is
// sensitive itself is masked whole, however it matched.
func (s *Secrets) Excerpt(p point.Point, value string, start, end, limit int) (excerpt string, masked, truncated bool) {
	start, end = clamp(start, len(value)), clamp(end, len(value))
	if end < start {
		start, end = end, start
	}
	if s.Sensitive(p) {
		// The whole value is its placeholder, which the limit bounds too
		// (a limit shorter than "***" cuts it).
		ex, cut := truncate(s.token(value, value), limit)
		return ex, true, cut
	}
	from, to := window(value, start, end, limit)
	truncated = from > 0 || to < len(value)
	excerpt, masked = s.render(value, s.spansIn(value, from, to, decoded), from, to, s.m.cfg.LimitExport)
	if cut, more := truncate(excerpt, limit); more {
		excerpt, truncated = cut, true
	}
	return excerpt, masked, truncated
}

// window picks [from, to) around [start, end) of about limit bytes, on
// UTF-8 boundaries: the match first, then context shared on both sides.
func window(v string, start, end, limit int) (int, int) {
	if end-start >= limit {
		return start, runeStart(v, start+limit, start)
	}
	ctx := (limit - (end - start)) / 2
	from, to := max(0, start-ctx), min(len(v), end+ctx)
	// Give context unused on one side to the other.
	if from == 0 {
		to = min(len(v), from+limit)
	} else if to == len(v) {
		from = max(0, to-limit)
	}
	for n := 0; n < utf8.UTFMax-1 && from < start && !utf8.RuneStart(v[from]); n++ {
		from++
	}
	return from, runeStart(v, to, end)
}

// runeStart moves i back to the start of the rune it falls in, but not
// below floor nor further than a rune's length (in invalid UTF-8 there
// may be no rune start at all).
func runeStart(v string, i, floor int) int {
	if i >= len(v) {
		return len(v)
	}
	for n := 0; n < utf8.UTFMax-1 && i > floor && !utf8.RuneStart(v[i]); n++ {
		i--
	}
	return i
}

func clamp(i, n int) int { return max(0, min(i, n)) }

// truncate cuts s to at most limit bytes on a rune boundary.
func truncate(s string, limit int) (string, bool) {
	if limit <= 0 || len(s) <= limit {
		return s, false
	}
	return s[:runeStart(s, limit, 0)], true
}

// Point masks the names inside a point (JSON keys and the like may carry
// data: an email used as a key), keeping it a valid point.
func (s *Secrets) Point(p point.Point) (point.Point, bool) {
	steps := p.Steps()
	masked := false
	for i, st := range steps {
		if st.Kind != point.Field && st.Kind != point.Attr {
			continue
		}
		if s.decodedFromSensitive(p, i) {
			steps[i].Name, masked = s.token(st.Name, st.Name), true
			continue
		}
		// Names are structure: even limit-export mode keeps them.
		name, m := s.render(st.Name, s.spansIn(st.Name, 0, len(st.Name), plain), 0, len(st.Name), false)
		if m {
			steps[i].Name, masked = name, true
		}
	}
	if !masked {
		return p, false
	}
	return point.New(p.Root(), steps...), true
}

// structure keeps only the shape of a text: every run of letters and
// digits becomes "***", punctuation and spaces stay. "' OR 1=1--" becomes
// "' *** ***=***--".
func structure(text string) (string, bool) {
	var b strings.Builder
	in, masked := false, false
	for _, r := range text {
		word := r == '_' || r >= utf8.RuneSelf || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		switch {
		case word && !in:
			b.WriteString(Redacted)
			in, masked = true, true
		case word:
		default:
			in = false
			b.WriteRune(r)
		}
	}
	return b.String(), masked
}
