-- Per-tenant SDK call quota (calls per minute); NULL means no quota.

ALTER TABLE tenants ADD COLUMN sdk_quota_per_minute integer;
