package report

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/palisadewaf/palisade/agent/report/spool"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Run uploads the spool to the cloud until ctx is done, and spools the
// counts of each minute once it has ended. Failed uploads are retried
// with exponential backoff and jitter; the events stay in the spool until
// the cloud has answered for them. Run returns nil when ctx is done.
func (r *Reporter) Run(ctx context.Context) error {
	backoff := r.cfg.BackoffMin
	for {
		r.spoolClosedMinutes(r.now())
		batch, err := r.spool.Peek(int(r.batchEvents.Load()), r.cfg.BatchBytes)
		if errors.Is(err, spool.ErrClosed) {
			return nil // Close was called first
		}
		if err != nil {
			r.log.Error("report: read spool", "err", err)
			if !sleep(ctx, jitter(backoff)) {
				return nil
			}
			backoff = min(2*backoff, r.cfg.BackoffMax)
			continue
		}
		if len(batch.Records) == 0 {
			if !r.waitForRecords(ctx) {
				return nil
			}
			continue
		}
		// Let a small batch grow for a moment: fewer, larger uploads.
		if wait := r.cfg.BatchDelay - time.Since(batch.Records[0].Time); len(batch.Records) < int(r.batchEvents.Load()) && wait > 0 {
			if !sleep(ctx, wait) {
				return nil
			}
			continue
		}
		if err := r.upload(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.m.uploads.WithLabelValues("failed").Inc()
			wait := jitter(backoff)
			r.log.Warn("report: upload failed, events kept in the spool",
				"err", err, "events", len(batch.Records), "retry_in", wait.Round(time.Millisecond))
			if !sleep(ctx, wait) {
				return nil
			}
			backoff = min(2*backoff, r.cfg.BackoffMax)
			continue
		}
		r.m.uploads.WithLabelValues("ok").Inc()
		backoff = r.cfg.BackoffMin
		// Grow back towards full batches after a 413 made them smaller.
		r.batchEvents.Store(min(int64(r.cfg.BatchEvents), 2*r.batchEvents.Load()))
		if err := r.spool.Ack(batch); err != nil {
			// The batch will be sent again; the cloud drops duplicates.
			r.log.Error("report: acknowledge spool", "err", err)
		}
	}
}

// waitForRecords waits until the spool has records or a minute ends; it
// returns false when ctx is done.
func (r *Reporter) waitForRecords(ctx context.Context) bool {
	now := time.Now()
	next := now.Truncate(time.Minute).Add(time.Minute)
	t := time.NewTimer(next.Sub(now))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-r.spool.Notify():
	case <-t.C:
	}
	return true
}

// jitter spreads d over [d/2, d) so that nodes that failed together do not
// retry together.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// maxAnswerBytes bounds how much of the cloud's answer is read.
const maxAnswerBytes = 1 << 20

// upload sends one batch and checks the cloud's answer. Only a 2xx answer
// that accounts for every event lets the batch be acknowledged.
func (r *Reporter) upload(ctx context.Context, b *spool.Batch) error {
	batch := apiv1.ReportBatch{Version: apiv1.Version}
	for _, rec := range b.Records {
		if len(rec.Payload) == 0 {
			continue
		}
		var err error
		switch rec.Payload[0] {
		case kindEvent:
			var ev apiv1.Event
			if err = json.Unmarshal(rec.Payload[1:], &ev); err == nil {
				batch.Events = append(batch.Events, ev)
			}
		case kindCounters:
			var c apiv1.Counters
			if err = json.Unmarshal(rec.Payload[1:], &c); err == nil {
				batch.Counters = append(batch.Counters, c)
			}
		case kindSources:
			var c apiv1.SourceCounters
			if err = json.Unmarshal(rec.Payload[1:], &c); err == nil {
				batch.Sources = append(batch.Sources, c)
			}
		default:
			err = fmt.Errorf("unknown record kind %q", rec.Payload[0])
		}
		if err != nil {
			// The spool's checksum held, so this was written wrong: it
			// will never decode, do not let it block the rest.
			r.m.dropped.WithLabelValues(reasonUndecodable).Inc()
			r.log.Error("report: dropped a spooled record that does not decode", "err", err)
		}
	}
	if len(batch.Events) == 0 && len(batch.Counters) == 0 && len(batch.Sources) == 0 {
		return nil
	}
	st := r.spool.Stats()
	batch.Health = &apiv1.NodeHealth{
		AgentVersion:   r.cfg.AgentVersion,
		RulesetVersion: r.cfg.RulesetVersion(),
		SpoolEvents:    st.Events,
		SpoolBytes:     st.Bytes,
	}

	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	if err := json.NewEncoder(zw).Encode(&batch); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress batch: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, r.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.IngestURL, &body)
	if err != nil {
		return fmt.Errorf("build ingest request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+r.cfg.Credential)
	req.Header.Set("User-Agent", "palisade-agent/"+r.cfg.AgentVersion)
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post %d events: %w", len(batch.Events), err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return fmt.Errorf("read ingest answer (status %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		// Smaller batches from now on; the next attempt sends half.
		r.batchEvents.Store(max(1, r.batchEvents.Load()/2))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("ingest answered %s: %s", resp.Status, cloudError(answer))
	}
	var res apiv1.IngestResult
	if err := json.Unmarshal(answer, &res); err != nil {
		return fmt.Errorf("ingest answer (status %d) is not an ingest result: %w", resp.StatusCode, err)
	}
	if res.Accepted < 0 || res.Duplicates < 0 || res.Accepted+res.Duplicates+len(res.Rejected) != len(batch.Events) {
		return fmt.Errorf("ingest answered for %d accepted + %d duplicate + %d rejected events, %d sent",
			res.Accepted, res.Duplicates, len(res.Rejected), len(batch.Events))
	}
	r.m.uploaded.Add(float64(res.Accepted + res.Duplicates))
	for _, rej := range res.Rejected {
		// The cloud refused it for good (invalid, or it saw a value that
		// looks sensitive): a retry would be refused too.
		r.m.dropped.WithLabelValues(reasonRejected).Inc()
		r.log.Warn("report: the cloud rejected an event", "event_id", rej.ID, "reason", rej.Reason)
	}
	return nil
}

// cloudError extracts the message of an apiv1.Error answer for the log;
// anything else is summarised by its size, not echoed.
func cloudError(body []byte) string {
	var e apiv1.Error
	if json.Unmarshal(body, &e) == nil && (e.Code != "" || e.Message != "") {
		return e.Code + ": " + e.Message
	}
	return fmt.Sprintf("%d bytes of non-API answer", len(body))
}
