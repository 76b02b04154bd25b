-- The version of a license as the heartbeat cache sees it: bumped by
-- activation.LicenseChanged (and by the activation service itself when a
-- first activation starts a delayed expiry). A heartbeat reads it with the
-- activation and refetches a license whose cached version is older.
ALTER TABLE license_counters ADD COLUMN version bigint NOT NULL DEFAULT 0;
