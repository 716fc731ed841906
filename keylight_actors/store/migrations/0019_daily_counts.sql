-- Issue 20: the stats route's activations and new licenses per day, read from counters kept
-- exact by the writes themselves instead of counted from a million rows on every request
-- (docs/performance.md, "Management reports at scale").
--
-- Statement triggers with transition tables keep them: every insert into licenses or
-- license_instances counts, whoever writes it (a license host's group save, a hand or
-- checkout mint, an import's COPY, a seed), in the writer's own transaction, so a count is
-- never ahead of or behind its rows. Neither table's rows are ever deleted, and neither
-- created_at nor activated_at ever changes, so inserts are all there is to count.
--
-- shard is the writing backend's pid. A backend runs one transaction at a time, so two
-- writers counting for the same tenant and day (two license hosts, a host and an import)
-- never wait on one counter row: the hosts stay independent. A day then has a row per
-- connection that wrote for the tenant; the stats read sums them.
CREATE TABLE tenant_daily_counts (
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    day date NOT NULL,
    shard integer NOT NULL,
    activations bigint NOT NULL DEFAULT 0,
    new_licenses bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day, shard)
);

-- Devices count on the UTC day they were activated, as the stats route reports them.
-- A device row without a tenant (written by a release older than migration 0017 during a
-- rolling upgrade) is not counted, as the stats route did not count it before.
CREATE FUNCTION count_activations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_daily_counts AS c (tenant_id, day, shard, activations)
    SELECT tenant_id, (activated_at AT TIME ZONE 'utc')::date, pg_backend_pid(), count(*)
      FROM added_instances
     WHERE tenant_id IS NOT NULL
     GROUP BY 1, 2
    ON CONFLICT (tenant_id, day, shard)
    DO UPDATE SET activations = c.activations + EXCLUDED.activations;
    RETURN NULL;
END $$;

CREATE FUNCTION count_new_licenses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_daily_counts AS c (tenant_id, day, shard, new_licenses)
    SELECT tenant_id, (created_at AT TIME ZONE 'utc')::date, pg_backend_pid(), count(*)
      FROM added_licenses
     GROUP BY 1, 2
    ON CONFLICT (tenant_id, day, shard)
    DO UPDATE SET new_licenses = c.new_licenses + EXCLUDED.new_licenses;
    RETURN NULL;
END $$;

-- Creating the triggers locks each table against writes until this migration commits, so
-- the counts below are taken with nothing written beside them: none is missed or counted
-- twice.
CREATE TRIGGER license_instances_counted AFTER INSERT ON license_instances
    REFERENCING NEW TABLE AS added_instances
    FOR EACH STATEMENT EXECUTE FUNCTION count_activations();

CREATE TRIGGER licenses_counted AFTER INSERT ON licenses
    REFERENCING NEW TABLE AS added_licenses
    FOR EACH STATEMENT EXECUTE FUNCTION count_new_licenses();

-- The rows written before this migration, in shard 0 (no backend has pid 0).
INSERT INTO tenant_daily_counts (tenant_id, day, shard, activations)
SELECT tenant_id, (activated_at AT TIME ZONE 'utc')::date, 0, count(*)
  FROM license_instances
 WHERE tenant_id IS NOT NULL
 GROUP BY 1, 2;

INSERT INTO tenant_daily_counts AS c (tenant_id, day, shard, new_licenses)
SELECT tenant_id, (created_at AT TIME ZONE 'utc')::date, 0, count(*)
  FROM licenses
 GROUP BY 1, 2
ON CONFLICT (tenant_id, day, shard) DO UPDATE SET new_licenses = EXCLUDED.new_licenses;
