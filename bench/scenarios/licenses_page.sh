#!/usr/bin/env bash
# licenses_page: GET /v1/me/licenses?page=1&limit=50 out of 100,000 licenses
# the caller can see: one page of the portal's license view, with product
# names (a join), totalActivations/totalDeactivations (one
# activation.Counters call per page) and group links (one
# org.VisibleLicenses call per page), plus the total.
#
# Contract (bench/README.md): gets BENCH_URL, BENCH_TOKEN (vendor admin),
# BENCH_DATABASE_URL, BENCH_DIR; seeds, then prints the request for wrk.
# Seeding: one product through POST /v1/products (so its key pair is made
# and sealed by the service), then 100,000 licenses owned by the admin
# (GET /v1/me gives the id) inserted with one SQL statement into
# license.licenses (random 25-character keys over the same alphabet as the
# service's generator; ON CONFLICT skips the ~never duplicate). Without a
# token or psql the scenario is skipped.
set -euo pipefail
: "${BENCH_URL:?}" "${BENCH_DATABASE_URL:?}"
if [ -z "${BENCH_TOKEN:-}" ]; then
	echo "skip no admin token"
	exit 0
fi
command -v psql >/dev/null || { echo "skip psql not installed"; exit 0; }
auth=(-H "Authorization: Bearer $BENCH_TOKEN" -H 'Content-Type: application/json')
me=$(curl -fsS "${auth[@]}" "$BENCH_URL/v1/me" | jq -r .id)
product=$(curl -fsS "${auth[@]}" -d '{"name":"bench-licenses-page"}' \
	"$BENCH_URL/v1/products" | jq -r .id)
echo "seeding 100000 licenses of user $me, product $product" >&2
psql -X -q -v ON_ERROR_STOP=1 -v product="$product" -v owner="$me" \
	"$BENCH_DATABASE_URL" >&2 <<'SQL'
INSERT INTO license.licenses (key, product_id, type, allowed_activations,
	allowed_deactivations, validity, expiration_strategy, user_id,
	created_at, updated_at)
SELECT k.key, :'product'::uuid, 'node-locked', 1, -1, 0, 'immediate',
	:'owner'::uuid, now() - g * interval '1 second', now()
FROM generate_series(1, 100000) AS g,
LATERAL (SELECT string_agg(substr('23456789ABCDEFGHJKMNPQRSTUVWXYZ',
	1 + floor(random() * 31)::int, 1), '') AS key
	FROM generate_series(1, 25) WHERE g > 0) AS k
ON CONFLICT (key) DO NOTHING;
ANALYZE license.licenses;
SQL
echo "method GET"
echo "path /v1/me/licenses?page=1&limit=50"
