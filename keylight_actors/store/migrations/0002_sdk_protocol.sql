-- SDK protocol: expiry announced once per license, keyless instances.

ALTER TABLE licenses ADD COLUMN expiry_announced boolean NOT NULL DEFAULT false;

CREATE TABLE keyless_instances (
    tenant_id text NOT NULL,
    product_id text NOT NULL,
    instance_id text NOT NULL,
    state text NOT NULL,
    machine_hash text NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, product_id, instance_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products ON DELETE CASCADE
);
