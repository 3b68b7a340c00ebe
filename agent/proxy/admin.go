package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/palisadewaf/palisade/agent/admin"
	"github.com/palisadewaf/palisade/agent/xdp"
)

// RegisterAdmin adds the gray list routes to the admin API, in the shape
// of the allow and deny lists' routes:
//
//	GET    /v1/lists/gray              entries
//	POST   /v1/lists/gray              add {"prefix","ttl","reason"}
//	DELETE /v1/lists/gray?prefix=P     remove one entry
func (p *Proxy) RegisterAdmin(handle func(pattern string, h http.Handler)) {
	handle("GET /v1/lists/gray", http.HandlerFunc(p.grayEntries))
	handle("POST /v1/lists/gray", http.HandlerFunc(p.grayAdd))
	handle("DELETE /v1/lists/gray", http.HandlerFunc(p.grayRemove))
}

func (p *Proxy) grayEntries(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, p.gray.Entries())
}

func (p *Proxy) grayAdd(w http.ResponseWriter, r *http.Request) {
	var req admin.AddRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("decode request: %v", err)})
		return
	}
	prefix, err := xdp.ParsePrefix(req.Prefix)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	e := xdp.Entry{Prefix: prefix, Reason: req.Reason, Source: xdp.SourceManual}
	if req.TTL != "" {
		ttl, err := xdp.ParseTTL(req.TTL)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		e.Expires = time.Now().Add(ttl)
	}
	p.gray.Add(e)
	p.log.Info("list entry added", "list", "gray", "prefix", prefix.String(), "ttl", req.TTL, "reason", req.Reason)
	writeJSON(w, http.StatusCreated, e)
}

func (p *Proxy) grayRemove(w http.ResponseWriter, r *http.Request) {
	prefix, err := xdp.ParsePrefix(r.URL.Query().Get("prefix"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if !p.gray.Remove(prefix) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("%s is not in the gray list", prefix)})
		return
	}
	p.log.Info("list entry removed", "list", "gray", "prefix", prefix.String())
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
