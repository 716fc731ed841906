-- Who freed a seat: a device deactivating itself counts against the license's daily churn
-- limit, the vendor deactivating it does not. The churn window is rebuilt from these rows
-- when a license is loaded, so the distinction must be stored. Rows from before this
-- migration are taken as the device's own (the stricter reading).
ALTER TABLE license_instances
    ADD COLUMN deactivated_by_device boolean NOT NULL DEFAULT true;
