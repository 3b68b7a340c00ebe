// Package client is a Go client of the Palisade cloud's API: the calls
// people and scripts make (login, applications, nodes, events; used by
// palisadectl) and the two a node makes (enrollment and ingest; used by the
// fleet simulator, and usable by an agent).
package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// Client calls one cloud with one credential.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client of the cloud at baseURL (https://host:port),
// authenticating with token (a session, API token or node credential;
// empty for login). A nil httpClient uses one with a 30s timeout.
func New(baseURL, token string, httpClient *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cloud URL %q: want http(s)://host[:port]", baseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, token: token, http: httpClient}, nil
}

// WithToken returns a copy of c that authenticates with token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// Error is an answer of the cloud other than 2xx.
type Error struct {
	Status  int
	Code    string // apiv1.Error.Code
	Message string
	// RetryAfter is set on 429 answers.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("cloud answered %d %s: %s", e.Status, e.Code, e.Message)
}

// StatusOf returns the HTTP status of an *Error, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// do sends a request with a JSON body (when body is not nil) and decodes a
// JSON answer into out (when out is not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s %s: encode body: %w", method, path, err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := c.newRequest(ctx, method, path, q, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(req, out)
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body io.Reader) (*http.Request, error) {
	u := *c.base
	u.Path += path
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func (c *Client) send(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode}
		var doc apiv1.Error
		if json.Unmarshal(raw, &doc) == nil && doc.Message != "" {
			e.Code, e.Message = doc.Code, doc.Message
		} else {
			e.Code, e.Message = "unknown", strings.TrimSpace(string(raw))
		}
		if s := resp.Header.Get("Retry-After"); s != "" {
			var secs int
			fmt.Sscan(s, &secs)
			e.RetryAfter = time.Duration(secs) * time.Second
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// Enroll spends a one-time enrollment token for a node credential.
func (c *Client) Enroll(ctx context.Context, enrollToken string, req apiv1.EnrollRequest) (apiv1.EnrollResponse, error) {
	req.Version = apiv1.Version
	var out apiv1.EnrollResponse
	err := c.WithToken(enrollToken).do(ctx, http.MethodPost, "/api/v1/nodes/enroll", nil, req, &out)
	return out, err
}

// Ingest uploads a batch with the client's node credential, gzip-compressed.
func (c *Client) Ingest(ctx context.Context, b *apiv1.ReportBatch) (apiv1.IngestResult, error) {
	body, err := EncodeBatch(b)
	if err != nil {
		return apiv1.IngestResult{}, err
	}
	return c.IngestEncoded(ctx, body)
}

// EncodeBatch returns b as an ingest body: JSON, gzip-compressed.
func EncodeBatch(b *apiv1.ReportBatch) ([]byte, error) {
	b.Version = apiv1.Version
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(b); err != nil {
		return nil, fmt.Errorf("ingest: encode batch: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("ingest: compress batch: %w", err)
	}
	return buf.Bytes(), nil
}

// IngestEncoded uploads a body made by EncodeBatch (a node keeps the
// encoded batch in its spool and retries it as is).
func (c *Client) IngestEncoded(ctx context.Context, body []byte) (apiv1.IngestResult, error) {
	req, err := c.newRequest(ctx, http.MethodPost, "/api/v1/ingest", nil, bytes.NewReader(body))
	if err != nil {
		return apiv1.IngestResult{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	var out apiv1.IngestResult
	err = c.send(req, &out)
	return out, err
}
