package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"time"
)

// Cloud connects the node to palisade-cloud. Without a URL the node runs
// standalone: it filters with its local configuration and, when RulesFile
// is set, with rules from that file through the same path cloud rulesets
// take.
type Cloud struct {
	// URL of the cloud, e.g. https://palisade.example.com. Empty: standalone.
	URL string `yaml:"url"`
	// StateDir holds the node's identity and credential (from `palisade-agent
	// enroll`) and the last known good ruleset.
	StateDir string `yaml:"state_dir"`
	// CAFile is an extra CA bundle for a cloud with a private certificate.
	CAFile string `yaml:"ca_file"`
	// RulesFile drives the rules in standalone mode (YAML, docs/RULES.md).
	RulesFile string `yaml:"rules_file"`
	// PollTimeout is how long one long-poll for a new ruleset may wait.
	PollTimeout time.Duration `yaml:"poll_timeout"`
}

// DefaultCloud is the standalone default.
func DefaultCloud() Cloud {
	return Cloud{StateDir: "/var/lib/palisade", PollTimeout: 30 * time.Second}
}

// Standalone reports whether the node runs without a cloud.
func (c Cloud) Standalone() bool { return c.URL == "" }

func (c Cloud) validate() []error {
	var errs []error
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("cloud.url: %w", err))
		case u.Scheme != "https" && u.Scheme != "http":
			errs = append(errs, fmt.Errorf("cloud.url: %q must be an http:// or https:// URL", c.URL))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("cloud.url: %q has no host", c.URL))
		}
		if c.RulesFile != "" {
			errs = append(errs, fmt.Errorf("cloud.rules_file: a local rules file is for standalone mode; remove it or cloud.url"))
		}
	}
	if c.StateDir == "" || !filepath.IsAbs(c.StateDir) {
		errs = append(errs, fmt.Errorf("cloud.state_dir: %q must be an absolute path", c.StateDir))
	}
	if c.PollTimeout < time.Second || c.PollTimeout > 5*time.Minute {
		errs = append(errs, fmt.Errorf("cloud.poll_timeout: %s is outside 1s..5m", c.PollTimeout))
	}
	return errs
}
