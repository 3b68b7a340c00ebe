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

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/daemon"
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
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "palisade-agent:", err)
		os.Exit(1)
	}
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
