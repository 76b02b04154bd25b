#!/usr/bin/env bash
# Static checks, run by `make test` (scripts/test.sh) and `make lint`:
#   - redocly lint docs/openapi.yaml (rules in redocly.yaml)
#   - node --test tests/static/*.test.mjs: the spec matches the gateway's
#     routes; compose.yaml and k8s/ are well-formed, use only the KEYPORT_*
#     variables the programs read, and agree with each other; the
#     dashboard and alert rules name only metrics the processes expose
#   - promtool check rules deploy/observability/alerts.yaml
# node_modules comes from `npm ci` (package-lock.json) when it is missing or
# older than the lock file; with node_modules present no network is needed.
# Exits non-zero when any check fails.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

command -v node >/dev/null && command -v npm >/dev/null || {
	echo "lint: node and npm are needed (scripts/deps.sh installs them)" >&2
	exit 1
}
if [ ! -f node_modules/.package-lock.json ] ||
	[ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "lint: npm ci" >&2
	npm ci --no-audit --no-fund --loglevel=error >&2 || {
		echo "lint: npm ci failed (offline? run it once with network)" >&2
		exit 1
	}
fi

rc=0
echo "lint: redocly lint docs/openapi.yaml"
# Node 20 prints a deprecation banner on every run: keep the output to the
# findings.
if ! out=$(NO_UPDATE_NOTIFIER=1 REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	node_modules/.bin/redocly lint docs/openapi.yaml --config redocly.yaml \
	--format=stylish 2>&1); then
	rc=1
fi
echo "$out" | grep -v '[║╔╚]' | grep -v '^\s*$' | sed 's/^/  /'

echo "lint: node --test tests/static"
node --test --test-reporter=dot tests/static/*.test.mjs 2>&1 | sed 's/^/  /'
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1

echo "lint: promtool check rules deploy/observability/alerts.yaml"
if ! command -v promtool >/dev/null; then
	echo "  promtool is missing (Debian's prometheus: scripts/deps.sh)"
	rc=1
elif ! out=$(promtool check rules deploy/observability/alerts.yaml 2>&1); then
	echo "$out" | sed 's/^/  /'
	rc=1
fi

[ $rc -eq 0 ] && echo "lint: ok" || echo "lint: FAILED"
exit $rc
