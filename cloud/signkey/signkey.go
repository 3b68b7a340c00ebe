// Package signkey keeps the cloud's ruleset signing key on disk: an
// Ed25519 private key in a PKCS #8 PEM file (readable by openssl), created
// on first start. Every replica of the cloud must load the same file, since
// nodes pin its public key.
package signkey

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/palisadewaf/palisade/cloud/apiv1"
)

const pemType = "PRIVATE KEY"

// LoadOrCreate returns a signer for the key at path, creating the key
// (mode 0600, written atomically) when the file does not exist.
func LoadOrCreate(path string) (signer *apiv1.Signer, created bool, err error) {
	s, err := Load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return s, false, err
	}
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, false, fmt.Errorf("generate ruleset signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("encode ruleset signing key: %w", err)
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der})); err != nil {
		return nil, false, err
	}
	// Read back what is on disk: a replica that created the file at the
	// same moment wins, and everyone signs with its key.
	s, err = Load(path)
	return s, err == nil, err
}

// writeNew writes data to path only if path does not exist yet.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("ruleset signing key: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".signkey-*")
	if err != nil {
		return fmt.Errorf("ruleset signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("ruleset signing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ruleset signing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ruleset signing key: %w", err)
	}
	// A hard link fails when path exists, unlike a rename: an existing key
	// is never replaced.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("ruleset signing key: %w", err)
	}
	return nil
}

// Load reads the key at path. It refuses a key file others can read.
func Load(path string) (*apiv1.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("ruleset signing key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("ruleset signing key %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ruleset signing key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != pemType {
		return nil, fmt.Errorf("ruleset signing key %s: not a PEM %q block", path, pemType)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("ruleset signing key %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("ruleset signing key %s: a %T, want Ed25519", path, k)
	}
	return apiv1.NewSigner(key)
}
