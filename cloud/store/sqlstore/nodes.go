package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/palisadewaf/palisade/cloud/store"
)

const enrollCols = "id, tenant_id, name, created_by, created_at, expires_at, used_at, node_id"

func scanEnrollToken(row interface{ Scan(...any) error }) (store.EnrollToken, error) {
	var t store.EnrollToken
	var created, expires int64
	var used sql.NullInt64
	var node sql.NullString
	if err := row.Scan(&t.ID, &t.TenantID, &t.Name, &t.CreatedBy, &created, &expires, &used, &node); err != nil {
		return store.EnrollToken{}, mapErr(err)
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt, t.NodeID = fromTS(created), fromTS(expires), fromNullTS(used), node.String
	return t, nil
}

// CreateEnrollToken implements store.Nodes.
func (s *Store) CreateEnrollToken(ctx context.Context, by store.Actor, t *store.EnrollToken) error {
	t.CreatedAt = s.now().UTC()
	if t.CreatedBy == "" {
		t.CreatedBy = by.Name
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO enroll_tokens (tenant_id, name, token_hash, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			t.TenantID, t.Name, t.Hash, t.CreatedBy, ts(t.CreatedAt), ts(t.ExpiresAt)).Scan(&t.ID)
		if err != nil {
			return mapErr(err)
		}
		return s.audit(ctx, tx, t.TenantID, by, "enroll_token.create", "enroll_token", strconv.FormatInt(t.ID, 10),
			map[string]any{"name": t.Name, "expires_at": t.ExpiresAt})
	})
	if err != nil {
		return fmt.Errorf("create enrollment token: %w", err)
	}
	return nil
}

// ListEnrollTokens implements store.Nodes.
func (s *Store) ListEnrollTokens(ctx context.Context, tenantID int64) ([]store.EnrollToken, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+enrollCols+" FROM enroll_tokens WHERE tenant_id = ? ORDER BY id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list enrollment tokens: %w", err)
	}
	defer rows.Close()
	out := []store.EnrollToken{}
	for rows.Next() {
		t, err := scanEnrollToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list enrollment tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteEnrollToken implements store.Nodes.
func (s *Store) DeleteEnrollToken(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, s.q("DELETE FROM enroll_tokens WHERE tenant_id = ? AND id = ?"), tenantID, id)); err != nil {
			return fmt.Errorf("delete enrollment token %d: %w", id, err)
		}
		return s.audit(ctx, tx, tenantID, by, "enroll_token.delete", "enroll_token", strconv.FormatInt(id, 10), nil)
	})
}

// EnrollNode implements store.Nodes. The token is spent by a conditional
// UPDATE, so two nodes racing with one token (on any number of replicas)
// cannot both win.
func (s *Store) EnrollNode(ctx context.Context, tokenHash []byte, now time.Time, n *store.Node) error {
	n.ID = uuid.NewString()
	n.EnrolledAt = now.UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var tokenID int64
		err := tx.QueryRowContext(ctx, s.q(`UPDATE enroll_tokens SET used_at = ?, node_id = ?
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING id, tenant_id`),
			ts(now), n.ID, tokenHash, ts(now)).Scan(&tokenID, &n.TenantID)
		if err != nil {
			if err = mapErr(err); err == store.ErrNotFound {
				return store.ErrEnrollTokenSpent
			}
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO nodes (id, tenant_id, name, hostname, credential_hash, enrolled_at, last_ip, agent_version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			n.ID, n.TenantID, n.Name, n.Hostname, n.CredentialHash, ts(n.EnrolledAt), n.LastIP, n.AgentVersion)
		if err != nil {
			return mapErr(err)
		}
		by := store.Actor{Kind: store.ActorNode, ID: n.ID, Name: n.Name, IP: n.LastIP}
		return s.audit(ctx, tx, n.TenantID, by, "node.enroll", "node", n.ID,
			map[string]any{"name": n.Name, "hostname": n.Hostname, "enroll_token_id": tokenID, "agent_version": n.AgentVersion})
	})
	if err != nil {
		return fmt.Errorf("enroll node %q: %w", n.Name, err)
	}
	return nil
}

const nodeCols = `id, tenant_id, name, hostname, credential_hash, enrolled_at, last_seen_at, last_ip,
	agent_version, ruleset_version, spool_events, spool_bytes, revoked_at`

func scanNode(row interface{ Scan(...any) error }) (store.Node, error) {
	var n store.Node
	var enrolled int64
	var seen, revoked sql.NullInt64
	if err := row.Scan(&n.ID, &n.TenantID, &n.Name, &n.Hostname, &n.CredentialHash, &enrolled, &seen, &n.LastIP,
		&n.AgentVersion, &n.RulesetVersion, &n.SpoolEvents, &n.SpoolBytes, &revoked); err != nil {
		return store.Node{}, mapErr(err)
	}
	n.EnrolledAt, n.LastSeenAt, n.RevokedAt = fromTS(enrolled), fromNullTS(seen), fromNullTS(revoked)
	return n, nil
}

// NodeByCredential implements store.Nodes.
func (s *Store) NodeByCredential(ctx context.Context, hash []byte) (store.Node, error) {
	return scanNode(s.r.QueryRowContext(ctx, s.q("SELECT "+nodeCols+" FROM nodes WHERE credential_hash = ?"), hash))
}

// GetNode implements store.Nodes.
func (s *Store) GetNode(ctx context.Context, tenantID int64, id string) (store.Node, error) {
	return scanNode(s.r.QueryRowContext(ctx, s.q("SELECT "+nodeCols+" FROM nodes WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// ListNodes implements store.Nodes.
func (s *Store) ListNodes(ctx context.Context, tenantID int64) ([]store.Node, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+nodeCols+" FROM nodes WHERE tenant_id = ? ORDER BY enrolled_at, id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	defer rows.Close()
	out := []store.Node{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// RevokeNode implements store.Nodes.
func (s *Store) RevokeNode(ctx context.Context, by store.Actor, tenantID int64, id string, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := checkAffected(tx.ExecContext(ctx, s.q("UPDATE nodes SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL"),
			ts(at), tenantID, id))
		if err != nil {
			return fmt.Errorf("revoke node %s: %w", id, err)
		}
		return s.audit(ctx, tx, tenantID, by, "node.revoke", "node", id, nil)
	})
}

// CountNodes implements store.Nodes.
func (s *Store) CountNodes(ctx context.Context, now time.Time) (map[store.NodeState]int, error) {
	var revoked, fresh, active, total int
	err := s.r.QueryRowContext(ctx, s.q(`SELECT
		COALESCE(SUM(CASE WHEN revoked_at IS NOT NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN revoked_at IS NULL AND last_seen_at IS NULL THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN revoked_at IS NULL AND last_seen_at >= ? THEN 1 ELSE 0 END), 0),
		COUNT(*)
		FROM nodes`), ts(now.Add(-store.NodeStaleAfter))).Scan(&revoked, &fresh, &active, &total)
	if err != nil {
		return nil, fmt.Errorf("count nodes: %w", err)
	}
	return map[store.NodeState]int{
		store.NodeRevoked: revoked,
		store.NodeNew:     fresh,
		store.NodeActive:  active,
		store.NodeStale:   total - revoked - fresh - active,
	}, nil
}
