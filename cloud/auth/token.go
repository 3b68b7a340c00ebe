package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Kind is the kind of a bearer secret, written as its prefix so that a
// secret found in a log or a repository says what it opens (and secret
// scanners can match it).
type Kind string

const (
	KindSession    Kind = "pcs_" // a user's login
	KindAPIToken   Kind = "pct_" // a user's API token
	KindNode       Kind = "pcn_" // a node's credential
	KindEnrollment Kind = "pce_" // a one-time node enrollment token
)

// secretLen is the length of the random part: 32 bytes, base64url.
const secretLen = 43

// NewSecret returns a new bearer secret of kind k and its hash.
func NewSecret(k Kind) (secret string, hash []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // never fails on Linux
	}
	secret = string(k) + base64.RawURLEncoding.EncodeToString(b)
	return secret, HashSecret(secret)
}

// HashSecret is the hash under which a secret is stored.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// KindOf returns the kind of a well-formed secret, or "" for anything else.
func KindOf(secret string) Kind {
	if len(secret) != len(KindSession)+secretLen {
		return ""
	}
	for _, k := range []Kind{KindSession, KindAPIToken, KindNode, KindEnrollment} {
		if strings.HasPrefix(secret, string(k)) {
			if _, err := base64.RawURLEncoding.DecodeString(secret[len(k):]); err != nil {
				return ""
			}
			return k
		}
	}
	return ""
}
