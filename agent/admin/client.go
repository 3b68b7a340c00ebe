package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/palisadewaf/palisade/agent/xdp"
)

// DefaultSocket is where the agent listens unless configured otherwise.
const DefaultSocket = "/run/palisade/agent.sock"

// Client talks to an agent's admin socket.
type Client struct {
	hc *http.Client
}

// NewClient returns a client for the socket at path.
func NewClient(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://agent"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("reach agent: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e apiError
		if json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&e) == nil && e.Error != "" {
			return fmt.Errorf("%s", e.Error)
		}
		return fmt.Errorf("agent answered %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Add puts prefix on list l.
func (c *Client) Add(ctx context.Context, l xdp.List, req AddRequest) (xdp.Entry, error) {
	var e xdp.Entry
	err := c.do(ctx, http.MethodPost, "/v1/lists/"+l.String(), req, &e)
	return e, err
}

// Remove takes prefix off list l.
func (c *Client) Remove(ctx context.Context, l xdp.List, prefix string) error {
	return c.do(ctx, http.MethodDelete, "/v1/lists/"+l.String()+"?prefix="+url.QueryEscape(prefix), nil, nil)
}

// Entries lists list l.
func (c *Client) Entries(ctx context.Context, l xdp.List) ([]xdp.Entry, error) {
	var out []xdp.Entry
	err := c.do(ctx, http.MethodGet, "/v1/lists/"+l.String(), nil, &out)
	return out, err
}

// Stats reads the XDP counters, attachments and recent drops.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.do(ctx, http.MethodGet, "/v1/xdp/stats", nil, &st)
	return st, err
}

// Reload asks the agent to reload its configuration.
func (c *Client) Reload(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/reload", nil, nil)
}
