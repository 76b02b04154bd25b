-- The lease of each activation, copied from its license (license owns
-- lease_seconds; 0 = no lease), so the lease sweep (activation_lease.c) finds
-- lapsed activations with one index range scan. Written at activation time
-- for every live activation of the license, and refreshed by the sweep from
-- license.GetLicenses before it releases anything.
ALTER TABLE activations ADD COLUMN lease_seconds bigint NOT NULL DEFAULT 0;

-- When a lease runs out. Adding a seconds-only interval does not depend on
-- the time zone, so the function is truly immutable and may be indexed.
CREATE FUNCTION lease_end(seen timestamptz, lease bigint)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT seen + make_interval(secs => lease) $$;

-- live, online, leased activations by the end of their lease
CREATE INDEX activations_lease_end
    ON activations (lease_end(last_seen_at, lease_seconds))
    WHERE deactivated_at IS NULL AND lease_seconds > 0 AND NOT offline;
