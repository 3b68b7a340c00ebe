package api

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Rules, IP-list entries, and the signed ruleset nodes long-poll
// (docs/RULES.md). Every write is validated with the same checks a node
// runs (apiv1.Rule.Validate), so the cloud never stores what it could not
// sign and a node would refuse.

func (s *Server) listRules(r *http.Request, p *principal) (any, error) {
	rs, err := s.store.ListRules(r.Context(), p.tenantID)
	return apitypes.List[apitypes.Rule]{Items: rs}, err
}

func (s *Server) getRule(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rule, err := s.store.GetRule(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("rule")
	}
	return rule, err
}

// ruleFromBody decodes and validates a rule, and checks that its
// application is the tenant's.
func (s *Server) ruleFromBody(r *http.Request, p *principal) (apiv1.Rule, error) {
	var rule apiv1.Rule
	if err := decodeBody(r, &rule, maxBodyBytes); err != nil {
		return rule, err
	}
	rule.ID = 0
	if err := rule.Validate(); err != nil {
		return rule, badRequest("body: %v", err)
	}
	if err := s.checkAppIDs(r.Context(), p.tenantID, rule.AppID); err != nil {
		return rule, err
	}
	return rule, nil
}

func (s *Server) checkAppIDs(ctx context.Context, tenantID int64, ids ...int64) error {
	for _, id := range ids {
		if id == 0 {
			continue
		}
		if _, err := s.store.GetApp(ctx, tenantID, id); isNotFound(err) {
			return badRequest("body: application %d does not exist", id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) createRule(r *http.Request, p *principal) (any, error) {
	rule, err := s.ruleFromBody(r, p)
	if err != nil {
		return nil, err
	}
	sr := store.Rule{TenantID: p.tenantID, Rule: rule}
	if err := s.store.CreateRule(r.Context(), p.actor(), &sr); err != nil {
		return nil, err
	}
	return sr, nil
}

func (s *Server) replaceRule(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rule, err := s.ruleFromBody(r, p)
	if err != nil {
		return nil, err
	}
	rule.ID = id
	sr := store.Rule{TenantID: p.tenantID, Rule: rule}
	if err := s.store.ReplaceRule(r.Context(), p.actor(), &sr); isNotFound(err) {
		return nil, notFound("rule")
	} else if err != nil {
		return nil, err
	}
	return sr, nil
}

func (s *Server) deleteRule(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteRule(r.Context(), p.actor(), p.tenantID, id); isNotFound(err) {
		return nil, notFound("rule")
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

func (s *Server) listIPEntries(r *http.Request, p *principal) (any, error) {
	es, err := s.store.ListIPEntries(r.Context(), p.tenantID, s.cfg.Now())
	return apitypes.List[apitypes.IPEntry]{Items: es}, err
}

func (s *Server) createIPEntry(r *http.Request, p *principal) (any, error) {
	var req apitypes.CreateIPEntryRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	prefix, err := parseEntryPrefix(req.Prefix)
	if err != nil {
		return nil, err
	}
	e := store.IPEntry{TenantID: p.tenantID, IPEntry: apiv1.IPEntry{
		List: req.List, Prefix: prefix, Reason: req.Reason, AppIDs: req.AppIDs, Origin: apiv1.OriginManual,
	}}
	if req.Expires != nil {
		if !req.Expires.After(s.cfg.Now()) {
			return nil, badRequest("body: expires %s is in the past", req.Expires.Format(time.RFC3339))
		}
		e.Expires = req.Expires.UTC()
	}
	if err := e.Validate(); err != nil {
		return nil, badRequest("body: %v", err)
	}
	if err := s.checkAppIDs(r.Context(), p.tenantID, req.AppIDs...); err != nil {
		return nil, err
	}
	if err := s.checkOverlap(r.Context(), p.tenantID, &e.IPEntry); err != nil {
		return nil, err
	}
	if err := s.store.CreateIPEntry(r.Context(), p.actor(), &e); isConflict(err) {
		return nil, conflict("an entry for %s with the same application scope exists", prefix)
	} else if err != nil {
		return nil, err
	}
	return e, nil
}

// checkOverlap refuses an entry whose prefix overlaps one of another list
// for the same applications: whether 198.18.0.0/16 in deny and
// 198.18.1.0/24 in gray should gray or drop is a question for a person,
// not something to settle by precedence rules nobody reads.
func (s *Server) checkOverlap(ctx context.Context, tenantID int64, e *apiv1.IPEntry) error {
	existing, err := s.store.ListIPEntries(ctx, tenantID, s.cfg.Now())
	if err != nil {
		return err
	}
	for _, x := range existing {
		if x.List != e.List && x.Prefix.Overlaps(e.Prefix) && scopesOverlap(x.AppIDs, e.AppIDs) {
			return conflict("%s overlaps %s in the %s list (entry %d); remove it first or use the same list", e.Prefix, x.Prefix, x.List, x.ID)
		}
	}
	return nil
}

// scopesOverlap says whether two application scopes share an application
// (an empty scope is every application).
func scopesOverlap(a, b []int64) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// maxImportBytes bounds one bulk import: a million entries with room for
// reasons.
const maxImportBytes = 256 << 20

// importIPEntries streams an NDJSON body (one CreateIPEntryRequest per
// line) into the store: each line is validated as it is read, and a bad
// line stops the import with its number, nothing stored. Entries are not
// checked for overlaps with other lists (that check is per entry in
// createIPEntry); an entry for a prefix and scope that exists replaces it.
func (s *Server) importIPEntries(r *http.Request, p *principal) (any, error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-ndjson" {
		return nil, &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "body: Content-Type must be application/x-ndjson (one entry per line)"}
	}
	apps, err := s.store.ListApps(r.Context(), p.tenantID)
	if err != nil {
		return nil, err
	}
	known := map[int64]bool{}
	for _, a := range apps {
		known[a.ID] = true
	}
	now := s.cfg.Now()
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxImportBytes))
	dec.DisallowUnknownFields()
	line := 0
	next := func() (*store.IPEntry, error) {
		var req apitypes.CreateIPEntryRequest
		if err := dec.Decode(&req); err == io.EOF {
			return nil, io.EOF
		} else if err != nil {
			return nil, badRequest("entry %d: %v", line+1, bodyError(err, maxImportBytes))
		}
		line++
		prefix, err := parseEntryPrefix(req.Prefix)
		if err != nil {
			return nil, badRequest("entry %d: %v", line, err)
		}
		e := &store.IPEntry{TenantID: p.tenantID, IPEntry: apiv1.IPEntry{
			List: req.List, Prefix: prefix, Reason: req.Reason, AppIDs: req.AppIDs, Origin: apiv1.OriginImport}}
		if req.Expires != nil {
			if !req.Expires.After(now) {
				return nil, badRequest("entry %d: expires %s is in the past", line, req.Expires.Format(time.RFC3339))
			}
			e.Expires = req.Expires.UTC()
		}
		if err := e.Validate(); err != nil {
			return nil, badRequest("entry %d: %v", line, err)
		}
		for _, id := range e.AppIDs {
			if !known[id] {
				return nil, badRequest("entry %d: application %d does not exist", line, id)
			}
		}
		return e, nil
	}
	n, err := s.store.ImportIPEntries(r.Context(), p.actor(), p.tenantID, next)
	var ae *apiError
	if errors.As(err, &ae) {
		return nil, ae
	}
	if err != nil {
		return nil, err
	}
	return apitypes.ImportResult{Imported: n}, nil
}

// exportIPEntries answers the tenant's live entries as NDJSON, one
// CreateIPEntryRequest per line: what importIPEntries takes back.
func (s *Server) exportIPEntries(r *http.Request, p *principal) (any, error) {
	es, err := s.store.ListIPEntries(r.Context(), p.tenantID, s.cfg.Now())
	if err != nil {
		return nil, err
	}
	return ndjsonEntries(es), nil
}

type ndjsonEntries []store.IPEntry

func (es ndjsonEntries) writeResponse(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	for _, e := range es {
		line := apitypes.CreateIPEntryRequest{List: e.List, Prefix: e.Prefix.String(), Reason: e.Reason, AppIDs: e.AppIDs}
		if !e.Expires.IsZero() {
			line.Expires = &e.Expires
		}
		if enc.Encode(line) != nil {
			return // the client is gone
		}
	}
	bw.Flush()
}

// parseEntryPrefix accepts an address or a CIDR and returns it canonical:
// masked, IPv4-mapped IPv6 unmapped.
func parseEntryPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, badRequest("body: prefix %q is not an IP address or CIDR", clip(s, 64))
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return p, badRequest("body: prefix %q is not an IP address or CIDR", clip(s, 64))
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

func (s *Server) deleteIPEntry(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteIPEntry(r.Context(), p.actor(), p.tenantID, id); isNotFound(err) {
		return nil, notFound("IP-list entry")
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}

// rulesetPollInterval is how often a held ruleset request looks at the
// tenant's version. The version lives in the store, so a change made
// through any replica is seen; the look-up is one primary-key read.
const rulesetPollInterval = 100 * time.Millisecond

// serveRuleset is the node's long poll (apiv1.RulesetPath): the tenant's
// ruleset, compiled and signed for the calling node, as soon as its
// version differs from the one in If-None-Match; 304 when the wait ends
// first.
func (s *Server) serveRuleset(r *http.Request, p *principal) (any, error) {
	if s.cfg.RulesetSigner == nil {
		return nil, &apiError{http.StatusServiceUnavailable, "unavailable", "this cloud has no ruleset signing key configured"}
	}
	q := &query{r: r}
	wait := time.Duration(q.int("wait", 0, 0, apiv1.MaxRulesetWaitSeconds)) * time.Second
	delta := q.int(apiv1.RulesetDeltaParam, 0, 0, 1) == 1 && q.int(apiv1.RulesetFullParam, 0, 0, 1) == 0
	if q.err != nil {
		return nil, q.err
	}
	known := r.Header.Get("If-None-Match")
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	for {
		// Taken before reading the version: a change committed after the
		// read wakes this very channel.
		woken := s.rulesetWaiter(p.tenantID)
		v, err := s.store.RulesetVersion(r.Context(), p.tenantID)
		if err != nil {
			return nil, err
		}
		if v > 0 && apiv1.RulesetETag(v) != known {
			sr, err := s.compileRulesetFor(r.Context(), p, v, known, delta)
			if err != nil {
				return nil, err
			}
			return &rulesetAnswer{sr: sr, etag: apiv1.RulesetETag(v), gzip: acceptsGzip(r)}, nil
		}
		select {
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return nil, r.Context().Err()
			}
			return notModified{}, nil
		case <-time.After(rulesetPollInterval):
		case <-woken:
		}
	}
}

// compileRuleset builds and signs version v of the tenant's ruleset for
// node p. A change committed between reading v and reading the rules
// lands in this document under the older number; the node gets the same
// content again, correctly numbered, on its next poll.
func (s *Server) compileRuleset(ctx context.Context, p *principal, v int64) (*apiv1.SignedRuleset, error) {
	rules, err := s.store.ListRules(ctx, p.tenantID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	entries, err := s.store.ListIPEntries(ctx, p.tenantID, now)
	if err != nil {
		return nil, err
	}
	rs := &apiv1.Ruleset{Version: apiv1.Version, RulesetVersion: v, TenantID: p.tenantID, NodeID: p.node.ID, Issued: now.UTC(),
		Rules: make([]apiv1.Rule, 0, len(rules)), IPList: make([]apiv1.IPEntry, 0, len(entries))}
	for _, r := range rules {
		rs.Rules = append(rs.Rules, r.Rule)
	}
	for _, e := range entries {
		rs.IPList = append(rs.IPList, e.IPEntry)
	}
	sr, err := s.cfg.RulesetSigner.Sign(rs)
	if err != nil {
		return nil, fmt.Errorf("ruleset %d of tenant %d: %w", v, p.tenantID, err)
	}
	return sr, nil
}

// rulesetAnswer and notModified write themselves (see wrap): the ruleset
// carries its ETag, and 304 has no body.
type rulesetAnswer struct {
	sr   *apiv1.SignedRuleset
	etag string
	gzip bool // big IP lists shrink several times
}

func (a *rulesetAnswer) writeResponse(w http.ResponseWriter) {
	w.Header().Set("ETag", a.etag)
	w.Header().Set("Vary", "Accept-Encoding")
	if !a.gzip {
		writeJSON(w, http.StatusOK, a.sr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level never fails
	json.NewEncoder(zw).Encode(a.sr)                // the node may be gone; nothing to do about it
	zw.Close()
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(params, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

type notModified struct{}

func (notModified) writeResponse(w http.ResponseWriter) { w.WriteHeader(http.StatusNotModified) }

// selfWriting answers write their own status and headers.
type selfWriting interface{ writeResponse(http.ResponseWriter) }

// ruleRoutes are the rows of the route table for rules, IP lists and
// rulesets. Rules are settings of applications: apps:read and apps:write.
func (s *Server) ruleRoutes() []route {
	const get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	ok, created, none := http.StatusOK, http.StatusCreated, http.StatusNoContent
	return []route{
		{method: get, path: "/api/v1/rules", summary: "List rules", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.List[apitypes.Rule]{}, status: ok, h: s.listRules},
		{method: post, path: "/api/v1/rules", summary: "Create a rule (validated as nodes validate it)", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apiv1.Rule{}, resp: apitypes.Rule{}, status: created, h: s.wakesNodes(s.createRule)},
		{method: get, path: "/api/v1/rules/{id}", summary: "Get a rule", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.Rule{}, status: ok, h: s.getRule},
		{method: put, path: "/api/v1/rules/{id}", summary: "Replace a rule", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apiv1.Rule{}, resp: apitypes.Rule{}, status: ok, h: s.wakesNodes(s.replaceRule)},
		{method: del, path: "/api/v1/rules/{id}", summary: "Delete a rule", access: userAccess, scope: auth.ScopeAppsWrite,
			status: none, h: s.wakesNodes(s.deleteRule)},
		{method: get, path: "/api/v1/ip-entries", summary: "List IP-list entries (deny, allow, gray) not expired", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.List[apitypes.IPEntry]{}, status: ok, h: s.listIPEntries},
		{method: post, path: "/api/v1/ip-entries", summary: "Add an IP-list entry", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.CreateIPEntryRequest{}, resp: apitypes.IPEntry{}, status: created, h: s.wakesNodes(s.createIPEntry)},
		{method: post, path: "/api/v1/ip-entries/import", summary: "Bulk import IP-list entries: NDJSON, one entry per line, all or nothing", access: userAccess, scope: auth.ScopeAppsWrite,
			body: apitypes.CreateIPEntryRequest{}, resp: apitypes.ImportResult{}, status: ok, h: s.wakesNodes(s.importIPEntries)},
		{method: get, path: "/api/v1/ip-entries/export", summary: "Export the IP-list entries not expired as NDJSON, in the import format", access: userAccess, scope: auth.ScopeAppsRead,
			resp: apitypes.CreateIPEntryRequest{}, status: ok, h: s.exportIPEntries},
		{method: del, path: "/api/v1/ip-entries/{id}", summary: "Delete an IP-list entry", access: userAccess, scope: auth.ScopeAppsWrite,
			status: none, h: s.wakesNodes(s.deleteIPEntry)},
		{method: get, path: apiv1.RulesetPath, summary: "Node: long-poll the signed ruleset (If-None-Match, wait); 304 when unchanged", access: nodeAccess,
			query: []param{{"wait", "integer", "seconds the cloud may hold the request for a newer version (0-30)"},
				{apiv1.RulesetDeltaParam, "integer", "1: the node applies deltas; answer only the IP-list changes since the version in If-None-Match when that is small"},
				{apiv1.RulesetFullParam, "integer", "1: answer the whole ruleset (a node resynchronising)"}},
			resp: apiv1.SignedRuleset{}, status: ok, h: s.serveRuleset},
	}
}
