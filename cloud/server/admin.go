package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/store"
)

// DefaultTenant is the tenant of the first admin.
const DefaultTenant = "default"

// cli is the actor of changes made from the shell.
var cli = store.Actor{Kind: store.ActorSystem, Name: "palisade-cloud admin"}

// Bootstrap creates the default tenant and its first admin when the store
// has no user at all. With no password given it generates one and prints
// it, once, to out: it is not logged and not stored anywhere in clear.
// Replicas starting together race safely: the loser finds the user.
func Bootstrap(ctx context.Context, st store.Store, email, password string, out io.Writer) error {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if n > 0 {
		return nil
	}
	if email == "" {
		email = "admin@palisade.local"
	}
	generated := password == ""
	if generated {
		password = auth.RandomPassword()
	} else if err := checkAdminPassword(password); err != nil {
		return err
	}
	t, err := st.GetTenantByName(ctx, DefaultTenant)
	if errors.Is(err, store.ErrNotFound) {
		t, err = st.CreateTenant(ctx, store.Actor{Kind: store.ActorSystem, Name: "bootstrap"}, DefaultTenant)
	}
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if errors.Is(err, store.ErrConflict) {
		if t, err = st.GetTenantByName(ctx, DefaultTenant); err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	h, err := auth.HashPassword(password, auth.DefaultParams)
	if err != nil {
		return err
	}
	u := store.User{TenantID: t.ID, Email: strings.ToLower(email), Name: "Administrator", Role: string(auth.RoleAdmin), PasswordHash: h}
	if err := st.CreateUser(ctx, store.Actor{Kind: store.ActorSystem, Name: "bootstrap"}, &u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // another replica was first
		}
		return fmt.Errorf("bootstrap: %w", err)
	}
	if generated && out != nil {
		fmt.Fprintf(out, "\nFirst admin created in tenant %q:\n  email:    %s\n  password: %s\nThis password is shown once; change it after logging in.\n\n", DefaultTenant, u.Email, password)
	}
	return nil
}

// CreateTenant creates a tenant.
func CreateTenant(ctx context.Context, st store.Store, name string) (store.Tenant, error) {
	return st.CreateTenant(ctx, cli, name)
}

// CreateUser creates a user in the named tenant.
func CreateUser(ctx context.Context, st store.Store, tenant, email, role, password string) (store.User, error) {
	t, err := st.GetTenantByName(ctx, tenant)
	if err != nil {
		return store.User{}, fmt.Errorf("tenant %q: %w", tenant, err)
	}
	if _, err := auth.ParseRole(role); err != nil {
		return store.User{}, err
	}
	if err := auth.CheckPassword(password); err != nil {
		return store.User{}, err
	}
	h, err := auth.HashPassword(password, auth.DefaultParams)
	if err != nil {
		return store.User{}, err
	}
	u := store.User{TenantID: t.ID, Email: strings.ToLower(email), Role: role, PasswordHash: h}
	if err := st.CreateUser(ctx, cli, &u); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// CreateToken issues an API token for the user with the given email and
// returns its secret. Scopes must be granted by the user's role; none
// means all of them.
func CreateToken(ctx context.Context, st store.Store, email, name string, scopes []string, ttl time.Duration) (string, store.APIToken, error) {
	u, err := st.GetUserByEmail(ctx, strings.ToLower(email))
	if err != nil {
		return "", store.APIToken{}, fmt.Errorf("user %q: %w", email, err)
	}
	granted := auth.ScopesOf(auth.Role(u.Role))
	if len(scopes) > 0 {
		want, err := auth.ParseScopes(scopes)
		if err != nil {
			return "", store.APIToken{}, err
		}
		var refused []auth.Scope
		if granted, refused = auth.Grant(auth.Role(u.Role), want); len(refused) > 0 {
			return "", store.APIToken{}, fmt.Errorf("role %s does not grant %v", u.Role, refused)
		}
	}
	secret, hash := auth.NewSecret(auth.KindAPIToken)
	t := store.APIToken{TenantID: u.TenantID, UserID: u.ID, Name: name, Hash: hash}
	for _, s := range granted {
		t.Scopes = append(t.Scopes, string(s))
	}
	if ttl > 0 {
		exp := time.Now().Add(ttl).UTC()
		t.ExpiresAt = &exp
	}
	if err := st.CreateAPIToken(ctx, cli, &t); err != nil {
		return "", store.APIToken{}, err
	}
	return secret, t, nil
}

// CreateEnrollToken creates a one-time node enrollment token in the named
// tenant and returns its secret.
func CreateEnrollToken(ctx context.Context, st store.Store, tenant, name string, ttl time.Duration) (string, store.EnrollToken, error) {
	t, err := st.GetTenantByName(ctx, tenant)
	if err != nil {
		return "", store.EnrollToken{}, fmt.Errorf("tenant %q: %w", tenant, err)
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	secret, hash := auth.NewSecret(auth.KindEnrollment)
	et := store.EnrollToken{TenantID: t.ID, Name: name, Hash: hash, CreatedBy: cli.Name, ExpiresAt: time.Now().Add(ttl).UTC()}
	if err := st.CreateEnrollToken(ctx, cli, &et); err != nil {
		return "", store.EnrollToken{}, err
	}
	return secret, et, nil
}
