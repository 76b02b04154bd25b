-- Releases of the vendor's products and their files. A release's order is
-- its version's semantic-versioning precedence, kept as sort_key (made by
-- release_semver.c), compared byte by byte (COLLATE "C"). The files' bytes
-- live in the release directory under files/<id>; a row exists only for a
-- file that was completely received and renamed into place.
CREATE TABLE releases (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	product_id uuid NOT NULL,
	product_name text NOT NULL,
	name text NOT NULL,
	version text NOT NULL,
	sort_key text COLLATE "C" NOT NULL,
	channel text NOT NULL,
	platform text NOT NULL,
	notes text NOT NULL DEFAULT '',
	published boolean NOT NULL DEFAULT false,
	published_at timestamptz,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	UNIQUE (product_id, version, channel, platform)
);
CREATE INDEX releases_order ON releases (product_id, channel, sort_key DESC);

CREATE TABLE files (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	release_id uuid NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
	name text NOT NULL,
	size bigint NOT NULL,
	sha256 text NOT NULL,
	downloads bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL,
	UNIQUE (release_id, name)
);
