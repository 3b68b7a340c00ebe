package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/palisadewaf/palisade/cloud/apitypes"
)

// Login opens a session; the answer's Token authenticates later calls.
func (c *Client) Login(ctx context.Context, email, password string) (apitypes.LoginResponse, error) {
	var out apitypes.LoginResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/auth/login", nil, apitypes.LoginRequest{Email: email, Password: password}, &out)
	return out, err
}

// Logout ends the client's session.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil, nil)
}

// Me describes the caller.
func (c *Client) Me(ctx context.Context) (apitypes.Me, error) {
	var out apitypes.Me
	err := c.do(ctx, http.MethodGet, "/api/v1/auth/me", nil, nil, &out)
	return out, err
}

// ListTokens lists API tokens.
func (c *Client) ListTokens(ctx context.Context) ([]apitypes.APIToken, error) {
	var out apitypes.List[apitypes.APIToken]
	err := c.do(ctx, http.MethodGet, "/api/v1/tokens", nil, nil, &out)
	return out.Items, err
}

// CreateToken creates an API token; the secret is in the answer only.
func (c *Client) CreateToken(ctx context.Context, req apitypes.CreateTokenRequest) (apitypes.TokenCreated, error) {
	var out apitypes.TokenCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/tokens", nil, req, &out)
	return out, err
}

// RevokeToken revokes an API token.
func (c *Client) RevokeToken(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/tokens/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// ListApps lists applications.
func (c *Client) ListApps(ctx context.Context) ([]apitypes.App, error) {
	var out apitypes.List[apitypes.App]
	err := c.do(ctx, http.MethodGet, "/api/v1/apps", nil, nil, &out)
	return out.Items, err
}

// GetApp gets an application.
func (c *Client) GetApp(ctx context.Context, id int64) (apitypes.App, error) {
	var out apitypes.App
	err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return out, err
}

// CreateApp creates an application.
func (c *Client) CreateApp(ctx context.Context, req apitypes.CreateAppRequest) (apitypes.App, error) {
	var out apitypes.App
	err := c.do(ctx, http.MethodPost, "/api/v1/apps", nil, req, &out)
	return out, err
}

// UpdateApp changes an application's settings.
func (c *Client) UpdateApp(ctx context.Context, id int64, req apitypes.UpdateAppRequest) (apitypes.App, error) {
	var out apitypes.App
	err := c.do(ctx, http.MethodPatch, "/api/v1/apps/"+strconv.FormatInt(id, 10), nil, req, &out)
	return out, err
}

// DeleteApp deletes an application.
func (c *Client) DeleteApp(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/apps/"+strconv.FormatInt(id, 10), nil, nil, nil)
}

// CreateEnrollToken creates a one-time node enrollment token.
func (c *Client) CreateEnrollToken(ctx context.Context, name string, ttl time.Duration) (apitypes.EnrollTokenCreated, error) {
	var out apitypes.EnrollTokenCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/enroll-tokens", nil,
		apitypes.CreateEnrollTokenRequest{Name: name, TTLSeconds: int64(ttl / time.Second)}, &out)
	return out, err
}

// ListNodes lists nodes with their health.
func (c *Client) ListNodes(ctx context.Context) ([]apitypes.NodeView, error) {
	var out apitypes.List[apitypes.NodeView]
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes", nil, nil, &out)
	return out.Items, err
}

// GetNode gets a node with its health.
func (c *Client) GetNode(ctx context.Context, id string) (apitypes.NodeView, error) {
	var out apitypes.NodeView
	err := c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// RevokeNode revokes a node's credential.
func (c *Client) RevokeNode(ctx context.Context, id string) (apitypes.NodeView, error) {
	var out apitypes.NodeView
	err := c.do(ctx, http.MethodPost, "/api/v1/nodes/"+url.PathEscape(id)+"/revoke", nil, nil, &out)
	return out, err
}

// EventQuery selects events; zero fields select everything.
type EventQuery struct {
	From, To   time.Time
	App        *int64
	AttackType string
	Source     string // an IP or a CIDR
	Decision   string
	Point      string
	Node       string
	Limit      int
	Cursor     string
}

func (q EventQuery) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.Format(time.RFC3339Nano))
	}
	if q.App != nil {
		v.Set("app", strconv.FormatInt(*q.App, 10))
	}
	set("attack_type", q.AttackType)
	set("source", q.Source)
	set("decision", q.Decision)
	set("point", q.Point)
	set("node", q.Node)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	set("cursor", q.Cursor)
	return v
}

// SearchEvents returns one page of events, newest first, and the cursor of
// the next page ("" at the end).
func (c *Client) SearchEvents(ctx context.Context, q EventQuery) ([]apitypes.Event, string, error) {
	var out apitypes.List[apitypes.Event]
	err := c.do(ctx, http.MethodGet, "/api/v1/events", q.values(), nil, &out)
	return out.Items, out.Next, err
}

// AggregateEvents counts events by a field (and over time when bucket > 0).
func (c *Client) AggregateEvents(ctx context.Context, q EventQuery, by string, bucket time.Duration) (apitypes.Aggregation, error) {
	v := q.values()
	v.Del("cursor")
	if by != "" {
		v.Set("by", by)
	}
	if bucket > 0 {
		v.Set("bucket", bucket.String())
	}
	var out apitypes.Aggregation
	err := c.do(ctx, http.MethodGet, "/api/v1/events/aggregate", v, nil, &out)
	return out, err
}

// Attacks returns events grouped into attacks.
func (c *Client) Attacks(ctx context.Context, q EventQuery) ([]apitypes.Attack, error) {
	v := q.values()
	v.Del("cursor")
	var out apitypes.List[apitypes.Attack]
	err := c.do(ctx, http.MethodGet, "/api/v1/attacks", v, nil, &out)
	return out.Items, err
}
