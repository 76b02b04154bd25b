-- Users whose access tokens issued at or before revoked_at must no longer
-- be accepted (disabled or deleted users); the gateway polls recent rows.
CREATE TABLE token_revocations (
	user_id uuid PRIMARY KEY,
	revoked_at timestamptz NOT NULL
);
CREATE INDEX token_revocations_at_idx ON token_revocations (revoked_at);
