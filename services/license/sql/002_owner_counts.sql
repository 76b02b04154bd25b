-- How many licenses each (user, organization) pair holds, kept exact by
-- triggers, so that the portal list's total (GET /v1/me/licenses) reads a
-- few counter rows instead of counting up to every license the caller can
-- see (100,000 index entries took ~5 ms of PostgreSQL CPU per page).
-- NULL owners are stored as the nil UUID, which gen_random_uuid() never
-- makes. Rows that drop to 0 stay (a later license reuses them).
CREATE TABLE license_owner_counts (
	user_id uuid NOT NULL,
	organization_id uuid NOT NULL,
	n bigint NOT NULL,
	PRIMARY KEY (user_id, organization_id)
);
CREATE INDEX license_owner_counts_organization
	ON license_owner_counts (organization_id);

-- The page of a user's (or an organization's) licenses, newest first,
-- straight from an index: see sql_mine in license_rpc.c.
CREATE INDEX licenses_user_created ON licenses (user_id, created_at, id);
CREATE INDEX licenses_organization_created
	ON licenses (organization_id, created_at, id);

INSERT INTO license_owner_counts (user_id, organization_id, n)
SELECT coalesce(user_id, '00000000-0000-0000-0000-000000000000'),
	coalesce(organization_id, '00000000-0000-0000-0000-000000000000'),
	count(*)
FROM licenses GROUP BY 1, 2;

-- Adds (INSERT) or subtracts (DELETE) the rows per owner pair of the
-- statement's transition table. Inserts upsert the pairs in key order; the
-- UPDATE of a DELETE takes no guaranteed order, which only matters between
-- two concurrent multi-owner deletes of the same owners (a deadlock that
-- PostgreSQL resolves by failing one; single-license statements hold one
-- counter row). SET search_path: the trigger also runs for statements
-- of sessions with another search_path (psql seeding license.licenses).
CREATE FUNCTION license_owner_counts_stmt() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO license_owner_counts AS c (user_id, organization_id, n)
		SELECT coalesce(user_id, '00000000-0000-0000-0000-000000000000'),
			coalesce(organization_id,
				'00000000-0000-0000-0000-000000000000'),
			count(*)
		FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
		ON CONFLICT (user_id, organization_id)
		DO UPDATE SET n = c.n + excluded.n;
	ELSE
		UPDATE license_owner_counts c SET n = c.n - d.n
		FROM (SELECT coalesce(user_id,
				'00000000-0000-0000-0000-000000000000') AS u,
			coalesce(organization_id,
				'00000000-0000-0000-0000-000000000000') AS o,
			count(*) AS n
			FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2) d
		WHERE c.user_id = d.u AND c.organization_id = d.o;
	END IF;
	RETURN NULL;
END $$;

-- An UPDATE that moves one license to another owner: -1 and +1.
CREATE FUNCTION license_owner_counts_move() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	UPDATE license_owner_counts SET n = n - 1
	WHERE user_id = coalesce(OLD.user_id,
			'00000000-0000-0000-0000-000000000000')
		AND organization_id = coalesce(OLD.organization_id,
			'00000000-0000-0000-0000-000000000000');
	INSERT INTO license_owner_counts AS c (user_id, organization_id, n)
	VALUES (coalesce(NEW.user_id, '00000000-0000-0000-0000-000000000000'),
		coalesce(NEW.organization_id,
			'00000000-0000-0000-0000-000000000000'), 1)
	ON CONFLICT (user_id, organization_id) DO UPDATE SET n = c.n + 1;
	RETURN NULL;
END $$;

CREATE FUNCTION license_owner_counts_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	DELETE FROM license_owner_counts;
	RETURN NULL;
END $$;

CREATE TRIGGER licenses_owner_counts_insert AFTER INSERT ON licenses
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION license_owner_counts_stmt();
CREATE TRIGGER licenses_owner_counts_delete AFTER DELETE ON licenses
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION license_owner_counts_stmt();
-- Row level with a WHEN clause: the updates that keep the owner (PATCH,
-- suspend, renew, ...) pay nothing.
CREATE TRIGGER licenses_owner_counts_move
	AFTER UPDATE OF user_id, organization_id ON licenses
	FOR EACH ROW
	WHEN (OLD.user_id IS DISTINCT FROM NEW.user_id
		OR OLD.organization_id IS DISTINCT FROM NEW.organization_id)
	EXECUTE FUNCTION license_owner_counts_move();
CREATE TRIGGER licenses_owner_counts_truncate AFTER TRUNCATE ON licenses
	FOR EACH STATEMENT EXECUTE FUNCTION license_owner_counts_truncate();
