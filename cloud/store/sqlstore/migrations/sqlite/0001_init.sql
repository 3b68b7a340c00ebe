-- Palisade cloud schema, version 1 (SQLite).
-- Times are Unix nanoseconds (INTEGER), so that both dialects share one
-- query text; booleans are 0/1.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email          TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_login_at  INTEGER
);
CREATE INDEX users_tenant ON users (tenant_id);

CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  BLOB    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    client_ip   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    token_hash    BLOB    NOT NULL UNIQUE,
    scopes        TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);
CREATE INDEX api_tokens_tenant_user ON api_tokens (tenant_id, user_id);

CREATE TABLE apps (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    filtration_mode  TEXT    NOT NULL,
    hosts            TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE enroll_tokens (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL DEFAULT '',
    token_hash  BLOB    NOT NULL UNIQUE,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    node_id     TEXT
);
CREATE INDEX enroll_tokens_tenant ON enroll_tokens (tenant_id);

CREATE TABLE nodes (
    id               TEXT    PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    hostname         TEXT    NOT NULL DEFAULT '',
    credential_hash  BLOB    NOT NULL UNIQUE,
    enrolled_at      INTEGER NOT NULL,
    last_seen_at     INTEGER,
    last_ip          TEXT    NOT NULL DEFAULT '',
    agent_version    TEXT    NOT NULL DEFAULT '',
    ruleset_version  INTEGER NOT NULL DEFAULT 0,
    spool_events     INTEGER NOT NULL DEFAULT 0,
    spool_bytes      INTEGER NOT NULL DEFAULT 0,
    revoked_at       INTEGER
);
CREATE INDEX nodes_tenant ON nodes (tenant_id);

-- Events carry no foreign keys: they outlive the nodes and applications
-- that reported them, and ingest must stay a plain append.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL,
    id            BLOB    NOT NULL, -- the UUID's 16 bytes
    time          INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    node_id       TEXT    NOT NULL,
    app_id        INTEGER NOT NULL,
    request_id    TEXT    NOT NULL,
    src_ip        BLOB    NOT NULL, -- 16 bytes, IPv4 mapped into IPv6
    method        TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    path          TEXT    NOT NULL,
    attack_type   TEXT    NOT NULL,
    point         TEXT    NOT NULL,
    detector_id   TEXT    NOT NULL,
    rule_ids      TEXT    NOT NULL, -- JSON array
    excerpt       TEXT    NOT NULL,
    masked        INTEGER NOT NULL,
    truncated     INTEGER NOT NULL,
    decision      TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    experimental  INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE INDEX events_tenant_time ON events (tenant_id, time, seq);
CREATE INDEX events_tenant_src ON events (tenant_id, src_ip, time);

CREATE TABLE counters (
    tenant_id      INTEGER NOT NULL,
    node_id        TEXT    NOT NULL,
    app_id         INTEGER NOT NULL,
    minute         INTEGER NOT NULL,
    requests       INTEGER NOT NULL,
    blocked        INTEGER NOT NULL,
    attacks_total  INTEGER NOT NULL,
    attacks        TEXT    NOT NULL, -- JSON object: attack type -> count
    PRIMARY KEY (node_id, app_id, minute)
);
CREATE INDEX counters_tenant_minute ON counters (tenant_id, minute);

CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    time         INTEGER NOT NULL,
    actor_kind   TEXT    NOT NULL,
    actor_id     TEXT    NOT NULL,
    actor_name   TEXT    NOT NULL,
    client_ip    TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    object_kind  TEXT    NOT NULL,
    object_id    TEXT    NOT NULL,
    details      TEXT    NOT NULL -- JSON object
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
