package report

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Per-source counting (apiv1.SourceCounters): how many requests, and how
// many answers 404, each source sent to each path of each application in
// a minute. The cloud's brute-force triggers read the requests to a path,
// its forced-browsing triggers the 404s of a source.
//
// Memory is bounded per minute: at most Config.MaxSources sources and
// Config.MaxSourcePaths (source, path) pairs. When a table is full, the
// lighter half of it is evicted at once (a sort of the counts, amortised
// over the half that can then fill again), so a source or path that keeps
// coming back outgrows the newcomers and stays:
//
//   - an evicted (source, path) pair keeps counting under its source: its
//     requests go to the source's row with an empty path, which forced
//     browsing still sees (it sums a source's 404s over every path) and
//     brute force does not (it needs the path);
//   - an evicted source is forgotten for the rest of the minute, with its
//     paths.
//
// Both are counted in palisade_report_source_requests_uncounted_total
// (reason path_cap or source_cap), in requests. Counts are never inflated:
// a source the node sends is at most undercounted, so a trigger never
// fires on requests that did not happen.

// unattributedPath is the path of the row that carries a source's requests
// not counted under their own path.
const unattributedPath = ""

type sourceKey struct {
	app  int64
	addr netip.Addr
}

type sourcePathKey struct {
	sourceKey
	path string
}

type hits struct {
	requests, notFound uint64
}

func (h *hits) add(requests, notFound uint64) {
	h.requests += requests
	h.notFound += notFound
}

// sourceMinute is one minute of per-source counts.
type sourceMinute struct {
	minute  time.Time
	sources map[sourceKey]*hits
	paths   map[sourcePathKey]*hits
	// restored are the masked rows of this minute that Close saved
	// before a restart; they are merged in when the minute is spooled.
	restored []apiv1.SourceCounters
}

func newSourceMinute(minute time.Time) *sourceMinute {
	return &sourceMinute{
		minute:  minute,
		sources: make(map[sourceKey]*hits),
		paths:   make(map[sourcePathKey]*hits),
	}
}

// CountSource counts one request of application app from source to
// target (the request target as sent: the query is left out, the path
// normalised) answered with status. It is called once per request, after
// the response, whatever the request carried; a request already counted
// under its path costs a map look-up under a mutex and no allocation.
func (r *Reporter) CountSource(app int64, source netip.Addr, target string, status int) {
	if !source.IsValid() {
		return
	}
	minute := r.now().UTC().Truncate(time.Minute)
	path := normalizePath(target)
	var nf uint64
	if status == 404 {
		nf = 1
	}
	sk := sourceKey{app: app, addr: source.Unmap().WithZone("")}
	r.smu.Lock()
	defer r.smu.Unlock()
	w := r.sourceMinutes[minute.Unix()]
	if w == nil {
		w = newSourceMinute(minute)
		r.sourceMinutes[minute.Unix()] = w
	}
	s := w.sources[sk]
	if s == nil {
		if len(w.sources) >= r.cfg.MaxSources {
			r.m.uncounted.WithLabelValues(reasonSourceCap).Add(float64(w.evictSources()))
		}
		s = &hits{}
		w.sources[sk] = s
	}
	s.add(1, nf)
	pk := sourcePathKey{sourceKey: sk, path: path}
	p := w.paths[pk]
	if p == nil {
		if len(w.paths) >= r.cfg.MaxSourcePaths {
			r.m.uncounted.WithLabelValues(reasonPathCap).Add(float64(w.evictPaths()))
		}
		// The target may live in a buffer the proxy reuses.
		pk.path = strings.Clone(path)
		p = &hits{}
		w.paths[pk] = p
	}
	p.add(1, nf)
}

// evictSources forgets the lighter half of the sources, with their paths,
// and answers how many requests they had.
func (w *sourceMinute) evictSources() uint64 {
	cut := lighterHalf(w.sources)
	var lost uint64
	for k, h := range w.sources {
		if cut(h) {
			lost += h.requests
			delete(w.sources, k)
		}
	}
	for k := range w.paths {
		if _, ok := w.sources[k.sourceKey]; !ok {
			delete(w.paths, k)
		}
	}
	return lost
}

