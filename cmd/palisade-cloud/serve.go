package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/cloud/server"
)

func init() {
	var o server.Options
	var proxies []string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API (HTTPS with --tls-cert/--tls-key, else HTTP)",
		Long: `Serve the API. On a fresh installation, creates tenant "default" and its
first admin (--admin-email) with the password in $PALISADE_ADMIN_PASSWORD,
or a generated one printed once on standard output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := newLogger()
			if err != nil {
				return err
			}
			for _, p := range proxies {
				pfx, err := netip.ParsePrefix(p)
				if err != nil {
					return fmt.Errorf("--trusted-proxy %q: %w", p, err)
				}
				o.TrustedProxies = append(o.TrustedProxies, pfx)
			}
			o.DataDir, o.Database, o.Log, o.Version = dataDir, database, log, buildVersion()
			o.AdminPassword, o.Out = os.Getenv("PALISADE_ADMIN_PASSWORD"), cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "address to serve on")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate file (PEM)")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	f.StringVar(&o.AdminEmail, "admin-email", "admin@palisade.local", "email of the first admin, created on a fresh installation")
	f.Float64Var(&o.IngestRate, "ingest-rate", 5000, "events per second one node may send")
	f.IntVar(&o.IngestBurst, "ingest-burst", 20000, "events one node may send at once")
	f.StringSliceVar(&proxies, "trusted-proxy", nil, "CIDR of a load balancer whose X-Forwarded-For is believed (repeatable)")
	f.StringVar(&o.RulesetKey, "ruleset-key", "", "Ed25519 key that signs rulesets (PEM, created on first start; default <data-dir>/"+server.RulesetKeyFile+")")
	f.DurationVar(&o.ShutdownTimeout, "shutdown-timeout", 15*time.Second, "how long to wait for requests in flight when stopping")
	root.AddCommand(cmd)
}
