-- Rules, IP lists and the per-tenant ruleset version (issue 7).

CREATE TABLE rules (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    app_id      INTEGER NOT NULL DEFAULT 0,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL, -- JSON of apiv1.Rule
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX rules_tenant ON rules (tenant_id, id);

CREATE TABLE ip_entries (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    list        TEXT    NOT NULL,
    prefix      TEXT    NOT NULL,
    scope       TEXT    NOT NULL DEFAULT '[]', -- JSON array of application ids, sorted
    expires_at  INTEGER,
    reason      TEXT    NOT NULL DEFAULT '',
    origin      TEXT    NOT NULL,
    trigger_id  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, prefix, scope)
);

CREATE TABLE ruleset_versions (
    tenant_id   INTEGER PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    changed_at  INTEGER NOT NULL
);
