-- Issue 22, parts 2 and 3: Stripe events in any order, and dispute outcomes.
--
-- An event that needs a license not minted yet is kept as 'held', with what it waits for
-- ('payment_intent:pi_…' or 'subscription:sub_…'); the mint that creates the license
-- applies the events held for it, once each (services/stripe_inbox.py).
ALTER TABLE stripe_events ADD COLUMN awaits text;
CREATE INDEX stripe_events_held ON stripe_events (awaits, received_at) WHERE status = 'held';

-- Why a license was revoked ('dispute:dp_…', 'refund'; NULL for the vendor's own), so a won
-- dispute reinstates only what it revoked; and what Stripe settled for it for good (a
-- closed dispute 'dispute:dp_…', a cancelled subscription 'subscription_cancelled'), so
-- that a late event of the same purchase cannot undo it.
ALTER TABLE licenses ADD COLUMN revoked_by text;
ALTER TABLE licenses ADD COLUMN payment_settled text[] NOT NULL DEFAULT '{}';
