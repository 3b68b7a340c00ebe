package apiv1

// EnrollRequest is the body of POST /api/v1/nodes/enroll. The node sends it
// once, with the one-time enrollment token an operator created as its
// bearer credential ("Authorization: Bearer pce_...").
type EnrollRequest struct {
	Version int `json:"version"`
	// Name is how the node appears in the console; the hostname by default.
	Name         string `json:"name"`
	Hostname     string `json:"hostname"`
	AgentVersion string `json:"agent_version"`
}

// EnrollResponse is the cloud's answer to a successful enrollment. The
// credential is shown this once: the cloud keeps only its hash, so a node
// that loses it must be enrolled again.
type EnrollResponse struct {
	Version  int    `json:"version"`
	NodeID   string `json:"node_id"`
	TenantID int64  `json:"tenant_id"`
	// Credential is the node's bearer token for every later call
	// ("Authorization: Bearer pcn_...").
	Credential string `json:"credential"`
	// RulesetKey is the public key that signs the rulesets this cloud
	// serves, in the text form of FormatPublicKey ("ed25519:<base64>").
	// The node pins it now, over the channel it already trusts for its
	// credential, and refuses any ruleset not signed with it. Absent when
	// the cloud signs no rulesets.
	RulesetKey string `json:"ruleset_key,omitempty"`
}

// Limits of an enrollment request.
const (
	MaxNodeNameLen     = 128
	MaxAgentVersionLen = 64
)

// Error is the body of every non-2xx answer of the cloud's API, for nodes
// and people alike.
type Error struct {
	// Code is a stable machine-readable word: bad_request, unauthorized,
	// forbidden, not_found, conflict, too_large, rate_limited, internal.
	Code string `json:"code"`
	// Message says what was wrong in words a person can act on.
	Message string `json:"message"`
}
