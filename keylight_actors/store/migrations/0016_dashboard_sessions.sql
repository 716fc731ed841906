-- The vendor dashboard (issue 23): its sign-in sessions and failed sign-ins, in PostgreSQL so
-- that every ingress replica sees the same ones.
-- A session is found by the SHA-256 of its cookie's random id (the id itself is never
-- stored); token_hash is the hash of the token it signed in with, so a rotated management
-- token (or operator token) ends it. tenant_id is NULL for the operator's sessions.
CREATE TABLE IF NOT EXISTS dashboard_sessions (
    session_hash text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('vendor', 'operator')),
    tenant_id text REFERENCES tenants ON DELETE CASCADE,
    token_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    CHECK ((role = 'vendor') = (tenant_id IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);

-- One row per failed sign-in, counted per address over a window (the sign-in rate limit).
CREATE TABLE IF NOT EXISTS dashboard_signin_failures (
    address text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dashboard_signin_failures_by_address
    ON dashboard_signin_failures (address, failed_at);
CREATE INDEX IF NOT EXISTS dashboard_signin_failures_by_time
    ON dashboard_signin_failures (failed_at);
