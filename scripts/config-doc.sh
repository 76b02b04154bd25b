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

. "$root/scripts/doc-table.sh"
table=$("$tool")

case ${1:-check} in
write)
	doc_table_render "$readme" "$begin" "$end" "$table" >"$readme.tmp" &&
		mv "$readme.tmp" "$readme"
	;;
check)
	rc=0
	doc_table_check config-doc "$readme" "$begin" "$end" "$table" \
		"the table comes from common/kp_config.def: run make config-doc" || rc=1
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
		# KEYPORT_<NAME>_FILE: NAME's value from a file (kp_config_load)
		[ "${name%_FILE}" != "$name" ] && grep -qxF "${name%_FILE}" <<<"$known" && continue
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
