-- The org service's schema: organizations, user groups with their members
-- and license links, and the vendor's portal customization.
CREATE TABLE organizations (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL,
	email text NOT NULL DEFAULT '',
	description text NOT NULL DEFAULT '',
	allowed_users bigint NOT NULL DEFAULT -1 CHECK (allowed_users >= -1),
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);

CREATE TABLE user_groups (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
	name text NOT NULL,
	description text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE INDEX user_groups_org ON user_groups (organization_id, created_at);

-- user_id / license_id belong to auth / license: no foreign key across
-- schemas; the owning service calls org.UserRemoved / org.LicenseRemoved.
CREATE TABLE group_users (
	group_id uuid NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
	user_id uuid NOT NULL,
	PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_users_user ON group_users (user_id);

CREATE TABLE group_licenses (
	group_id uuid NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
	license_id uuid NOT NULL,
	PRIMARY KEY (group_id, license_id)
);
CREATE INDEX group_licenses_license ON group_licenses (license_id);

-- One row per tenant; the vendor's is 'vendor'.
CREATE TABLE customizations (
	tenant text PRIMARY KEY,
	portal_name text NOT NULL DEFAULT '',
	logo_url text NOT NULL DEFAULT '',
	custom_domain text UNIQUE,
	logo bytea,
	logo_type text,
	updated_at timestamptz NOT NULL
);
