// Package config reads and validates palisade-agent's YAML configuration
// (docs/OPERATIONS.md documents every field). Loading is strict: an unknown
// field or an invalid value is an error naming the field, so a typo never
// silently turns a protection off.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/palisadewaf/palisade/agent/xdp"
)

// DefaultPath is where packages install the agent's configuration.
const DefaultPath = "/etc/palisade/agent.yaml"

// Config is the agent's whole configuration.
type Config struct {
	XDP     XDP     `yaml:"xdp"`
	Admin   Admin   `yaml:"admin"`
	Metrics Metrics `yaml:"metrics"`
	Log     Log     `yaml:"log"`
	// Applications and Proxy configure the L7 proxy (applications.go).
	Applications []Application `yaml:"applications"`
	Proxy        Proxy         `yaml:"proxy"`
	// Cloud connects the node to palisade-cloud, or to a local rules file
	// in standalone mode (cloud.go).
	Cloud Cloud `yaml:"cloud"`
}

// XDP configures the packet filter.
type XDP struct {
	// Interfaces the filter is attached to. Empty: no XDP (L7 only).
	Interfaces []string `yaml:"interfaces"`
	// Mode is auto (native, else generic with a warning), native or generic.
	Mode string `yaml:"mode"`
	// PinPath is the bpffs directory holding the filter's state.
	PinPath string `yaml:"pin_path"`
	// RateLimit per source address; off when pps is 0 (the default).
	RateLimit xdp.RateLimit `yaml:"rate_limit"`
	// SamplesPerSecond caps dropped-packet samples per CPU sent to the agent.
	SamplesPerSecond uint32 `yaml:"samples_per_second"`
	// ListsFile is loaded at start (see xdp.ParseListsFile for the format).
	ListsFile string `yaml:"lists_file"`
	// SweepInterval is how often expired entries are deleted from the maps.
	SweepInterval time.Duration `yaml:"sweep_interval"`
}

// Admin configures the local admin API that palisadectl talks to.
type Admin struct {
	Socket string `yaml:"socket"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is host:port for /metrics; empty disables the endpoint.
	Listen string `yaml:"listen"`
}

// Log configures the agent's logs.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// Default returns the configuration used for fields a file leaves out.
func Default() Config {
	return Config{
		XDP: XDP{
			Mode:             string(xdp.ModeAuto),
			PinPath:          xdp.DefaultPinPath,
			SamplesPerSecond: 10,
			SweepInterval:    30 * time.Second,
		},
		Admin:   Admin{Socket: "/run/palisade/agent.sock"},
		Metrics: Metrics{Listen: "127.0.0.1:9464"},
		Log:     Log{Level: "info", Format: "text"},
		Proxy:   DefaultProxy(),
		Cloud:   DefaultCloud(),
	}
}

// Load reads, defaults and validates the file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.XDP.ListsFile != "" && !filepath.IsAbs(cfg.XDP.ListsFile) {
		cfg.XDP.ListsFile = filepath.Join(filepath.Dir(path), cfg.XDP.ListsFile)
	}
	if err := cfg.resolveApplicationFiles(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes and validates a configuration document.
func Parse(b []byte) (*Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty document (io.EOF) means "all defaults".
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Validate checks every field and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	errs = append(errs, c.Cloud.validate()...)
	if _, err := xdp.ParseMode(c.XDP.Mode); err != nil {
		errs = append(errs, fmt.Errorf("xdp.mode: %w", err))
	}
	seen := map[string]bool{}
	for i, ifc := range c.XDP.Interfaces {
		switch {
		case ifc == "":
			errs = append(errs, fmt.Errorf("xdp.interfaces[%d]: empty name", i))
		case len(ifc) > 15:
			errs = append(errs, fmt.Errorf("xdp.interfaces[%d]: %q is longer than 15 characters", i, ifc))
		case seen[ifc]:
			errs = append(errs, fmt.Errorf("xdp.interfaces[%d]: %q listed twice", i, ifc))
		}
		seen[ifc] = true
	}
	if c.XDP.PinPath == "" || !filepath.IsAbs(c.XDP.PinPath) {
		errs = append(errs, fmt.Errorf("xdp.pin_path: %q must be an absolute path", c.XDP.PinPath))
	}
	if err := c.XDP.RateLimit.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("xdp.rate_limit: %w", err))
	}
	if c.XDP.SweepInterval < time.Second {
		errs = append(errs, fmt.Errorf("xdp.sweep_interval: %s is below 1s", c.XDP.SweepInterval))
	}
	if c.Admin.Socket == "" || !filepath.IsAbs(c.Admin.Socket) {
		errs = append(errs, fmt.Errorf("admin.socket: %q must be an absolute path", c.Admin.Socket))
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			errs = append(errs, fmt.Errorf("metrics.listen: %w", err))
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	errs = append(errs, c.Proxy.validate()...)
	errs = append(errs, validateApplications(c.Applications)...)
	return errors.Join(errs...)
}
