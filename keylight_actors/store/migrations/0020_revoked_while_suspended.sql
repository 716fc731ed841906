-- Issue 22: a won dispute gives a license back as it was before the dispute revoked it.
-- Whether Stripe revoked it while the vendor had it suspended (then a won dispute reinstates
-- it as suspended, not active); false for the vendor's own revocation and for any other.
ALTER TABLE licenses ADD COLUMN revoked_while_suspended boolean NOT NULL DEFAULT false;
