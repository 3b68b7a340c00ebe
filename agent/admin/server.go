// Package admin is the agent's local admin API: JSON over HTTP on a unix
// socket that only root can open. palisadectl is its client (Client below).
//
// Routes (v1):
//
//	GET    /v1/lists/{list}              entries of allow or deny
//	POST   /v1/lists/{list}              add {"prefix","ttl","reason"}
//	DELETE /v1/lists/{list}?prefix=P     remove one entry
//	GET    /v1/xdp/stats                 counters, attachments, samples
//	POST   /v1/reload                    reload the configuration
//
// Other parts of the agent register their own routes with Handle.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/palisadewaf/palisade/agent/xdp"
)

// Server serves the admin API.
type Server struct {
	filter  *xdp.Filter
	samples *xdp.SampleLog
	reload  func() error
	log     *slog.Logger
	mux     *http.ServeMux
	srv     *http.Server
}

// NewServer builds the API over the filter. reload is called by POST
// /v1/reload; samples may be nil.
func NewServer(f *xdp.Filter, samples *xdp.SampleLog, reload func() error, log *slog.Logger) *Server {
	s := &Server{filter: f, samples: samples, reload: reload, log: log, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /v1/lists/{list}", s.listEntries)
	s.mux.HandleFunc("POST /v1/lists/{list}", s.addEntry)
	s.mux.HandleFunc("DELETE /v1/lists/{list}", s.removeEntry)
	s.mux.HandleFunc("GET /v1/xdp/stats", s.stats)
	s.mux.HandleFunc("POST /v1/reload", s.doReload)
	return s
}

// Handle registers a route of another part of the agent.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Listen opens the socket at path: its directory is created 0700 and the
// socket is 0600, so only root reaches it. A stale socket is replaced.
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create admin socket directory: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale admin socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict admin socket: %w", err)
	}
	return ln, nil
}

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the server, letting running requests finish.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// AddRequest is the body of POST /v1/lists/{list}.
type AddRequest struct {
	Prefix string `json:"prefix"`
	TTL    string `json:"ttl,omitempty"` // Go duration; empty: never expires
	Reason string `json:"reason,omitempty"`
}

// Stats is the answer of GET /v1/xdp/stats.
type Stats struct {
	Attachments  []xdp.Attachment `json:"attachments"`
	Counters     []CounterRow     `json:"counters"`
	Lists        map[string]int   `json:"lists"`
	SamplesTotal uint64           `json:"samples_total"`
	Samples      []xdp.Sample     `json:"recent_drops"`
}

// CounterRow is one counter with its interface named.
type CounterRow struct {
	Interface string `json:"interface"`
	Action    string `json:"action"`
	Reason    string `json:"reason"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"`
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, apiError{Error: err.Error()})
}

func listOf(w http.ResponseWriter, r *http.Request) (xdp.List, bool) {
	l, err := xdp.ParseList(r.PathValue("list"))
	if err != nil {
		writeError(w, http.StatusNotFound, err)
		return 0, false
	}
	return l, true
}

func (s *Server) listEntries(w http.ResponseWriter, r *http.Request) {
	l, ok := listOf(w, r)
	if !ok {
		return
	}
	entries, err := s.filter.Entries(l)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, entries)
}

const maxBody = 64 << 10

func (s *Server) addEntry(w http.ResponseWriter, r *http.Request) {
	l, ok := listOf(w, r)
	if !ok {
		return
	}
	var req AddRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode request: %w", err))
		return
	}
	p, err := xdp.ParsePrefix(req.Prefix)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	e := xdp.Entry{Prefix: p, Reason: req.Reason, Source: xdp.SourceManual}
	if req.TTL != "" {
		ttl, err := xdp.ParseTTL(req.TTL)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		e.Expires = time.Now().Add(ttl)
	}
	if err := s.filter.Add(l, e); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	s.log.Info("list entry added", "list", l.String(), "prefix", p.String(), "ttl", req.TTL, "reason", req.Reason)
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) removeEntry(w http.ResponseWriter, r *http.Request) {
	l, ok := listOf(w, r)
	if !ok {
		return
	}
	p, err := xdp.ParsePrefix(r.URL.Query().Get("prefix"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	found, err := s.filter.Remove(l, p)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Errorf("%s is not in the %s list", p, l))
		return
	}
	s.log.Info("list entry removed", "list", l.String(), "prefix", p.String())
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) stats(w http.ResponseWriter, _ *http.Request) {
	counters, err := s.filter.Counters()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	st := Stats{
		Attachments: s.filter.Attachments(),
		Lists:       map[string]int{},
	}
	for _, c := range counters {
		st.Counters = append(st.Counters, CounterRow{
			Interface: xdp.InterfaceName(c.Ifindex), Action: c.Action, Reason: c.Reason, Packets: c.Packets, Bytes: c.Bytes,
		})
	}
	for _, l := range []xdp.List{xdp.Allow, xdp.Deny} {
		st.Lists[l.String()] = s.filter.Len(l)
	}
	if s.samples != nil {
		st.Samples, st.SamplesTotal = s.samples.Recent()
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) doReload(w http.ResponseWriter, _ *http.Request) {
	if s.reload == nil {
		writeError(w, http.StatusNotImplemented, errors.New("reload is not available"))
		return
	}
	if err := s.reload(); err != nil {
		writeError(w, http.StatusUnprocessableEntity, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded"})
}
