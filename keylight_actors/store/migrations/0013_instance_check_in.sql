-- A device's last check-in (issue 20): its activation, then a validate, stored at most once
-- an hour per device. Devices activated before this column read their activation time.
ALTER TABLE license_instances ADD COLUMN IF NOT EXISTS last_validated_at timestamptz;
