-- Triggers, what they fired, and per-source request counters (issue 7).

CREATE TABLE triggers (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    enabled     INTEGER NOT NULL,
    app_id      INTEGER NOT NULL DEFAULT 0,
    body        TEXT    NOT NULL, -- JSON: condition and action
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE trigger_firings (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    trigger_id    INTEGER NOT NULL REFERENCES triggers(id) ON DELETE CASCADE,
    app_id        INTEGER NOT NULL,
    source        BLOB NOT NULL, -- 16 bytes, IPv4 mapped into IPv6
    count         INTEGER NOT NULL,
    window_start  INTEGER NOT NULL,
    fired_at      INTEGER NOT NULL,
    until_at      INTEGER NOT NULL,
    action        TEXT    NOT NULL,
    entry_id      INTEGER NOT NULL DEFAULT 0,
    note          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX trigger_firings_hold ON trigger_firings (trigger_id, app_id, source, until_at);
CREATE INDEX trigger_firings_tenant ON trigger_firings (tenant_id, id);

CREATE TABLE source_counters (
    tenant_id   INTEGER NOT NULL,
    node_id     TEXT    NOT NULL,
    app_id      INTEGER NOT NULL,
    minute      INTEGER NOT NULL,
    src_ip      BLOB NOT NULL, -- 16 bytes, IPv4 mapped into IPv6
    path        TEXT    NOT NULL,
    requests    INTEGER NOT NULL,
    not_found   INTEGER NOT NULL,
    PRIMARY KEY (node_id, app_id, minute, src_ip, path)
);
CREATE INDEX source_counters_src ON source_counters (tenant_id, src_ip, minute);
CREATE INDEX events_tenant_src_status ON events (tenant_id, src_ip, status, time);

-- Tenants made before triggers existed get the defaults a new tenant gets
-- (store.DefaultTriggers; a test keeps both equal).
INSERT INTO triggers (tenant_id, name, enabled, app_id, body, created_at, updated_at)
SELECT id, 'graylist a source of 3 distinct attacks in an hour', 1, 0,
    '{"condition":{"kind":"distinct_attacks","threshold":3,"window_seconds":3600},"action":{"kind":"gray","duration_seconds":3600}}',
    created_at, created_at FROM tenants;
INSERT INTO triggers (tenant_id, name, enabled, app_id, body, created_at, updated_at)
SELECT id, 'denylist a source of 10 attacks in 5 minutes', 1, 0,
    '{"condition":{"kind":"attacks","threshold":10,"window_seconds":300},"action":{"kind":"deny","duration_seconds":3600}}',
    created_at, created_at FROM tenants;