// evictPaths forgets the lighter half of the (source, path) pairs; their
// requests stay counted in their source's total. It answers how many
// requests lost their path.
func (w *sourceMinute) evictPaths() uint64 {
	cut := lighterHalf(w.paths)
	var moved uint64
	for k, h := range w.paths {
		if cut(h) {
			moved += h.requests
			delete(w.paths, k)
		}
	}
	return moved
}

// lighterHalf answers a predicate that is true for about half of the
// entries of m, those with the fewest requests (at least one entry).
// Entries tied with the median go until half are gone.
func lighterHalf[K comparable](m map[K]*hits) func(*hits) bool {
	counts := make([]uint64, 0, len(m))
	for _, h := range m {
		counts = append(counts, h.requests)
	}
	slices.Sort(counts)
	median := counts[len(counts)/2]
	below := 0
	for _, c := range counts {
		if c < median {
			below++
		}
	}
	ties := max(len(counts)/2-below, 0)
	if below == 0 {
		ties = max(ties, 1)
	}
	return func(h *hits) bool {
		switch {
		case h.requests < median:
			return true
		case h.requests == median && ties > 0:
			ties--
			return true
		}
		return false
	}
}

// normalizePath reduces a request target to the path a trigger names:
// without query or fragment, absolute-form reduced to its path, unreserved
// characters percent-decoded, dot segments resolved and repeated slashes
// collapsed, so that "//login", "/./login" and "/%6Cogin" count as
// "/login". A path already in that form is returned as is, without
// allocating. The result is at most apiv1.MaxPathLen bytes before masking.
func normalizePath(target string) string {
	if i := strings.IndexAny(target, "?#"); i >= 0 {
		target = target[:i]
	}
	for _, scheme := range []string{"http://", "https://"} {
		if rest, ok := strings.CutPrefix(target, scheme); ok {
			target = "/"
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				target = rest[i:]
			}
			break
		}
	}
	if target == "" || target[0] != '/' {
		if target == "*" {
			return target
		}
		target = "/" + target
	}
	if needsCleaning(target) {
		target = cleanPath(target)
	}
	if len(target) > 1 {
		// A trigger on /login covers /login/ anyway.
		target = strings.TrimSuffix(target, "/")
	}
	return cut(target, apiv1.MaxPathLen)
}

// needsCleaning reports whether p has a percent-escape, a repeated slash
// or a dot segment.
func needsCleaning(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '%':
			return true
		case '/':
			if i+1 < len(p) && p[i+1] == '/' {
				return true
			}
			if i+1 < len(p) && p[i+1] == '.' {
				rest := p[i+1:]
				if rest == "." || rest == ".." || strings.HasPrefix(rest, "./") || strings.HasPrefix(rest, "../") {
					return true
				}
			}
		}
	}
	return false
}

