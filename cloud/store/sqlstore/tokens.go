package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/store"
)

const tokenCols = "id, tenant_id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at"

func scanToken(row interface{ Scan(...any) error }, extra ...any) (store.APIToken, error) {
	var t store.APIToken
	var scopes string
	var created int64
	var expires, used, revoked sql.NullInt64
	dst := append([]any{&t.ID, &t.TenantID, &t.UserID, &t.Name, &scopes, &created, &expires, &used, &revoked}, extra...)
	if err := row.Scan(dst...); err != nil {
		return store.APIToken{}, mapErr(err)
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromTS(created), fromNullTS(expires), fromNullTS(used), fromNullTS(revoked)
	return t, nil
}

// CreateAPIToken implements store.APITokens.
func (s *Store) CreateAPIToken(ctx context.Context, by store.Actor, t *store.APIToken) error {
	t.CreatedAt = s.now().UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The token's user must be of the same tenant.
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?"), t.TenantID, t.UserID).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return store.ErrNotFound
		}
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO api_tokens (tenant_id, user_id, name, token_hash, scopes, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			t.TenantID, t.UserID, t.Name, t.Hash, strings.Join(t.Scopes, " "), ts(t.CreatedAt), tsPtr(t.ExpiresAt)).Scan(&t.ID)
		if err != nil {
			return mapErr(err)
		}
		return s.audit(ctx, tx, t.TenantID, by, "token.create", "token", strconv.FormatInt(t.ID, 10),
			map[string]any{"name": t.Name, "user_id": t.UserID, "scopes": t.Scopes, "expires_at": t.ExpiresAt})
	})
	if err != nil {
		return fmt.Errorf("create api token %q: %w", t.Name, err)
	}
	return nil
}

// APITokenByHash implements store.APITokens.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (store.APIToken, store.User, error) {
	row := s.r.QueryRowContext(ctx, s.q(`SELECT t.`+strings.ReplaceAll(tokenCols, ", ", ", t.")+`, u.`+strings.ReplaceAll(userCols, ", ", ", u.")+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?`), hash)
	var u store.User
	var uCreated, uUpdated int64
	var uLogin sql.NullInt64
	t, err := scanToken(row, &u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &uCreated, &uUpdated, &uLogin)
	if err != nil {
		return store.APIToken{}, store.User{}, err
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromTS(uCreated), fromTS(uUpdated), fromNullTS(uLogin)
	t.Hash = hash
	return t, u, nil
}

// GetAPIToken implements store.APITokens.
func (s *Store) GetAPIToken(ctx context.Context, tenantID, id int64) (store.APIToken, error) {
	return scanToken(s.r.QueryRowContext(ctx, s.q("SELECT "+tokenCols+" FROM api_tokens WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// ListAPITokens implements store.APITokens.
func (s *Store) ListAPITokens(ctx context.Context, tenantID, userID int64) ([]store.APIToken, error) {
	q, args := "SELECT "+tokenCols+" FROM api_tokens WHERE tenant_id = ?", []any{tenantID}
	if userID != 0 {
		q, args = q+" AND user_id = ?", append(args, userID)
	}
	rows, err := s.r.QueryContext(ctx, s.q(q+" ORDER BY id"), args...)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	out := []store.APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list api tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken implements store.APITokens.
func (s *Store) RevokeAPIToken(ctx context.Context, by store.Actor, tenantID, id int64, at time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := checkAffected(tx.ExecContext(ctx, s.q("UPDATE api_tokens SET revoked_at = ? WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL"),
			ts(at), tenantID, id))
		if err != nil {
			return fmt.Errorf("revoke api token %d: %w", id, err)
		}
		return s.audit(ctx, tx, tenantID, by, "token.revoke", "token", strconv.FormatInt(id, 10), nil)
	})
}

// TouchAPIToken implements store.APITokens.
func (s *Store) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, s.q("UPDATE api_tokens SET last_used_at = ? WHERE id = ?"), ts(at), id); err != nil {
		return fmt.Errorf("touch api token %d: %w", id, err)
	}
	return nil
}
