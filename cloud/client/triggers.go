package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// GetRule gets one rule.
func (c *Client) GetRule(ctx context.Context, id int64) (apitypes.Rule, error) {
	var out apitypes.Rule
	err := c.do(ctx, http.MethodGet, "/api/v1/rules/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// ExportIPEntries writes the tenant's live IP-list entries to w as
// NDJSON, in the format ImportIPEntries takes.
func (c *Client) ExportIPEntries(ctx context.Context, w io.Writer) error {
	req, err := c.newRequest(ctx, http.MethodGet, "/api/v1/ip-entries/export", nil, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode, Code: "unknown"}
		var doc apiv1.Error
		if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&doc) == nil && doc.Message != "" {
			e.Code, e.Message = doc.Code, doc.Message
		}
		return e
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export ip entries: %w", err)
	}
	return nil
}

// ListTriggers lists the tenant's triggers.
func (c *Client) ListTriggers(ctx context.Context) ([]apitypes.Trigger, error) {
	var out apitypes.List[apitypes.Trigger]
	err := c.do(ctx, http.MethodGet, "/api/v1/triggers", nil, nil, &out)
	return out.Items, err
}

// CreateTrigger creates a trigger.
func (c *Client) CreateTrigger(ctx context.Context, req apitypes.TriggerRequest) (apitypes.Trigger, error) {
	var out apitypes.Trigger
	err := c.do(ctx, http.MethodPost, "/api/v1/triggers", nil, req, &out)
	return out, err
}

// ReplaceTrigger replaces trigger id.
func (c *Client) ReplaceTrigger(ctx context.Context, id int64, req apitypes.TriggerRequest) (apitypes.Trigger, error) {
	var out apitypes.Trigger
	err := c.do(ctx, http.MethodPut, "/api/v1/triggers/"+strconv.FormatInt(id, 10), nil, req, &out)
	return out, err
}

// GetTrigger gets one trigger.
func (c *Client) GetTrigger(ctx context.Context, id int64) (apitypes.Trigger, error) {
	var out apitypes.Trigger
	err := c.do(ctx, http.MethodGet, "/api/v1/triggers/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// DeleteTrigger deletes a trigger; the entries it made stay until they
// expire.
func (c *Client) DeleteTrigger(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/triggers/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// ListFirings lists what triggers fired, newest first; triggerID 0 lists
// every trigger's.
func (c *Client) ListFirings(ctx context.Context, triggerID int64, limit int) ([]apitypes.Firing, error) {
	q := url.Values{}
	if triggerID != 0 {
		q.Set("trigger", strconv.FormatInt(triggerID, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out apitypes.List[apitypes.Firing]
	err := c.do(ctx, http.MethodGet, "/api/v1/trigger-firings", q, nil, &out)
	return out.Items, err
}

// ListIntegrations lists the tenant's integrations.
func (c *Client) ListIntegrations(ctx context.Context) ([]apitypes.Integration, error) {
	var out apitypes.List[apitypes.Integration]
	err := c.do(ctx, http.MethodGet, "/api/v1/integrations", nil, nil, &out)
	return out.Items, err
}

// CreateIntegration creates an integration; the answer holds the signing
// secret, shown this once.
func (c *Client) CreateIntegration(ctx context.Context, req apitypes.CreateIntegrationRequest) (apitypes.IntegrationCreated, error) {
	var out apitypes.IntegrationCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/integrations", nil, req, &out)
	return out, err
}

// DeleteIntegration deletes an integration and its delivery log.
func (c *Client) DeleteIntegration(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/integrations/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// TestIntegration sends a test message and answers its delivery.
func (c *Client) TestIntegration(ctx context.Context, id int64) (apitypes.Delivery, error) {
	var out apitypes.Delivery
	err := c.do(ctx, http.MethodPost, "/api/v1/integrations/"+strconv.FormatInt(id, 10)+"/test", nil, nil, &out)
	return out, err
}

// ListDeliveries lists an integration's delivery log, newest first.
func (c *Client) ListDeliveries(ctx context.Context, id int64) ([]apitypes.Delivery, error) {
	var out apitypes.List[apitypes.Delivery]
	err := c.do(ctx, http.MethodGet, "/api/v1/integrations/"+strconv.FormatInt(id, 10)+"/deliveries", nil, nil, &out)
	return out.Items, err
}
