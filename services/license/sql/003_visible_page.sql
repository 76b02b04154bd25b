-- The portal list (license.ListMyLicenses) as two functions whose plans
-- are made once per connection. As plain prepared statements both were
-- planned again on every call: PostgreSQL keeps choosing a custom plan
-- because a generic one, costed for an unknown LIMIT as 10% of the rows,
-- looks dearer, and planning was ~40% of PostgreSQL's CPU per page
-- (perf, 100,000 licenses). force_generic_plan inside the functions keeps
-- one plan per statement; the plans below stay good for any caller because
-- every part reads an index in the page's order.
--
-- The licenses a caller sees are three disjoint sets: owned by the user u;
-- of the organization o (organization admins; NULL otherwise) and not u's;
-- linked to one of u's groups (ids) and in neither of the others.

-- The composite indexes of 002 serve every lookup of these two (user_id =,
-- organization_id =) and, alone, leave the planner no unordered path for
-- a page.
DROP INDEX licenses_user;
DROP INDEX licenses_organization;

-- One page, newest first: each set's first off + lim rows from its index,
-- merged. A caller with no organization to see and no group links (most
-- users) reads one index range, with no union to start and stop.
CREATE FUNCTION license_visible_page(u uuid, o uuid, ids uuid[], lim int,
	off bigint) RETURNS SETOF licenses
LANGUAGE plpgsql STABLE ROWS 50
SET plan_cache_mode = force_generic_plan SET search_path FROM CURRENT AS $$
BEGIN
	IF o IS NULL AND cardinality(ids) = 0 THEN
		RETURN QUERY
		SELECT l.* FROM licenses l WHERE l.user_id = u
		ORDER BY l.created_at DESC, l.id DESC LIMIT lim OFFSET off;
		RETURN;
	END IF;
	RETURN QUERY
	SELECT v.* FROM (
		(SELECT l.* FROM licenses l WHERE l.user_id = u
		ORDER BY l.created_at DESC, l.id DESC LIMIT lim + off)
		UNION ALL
		(SELECT l.* FROM licenses l
		WHERE l.organization_id = o AND l.user_id IS DISTINCT FROM u
		ORDER BY l.created_at DESC, l.id DESC LIMIT lim + off)
		UNION ALL
		(SELECT l.* FROM licenses l
		WHERE l.id = ANY(ids)
			AND NOT (coalesce(l.user_id = u, false)
				OR coalesce(l.organization_id = o, false))
		ORDER BY l.created_at DESC, l.id DESC LIMIT lim + off)
	) v ORDER BY v.created_at DESC, v.id DESC LIMIT lim OFFSET off;
END $$;

-- The exact number of licenses in the three sets: the first two from the
-- owner counters (002), the third by primary key.
CREATE FUNCTION license_visible_count(u uuid, o uuid, ids uuid[])
	RETURNS bigint
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan SET search_path FROM CURRENT AS $$
DECLARE
	owned bigint;
	org bigint := 0;
	linked bigint := 0;
BEGIN
	SELECT coalesce(sum(c.n), 0) INTO owned FROM license_owner_counts c
	WHERE c.user_id = u;
	IF o IS NOT NULL THEN
		SELECT coalesce(sum(c.n), 0) INTO org FROM license_owner_counts c
		WHERE c.organization_id = o AND c.user_id <> coalesce(u,
			'00000000-0000-0000-0000-000000000000');
	END IF;
	IF cardinality(ids) > 0 THEN
		SELECT count(*) INTO linked FROM licenses l
		WHERE l.id = ANY(ids)
			AND NOT (coalesce(l.user_id = u, false)
				OR coalesce(l.organization_id = o, false));
	END IF;
	RETURN owned + org + linked;
END $$;
