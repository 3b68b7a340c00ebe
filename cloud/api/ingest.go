package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/sensitive"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Limits of ingest beyond those of apiv1.
const (
	maxBatchCounters = 10000
	maxFutureSkew    = 5 * time.Minute // a node's clock may run this far ahead
	maxShortField    = 128             // request_id, detector_id, attack_type, method
)

var errDecompressedTooLarge = errors.New("decompressed body too large")

// limitedReader fails, instead of ending, past its limit: a truncated
// batch must not decode as a shorter valid one.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errDecompressedTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// ingest stores a node's batch: the batch as a whole is refused (4xx) when
// it is malformed, too large or over the node's rate; single events that
// are invalid or still carry a sensitive value are listed as rejected, and
// the rest is stored once per event id.
func (s *Server) ingest(r *http.Request, p *principal) (any, error) {
	batch, err := s.decodeBatch(r)
	if err != nil {
		s.countBatch(err)
		return nil, err
	}
	if ok, wait := s.ingestLimit.Allow(p.node.ID, max(1, len(batch.Events)), s.cfg.Now()); !ok {
		s.metrics.IngestBatches.WithLabelValues("rate_limited").Inc()
		return nil, tooManyRequests(wait, fmt.Sprintf("node over its ingest rate of %.0f events/s; retry later", s.cfg.IngestRate))
	}
	apps, err := s.tenantApps(r.Context(), p.tenantID)
	if err != nil {
		s.metrics.IngestBatches.WithLabelValues("error").Inc()
		return nil, err
	}
	if err := checkCounters(batch.Counters, apps); err != nil {
		s.metrics.IngestBatches.WithLabelValues("bad_request").Inc()
		return nil, err
	}
	if batch.Sources, err = s.checkSources(batch.Sources, p.node.ID, apps); err != nil {
		s.metrics.IngestBatches.WithLabelValues("bad_request").Inc()
		return nil, err
	}
	now := s.cfg.Now()
	var result apiv1.IngestResult
	keep := batch.Events[:0]
	for i := range batch.Events {
		e := &batch.Events[i]
		if reason := s.checkEvent(e, p.node.ID, apps, now); reason != "" {
			result.Rejected = append(result.Rejected, apiv1.RejectedEvent{ID: clip(e.ID, 64), Reason: reason})
			continue
		}
		keep = append(keep, *e)
	}
	counts, err := s.store.Ingest(r.Context(), &store.IngestBatch{
		TenantID: p.tenantID, NodeID: p.node.ID, At: now, ClientIP: p.ip,
		Health: batch.Health, Events: keep, Counters: batch.Counters, Sources: batch.Sources,
	})
	if err != nil {
		s.metrics.IngestBatches.WithLabelValues("error").Inc()
		return nil, err
	}
	s.evaluateTriggers(r.Context(), p.tenantID, keep, batch.Sources)
	result.Accepted, result.Duplicates = counts.Accepted, counts.Duplicates
	s.metrics.IngestBatches.WithLabelValues("ok").Inc()
	s.metrics.IngestEvents.WithLabelValues("accepted").Add(float64(counts.Accepted))
	s.metrics.IngestEvents.WithLabelValues("duplicate").Add(float64(counts.Duplicates))
	s.metrics.IngestEvents.WithLabelValues("rejected").Add(float64(len(result.Rejected)))
	return result, nil
}

func (s *Server) countBatch(err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusRequestEntityTooLarge {
		s.metrics.IngestBatches.WithLabelValues("too_large").Inc()
		return
	}
	s.metrics.IngestBatches.WithLabelValues("bad_request").Inc()
}

