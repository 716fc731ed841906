-- Churn limit: activations plus deactivations per license per day, set per key type.

ALTER TABLE key_types ADD COLUMN churn_limit_per_day integer NOT NULL DEFAULT 50;
ALTER TABLE licenses ADD COLUMN churn_limit_per_day integer NOT NULL DEFAULT 50;
