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
