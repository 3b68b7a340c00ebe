package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/client"
)

// cloudFlags are the flags of every `palisadectl cloud` command.
var cloudFlags struct {
	url, token, caFile, config, output string
}

// cloudConfig is what `cloud login` remembers, in a file only its owner
// can read.
type cloudConfig struct {
	URL    string `json:"url"`
	Token  string `json:"token"`
	CAFile string `json:"ca_file,omitempty"`
}

var cloudCmd = &cobra.Command{
	Use:   "cloud",
	Short: "Use the Palisade cloud's API: login, tokens, applications, nodes, events",
	Long: `Use the Palisade cloud's API. "cloud login" keeps a session in the config
file; an API token in --token or $PALISADE_CLOUD_TOKEN takes precedence.`,
}

func init() {
	pf := cloudCmd.PersistentFlags()
	pf.StringVar(&cloudFlags.url, "url", os.Getenv("PALISADE_CLOUD_URL"), "cloud URL, https://host:port (default $PALISADE_CLOUD_URL or the login's)")
	pf.StringVar(&cloudFlags.token, "token", os.Getenv("PALISADE_CLOUD_TOKEN"), "API token (default $PALISADE_CLOUD_TOKEN or the login's session)")
	pf.StringVar(&cloudFlags.caFile, "ca-file", "", "PEM file of the CA that signed the cloud's certificate")
	pf.StringVar(&cloudFlags.config, "config", defaultCloudConfig(), "where the login is kept")
	pf.StringVarP(&cloudFlags.output, "output", "o", "table", "table or json")
	cloudCmd.AddCommand(loginCmd(), logoutCmd(), whoamiCmd(), tokenCmd())
	root.AddCommand(cloudCmd)
}

func defaultCloudConfig() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ".palisade-cloud.json"
	}
	return filepath.Join(dir, "palisade", "cloud.json")
}

func loadCloudConfig() (cloudConfig, error) {
	var c cloudConfig
	raw, err := os.ReadFile(cloudFlags.config)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%s: %w", cloudFlags.config, err)
	}
	return c, nil
}

func saveCloudConfig(c cloudConfig) error {
	if err := os.MkdirAll(filepath.Dir(cloudFlags.config), 0o700); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(c, "", "  ")
	return os.WriteFile(cloudFlags.config, append(raw, '\n'), 0o600)
}

// newCloudClient returns a client with the flags' URL and credential, or
// the login's.
func newCloudClient(needToken bool) (*client.Client, error) {
	cfg, err := loadCloudConfig()
	if err != nil {
		return nil, err
	}
	url, token, caFile := cfg.URL, cfg.Token, cfg.CAFile
	if cloudFlags.url != "" {
		url = cloudFlags.url
	}
	if cloudFlags.token != "" {
		token = cloudFlags.token
	}
	if cloudFlags.caFile != "" {
		caFile = cloudFlags.caFile
	}
	if url == "" {
		return nil, errors.New("no cloud URL: pass --url or run palisadectl cloud login")
	}
	if needToken && token == "" {
		return nil, errors.New("not logged in: run palisadectl cloud login, or pass --token")
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	return client.New(url, token, hc)
}

// output prints v as JSON with -o json, else as a table of the rows that
// table returns (the first row is the header).
func output(w io.Writer, v any, table func() [][]string) error {
	switch cloudFlags.output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "table":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, row := range table() {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		return tw.Flush()
	}
	return fmt.Errorf("--output %q: want table or json", cloudFlags.output)
}

func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// readSecret reads a line from stdin, without echo when it is a terminal.
func readSecret(prompt string) (string, error) {
	fd := int(os.Stdin.Fd())
	if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		fmt.Fprint(os.Stderr, prompt)
		noEcho := *old
		noEcho.Lflag &^= unix.ECHO
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &noEcho); err != nil {
			return "", err
		}
		defer func() {
			unix.IoctlSetTermios(fd, unix.TCSETS, old)
			fmt.Fprintln(os.Stderr)
		}()
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func loginCmd() *cobra.Command {
	var email string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in with email and password (from $PALISADE_PASSWORD or standard input) and keep the session",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(false)
			if err != nil {
				return err
			}
			pw := os.Getenv("PALISADE_PASSWORD")
			if pw == "" {
				if pw, err = readSecret("Password: "); err != nil {
					return err
				}
			}
			resp, err := c.WithToken("").Login(cmd.Context(), email, pw)
			if err != nil {
				return err
			}
			cfg, _ := loadCloudConfig()
			cfg.Token = resp.Token
			if cloudFlags.url != "" {
				cfg.URL = cloudFlags.url
			}
			if cloudFlags.caFile != "" {
				cfg.CAFile = cloudFlags.caFile
			}
			if err := saveCloudConfig(cfg); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "logged in as %s (%s) until %s\n", resp.User.Email, resp.User.Role, fmtTime(&resp.ExpiresAt))
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "your email")
	cmd.MarkFlagRequired("email")
	return cmd
}

func logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use: "logout", Short: "End the kept session", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			if err := c.Logout(cmd.Context()); err != nil && client.StatusOf(err) != http.StatusUnauthorized {
				return err
			}
			cfg, _ := loadCloudConfig()
			cfg.Token = ""
			return saveCloudConfig(cfg)
		},
	}
}

func whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use: "whoami", Short: "Show the user, tenant and scopes of the credential in use", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			me, err := c.Me(cmd.Context())
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), me, func() [][]string {
				return [][]string{{"EMAIL", "ROLE", "TENANT", "VIA", "SCOPES"},
					{me.User.Email, me.User.Role, me.Tenant.Name, me.Via, strings.Join(me.Scopes, ",")}}
			})
		},
	}
}

func tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens: create, list, revoke"}
	var name string
	var scopes []string
	var ttl time.Duration
	var userID int64
	create := &cobra.Command{
		Use: "create", Short: "Create an API token and print its secret (shown once)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			req := apitypes.CreateTokenRequest{Name: name, Scopes: scopes, UserID: userID}
			if ttl > 0 {
				exp := time.Now().Add(ttl)
				req.ExpiresAt = &exp
			}
			t, err := c.CreateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), t, func() [][]string {
				return [][]string{{"ID", "NAME", "SCOPES", "EXPIRES", "SECRET"},
					{fmt.Sprint(t.Token.ID), t.Token.Name, strings.Join(t.Token.Scopes, ","), fmtTime(t.Token.ExpiresAt), t.Secret}}
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "what the token is for")
	create.Flags().StringSliceVar(&scopes, "scopes", nil, "scopes, e.g. events:read,apps:read")
	create.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 720h (default: no expiry)")
	create.Flags().Int64Var(&userID, "user-id", 0, "issue the token for this user (admins)")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("scopes")

	list := &cobra.Command{
		Use: "list", Short: "List API tokens", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			ts, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), ts, func() [][]string {
				rows := [][]string{{"ID", "USER", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "REVOKED"}}
				for _, t := range ts {
					rows = append(rows, []string{fmt.Sprint(t.ID), fmt.Sprint(t.UserID), t.Name, strings.Join(t.Scopes, ","),
						fmtTime(&t.CreatedAt), fmtTime(t.ExpiresAt), fmtTime(t.LastUsedAt), fmtTime(t.RevokedAt)})
				}
				return rows
			})
		},
	}
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke an API token", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			return c.RevokeToken(cmd.Context(), id)
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// run wraps a command body that needs a logged-in client.
func run(fn func(cmd *cobra.Command, c *client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := newCloudClient(true)
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}

// cloudList is a "list" command: one API call, printed as a table or JSON.
func cloudList[T any](short string, list func(*client.Client, context.Context) ([]T, error), rows func([]T) [][]string) *cobra.Command {
	return &cobra.Command{Use: "list", Short: short, Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, c *client.Client, _ []string) error {
			items, err := list(c, cmd.Context())
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), items, func() [][]string { return rows(items) })
		})}
}

// cloudItem is a "<use> ID" command on one object (get, revoke, ...),
// printed like a list of one.
func cloudItem[K, T any](use, short string, parse func(string) (K, error), call func(*client.Client, context.Context, K) (T, error), rows func([]T) [][]string) *cobra.Command {
	return &cobra.Command{Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			id, err := parse(args[0])
			if err != nil {
				return err
			}
			item, err := call(c, cmd.Context(), id)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), item, func() [][]string { return rows([]T{item}) })
		})}
}

// cloudAction is a "<use> ID" command that prints nothing on success
// (delete, ...).
func cloudAction[K any](use, short string, parse func(string) (K, error), call func(*client.Client, context.Context, K) error) *cobra.Command {
	return &cobra.Command{Use: use + " ID", Short: short, Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			id, err := parse(args[0])
			if err != nil {
				return err
			}
			return call(c, cmd.Context(), id)
		})}
}

// nodeID is the parse function of commands taking a node's id (a UUID,
// checked by the cloud).
func nodeID(s string) (string, error) { return s, nil }

func parseID(s string) (int64, error) {
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an id", s)
	}
	return id, nil
}
