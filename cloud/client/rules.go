package client

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// ListRules lists the tenant's rules.
func (c *Client) ListRules(ctx context.Context) ([]apitypes.Rule, error) {
	var out apitypes.List[apitypes.Rule]
	err := c.do(ctx, http.MethodGet, "/api/v1/rules", nil, nil, &out)
	return out.Items, err
}

// CreateRule creates a rule; the cloud validates it as nodes do.
func (c *Client) CreateRule(ctx context.Context, r apiv1.Rule) (apitypes.Rule, error) {
	var out apitypes.Rule
	err := c.do(ctx, http.MethodPost, "/api/v1/rules", nil, r, &out)
	return out, err
}

// ReplaceRule replaces rule id with r.
func (c *Client) ReplaceRule(ctx context.Context, id int64, r apiv1.Rule) (apitypes.Rule, error) {
	var out apitypes.Rule
	err := c.do(ctx, http.MethodPut, "/api/v1/rules/"+strconv.FormatInt(id, 10), nil, r, &out)
	return out, err
}

// DeleteRule deletes a rule.
func (c *Client) DeleteRule(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/rules/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// ListIPEntries lists the tenant's IP-list entries not expired.
func (c *Client) ListIPEntries(ctx context.Context) ([]apitypes.IPEntry, error) {
	var out apitypes.List[apitypes.IPEntry]
	err := c.do(ctx, http.MethodGet, "/api/v1/ip-entries", nil, nil, &out)
	return out.Items, err
}

// CreateIPEntry adds an IP-list entry.
func (c *Client) CreateIPEntry(ctx context.Context, req apitypes.CreateIPEntryRequest) (apitypes.IPEntry, error) {
	var out apitypes.IPEntry
	err := c.do(ctx, http.MethodPost, "/api/v1/ip-entries", nil, req, &out)
	return out, err
}

// DeleteIPEntry deletes an IP-list entry.
func (c *Client) DeleteIPEntry(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/ip-entries/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// ImportIPEntries bulk-imports IP-list entries from ndjson, one
// apitypes.CreateIPEntryRequest per line, streamed as it is read.
func (c *Client) ImportIPEntries(ctx context.Context, ndjson io.Reader) (apitypes.ImportResult, error) {
	var out apitypes.ImportResult
	req, err := c.newRequest(ctx, http.MethodPost, "/api/v1/ip-entries/import", nil, ndjson)
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	err = c.send(req, &out)
	return out, err
}
