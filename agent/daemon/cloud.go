package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/palisadewaf/palisade/agent/config"
	"github.com/palisadewaf/palisade/agent/detect"
	"github.com/palisadewaf/palisade/agent/enroll"
	"github.com/palisadewaf/palisade/agent/proxy"
	rulesync "github.com/palisadewaf/palisade/agent/sync"
	"github.com/palisadewaf/palisade/cloud/apiv1"
)

// cloudLink is the node's side of the cloud: who it is, how it reaches the
// cloud, and the syncer that applies what the cloud (or, standalone, a
// local rules file) says.
type cloudLink struct {
	identity   *enroll.Identity // nil standalone
	credential string
	client     *http.Client
	syncer     *rulesync.Syncer
	poller     *rulesync.Poller // nil standalone
	rulesFile  string           // standalone rules file, "" when none
}

// openIdentity reads the enrolled identity when the node has a cloud.
// Without one the node still starts (principle 2: it works alone) and says
// loudly what is missing.
func (d *Daemon) openIdentity(cc config.Cloud) (*enroll.Identity, string, *http.Client) {
	if cc.Standalone() {
		return nil, "", nil
	}
	id, cred, err := enroll.Load(cc.StateDir)
	if err != nil {
		d.log.Error("cloud configured but this node is not enrolled; running on local configuration only",
			"cloud", cc.URL, "error", err)
		return nil, "", nil
	}
	hc, err := cloudHTTPClient(cc.CAFile)
	if err != nil {
		d.log.Error("cloud TLS settings; running on local configuration only", "error", err)
		return nil, "", nil
	}
	return id, cred, hc
}

// cloudHTTPClient trusts the system roots plus an optional private CA. It
// has no overall timeout: the ruleset long-poll holds requests open on
// purpose; each caller bounds its own requests.
func cloudHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 0
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("cloud.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cloud.ca_file %s: no PEM certificate in it", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}

// reportingFor fills the reporting settings from the cloud link when the
// configuration leaves them to it: the ingest endpoint of cloud.url and the
// enrolled credential.
func reportingFor(cfg *config.Config, id *enroll.Identity) config.Reporting {
	rc := cfg.Proxy.Reporting
	if rc.IngestURL == "" && id != nil {
		rc.IngestURL = strings.TrimRight(cfg.Cloud.URL, "/") + "/api/v1/ingest"
		rc.CredentialFile = filepath.Join(cfg.Cloud.StateDir, enroll.CredentialFile)
	}
	return rc
}

// startRules builds the ruleset syncer over the engine, the XDP filter and
// the proxy's gray list, and puts the last known good ruleset in force
// before any request is served: a node whose cloud is down filters with its
// last rules, not with none.
func (d *Daemon) startRules(cfg *config.Config, engine *detect.Engine, p *proxy.Proxy, id *enroll.Identity, credential string, hc *http.Client) (*cloudLink, error) {
	link := &cloudLink{identity: id, credential: credential, client: hc}
	sc := rulesync.Config{
		StateDir:   filepath.Join(cfg.Cloud.StateDir, "rules"),
		Engine:     engine,
		Filter:     d.filter,
		GrayList:   p.GrayList(),
		Log:        d.log,
		Registerer: d.reg,
	}
	if id != nil {
		pub, err := apiv1.ParsePublicKey(id.RulesetKey)
		if err != nil {
			return nil, fmt.Errorf("pinned ruleset key in %s: %w", cfg.Cloud.StateDir, err)
		}
		kr, err := apiv1.NewKeyring(pub)
		if err != nil {
			return nil, err
		}
		sc.Keyring, sc.TenantID, sc.NodeID = kr, id.TenantID, id.NodeID
	}
	s, err := rulesync.New(sc)
	if err != nil {
		return nil, fmt.Errorf("ruleset syncer: %w", err)
	}
	link.syncer = s
	switch {
	case id != nil:
		if ok, err := s.Restore(); err != nil {
			d.log.Error("last known good ruleset not restored; waiting for the cloud", "error", err)
		} else if ok {
			d.log.Info("last known good ruleset in force", "version", s.Version())
		}
		link.poller = &rulesync.Poller{
			BaseURL:    cfg.Cloud.URL,
			Credential: credential,
			Client:     hc,
			Wait:       cfg.Cloud.PollTimeout,
			Syncer:     s,
			Log:        d.log,
		}
	case cfg.Cloud.RulesFile != "":
		link.rulesFile = cfg.Cloud.RulesFile
		if err := s.ApplyFile(cfg.Cloud.RulesFile); err != nil {
			return nil, fmt.Errorf("rules file: %w", err)
		}
		d.log.Info("standalone rules file in force", "path", cfg.Cloud.RulesFile, "version", s.Version())
	}
	return link, nil
}

// runRules long-polls the cloud for rulesets until ctx ends.
func (d *Daemon) runRules(ctx context.Context) error {
	if d.cloud == nil || d.cloud.poller == nil {
		return nil
	}
	err := d.cloud.poller.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// reloadRules re-reads a standalone rules file (on SIGHUP or admin reload).
func (d *Daemon) reloadRules(cfg *config.Config) error {
	if d.cloud == nil || cfg.Cloud.RulesFile == "" || !cfg.Cloud.Standalone() {
		return nil
	}
	d.cloud.rulesFile = cfg.Cloud.RulesFile
	if err := d.cloud.syncer.ApplyFile(cfg.Cloud.RulesFile); err != nil {
		return fmt.Errorf("rules file: %w", err)
	}
	return nil
}

// policyView hands the proxy the L7 policy of the ruleset in force (modes
// by path prefix, application-scoped lists, rate limits). The syncer is
// made after the proxy (it writes the proxy's gray list), so the view is
// given its syncer before the first listener opens.
type policyView struct {
	syncer atomic.Pointer[rulesync.Syncer]
}

func (v *policyView) policy() *rulesync.Policy {
	if s := v.syncer.Load(); s != nil {
		return s.Policy()
	}
	return nil // a nil *Policy answers "nothing configured"
}

func (v *policyView) Mode(app int64, path string) (string, bool) {
	return v.policy().Mode(app, path)
}

func (v *policyView) Source(app int64, a netip.Addr, now time.Time) string {
	return v.policy().Source(app, a, now)
}

func (v *policyView) RateLimit(app int64, path string) (proxy.RateLimit, bool) {
	rl, ok := v.policy().RateLimit(app, path)
	return proxy.RateLimit(rl), ok
}
