-- Issue 22: licenses expire on time without an SDK call (actors/expiry_sweeper.py).
--
-- The "expiry announced" marker is per expiry value: license.expired was sent for the
-- expires_at it names, so an expiry moved later (a renewal, an edit) is announced again when
-- the new one passes, and an expiry is never announced twice, whether an SDK call or the
-- sweep sees it first.
ALTER TABLE licenses ADD COLUMN expiry_announced_for timestamptz;
UPDATE licenses SET expiry_announced_for = expires_at
 WHERE expiry_announced AND expires_at IS NOT NULL;
ALTER TABLE licenses DROP COLUMN expiry_announced;

-- A sweeper's claim on a due license: a lease, due again once it has run out.
ALTER TABLE licenses ADD COLUMN expiry_claimed_until timestamptz;

-- The sweep's due rows: active licenses whose current expiry is not announced yet. An idle
-- pass is one probe of this index (expires_at <= now() finds nothing); an announced expiry
-- leaves it.
CREATE INDEX IF NOT EXISTS licenses_expiry_due
    ON licenses (expires_at)
 WHERE status = 'active' AND expires_at IS NOT NULL
   AND expiry_announced_for IS DISTINCT FROM expires_at;
