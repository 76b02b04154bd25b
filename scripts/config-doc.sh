#!/usr/bin/env bash
# The README's configuration table is printed from common/kp_config.def
# (build/tools/kp-config-doc). `scripts/config-doc.sh check` (run by `make
# test`) fails when the README's table differs from it, or when README.md,
# docs/*.md (but client.md), compose.yaml or k8s/ name a KEYPORT_* variable
# the table does not know; `scripts/config-doc.sh write` (`make config-doc`) rewrites the
# table between the README's markers.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tool=$root/${BUILD:-build}/tools/kp-config-doc
readme=$root/README.md
begin='<!-- configuration table: printed from common/kp_config.def by `make config-doc` -->'
end='<!-- end of the configuration table -->'

[ -x "$tool" ] || { echo "config-doc: $tool is not built" >&2; exit 1; }
grep -qxF "$begin" "$readme" && grep -qxF "$end" "$readme" || {
	echo "config-doc: README.md lacks the table markers" >&2
	exit 1
}

# README.md with the table between the markers replaced by the tool's.
render() {
	awk -v b="$begin" -v e="$end" -v tool="$tool" '
		$0 == b { print; while ((tool | getline l) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$readme"
}

case ${1:-check} in
write)
	render >"$readme.tmp" && mv "$readme.tmp" "$readme"
	;;
check)
	rc=0
	if ! diff -u "$readme" <(render) >/dev/null; then
		echo "config-doc: README.md's configuration table differs from common/kp_config.def:"
		diff -u "$readme" <(render) | sed 's/^/  /' | head -n 40
		echo "  (run make config-doc)"
		rc=1
	fi
	known=$("$tool" --names)
	# docs/client.md is left out: the client library's constants
	# (KEYPORT_OK, KEYPORT_EEXPIRED, ...) share the prefix
	files=("$readme" "$root/compose.yaml")
	for f in "$root"/docs/*.md; do
		[ "$(basename "$f")" = client.md ] || files+=("$f")
	done
	[ -d "$root/k8s" ] && while IFS= read -r f; do files+=("$f"); done \
		< <(find "$root/k8s" -type f -name '*.yaml')
	# KEYPORT_<SVC>_URL and the like name a family, not a variable
	for name in $(grep -ohE 'KEYPORT_[A-Z0-9_]*[A-Z0-9]' "${files[@]}" | sort -u); do
		grep -qxF "$name" <<<"$known" && continue
		echo "config-doc: $name is named in $(grep -lw "$name" "${files[@]}" | sed "s|$root/||" | tr '\n' ' ')but common/kp_config.def does not know it"
		rc=1
	done
	[ $rc -eq 0 ] && echo "config-doc: ok ($(wc -l <<<"$known") variables)"
	exit $rc
	;;
*)
	echo "usage: $0 [check|write]" >&2
	exit 2
	;;
esac
