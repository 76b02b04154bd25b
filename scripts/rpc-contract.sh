#!/usr/bin/env bash
# docs/rpc-contract.md against the generated contract ($(GEN)/rpc/
# contract.txt, written by common/tools/rpc_gen.c from the service blocks of
# proto/<service>.proto). `scripts/rpc-contract.sh check` (run by `make
# test`) fails when the document's method table differs from the contract,
# or when the document names a method ("license.GetLicense") the contract
# does not have; `scripts/rpc-contract.sh write` (`make rpc-doc`) rewrites
# the table between the document's markers.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
list=$root/${BUILD:-build}/gen/rpc/contract.txt
doc=$root/docs/rpc-contract.md
begin='<!-- method table: printed from the service blocks of proto/*.proto by `make rpc-doc` -->'
end='<!-- end of the method table -->'

[ -f "$list" ] || { echo "rpc-contract: $list is not generated" >&2; exit 1; }
grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc" || {
	echo "rpc-contract: docs/rpc-contract.md lacks the table markers" >&2
	exit 1
}

table() {
	echo '| method | request | reply | resend safe | callers |'
	echo '|---|---|---|---|---|'
	awk '{
		idem = "no"; callers = ""
		for (i = 4; i <= NF; i++) {
			if ($i == "idempotent") idem = "yes"
			else if ($i == "test-only") callers = "tests only (`KEYPORT_TEST_CLOCK=1`)"
			else if ($i ~ /^callers=/ && callers == "") { callers = substr($i, 9); gsub(",", ", ", callers) }
		}
		printf "| `%s` | `%s` | `%s` | %s | %s |\n", $1, $2, $3, idem, callers
	}' "$list"
}

render() {
	awk -v b="$begin" -v e="$end" -v t="$(table)" '
		$0 == b { print; print t; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$doc"
}

case ${1:-check} in
write)
	render >"$doc.tmp" && mv "$doc.tmp" "$doc"
	;;
check)
	rc=0
	if ! diff -u "$doc" <(render) >/dev/null; then
		echo "rpc-contract: docs/rpc-contract.md's method table differs from the contract:"
		diff -u "$doc" <(render) | sed 's/^/  /' | head -n 40
		echo "  (run make rpc-doc)"
		rc=1
	fi
	# <service>.Health and <service>.SetClockOffset are served by every
	# service outside the contract (common/kp_rpc.c, common/kp_service.c)
	# (message names such as keyport.auth.LoginRequest are not methods;
	# the generated table itself is left out)
	names=$(awk -v b="$begin" -v e="$end" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$doc" |
		grep -oE '(^|[^.A-Za-z_])(auth|org|license|activation|release)\.[A-Z][A-Za-z]+' |
		sed -E 's/^[^a-z]//' | sort -u)
	for m in $names; do
		case $m in *.Health | *.SetClockOffset) continue ;; esac
		grep -q "^$m " "$list" && continue
		echo "rpc-contract: docs/rpc-contract.md names $m, which no service block declares"
		rc=1
	done
	[ $rc -eq 0 ] && echo "rpc-contract: ok ($(wc -l <"$list") methods)"
	exit $rc
	;;
*)
	echo "usage: $0 [check|write]" >&2
	exit 2
	;;
esac
