-- Sessions revoked recently (refresh-token reuse, a password change,
-- logout): auth.Revocations names them so that the gateway refuses their
-- access tokens within seconds (issue 19).
CREATE INDEX refresh_tokens_revoked_idx ON refresh_tokens (revoked_at)
	WHERE revoked_at IS NOT NULL;
