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

const userCols = "id, tenant_id, email, name, role, password_hash, disabled, created_at, updated_at, last_login_at"

func scanUser(row interface{ Scan(...any) error }, extra ...any) (store.User, error) {
	var u store.User
	var created, updated int64
	var lastLogin sql.NullInt64
	dst := append([]any{&u.ID, &u.TenantID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &created, &updated, &lastLogin}, extra...)
	if err := row.Scan(dst...); err != nil {
		return store.User{}, mapErr(err)
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromTS(created), fromTS(updated), fromNullTS(lastLogin)
	return u, nil
}

func userID(id int64) string { return strconv.FormatInt(id, 10) }

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, by store.Actor, u *store.User) error {
	now := s.now().UTC()
	u.CreatedAt, u.UpdatedAt = now, now
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO users
			(tenant_id, email, name, role, password_hash, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			u.TenantID, u.Email, u.Name, u.Role, u.PasswordHash, b2i(u.Disabled), ts(now), ts(now)).Scan(&u.ID)
		if err != nil {
			return mapErr(err)
		}
		return s.audit(ctx, tx, u.TenantID, by, "user.create", "user", userID(u.ID),
			map[string]any{"email": u.Email, "role": u.Role})
	})
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Email, err)
	}
	return nil
}

// GetUser implements store.Users.
func (s *Store) GetUser(ctx context.Context, tenantID, id int64) (store.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE tenant_id = ? AND id = ?"), tenantID, id))
}

// GetUserByEmail implements store.Users.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (store.User, error) {
	return scanUser(s.r.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE email = ?"), email))
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, tenantID int64) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE tenant_id = ? ORDER BY id"), tenantID)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, by store.Actor, tenantID, id int64, up store.UserUpdate) (store.User, error) {
	var sets []string
	var args []any
	details := map[string]any{}
	if up.Name != nil {
		sets, args, details["name"] = append(sets, "name = ?"), append(args, *up.Name), *up.Name
	}
	if up.Role != nil {
		sets, args, details["role"] = append(sets, "role = ?"), append(args, *up.Role), *up.Role
	}
	if up.Disabled != nil {
		sets, args, details["disabled"] = append(sets, "disabled = ?"), append(args, b2i(*up.Disabled)), *up.Disabled
	}
	if up.PasswordHash != nil {
		// The audit log says that the password changed, never to what.
		sets, args, details["password"] = append(sets, "password_hash = ?"), append(args, *up.PasswordHash), "changed"
	}
	var u store.User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if len(sets) > 0 {
			sets = append(sets, "updated_at = ?")
			args = append(args, ts(s.now()), tenantID, id)
			err := checkAffected(tx.ExecContext(ctx, s.q("UPDATE users SET "+strings.Join(sets, ", ")+" WHERE tenant_id = ? AND id = ?"), args...))
			if err != nil {
				return err
			}
			// A disabled user, or one whose password changed, keeps no
			// session open.
			if (up.Disabled != nil && *up.Disabled) || up.PasswordHash != nil {
				if _, err := tx.ExecContext(ctx, s.q("DELETE FROM sessions WHERE user_id = ?"), id); err != nil {
					return mapErr(err)
				}
			}
			if err := s.audit(ctx, tx, tenantID, by, "user.update", "user", userID(id), details); err != nil {
				return err
			}
		}
		var err error
		u, err = scanUser(tx.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE tenant_id = ? AND id = ?"), tenantID, id))
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("update user %d: %w", id, err)
	}
	return u, nil
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, by store.Actor, tenantID, id int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var email string
		if err := tx.QueryRowContext(ctx, s.q("SELECT email FROM users WHERE tenant_id = ? AND id = ?"), tenantID, id).Scan(&email); err != nil {
			return mapErr(err)
		}
		for _, q := range []string{
			"DELETE FROM sessions WHERE user_id = ?",
			"DELETE FROM api_tokens WHERE user_id = ?",
			"DELETE FROM users WHERE id = ?",
		} {
			if _, err := tx.ExecContext(ctx, s.q(q), id); err != nil {
				return mapErr(err)
			}
		}
		return s.audit(ctx, tx, tenantID, by, "user.delete", "user", userID(id), map[string]any{"email": email})
	})
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	return nil
}

// CountUsers implements store.Users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, by store.Actor, ss *store.Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`INSERT INTO sessions (tenant_id, user_id, token_hash, created_at, expires_at, client_ip)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			ss.TenantID, ss.UserID, ss.Hash, ts(ss.CreatedAt), ts(ss.ExpiresAt), ss.ClientIP).Scan(&ss.ID)
		if err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE users SET last_login_at = ? WHERE id = ?"), ts(ss.CreatedAt), ss.UserID); err != nil {
			return mapErr(err)
		}
		return s.audit(ctx, tx, ss.TenantID, by, "user.login", "session", strconv.FormatInt(ss.ID, 10),
			map[string]any{"user_id": ss.UserID, "expires_at": ss.ExpiresAt})
	})
	if err != nil {
		return fmt.Errorf("create session for user %d: %w", ss.UserID, err)
	}
	return nil
}

// SessionByHash implements store.Sessions.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (store.Session, store.User, error) {
	var ss store.Session
	var created, expires int64
	row := s.r.QueryRowContext(ctx, s.q(`SELECT u.`+strings.ReplaceAll(userCols, ", ", ", u.")+`,
		s.id, s.tenant_id, s.user_id, s.created_at, s.expires_at, s.client_ip
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`), hash)
	u, err := scanUser(row, &ss.ID, &ss.TenantID, &ss.UserID, &created, &expires, &ss.ClientIP)
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	ss.Hash, ss.CreatedAt, ss.ExpiresAt = hash, fromTS(created), fromTS(expires)
	return ss, u, nil
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, by store.Actor, tenantID, id int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkAffected(tx.ExecContext(ctx, s.q("DELETE FROM sessions WHERE tenant_id = ? AND id = ?"), tenantID, id)); err != nil {
			return fmt.Errorf("delete session %d: %w", id, err)
		}
		return s.audit(ctx, tx, tenantID, by, "user.logout", "session", strconv.FormatInt(id, 10), nil)
	})
}

// DeleteExpiredSessions implements store.Sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q("DELETE FROM sessions WHERE expires_at < ?"), ts(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}
