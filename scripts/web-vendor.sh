#!/usr/bin/env bash
# The portal's view library, copied from node_modules (pinned by
# package-lock.json) into web/vendor/<package>@<version>/ and committed, so
# the gateway serves it with no build step and no network.
#   web-vendor.sh write   (re)writes web/vendor/ from node_modules
#   web-vendor.sh check   exits 1 when web/vendor/ differs from node_modules
# The copies are byte-for-byte the packages' ES module builds, except that
# the bare specifier "preact" in preact/hooks becomes the relative
# "./preact.mjs" (a browser without an import map cannot resolve it; an
# import map would be an inline script, which the portal's CSP forbids).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-check}

ver() { node -p "require('./node_modules/$1/package.json').version"; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pv=$(ver preact)
hv=$(ver htm)
mkdir -p "$out/preact@$pv" "$out/htm@$hv"
cp node_modules/preact/dist/preact.mjs "$out/preact@$pv/preact.mjs"
sed 's/from"preact"/from".\/preact.mjs"/g; s/from "preact"/from ".\/preact.mjs"/g' \
	node_modules/preact/hooks/dist/hooks.mjs >"$out/preact@$pv/hooks.mjs"
cp node_modules/htm/dist/htm.module.js "$out/htm@$hv/htm.mjs"
cp node_modules/preact/LICENSE "$out/preact@$pv/LICENSE.txt"
cp node_modules/htm/LICENSE "$out/htm@$hv/LICENSE.txt"
if grep -q 'from *"preact' "$out/preact@$pv/hooks.mjs"; then
	echo "web-vendor: a bare import is left in preact/hooks" >&2
	exit 1
fi

case $mode in
write)
	rm -rf web/vendor
	mkdir -p web/vendor
	cp -r "$out"/. web/vendor/
	echo "web-vendor: web/vendor/ has preact@$pv and htm@$hv"
	;;
check)
	if ! diff -r "$out" web/vendor >/dev/null 2>&1; then
		echo "web-vendor: web/vendor/ differs from node_modules (preact@$pv, htm@$hv);" \
			"run scripts/web-vendor.sh write" >&2
		exit 1
	fi
	;;
*)
	echo "usage: web-vendor.sh write|check" >&2
	exit 2
	;;
esac
