-- Outbound webhooks: each tenant's endpoint, one delivery per (event, endpoint) written in the
-- event's own transaction, and every attempt made to deliver it.

CREATE TABLE webhook_endpoints (
    tenant_id text PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
    url text NOT NULL,
    enabled_events text[] NOT NULL,
    secret_sealed bytea NOT NULL,
    -- After a rotation the previous secret still signs (a second signature) until then.
    previous_secret_sealed bytea,
    previous_secret_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_deliveries (
    delivery_id uuid PRIMARY KEY,       -- stable: every attempt and redelivery sends it again
    event_id uuid NOT NULL REFERENCES events ON DELETE CASCADE,
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    event_type text NOT NULL,
    url text NOT NULL,                  -- where it was (last) sent
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'retrying', 'failed')),
    attempt_count integer NOT NULL DEFAULT 0,
    round_start integer NOT NULL DEFAULT 0,   -- attempts made before the current round
    last_http_status integer,
    last_response_snippet text,
    last_error text,
    next_attempt_at timestamptz,        -- due time; NULL once delivered or failed
    claimed_by text,                    -- '<dispatcher>/<incarnation>' sending it now
    claim_id uuid,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_by_tenant
    ON webhook_deliveries (tenant_id, created_at DESC, delivery_id DESC);
CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries (claimed_by)
    WHERE claimed_by IS NOT NULL;
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries ON DELETE CASCADE,
    attempt_number integer NOT NULL,
    url text NOT NULL,
    started_at timestamptz NOT NULL,
    duration_ms integer NOT NULL,
    http_status integer,
    response_snippet text,
    error text,
    PRIMARY KEY (delivery_id, attempt_number)
);
