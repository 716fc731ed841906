-- Importing licenses from another system (issue 21): the license's id in the old system,
-- unique per tenant (re-posting a file matches on it), and free-form metadata. Both are
-- added only if missing: PATCH license may add metadata in a migration of its own.
ALTER TABLE licenses ADD COLUMN IF NOT EXISTS external_id text;
ALTER TABLE licenses ADD COLUMN IF NOT EXISTS metadata jsonb;

CREATE UNIQUE INDEX IF NOT EXISTS licenses_by_external_id
    ON licenses (tenant_id, external_id) WHERE external_id IS NOT NULL;
