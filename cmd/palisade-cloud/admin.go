package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/cloud/auth"
	"github.com/palisadewaf/palisade/cloud/server"
	"github.com/palisadewaf/palisade/cloud/store/sqlstore"
)

// The admin commands work on the database directly, for bootstrapping
// from a shell; everything else goes through the API (palisadectl cloud).
func init() {
	admin := &cobra.Command{Use: "admin", Short: "Bootstrap tenants, users and tokens from a shell (works on the database directly)"}

	withStore := func(fn func(ctx context.Context, st *sqlstore.Store, out io.Writer) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := server.OpenStore(ctx, database, dataDir)
			if err != nil {
				return err
			}
			defer st.Close()
			return fn(ctx, st, cmd.OutOrStdout())
		}
	}

	tenantCmd := &cobra.Command{
		Use: "create-tenant NAME", Short: "Create a tenant", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(func(ctx context.Context, st *sqlstore.Store, out io.Writer) error {
				t, err := server.CreateTenant(ctx, st, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "tenant %d %s\n", t.ID, t.Name)
				return nil
			})(cmd, args)
		},
	}

	var tenant, email, role string
	var passwordStdin bool
	userCmd := &cobra.Command{
		Use:   "create-user",
		Short: "Create a user; password from --password-stdin, $PALISADE_PASSWORD, or generated and printed",
		Args:  cobra.NoArgs,
		RunE: withStore(func(ctx context.Context, st *sqlstore.Store, out io.Writer) error {
			pw, generated, err := readPassword(passwordStdin, os.Stdin)
			if err != nil {
				return err
			}
			u, err := server.CreateUser(ctx, st, tenant, email, role, pw)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "user %d %s (%s) in tenant %s\n", u.ID, u.Email, u.Role, tenant)
			if generated {
				fmt.Fprintf(out, "password: %s\n", pw)
			}
			return nil
		}),
	}
	userCmd.Flags().StringVar(&tenant, "tenant", server.DefaultTenant, "tenant name")
	userCmd.Flags().StringVar(&email, "email", "", "email (the login)")
	userCmd.Flags().StringVar(&role, "role", "read-only", "admin, analyst, read-only or deploy")
	userCmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	userCmd.MarkFlagRequired("email")

	var tokenEmail, tokenName string
	var scopes []string
	var ttl time.Duration
	tokenCmd := &cobra.Command{
		Use:   "create-token",
		Short: "Create an API token for a user and print its secret",
		Args:  cobra.NoArgs,
		RunE: withStore(func(ctx context.Context, st *sqlstore.Store, out io.Writer) error {
			secret, t, err := server.CreateToken(ctx, st, tokenEmail, tokenName, scopes, ttl)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "token %d %q for %s, scopes %s\n", t.ID, t.Name, tokenEmail, strings.Join(t.Scopes, ","))
			fmt.Fprintln(out, secret)
			return nil
		}),
	}
	tokenCmd.Flags().StringVar(&tokenEmail, "email", "", "the token's user")
	tokenCmd.Flags().StringVar(&tokenName, "name", "cli", "token name")
	tokenCmd.Flags().StringSliceVar(&scopes, "scopes", nil, "scopes (default: all the user's role grants): "+scopeNames())
	tokenCmd.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 720h (default: no expiry)")
	tokenCmd.MarkFlagRequired("email")

	var enrollTenant, enrollName string
	var enrollTTL time.Duration
	enrollCmd := &cobra.Command{
		Use:   "create-enroll-token",
		Short: "Create a one-time node enrollment token and print its secret",
		Args:  cobra.NoArgs,
		RunE: withStore(func(ctx context.Context, st *sqlstore.Store, out io.Writer) error {
			secret, t, err := server.CreateEnrollToken(ctx, st, enrollTenant, enrollName, enrollTTL)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "enrollment token %d for tenant %s, expires %s\n", t.ID, enrollTenant, t.ExpiresAt.Format(time.RFC3339))
			fmt.Fprintln(out, secret)
			return nil
		}),
	}
	enrollCmd.Flags().StringVar(&enrollTenant, "tenant", server.DefaultTenant, "tenant name")
	enrollCmd.Flags().StringVar(&enrollName, "name", "", "a note on what it is for")
	enrollCmd.Flags().DurationVar(&enrollTTL, "ttl", time.Hour, "lifetime")

	admin.AddCommand(tenantCmd, userCmd, tokenCmd, enrollCmd)
	root.AddCommand(admin)
}

// readPassword takes the password from stdin, then $PALISADE_PASSWORD,
// else generates one.
func readPassword(fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	if pw := os.Getenv("PALISADE_PASSWORD"); pw != "" {
		return pw, false, nil
	}
	return auth.RandomPassword(), true, nil
}

func scopeNames() string {
	var s []string
	for _, sc := range auth.Scopes {
		s = append(s, string(sc))
	}
	return strings.Join(s, ", ")
}
