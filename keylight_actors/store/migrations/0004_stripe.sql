-- Payments: manual-mode secrets, Stripe identifiers on licenses, checkout sessions, the
-- inbox of Stripe events (each processed once), and renewals applied per invoice.

ALTER TABLE tenants
    ADD COLUMN stripe_manual_secret_key_sealed bytea,
    ADD COLUMN stripe_manual_webhook_secret_sealed bytea;

ALTER TABLE licenses
    ADD COLUMN stripe_payment_intent_id text,
    ADD COLUMN stripe_subscription_id text,
    ADD COLUMN stripe_customer_id text;

CREATE INDEX licenses_by_payment_intent ON licenses (stripe_payment_intent_id)
    WHERE stripe_payment_intent_id IS NOT NULL;
CREATE INDEX licenses_by_subscription ON licenses (stripe_subscription_id)
    WHERE stripe_subscription_id IS NOT NULL;

CREATE TABLE checkout_sessions (
    session_id text PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    product_id text NOT NULL,
    key_type_id text NOT NULL,
    customer_email text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX checkout_sessions_by_tenant ON checkout_sessions (tenant_id, created_at);

CREATE TABLE stripe_events (
    event_id text PRIMARY KEY,
    endpoint text NOT NULL,             -- 'connect' or the tenant id of a manual endpoint
    account text,
    tenant_id text,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL,               -- received, processed, ignored, unroutable, failed
    reason text,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);

CREATE INDEX stripe_events_by_status ON stripe_events (status, received_at);

CREATE TABLE license_renewals (
    invoice_id text PRIMARY KEY,
    license_id uuid NOT NULL REFERENCES licenses ON DELETE CASCADE,
    renewed_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