// cleanPath decodes the escapes of unreserved characters (RFC 3986
// section 6.2.2.2; other escapes keep their form, in upper case), then
// resolves dot segments and collapses repeated slashes.
func cleanPath(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			d := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(d) {
				b.WriteByte(d)
			} else {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(p[i+1 : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	var segs []string
	for seg := range strings.SplitSeq(b.String(), "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
	}
	return "/" + strings.Join(segs, "/")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// sourceRows turns a minute's counts into the rows the cloud gets: each
// path masked like an event's (a path that masks to the same text as
// another is summed with it, since the cloud keeps one row per path), and
// per source one row with an empty path for its requests not counted
// under their path.
func (r *Reporter) sourceRows(w *sourceMinute) []apiv1.SourceCounters {
	type rowKey struct {
		app        int64
		addr, path string
	}
	rows := make(map[rowKey]*apiv1.SourceCounters, len(w.paths)+len(w.restored))
	add := func(app int64, addr, path string, requests, notFound uint64) {
		k := rowKey{app, addr, path}
		c := rows[k]
		if c == nil {
			c = &apiv1.SourceCounters{AppID: app, Minute: w.minute, SourceIP: addr, Path: path}
			rows[k] = c
		}
		c.Requests += requests
		c.NotFound += notFound
	}
	attributed := make(map[sourceKey]hits, len(w.sources))
	for k, h := range w.paths {
		path := unattributedPath
		if k.path != unattributedPath {
			path, _, _ = r.cfg.Masker.ForRequest(k.app, nil).Path(k.path, apiv1.MaxPathLen)
		}
		add(k.app, k.addr.String(), path, h.requests, h.notFound)
		a := attributed[k.sourceKey]
		a.add(h.requests, h.notFound)
		attributed[k.sourceKey] = a
	}
	for k, h := range w.sources {
		a := attributed[k]
		if h.requests > a.requests {
			add(k.app, k.addr.String(), unattributedPath, h.requests-a.requests, h.notFound-min(a.notFound, h.notFound))
		}
	}
	for _, c := range w.restored {
		add(c.AppID, c.SourceIP, c.Path, c.Requests, c.NotFound)
	}
	out := make([]apiv1.SourceCounters, 0, len(rows))
	for _, c := range rows {
		out = append(out, *c)
	}
	// In a stable order: the same minute spools the same way.
	slices.SortFunc(out, func(a, b apiv1.SourceCounters) int {
		return cmp.Or(cmp.Compare(a.AppID, b.AppID), strings.Compare(a.SourceIP, b.SourceIP), strings.Compare(a.Path, b.Path))
	})
	return out
}

// takeSourceMinutes removes the minutes before current (all of them when
// current is zero) from the counting tables.
func (r *Reporter) takeSourceMinutes(current time.Time) []*sourceMinute {
	r.smu.Lock()
	defer r.smu.Unlock()
	var out []*sourceMinute
	for m, w := range r.sourceMinutes {
		if current.IsZero() || m < current.Unix() {
			out = append(out, w)
			delete(r.sourceMinutes, m)
		}
	}
	return out
}

// spoolClosedSourceMinutes spools the per-source rows of every minute that
// has ended, one record per row: an upload of at most BatchEvents records
// stays within apiv1.MaxBatchSources.
func (r *Reporter) spoolClosedSourceMinutes(now time.Time) {
	for _, w := range r.takeSourceMinutes(now.UTC().Truncate(time.Minute)) {
		rows := r.sourceRows(w)
		lost := 0
		for i := range rows {
			if err := rows[i].Validate(); err != nil {
				lost++
				r.log.Error("report: source counters invalid", "app_id", rows[i].AppID, "minute", w.minute, "err", err)
				continue
			}
			if err := r.spoolRecord(kindSources, &rows[i]); err != nil {
				lost++
				r.log.Error("report: source counters lost", "app_id", rows[i].AppID, "minute", w.minute, "err", err)
			}
		}
		if lost > 0 {
			r.log.Error("report: per-source counters of a minute not spooled", "minute", w.minute, "rows", lost)
		}
	}
}

// sourcesFile holds the masked per-source rows of minutes not yet spooled
// across a restart.
func (r *Reporter) sourcesFile() string { return filepath.Join(r.cfg.Dir, "sources.json") }

// saveSources writes the minutes not yet spooled as masked rows: nothing
// unmasked reaches the disk.
func (r *Reporter) saveSources() error {
	var rows []apiv1.SourceCounters
	for _, w := range r.takeSourceMinutes(time.Time{}) {
		rows = append(rows, r.sourceRows(w)...)
	}
	if len(rows) == 0 {
		os.Remove(r.sourcesFile())
		return nil
	}
	body, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("save source counters: %w", err)
	}
	tmp := r.sourcesFile() + ".new"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return fmt.Errorf("save source counters: %w", err)
	}
	if err := os.Rename(tmp, r.sourcesFile()); err != nil {
		return fmt.Errorf("save source counters: %w", err)
	}
	return nil
}

// loadSources reads the rows saveSources wrote, once.
func (r *Reporter) loadSources() error {
	body, err := os.ReadFile(r.sourcesFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer os.Remove(r.sourcesFile())
	var rows []apiv1.SourceCounters
	if err := json.Unmarshal(body, &rows); err != nil {
		return fmt.Errorf("%s: %w", r.sourcesFile(), err)
	}
	r.smu.Lock()
	defer r.smu.Unlock()
	for _, c := range rows {
		if c.Validate() != nil {
			continue
		}
		m := c.Minute.UTC()
		w := r.sourceMinutes[m.Unix()]
		if w == nil {
			w = newSourceMinute(m)
			r.sourceMinutes[m.Unix()] = w
		}
		w.restored = append(w.restored, c)
	}
	return nil
}
