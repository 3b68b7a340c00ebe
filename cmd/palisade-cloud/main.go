// Command palisade-cloud is the Palisade cloud: one binary that serves the
// API nodes report to and people manage them with, over an embedded SQLite
// database or PostgreSQL. The work is done by cloud/server and the
// packages under cloud/.
//
//	palisade-cloud serve --listen :8443 --data-dir /var/lib/palisade-cloud
//	palisade-cloud admin create-user --tenant default --email ana@example.com --role analyst
package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = ""

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

var root = &cobra.Command{
	Use:           "palisade-cloud",
	Short:         "The Palisade cloud: nodes, events, users and the API over them",
	Version:       buildVersion(),
	SilenceUsage:  true,
	SilenceErrors: true,
}

// Flags every command shares: where the database is, and how to log.
var (
	dataDir   string
	database  string
	logLevel  string
	logFormat string
)

func init() {
	pf := root.PersistentFlags()
	pf.StringVar(&dataDir, "data-dir", "/var/lib/palisade-cloud", "directory of the SQLite database (when --database is not set)")
	pf.StringVar(&database, "database", os.Getenv("PALISADE_DATABASE"), "PostgreSQL URL postgres://... (default $PALISADE_DATABASE; empty: SQLite in --data-dir)")
	pf.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	pf.StringVar(&logFormat, "log-format", "json", "json or text")
}

func newLogger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", logFormat)
}

func main() {
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "palisade-cloud:", err)
		os.Exit(1)
	}
}
