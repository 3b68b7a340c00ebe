-- Integrations (webhooks, Slack) and the log of what was sent to them
-- (issue 7).

CREATE TABLE integrations (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL, -- webhook, slack
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL, -- HMAC key of webhook signatures
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    integration_id  INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    event           TEXT    NOT NULL, -- trigger.fired, test
    state           TEXT    NOT NULL, -- pending, delivered, failed
    attempts        INTEGER NOT NULL,
    http_status     INTEGER NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_integration ON deliveries (tenant_id, integration_id, id);
