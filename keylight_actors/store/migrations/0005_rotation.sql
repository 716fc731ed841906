-- Credential rotation: the previous SDK key keeps working for an overlap period.

ALTER TABLE tenants
    ADD COLUMN sdk_key_previous_hash text,
    ADD COLUMN sdk_key_previous_until timestamptz;