// decodeBatch reads a ReportBatch, gunzipping it when the node says so,
// and never reading more than apiv1.MaxBatchBytes either side of the
// decompression.
func (s *Server) decodeBatch(r *http.Request) (*apiv1.ReportBatch, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "body: Content-Type must be application/json"}
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, apiv1.MaxBatchBytes)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, badRequest("body: not gzip: %v", err)
		}
		defer zr.Close()
		body = &limitedReader{r: zr, n: apiv1.MaxBatchBytes}
	default:
		return nil, &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("Content-Encoding %q: only gzip is accepted", clip(enc, 32))}
	}
	var b apiv1.ReportBatch
	if err := decodeJSON(body, &b, apiv1.MaxBatchBytes); err != nil {
		if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
			return nil, badRequest("body: corrupt gzip stream")
		}
		return nil, err
	}
	if b.Version != apiv1.Version {
		return nil, badRequest("body: version %d is not %d", b.Version, apiv1.Version)
	}
	if len(b.Events) > apiv1.MaxBatchEvents {
		return nil, tooLarge("body: %d events, limit %d per batch", len(b.Events), apiv1.MaxBatchEvents)
	}
	if len(b.Counters) > maxBatchCounters {
		return nil, tooLarge("body: %d counters, limit %d per batch", len(b.Counters), maxBatchCounters)
	}
	if len(b.Sources) > apiv1.MaxBatchSources {
		return nil, tooLarge("body: %d source counters, limit %d per batch", len(b.Sources), apiv1.MaxBatchSources)
	}
	if h := b.Health; h != nil {
		if len(h.AgentVersion) > apiv1.MaxAgentVersionLen || h.RulesetVersion < 0 || h.SpoolEvents < 0 || h.SpoolBytes < 0 {
			return nil, badRequest("body: health: agent_version longer than %d bytes or a negative number", apiv1.MaxAgentVersionLen)
		}
	}
	return &b, nil
}

func checkCounters(cs []apiv1.Counters, apps map[int64]bool) error {
	for i, c := range cs {
		switch {
		case c.Minute.IsZero() || !c.Minute.Equal(c.Minute.Truncate(time.Minute)):
			return badRequest("body: counters[%d]: minute must be the start of a minute", i)
		case c.AppID != 0 && !apps[c.AppID]:
			return badRequest("body: counters[%d]: app_id %d is not an application of this tenant", i, c.AppID)
		case c.Requests > 1<<53 || c.Blocked > 1<<53:
			return badRequest("body: counters[%d]: count out of range", i)
		}
		for typ, n := range c.Attacks {
			if len(typ) > maxShortField || n > 1<<53 {
				return badRequest("body: counters[%d]: attacks entry out of range", i)
			}
		}
	}
	return nil
}

// checkEvent says why e cannot be stored, or "" when it can. Reasons name
// the field and the kind of value, never the value.
func (s *Server) checkEvent(e *apiv1.Event, nodeID string, apps map[int64]bool, now time.Time) string {
	if err := e.Validate(); err != nil {
		return err.Error()
	}
	if uuid.Validate(e.ID) != nil {
		return "id is not a UUID"
	}
	if e.NodeID != "" && e.NodeID != nodeID {
		return "node_id is not the sending node"
	}
	if _, err := netip.ParseAddr(e.SourceIP); err != nil {
		return "source_ip is not an IP address"
	}
	if e.Time.After(now.Add(maxFutureSkew)) {
		return "time is in the future"
	}
	if e.AppID != 0 && !apps[e.AppID] {
		return fmt.Sprintf("app_id %d is not an application of this tenant", e.AppID)
	}
	if e.Status < 0 || e.Status > 999 {
		return "status is not an HTTP status"
	}
	for _, f := range []struct{ name, v string }{
		{"request_id", e.RequestID}, {"detector_id", e.DetectorID}, {"attack_type", e.AttackType}, {"method", e.Method},
	} {
		if len(f.v) > maxShortField {
			return fmt.Sprintf("%s is longer than %d bytes", f.name, maxShortField)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"path", e.Path}, {"excerpt", e.Excerpt}, {"host", e.Host}, {"point", e.Point}, {"request_id", e.RequestID},
	} {
		if k := sensitive.Find(f.v); k != "" {
			s.metrics.RejectedSensitive.WithLabelValues(string(k)).Inc()
			s.log.Warn("refused an event that still carries a sensitive value", "node_id", nodeID, "event_id", e.ID, "field", f.name, "kind", k)
			return fmt.Sprintf("%s still looks like it carries a %s", f.name, strings.ReplaceAll(string(k), "_", " "))
		}
	}
	e.NodeID = nodeID
	return ""
}
