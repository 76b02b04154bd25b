-- Products (Ed25519 key pairs, the secret key sealed with the master key)
-- and licenses. Keys are stored normalised: upper case, no dashes.
CREATE TABLE products (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL,
	public_key bytea NOT NULL,
	secret_box bytea NOT NULL, -- nonce || crypto_secretbox_easy(secret key)
	created_at timestamptz NOT NULL
);
CREATE INDEX products_created_at ON products (created_at);

CREATE TABLE licenses (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	key text NOT NULL,
	product_id uuid NOT NULL REFERENCES products (id),
	type text NOT NULL CHECK (type IN ('node-locked', 'hosted-floating')),
	allowed_activations bigint NOT NULL,
	allowed_deactivations bigint NOT NULL,
	validity bigint NOT NULL,
	expiration_strategy text NOT NULL
		CHECK (expiration_strategy IN ('immediate', 'delayed')),
	expires_at timestamptz,
	suspended boolean NOT NULL DEFAULT false,
	revoked boolean NOT NULL DEFAULT false,
	user_id uuid,
	organization_id uuid,
	metadata jsonb NOT NULL DEFAULT '{}',
	lease_seconds bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX licenses_key ON licenses (key);
CREATE INDEX licenses_product ON licenses (product_id);
CREATE INDEX licenses_user ON licenses (user_id);
CREATE INDEX licenses_organization ON licenses (organization_id);
CREATE INDEX licenses_created_at ON licenses (created_at, id);
CREATE INDEX licenses_expires_at ON licenses (expires_at, id);
