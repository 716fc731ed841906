-- Every device row of a license, active or not, found by its license: loading a license
-- rebuilds its churn window from the last day's activations and deactivations, and without
-- this index each load scanned the whole table twice (10 ms for 16 licenses at 7,000
-- devices, and growing with every device ever activated). Deleting a license (the foreign
-- key's cascade) finds its devices through it too. On a large table, build it ahead with
-- CREATE INDEX CONCURRENTLY under the same name; this migration then leaves it as it is.
CREATE INDEX IF NOT EXISTS license_instances_by_license
    ON license_instances (license_id, activated_at);
