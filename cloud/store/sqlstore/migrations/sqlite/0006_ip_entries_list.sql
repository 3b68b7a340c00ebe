-- Triggers look up a tenant's allow entries before listing a source
-- (issue 7): find them without reading the deny list.
CREATE INDEX ip_entries_tenant_list ON ip_entries (tenant_id, list);
