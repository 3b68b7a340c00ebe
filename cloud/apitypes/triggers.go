package apitypes

import "github.com/palisadewaf/palisade/cloud/store"

// Triggers and their firings as the API shows them.
type (
	Trigger = store.Trigger
	Firing  = store.Firing
)

// TriggerRequest is the body of POST /api/v1/triggers and PUT
// /api/v1/triggers/{id}.
type TriggerRequest struct {
	Name string `json:"name"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
	// AppID limits the trigger to one application (0: every application,
	// and the entry it makes covers the whole node).
	AppID     int64                  `json:"app_id,omitempty"`
	Condition store.TriggerCondition `json:"condition"`
	Action    store.TriggerAction    `json:"action"`
}

// Integrations and their delivery log as the API shows them.
type (
	Integration = store.Integration
	Delivery    = store.Delivery
)

// CreateIntegrationRequest is the body of POST /api/v1/integrations.
type CreateIntegrationRequest struct {
	Name string `json:"name"`
	// Kind is webhook (JSON signed with HMAC-SHA256) or slack (a Slack
	// incoming-webhook message).
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// IntegrationCreated answers POST /api/v1/integrations: the secret that
// keys the signature of every delivery, shown this once.
type IntegrationCreated struct {
	Integration Integration `json:"integration"`
	Secret      string      `json:"secret"`
}
