-- Group clean-ups org has not confirmed yet (org.UserRemoved): a row is
-- written in the transaction that deletes a user (organization_id '') or
-- moves one out of an organization (organization_id = the old one, so only
-- that organization's groups are touched), and deleted once org answers.
-- Undelivered rows are retried (see auth_users.c, auth_outbox_flush).
CREATE TABLE org_outbox (
	user_id uuid NOT NULL,
	organization_id text NOT NULL DEFAULT '',
	queued_at timestamptz NOT NULL,
	PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX org_outbox_queued_idx ON org_outbox (queued_at);
