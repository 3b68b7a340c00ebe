package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

// Enrollment token lifetimes.
const (
	defaultEnrollTTL = time.Hour
	minEnrollTTL     = time.Minute
	maxEnrollTTL     = 7 * 24 * time.Hour
)

func (s *Server) listEnrollTokens(r *http.Request, p *principal) (any, error) {
	ts, err := s.store.ListEnrollTokens(r.Context(), p.tenantID)
	return apitypes.List[apitypes.EnrollToken]{Items: ts}, err
}

func (s *Server) createEnrollToken(r *http.Request, p *principal) (any, error) {
	var req apitypes.CreateEnrollTokenRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if req.Name != "" {
		if err := checkName("name", req.Name, 128); err != nil {
			return nil, err
		}
	}
	ttl := defaultEnrollTTL
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
		if req.TTLSeconds < 0 || ttl < minEnrollTTL || ttl > maxEnrollTTL {
			return nil, badRequest("body: ttl_seconds must be from %d to %d", int(minEnrollTTL.Seconds()), int(maxEnrollTTL.Seconds()))
		}
	}
	secret, hash := auth.NewSecret(auth.KindEnrollment)
	t := store.EnrollToken{TenantID: p.tenantID, Name: req.Name, Hash: hash, CreatedBy: p.user.Email, ExpiresAt: s.cfg.Now().Add(ttl).UTC()}
	if err := s.store.CreateEnrollToken(r.Context(), p.actor(), &t); err != nil {
		return nil, err
	}
	return apitypes.EnrollTokenCreated{Token: t, Secret: secret}, nil
}

func (s *Server) deleteEnrollToken(r *http.Request, p *principal) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	err = s.store.DeleteEnrollToken(r.Context(), p.actor(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("enrollment token")
	}
	return nil, err
}

// enroll spends an enrollment token for a node credential.
func (s *Server) enroll(r *http.Request, p *principal) (any, error) {
	var req apiv1.EnrollRequest
	if err := decodeBody(r, &req, maxBodyBytes); err != nil {
		return nil, err
	}
	if req.Version != apiv1.Version {
		return nil, badRequest("body: version %d is not %d", req.Version, apiv1.Version)
	}
	if req.Name == "" {
		req.Name = req.Hostname
	}
	if err := checkName("name", req.Name, apiv1.MaxNodeNameLen); err != nil {
		return nil, err
	}
	if req.Hostname != "" {
		if err := checkHostname("hostname", req.Hostname); err != nil {
			return nil, err
		}
	}
	if err := checkText("agent_version", req.AgentVersion, apiv1.MaxAgentVersionLen); err != nil {
		return nil, err
	}
	secret, hash := auth.NewSecret(auth.KindNode)
	n := store.Node{Name: req.Name, Hostname: req.Hostname, CredentialHash: hash, AgentVersion: req.AgentVersion, LastIP: p.ip}
	if err := s.store.EnrollNode(r.Context(), p.enrollHash, s.cfg.Now(), &n); err != nil {
		if errors.Is(err, store.ErrEnrollTokenSpent) {
			return nil, unauthorized("enrollment token unknown, used or expired")
		}
		return nil, err
	}
	s.log.Info("node enrolled", "node_id", n.ID, "tenant_id", n.TenantID, "name", n.Name, "client", p.ip)
	resp := apiv1.EnrollResponse{Version: apiv1.Version, NodeID: n.ID, TenantID: n.TenantID, Credential: secret}
	if s.cfg.RulesetSigner != nil {
		resp.RulesetKey = apiv1.FormatPublicKey(s.cfg.RulesetSigner.PublicKey())
	}
	return resp, nil
}

func (s *Server) view(n store.Node) apitypes.NodeView {
	return apitypes.NodeView{Node: n, State: n.State(s.cfg.Now())}
}

func (s *Server) listNodes(r *http.Request, p *principal) (any, error) {
	ns, err := s.store.ListNodes(r.Context(), p.tenantID)
	out := apitypes.List[apitypes.NodeView]{Items: make([]apitypes.NodeView, 0, len(ns))}
	for _, n := range ns {
		out.Items = append(out.Items, s.view(n))
	}
	return out, err
}

func nodeID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if uuid.Validate(id) != nil {
		return "", badRequest("path: id must be a node id (a UUID)")
	}
	return id, nil
}

func (s *Server) getNode(r *http.Request, p *principal) (any, error) {
	id, err := nodeID(r)
	if err != nil {
		return nil, err
	}
	n, err := s.store.GetNode(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("node")
	}
	if err != nil {
		return nil, err
	}
	return s.view(n), nil
}

func (s *Server) revokeNode(r *http.Request, p *principal) (any, error) {
	id, err := nodeID(r)
	if err != nil {
		return nil, err
	}
	n, err := s.store.GetNode(r.Context(), p.tenantID, id)
	if isNotFound(err) {
		return nil, notFound("node")
	}
	if err != nil {
		return nil, err
	}
	if n.RevokedAt != nil {
		return nil, conflict("node %s is already revoked", id)
	}
	if err := s.store.RevokeNode(r.Context(), p.actor(), p.tenantID, id, s.cfg.Now()); err != nil {
		return nil, err
	}
	n, err = s.store.GetNode(r.Context(), p.tenantID, id)
	if err != nil {
		return nil, err
	}
	s.log.Info("node revoked", "node_id", id, "tenant_id", p.tenantID, "by", p.actor().Name)
	return s.view(n), nil
}
