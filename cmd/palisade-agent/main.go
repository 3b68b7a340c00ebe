// Command palisade-agent is Palisade's node: it runs the XDP filter and (as
// the agent grows) the L7 proxy on one Linux server. See docs/OPERATIONS.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/daemon"
	"github.com/palisadewaf/palisade/agent/enroll"
	"github.com/palisadewaf/palisade/agent/version"
	"github.com/palisadewaf/palisade/agent/xdp"
)

func main() {
	var cfgPath string
	var detach bool
	root := &cobra.Command{
		Use:           "palisade-agent",
		Short:         "Palisade node: XDP filter and WAF agent",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if detach {
				return detachAll(cfgPath)
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return daemon.Run(ctx, cfgPath, newLogger(cfg.Log))
		},
	}
	root.PersistentFlags().StringVar(&cfgPath, "config", config.DefaultPath, "configuration file")
	root.Flags().BoolVar(&detach, "detach", false, "detach the XDP filter from every interface and remove its pinned state, then exit")
	root.AddCommand(&cobra.Command{
		Use:   "check-config",
		Short: "Validate the configuration file and exit",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := config.Load(cfgPath); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok\n", cfgPath)
			return nil
		},
	})
	root.AddCommand(enrollCommand(&cfgPath))
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "palisade-agent:", err)
		os.Exit(1)
	}
}

func enrollCommand(cfgPath *string) *cobra.Command {
	var cloudURL, token, tokenFile, name, stateDir string
	var force bool
	cmd := &cobra.Command{
		Use:   "enroll",
		Short: "Enroll this node with the cloud using a one-time token, and pin the cloud's ruleset key",
		Long: `Spends a one-time enrollment token (palisadectl or the console create it)
for this node's own credential, and pins the key the cloud signs rulesets
with. Both are stored in cloud.state_dir (default /var/lib/palisade); the
credential file is readable by root only. The cloud URL defaults to
cloud.url of the configuration.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Default()
			if c, err := config.Load(*cfgPath); err == nil {
				cfg = *c
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if cloudURL == "" {
				cloudURL = cfg.Cloud.URL
			}
			if stateDir == "" {
				stateDir = cfg.Cloud.StateDir
			}
			if cloudURL == "" {
				return errors.New("no cloud URL: pass --cloud or set cloud.url in the configuration")
			}
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("token file: %w", err)
				}
				token = string(b)
			}
			if token == "" {
				return errors.New("no enrollment token: pass --token or --token-file")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			id, err := enroll.Enroll(ctx, nil, cloudURL, token, name, stateDir, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "enrolled as node %s of tenant %d; ruleset key pinned (%s)\n", id.NodeID, id.TenantID, stateDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cloudURL, "cloud", "", "cloud URL (default: cloud.url of the configuration)")
	f.StringVar(&token, "token", "", "one-time enrollment token")
	f.StringVar(&tokenFile, "token-file", "", "read the enrollment token from this file (keeps it out of the process list)")
	f.StringVar(&name, "name", "", "node name shown in the console (default: the hostname)")
	f.StringVar(&stateDir, "state-dir", "", "where to keep the identity (default: cloud.state_dir)")
	f.BoolVar(&force, "force", false, "enroll again as a new node even if this one is enrolled")
	return cmd
}

// detachAll removes the filter. It needs the pin path; without a readable
// configuration it uses the default one.
func detachAll(cfgPath string) error {
	pin := xdp.DefaultPinPath
	if cfg, err := config.Load(cfgPath); err == nil {
		pin = cfg.XDP.PinPath
	} else if !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "palisade-agent: %v; using %s\n", err, pin)
	}
	if err := xdp.Remove(pin); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	fmt.Printf("XDP filter detached; %s removed\n", pin)
	return nil
}

func newLogger(c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
