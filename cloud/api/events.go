package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/store"
)

// defaultWindow is the time range of aggregations and attack grouping
// when the caller gives no "from": they read every matching event, so an
// unbounded default would grow with the store.
const defaultWindow = 24 * time.Hour

// eventFilter reads the filter parameters shared by the events endpoints.
func eventFilter(q *query) store.EventFilter {
	f := store.EventFilter{
		From:       q.time("from"),
		To:         q.time("to"),
		AppID:      q.optInt("app"),
		AttackType: q.text("attack_type", maxShortField),
		Source:     q.prefix("source"),
		Decision:   apiv1.Decision(q.oneOf("decision", string(apiv1.DecisionBlocked), string(apiv1.DecisionPassed), string(apiv1.DecisionMonitored))),
		Point:      q.text("point", apiv1.MaxPointLen),
		NodeID:     q.text("node", 64),
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		q.fail("to", "must be after from")
	}
	return f
}

func (s *Server) searchEvents(r *http.Request, p *principal) (any, error) {
	q := &query{r: r}
	f := eventFilter(q)
	page := store.Page{Limit: int(q.int("limit", 100, 1, 1000)), Cursor: q.text("cursor", 256)}
	if q.err != nil {
		return nil, q.err
	}
	events, next, err := s.store.SearchEvents(r.Context(), p.tenantID, f, page)
	return apitypes.List[apitypes.Event]{Items: events, Next: next}, err
}

func (s *Server) getEvent(r *http.Request, p *principal) (any, error) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		return nil, badRequest("path: id must be an event id (a UUID)")
	}
	e, err := s.store.GetEvent(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("event")
	}
	return e, err
}

// defaultRange fills in the default window of aggregations.
func (s *Server) defaultRange(f *store.EventFilter) {
	if f.From.IsZero() {
		to := f.To
		if to.IsZero() {
			to = s.cfg.Now()
		}
		f.From = to.Add(-defaultWindow)
	}
}

func (s *Server) aggregateEvents(r *http.Request, p *principal) (any, error) {
	q := &query{r: r}
	f := eventFilter(q)
	var bys []string
	for _, b := range store.GroupBys {
		bys = append(bys, string(b))
	}
	by := store.GroupBy(q.oneOf("by", bys...))
	bucket := q.duration("bucket", 0, time.Minute, 31*24*time.Hour)
	defLimit := int64(10)
	if bucket > 0 {
		defLimit = 10000
	}
	limit := q.int("limit", defLimit, 1, 10000)
	if q.err != nil {
		return nil, q.err
	}
	s.defaultRange(&f)
	rows, err := s.store.AggregateEvents(r.Context(), p.tenantID, f, store.Aggregation{By: by, Bucket: bucket, Limit: int(limit)})
	if err != nil {
		return nil, err
	}
	out := apitypes.Aggregation{By: string(by), Rows: rows}
	if bucket > 0 {
		out.Bucket = bucket.String()
	}
	return out, nil
}

func (s *Server) listAttacks(r *http.Request, p *principal) (any, error) {
	q := &query{r: r}
	f := eventFilter(q)
	limit := q.int("limit", 100, 1, 1000)
	if q.err != nil {
		return nil, q.err
	}
	s.defaultRange(&f)
	attacks, err := s.store.GroupAttacks(r.Context(), p.tenantID, f, int(limit))
	return apitypes.List[apitypes.Attack]{Items: attacks}, err
}

func (s *Server) traffic(r *http.Request, p *principal) (any, error) {
	q := &query{r: r}
	f := store.TrafficFilter{
		From:   q.time("from"),
		To:     q.time("to"),
		AppID:  q.optInt("app"),
		NodeID: q.text("node", 64),
		Bucket: q.duration("bucket", time.Hour, time.Minute, 31*24*time.Hour),
	}
	if q.err != nil {
		return nil, q.err
	}
	if f.From.IsZero() {
		f.From = s.cfg.Now().Add(-defaultWindow)
	}
	rows, err := s.store.Traffic(r.Context(), p.tenantID, f)
	return apitypes.List[apitypes.TrafficRow]{Items: rows}, err
}

func (s *Server) listAudit(r *http.Request, p *principal) (any, error) {
	q := &query{r: r}
	f := store.AuditFilter{Action: q.text("action", 64), Limit: int(q.int("limit", 100, 1, 1000))}
	if c := q.str("cursor"); c != "" {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil || id <= 0 {
			q.fail("cursor", "not a cursor this API returned")
		}
		f.BeforeID = id
	}
	if q.err != nil {
		return nil, q.err
	}
	entries, err := s.store.ListAudit(r.Context(), p.tenantID, f)
	if err != nil {
		return nil, err
	}
	out := apitypes.List[apitypes.AuditEntry]{Items: entries}
	if len(entries) == f.Limit {
		out.Next = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	return out, nil
}
