package apiv1

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SignedRuleset is what a node downloads: a Ruleset encoded as JSON, the
// Ed25519 signature over exactly those payload bytes, and the id of the
// key that made it. The payload travels base64-encoded so that nothing on
// the way (a proxy re-indenting JSON, a decoder reordering keys) can change
// the bytes that were signed: the node verifies the bytes first and only
// then parses them.
type SignedRuleset struct {
	Payload   []byte `json:"payload"`   // JSON of a Ruleset, base64 on the wire
	Signature []byte `json:"signature"` // Ed25519 over Payload, base64 on the wire
	KeyID     string `json:"key_id"`
}

// Errors of Keyring.Open a node counts as signature failures.
var (
	ErrUnsigned     = errors.New("ruleset is not signed")
	ErrUnknownKey   = errors.New("ruleset is signed with a key the node does not trust")
	ErrBadSignature = errors.New("ruleset signature does not verify")
)

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex. It
// lets the cloud rotate keys while nodes pin more than one.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// publicKeyPrefix marks the text form of a ruleset signing key.
const publicKeyPrefix = "ed25519:"

// FormatPublicKey is the text form of a signing key a node pins at
// enrollment or from its configuration: "ed25519:" and the key in base64.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads the text form written by FormatPublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), publicKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("public key does not start with %q", publicKeyPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key is %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// Signer signs rulesets with the cloud's private key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner returns a signer for key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("signing key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	return &Signer{key: key, id: KeyID(key.Public().(ed25519.PublicKey))}, nil
}

// KeyID is the id of the signer's public key.
func (s *Signer) KeyID() string { return s.id }

// PublicKey is the key nodes pin to verify this signer's rulesets.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign validates rs, encodes it and signs the encoding. The cloud never
// signs a ruleset a node would refuse.
func (s *Signer) Sign(rs *Ruleset) (*SignedRuleset, error) {
	if err := rs.Validate(); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	payload, err := json.Marshal(rs)
	if err != nil {
		return nil, fmt.Errorf("sign ruleset %d: encode: %w", rs.RulesetVersion, err)
	}
	return &SignedRuleset{Payload: payload, Signature: ed25519.Sign(s.key, payload), KeyID: s.id}, nil
}

// Keyring holds the signing keys a node trusts, by key id.
type Keyring struct {
	keys map[string]ed25519.PublicKey
}

// NewKeyring trusts pubs.
func NewKeyring(pubs ...ed25519.PublicKey) (*Keyring, error) {
	k := &Keyring{keys: map[string]ed25519.PublicKey{}}
	for i, p := range pubs {
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("trusted key %d is %d bytes, want %d", i, len(p), ed25519.PublicKeySize)
		}
		k.keys[KeyID(p)] = p
	}
	if len(k.keys) == 0 {
		return nil, errors.New("a keyring needs at least one trusted key")
	}
	return k, nil
}

// Open verifies the signature of sr and only then decodes its payload,
// strictly (unknown fields refused), and validates it. Signature problems
// wrap ErrUnsigned, ErrUnknownKey or ErrBadSignature.
func (k *Keyring) Open(sr *SignedRuleset) (*Ruleset, error) {
	if len(sr.Signature) == 0 {
		return nil, ErrUnsigned
	}
	pub, ok := k.keys[sr.KeyID]
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, sr.KeyID)
	}
	if !ed25519.Verify(pub, sr.Payload, sr.Signature) {
		return nil, fmt.Errorf("%w (key id %s)", ErrBadSignature, sr.KeyID)
	}
	var rs Ruleset
	dec := json.NewDecoder(bytes.NewReader(sr.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("decode signed ruleset: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode signed ruleset: trailing data after the document")
	}
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	return &rs, nil
}

// IsSignatureError reports whether err is one of the signature failures
// of Open, as opposed to a well-signed but invalid ruleset.
func IsSignatureError(err error) bool {
	return errors.Is(err, ErrUnsigned) || errors.Is(err, ErrUnknownKey) || errors.Is(err, ErrBadSignature)
}

// Fetching rulesets. A node asks GET RulesetPath with its credential as
// bearer, the version it runs in If-None-Match (RulesetETag) and how long
// the cloud may hold the request in the "wait" query parameter (seconds,
// at most MaxRulesetWaitSeconds). The cloud answers 200 with a
// SignedRuleset and its ETag as soon as it has a newer version, or 304
// when the wait ends without one (long poll).
const (
	RulesetPath           = "/api/v1/ruleset"
	MaxRulesetWaitSeconds = 30
)

// RulesetETag is the entity tag of ruleset version v.
func RulesetETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }
