// Package enroll gives a node its identity: it spends a one-time enrollment
// token at the cloud for the node's own credential, and pins the key the
// cloud signs rulesets with (principle 5 of DESIGN.md). Both are kept in the
// agent's state directory; the credential file is readable by root only.
package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisadewaf/palisade/agent/version"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/client"
)

// Files in the state directory.
const (
	IdentityFile   = "node.json"
	CredentialFile = "credential"
)

// Identity is what a node knows about itself after enrollment.
type Identity struct {
	CloudURL string `json:"cloud_url"`
	NodeID   string `json:"node_id"`
	TenantID int64  `json:"tenant_id"`
	// RulesetKey is the cloud's public key, pinned at enrollment
	// ("ed25519:<base64>"); rulesets signed with another key are refused.
	RulesetKey string    `json:"ruleset_key"`
	EnrolledAt time.Time `json:"enrolled_at"`
}

// Enroll exchanges token for a credential at the cloud at cloudURL and
// stores the identity in stateDir. It refuses to overwrite an existing
// identity unless force is set: re-enrolling makes a new node in the cloud.
func Enroll(ctx context.Context, hc *http.Client, cloudURL, token, name, stateDir string, force bool) (*Identity, error) {
	if !force {
		if _, err := os.Stat(filepath.Join(stateDir, IdentityFile)); err == nil {
			return nil, fmt.Errorf("this node is already enrolled (%s exists); use --force to enroll it again as a new node",
				filepath.Join(stateDir, IdentityFile))
		}
	}
	c, err := client.New(cloudURL, "", hc)
	if err != nil {
		return nil, fmt.Errorf("enroll: %w", err)
	}
	host, _ := os.Hostname()
	if name == "" {
		name = host
	}
	resp, err := c.Enroll(ctx, strings.TrimSpace(token), apiv1.EnrollRequest{Name: name, Hostname: host, AgentVersion: version.Version})
	if err != nil {
		return nil, fmt.Errorf("enroll at %s: %w", cloudURL, err)
	}
	if resp.RulesetKey == "" {
		return nil, errors.New("enroll: the cloud sent no ruleset key to pin; refusing an identity that could not verify rulesets")
	}
	if _, err := apiv1.ParsePublicKey(resp.RulesetKey); err != nil {
		return nil, fmt.Errorf("enroll: the cloud's ruleset key: %w", err)
	}
	id := &Identity{CloudURL: cloudURL, NodeID: resp.NodeID, TenantID: resp.TenantID, RulesetKey: resp.RulesetKey, EnrolledAt: time.Now().UTC()}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("enroll: state directory: %w", err)
	}
	if err := writeFile(filepath.Join(stateDir, CredentialFile), []byte(resp.Credential+"\n"), 0o600); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(id, "", "  ")
	if err := writeFile(filepath.Join(stateDir, IdentityFile), append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	return id, nil
}

// Load reads the identity and credential stored by Enroll.
func Load(stateDir string) (*Identity, string, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, IdentityFile))
	if err != nil {
		return nil, "", fmt.Errorf("node identity (run `palisade-agent enroll`): %w", err)
	}
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, "", fmt.Errorf("node identity %s: %w", filepath.Join(stateDir, IdentityFile), err)
	}
	cred, err := os.ReadFile(filepath.Join(stateDir, CredentialFile))
	if err != nil {
		return nil, "", fmt.Errorf("node credential: %w", err)
	}
	return &id, strings.TrimSpace(string(cred)), nil
}

// writeFile replaces path atomically: a crash leaves the old file or the
// new one, never half of one.
func writeFile(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
