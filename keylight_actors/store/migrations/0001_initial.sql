-- Tenants, their catalog and credentials; licenses and instances; audit; the event outbox.

CREATE TABLE operator_credentials (
    id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    token_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
    tenant_id text PRIMARY KEY,
    name text NOT NULL,
    lifecycle text NOT NULL,
    management_token_hash text NOT NULL,
    checkout_key_hash text NOT NULL,
    sdk_key_hash text,
    stripe_account_id text UNIQUE,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE signing_keys (
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    kid text NOT NULL,
    public_key text NOT NULL,
    private_key_sealed bytea NOT NULL,
    is_primary boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz,
    PRIMARY KEY (tenant_id, kid)
);

CREATE TABLE products (
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    product_id text NOT NULL,
    display_name text NOT NULL,
    key_prefix text NOT NULL UNIQUE,
    status text NOT NULL DEFAULT 'active',
    trial_duration_days integer NOT NULL DEFAULT 0,
    free_tier_enabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, product_id)
);

CREATE TABLE key_types (
    tenant_id text NOT NULL,
    product_id text NOT NULL,
    key_type_id text NOT NULL,
    display_name text NOT NULL,
    activation_limit integer NOT NULL,
    duration_days integer,
    price_in_cents integer,
    currency text,
    recurring_interval text,
    entitlements text[] NOT NULL DEFAULT '{}',
    fallback_access boolean NOT NULL DEFAULT false,
    stripe_price_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, product_id, key_type_id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products ON DELETE CASCADE
);

CREATE TABLE licenses (
    license_id uuid PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    product_id text NOT NULL,
    key_type_id text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    key_display text NOT NULL,
    status text NOT NULL,
    activation_limit integer NOT NULL,
    expires_at timestamptz,
    entitlements text[] NOT NULL DEFAULT '{}',
    fallback_access boolean NOT NULL DEFAULT false,
    customer_email text,
    source text NOT NULL,
    checkout_session_id text UNIQUE,
    reminted_from uuid REFERENCES licenses,
    version bigint NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, product_id, key_type_id) REFERENCES key_types
);

CREATE INDEX licenses_by_tenant_newest ON licenses (tenant_id, created_at DESC, license_id DESC);
CREATE INDEX licenses_manual_mints ON licenses (tenant_id, created_at) WHERE source = 'manual';

CREATE TABLE license_instances (
    instance_id uuid PRIMARY KEY,
    license_id uuid NOT NULL REFERENCES licenses ON DELETE CASCADE,
    name text NOT NULL,
    machine_hash text,
    activated_at timestamptz NOT NULL,
    deactivated_at timestamptz
);

CREATE INDEX license_instances_active ON license_instances (license_id)
    WHERE deactivated_at IS NULL;

CREATE TABLE audit_log (
    audit_id bigserial PRIMARY KEY,
    tenant_id text,
    actor text NOT NULL,
    action text NOT NULL,
    target text,
    details jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX tenants_by_management_token ON tenants (management_token_hash);

CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, audit_id DESC);

-- The transactional outbox: written in the same transaction as the change it announces.
CREATE TABLE events (
    event_id uuid PRIMARY KEY,
    tenant_id text NOT NULL,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_by_tenant ON events (tenant_id, created_at);
