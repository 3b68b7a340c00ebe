-- What each ruleset version changed in a tenant's IP lists, so that a node
-- can be sent the difference between two versions instead of every entry
-- (issue 7). A version before delta_since is not covered: a node that old
-- gets the whole ruleset.

CREATE TABLE ip_entry_log (
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    entry_id   BIGINT NOT NULL,
    op         TEXT    NOT NULL -- put, del
);
CREATE INDEX ip_entry_log_version ON ip_entry_log (tenant_id, version);

ALTER TABLE ruleset_versions ADD COLUMN delta_since BIGINT NOT NULL DEFAULT 0;
UPDATE ruleset_versions SET delta_since = version;
