# shellcheck shell=bash disable=SC2154
# bench/seed.sh: seeding helpers for scripts/bench.sh (sourced; uses its
# $url, $token and $db_url). How each kind of row is made:
#   products, users, organizations, releases and release files: through the
#     API (a product's Ed25519 key pair is made and sealed by the license
#     service; a user's password hash by auth; a file's sha256 by release).
#   licenses: one INSERT ... SELECT generate_series into license.licenses.
#     A license row holds no signature or secret the services compute: its
#     key is 25 characters of the service's alphabet (license_key.c; here
#     md5 hex mapped onto 16 of those letters), created_at a second apart.
#     The statement-level trigger keeps license_owner_counts right.
#   activations: one INSERT ... SELECT into activation.activations, N per
#     license, plus license_counters' totals. An activation row holds no
#     signature either: the token a heartbeat answers is signed per request
#     with the product's key, so nothing has to be cloned.

api() { # METHOD PATH [BODY [TOKEN]] -> the answer's body; fails on HTTP >= 300
	local t=${4:-$token}
	if [ -n "${3:-}" ]; then
		curl -fsS -X "$1" "$url$2" -H "Authorization: Bearer $t" \
			-H 'Content-Type: application/json' --data-raw "$3"
	else
		curl -fsS -X "$1" "$url$2" -H "Authorization: Bearer $t"
	fi
}

sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$db_url" "$@"; }

seed_product() { # NAME -> id
	api POST /v1/products "$(jq -nc --arg n "$1" '{name:$n}')" | jq -r .id
}

# seed_licenses PRODUCT N ALLOWED_ACTIVATIONS ORG_ID|"" USER_ID|""
seed_licenses() {
	sql -v product="$1" -v n="$2" -v allowed="$3" -v org="${4:-}" \
		-v owner="${5:-}" >/dev/null <<'SQL'
INSERT INTO license.licenses (key, product_id, type, allowed_activations,
	allowed_deactivations, validity, expiration_strategy, user_id,
	organization_id, created_at, updated_at)
SELECT translate(substr(md5(random()::text || g::text), 1, 25),
		'0123456789abcdef', 'ABCDEFGHJKMNPQRS'),
	:'product'::uuid, 'node-locked', :'allowed'::bigint, -1, 0, 'immediate',
	nullif(:'owner', '')::uuid, nullif(:'org', '')::uuid,
	now() - g * interval '1 second', now()
FROM generate_series(1, :'n'::int) AS g
ON CONFLICT (key) DO NOTHING;
SQL
}

# seed_activations PRODUCT PER_LICENSE: PER_LICENSE activations on every
# license of PRODUCT, last seen an hour ago (so each one's first heartbeat
# in the run writes lastSeenAt, later ones within the minute do not).
seed_activations() {
	sql -v product="$1" -v per="$2" >/dev/null <<'SQL'
INSERT INTO activation.activations (license_id, product_id, fingerprint,
	hostname, os, created_at, last_seen_at)
SELECT l.id, l.product_id, 'bench-' || g, 'bench', 'linux',
	now() - interval '1 hour', now() - interval '1 hour'
FROM license.licenses l, generate_series(1, :'per'::int) AS g
WHERE l.product_id = :'product'::uuid;
INSERT INTO activation.license_counters (license_id, total_activations)
SELECT id, :'per'::int FROM license.licenses
WHERE product_id = :'product'::uuid
ON CONFLICT (license_id) DO UPDATE
SET total_activations = excluded.total_activations;
SQL
}

# heartbeat_file FILE PRODUCT...: "ACTIVATION_ID KEY" of every live
# activation of those products, in random order
heartbeat_file() {
	local f=$1
	shift
	local list
	list=$(printf "'%s'::uuid," "$@")
	sql -F ' ' -c "SELECT a.id, l.key FROM activation.activations a
		JOIN license.licenses l ON l.id = a.license_id
		WHERE a.product_id IN (${list%,}) AND a.deactivated_at IS NULL
		ORDER BY random()" >"$f"
}

vacuum() { sql -c "VACUUM ANALYZE $1" >/dev/null; }
