// Package notify delivers the cloud's notifications (a trigger fired, a
// test) to a tenant's integrations: webhooks, whose receivers check an
// HMAC-SHA256 signature, and Slack-compatible incoming webhooks. Every
// delivery is written to the store's delivery log and retried with
// exponential backoff while the receiver is unreachable or answers 5xx.
//
// Retries wait in this process: a delivery still pending when the cloud
// stops stays "pending" in the log and is not resumed by another replica.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisadewaf/palisade/cloud/store"
)

// Headers of a delivery. The signature covers the timestamp and the body
// ("<timestamp>.<body>"), so that a receiver can refuse a replayed old
// delivery by its timestamp.
const (
	HeaderSignature = "X-Palisade-Signature" // sha256=<hex HMAC-SHA256>
	HeaderTimestamp = "X-Palisade-Timestamp" // Unix seconds
	HeaderEvent     = "X-Palisade-Event"     // trigger.fired, test
	HeaderDelivery  = "X-Palisade-Delivery"  // the delivery's id in the log
)

// Events a delivery is about.
const (
	EventTriggerFired = "trigger.fired"
	EventTest         = "test"
)

// Message is the body of a webhook delivery.
type Message struct {
	Event    string    `json:"event"`
	TenantID int64     `json:"tenant_id"`
	Time     time.Time `json:"time"`
	// Text says it in a sentence, as the Slack format shows it.
	Text    string        `json:"text"`
	Trigger *TriggerRef   `json:"trigger,omitempty"`
	Firing  *store.Firing `json:"firing,omitempty"`
}

// TriggerRef names the trigger that fired.
type TriggerRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// slackMessage is the body Slack (and the chat servers that copy its
// incoming webhooks) accept.
type slackMessage struct {
	Text string `json:"text"`
}

// Options tune a Dispatcher. Zero values take the defaults named.
type Options struct {
	// Client posts deliveries (10 s timeout, no redirects followed).
	Client *http.Client
	// Attempts is how many times a delivery is tried (5).
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one (1 s: 1, 2, 4, 8 s).
	Backoff time.Duration
	Log     *slog.Logger
	Now     func() time.Time
}

// Dispatcher delivers notifications. It implements triggers.Notifier.
type Dispatcher struct {
	store store.Store
	o     Options
	log   *slog.Logger

	ctx    context.Context // ends when Close is called: retries stop waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	deliveries, attempts *prometheus.CounterVec // nil until Instrument
}

// New returns a Dispatcher logging deliveries to st.
func New(st store.Store, o Options) *Dispatcher {
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout: 10 * time.Second,
			// A receiver's redirect is not followed: deliveries go only
			// where an operator pointed them.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{store: st, o: o, log: o.Log, ctx: ctx, cancel: cancel}
}

// Close stops waiting retries and waits for attempts in flight.
func (d *Dispatcher) Close() {
	d.cancel()
	d.wg.Wait()
}

// Notify delivers, in the background, the firing of t to its integration.
func (d *Dispatcher) Notify(ctx context.Context, t *store.Trigger, f *store.Firing) {
	in, err := d.store.GetIntegration(ctx, t.TenantID, t.Action.IntegrationID)
	if err != nil {
		d.log.Warn("trigger fired for a missing integration", "tenant_id", t.TenantID, "trigger_id", t.ID,
			"integration_id", t.Action.IntegrationID, "err", err)
		return
	}
	what := "denylisted"
	switch t.Action.Kind {
	case store.ActionGray:
		what = "graylisted"
	case store.ActionNotify:
		what = "reported"
	}
	text := fmt.Sprintf("Palisade: %s %s until %s: trigger %q counted %d in %s",
		f.Source, what, f.Until.UTC().Format(time.RFC3339), t.Name, f.Count, t.Condition.Window())
	if f.AppID != 0 {
		text += fmt.Sprintf(" (application %d)", f.AppID)
	}
	if f.Note != "" {
		text += "; " + f.Note
	}
	m := Message{Event: EventTriggerFired, TenantID: t.TenantID, Time: f.FiredAt, Text: text,
		Trigger: &TriggerRef{ID: t.ID, Name: t.Name}, Firing: f}
	dl, body, err := d.begin(ctx, in, &m)
	if err != nil {
		d.log.Error("notify", "tenant_id", in.TenantID, "integration_id", in.ID, "err", err)
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.deliver(in, dl, body, d.o.Attempts)
	}()
}

