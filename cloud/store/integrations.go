package store

import (
	"context"
	"time"
)

// Integrations are where a tenant's notifications go (webhooks, Slack),
// and the log of every delivery to them.
type Integrations interface {
	// CreateIntegration stores i; i.ID is set. ErrConflict when the tenant
	// has an integration of that name.
	CreateIntegration(ctx context.Context, by Actor, i *Integration) error
	GetIntegration(ctx context.Context, tenantID, id int64) (Integration, error)
	ListIntegrations(ctx context.Context, tenantID int64) ([]Integration, error)
	// DeleteIntegration removes it with its delivery log.
	DeleteIntegration(ctx context.Context, by Actor, tenantID, id int64) error

	// CreateDelivery logs a delivery about to be attempted; d.ID is set.
	CreateDelivery(ctx context.Context, d *Delivery) error
	// UpdateDelivery records the outcome of d's latest attempt.
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// ListDeliveries lists an integration's deliveries, newest first.
	ListDeliveries(ctx context.Context, tenantID, integrationID int64, limit int) ([]Delivery, error)
}

// Integration kinds.
const (
	// IntegrationWebhook posts a JSON document signed with HMAC-SHA256.
	IntegrationWebhook = "webhook"
	// IntegrationSlack posts a Slack incoming-webhook message ({"text"}),
	// which Mattermost, Rocket.Chat and others accept too.
	IntegrationSlack = "slack"
)

// Integration is one destination of notifications.
type Integration struct {
	ID       int64  `json:"id"`
	TenantID int64  `json:"tenant_id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	// URL is where deliveries are posted.
	URL string `json:"url"`
	// Secret is the HMAC key of webhook signatures: shown once, when the
	// integration is created.
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // being attempted, or waiting for the next attempt
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryFailed    = "failed"    // every attempt failed, or the receiver refused it (4xx)
)

// Delivery is one notification sent (or being sent) to an integration.
type Delivery struct {
	ID            int64  `json:"id"`
	TenantID      int64  `json:"tenant_id"`
	IntegrationID int64  `json:"integration_id"`
	Event         string `json:"event"` // trigger.fired, test
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	// HTTPStatus is the receiver's answer to the latest attempt (0: no
	// answer).
	HTTPStatus int `json:"http_status,omitempty"`
	// Error says why the latest attempt failed.
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}
