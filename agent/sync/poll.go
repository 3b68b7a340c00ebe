package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Poller keeps a node's ruleset current by long-polling the cloud
// (apiv1.RulesetPath): the cloud holds each request until it has a newer
// version or the wait ends, so a change reaches the node as soon as it is
// made, without a tight polling loop.
type Poller struct {
	// BaseURL is the cloud's address, e.g. https://cloud.example:8443.
	BaseURL string
	// Credential is the node's bearer token (pcn_...).
	Credential string
	// Client makes the requests (its TLS settings pin the cloud's
	// certificate); its Timeout must exceed Wait, or be 0.
	Client *http.Client
	// Wait is how long the cloud may hold one request (30s by default).
	Wait time.Duration
	// MinBackoff and MaxBackoff bound the pause after a failure (1s, 30s).
	MinBackoff, MaxBackoff time.Duration
	Syncer                 *Syncer
	Log                    *slog.Logger

	// noDeltas is set when the cloud refused the delta parameters (a cloud
	// older than the node): the poller then asks for whole rulesets.
	noDeltas atomic.Bool
}

// Run polls until ctx ends. Failures (cloud unreachable, a ruleset
// refused) are counted by the syncer and retried after a growing,
// jittered pause; the node keeps the ruleset in force meanwhile.
func (p *Poller) Run(ctx context.Context) error {
	p.defaults()
	backoff := p.MinBackoff
	for ctx.Err() == nil {
		start := time.Now()
		changed, err := p.Poll(ctx)
		var pause time.Duration
		switch {
		case err == nil && (changed || time.Since(start) >= p.MinBackoff):
			backoff = p.MinBackoff
			continue
		case err == nil:
			// Nothing new, answered at once: a cloud (or a proxy in
			// front of it) that does not hold requests. Poll no more
			// often than MinBackoff rather than spin.
			pause = p.MinBackoff - time.Since(start)
		case ctx.Err() != nil:
			return ctx.Err()
		default:
			pause = backoff/2 + rand.N(backoff/2+1)
			backoff = min(2*backoff, p.MaxBackoff)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
	return ctx.Err()
}

func (p *Poller) defaults() {
	if p.Client == nil {
		p.Client = http.DefaultClient
	}
	if p.Wait <= 0 {
		p.Wait = 30 * time.Second
	}
	p.Wait = min(p.Wait, apiv1.MaxRulesetWaitSeconds*time.Second)
	if p.MinBackoff <= 0 {
		p.MinBackoff = time.Second
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = max(30*time.Second, p.MinBackoff)
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
}

// Poll makes one long-poll request and applies what it brings. It reports
// whether a new ruleset was put in force.
func (p *Poller) Poll(ctx context.Context) (bool, error) {
	p.defaults()
	sr, err := p.fetch(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.Syncer.FetchFailed(err)
		}
		return false, err
	}
	if sr == nil {
		// 304: the cloud confirmed the ruleset in force, a successful
		// sync as far as alerting goes.
		p.Syncer.m.result(ResultUnchanged)
		return false, nil
	}
	before := p.Syncer.Version()
	if err := p.Syncer.ApplySigned(sr); err != nil {
		return false, err
	}
	return p.Syncer.Version() != before, nil
}

// fetch returns the newer signed ruleset, or nil when the cloud had none.
func (p *Poller) fetch(ctx context.Context) (*apiv1.SignedRuleset, error) {
	u, err := url.Parse(strings.TrimRight(p.BaseURL, "/") + apiv1.RulesetPath)
	if err != nil {
		return nil, fmt.Errorf("ruleset URL: %w", err)
	}
	q := url.Values{"wait": {strconv.Itoa(int(p.Wait / time.Second))}}
	deltas := !p.noDeltas.Load()
	if deltas {
		q.Set(apiv1.RulesetDeltaParam, "1")
		if p.Syncer.wantsFull() {
			q.Set(apiv1.RulesetFullParam, "1")
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("ruleset request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.Credential)
	req.Header.Set("Accept", "application/json")
	if v := p.Syncer.Version(); v > 0 {
		req.Header.Set("If-None-Match", apiv1.RulesetETag(v))
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch ruleset: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, nil
	case http.StatusOK:
	default:
		var e apiv1.Error
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&e)
		if deltas && resp.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, `"`+apiv1.RulesetDeltaParam+`"`) {
			// A cloud that predates deltas: whole rulesets from now on.
			p.noDeltas.Store(true)
			p.Log.Warn("the cloud does not serve ruleset deltas; asking for whole rulesets")
		}
		return nil, fmt.Errorf("fetch ruleset: %s: %s %s", resp.Status, e.Code, e.Message)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, apiv1.MaxSignedRulesetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch ruleset: read: %w", err)
	}
	if len(body) > apiv1.MaxSignedRulesetBytes {
		return nil, errors.New("fetch ruleset: answer is over the size limit")
	}
	var sr apiv1.SignedRuleset
	if err := json.Unmarshal(body, &sr); err != nil {
		return nil, fmt.Errorf("fetch ruleset: decode: %w", err)
	}
	return &sr, nil
}