// SendTest sends a test message to in, once, and answers its log entry.
func (d *Dispatcher) SendTest(ctx context.Context, in store.Integration) (store.Delivery, error) {
	m := Message{Event: EventTest, TenantID: in.TenantID, Time: d.o.Now().UTC(),
		Text: fmt.Sprintf("Palisade: test message to integration %q", in.Name)}
	dl, body, err := d.begin(ctx, in, &m)
	if err != nil {
		return store.Delivery{}, err
	}
	d.wg.Add(1)
	defer d.wg.Done()
	return d.deliver(in, dl, body, 1), nil
}

// begin encodes m for in and logs the delivery as pending.
func (d *Dispatcher) begin(ctx context.Context, in store.Integration, m *Message) (*store.Delivery, []byte, error) {
	var body []byte
	var err error
	if in.Kind == store.IntegrationSlack {
		body, err = json.Marshal(slackMessage{Text: m.Text})
	} else {
		body, err = json.Marshal(m)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("encode %s message: %w", m.Event, err)
	}
	now := d.o.Now().UTC()
	dl := &store.Delivery{TenantID: in.TenantID, IntegrationID: in.ID, Event: m.Event, State: store.DeliveryPending,
		CreatedAt: now, UpdatedAt: now}
	if err := d.store.CreateDelivery(ctx, dl); err != nil {
		return nil, nil, err
	}
	return dl, body, nil
}

// deliver tries a delivery up to attempts times, logging each attempt,
// and answers the final log entry.
func (d *Dispatcher) deliver(in store.Integration, dl *store.Delivery, body []byte, attempts int) store.Delivery {
	wait := d.o.Backoff
	for dl.Attempts < attempts {
		dl.Attempts++
		status, err := d.post(in, dl, body)
		dl.HTTPStatus, dl.Error = status, ""
		retry := false
		switch {
		case err != nil:
			dl.Error, retry = err.Error(), true
		case status >= 200 && status < 300:
			dl.State = store.DeliveryDelivered
			d.count(d.attempts, "ok")
		case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout:
			dl.Error, retry = fmt.Sprintf("receiver answered %d", status), true
		default:
			dl.Error = fmt.Sprintf("receiver refused the delivery with %d", status)
			d.count(d.attempts, "refused")
		}
		if retry {
			d.count(d.attempts, "retry")
		}
		if !retry || dl.Attempts == attempts {
			if dl.State != store.DeliveryDelivered {
				dl.State = store.DeliveryFailed
			}
		}
		dl.UpdatedAt = d.o.Now().UTC()
		if err := d.store.UpdateDelivery(context.WithoutCancel(d.ctx), dl); err != nil {
			d.log.Error("log delivery", "delivery_id", dl.ID, "err", err)
		}
		if dl.State != store.DeliveryPending {
			break
		}
		select {
		case <-d.ctx.Done():
			return *dl // stopping: the log keeps it pending
		case <-time.After(wait):
		}
		wait *= 2
	}
	d.count(d.deliveries, dl.State)
	level := slog.LevelInfo
	if dl.State != store.DeliveryDelivered {
		level = slog.LevelWarn
	}
	// The URL may carry a token: the log names the integration only.
	d.log.Log(d.ctx, level, "delivery", "tenant_id", dl.TenantID, "integration_id", dl.IntegrationID, "delivery_id", dl.ID,
		"event", dl.Event, "state", dl.State, "attempts", dl.Attempts, "http_status", dl.HTTPStatus)
	return *dl
}

// post makes one attempt and answers the receiver's status.
func (d *Dispatcher) post(in store.Integration, dl *store.Delivery, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(d.ctx), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("invalid integration URL")
	}
	ts := strconv.FormatInt(d.o.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "palisade-cloud")
	req.Header.Set(HeaderEvent, dl.Event)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(dl.ID, 10))
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(in.Secret, ts, body))
	resp, err := d.o.Client.Do(req)
	if err != nil {
		// Not err.Error(): *url.Error quotes the URL, which may carry a token.
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return 0, errors.New("receiver did not answer in time")
		}
		return 0, errors.New("receiver unreachable")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Sign is the value of HeaderSignature for a body sent at timestamp ts
// (Unix seconds, as in HeaderTimestamp): "sha256=" and the hex HMAC-SHA256
// of "<ts>.<body>" keyed with the integration's secret.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify says whether signature is Sign(secret, ts, body), in constant
// time: what a receiver written in Go runs.
func Verify(secret, ts string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}
