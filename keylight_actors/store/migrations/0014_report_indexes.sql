-- The management reports at a million licenses (issue 20; docs/performance.md, "Management
-- reports at scale"). Without these, GET /stats seq-scanned licenses twice and
-- license_instances once, and the list's email filter walked a tenant's whole
-- newest-first index. On a large table, build them ahead with CREATE INDEX CONCURRENTLY
-- under the same names; this migration then leaves them as they are.

-- Licenses by stored status (the stats' counts by status, the list's status filter):
-- index-only, expires_at included for the expired split.
CREATE INDEX IF NOT EXISTS licenses_by_tenant_status
    ON licenses (tenant_id, status, expires_at);

-- Devices activated since a day (the stats' activations per day), index-only.
CREATE INDEX IF NOT EXISTS license_instances_by_activation
    ON license_instances (activated_at) INCLUDE (license_id);

-- The list's and the export's email filter (lower(customer_email) = lower(...)).
CREATE INDEX IF NOT EXISTS licenses_by_tenant_email
    ON licenses (tenant_id, lower(customer_email));
