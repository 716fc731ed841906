-- A keyless (trial / free-tier) install that later activates a license: the activation's
-- optional free_tier_instance_id names the keyless row, which then records the license it
-- became and when. The first link stands; a license that goes away unlinks its rows.
ALTER TABLE keyless_instances
    ADD COLUMN license_id uuid REFERENCES licenses ON DELETE SET NULL,
    ADD COLUMN linked_at timestamptz;

CREATE INDEX keyless_instances_by_license
    ON keyless_instances (license_id) WHERE license_id IS NOT NULL;
