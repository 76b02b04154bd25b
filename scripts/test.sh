#!/usr/bin/env bash
# `make test`: runs every test binary given (unit tiers first, then the
# integration tier, each of which starts its own PostgreSQL and stack), the
# static checks (scripts/lint.sh) when present, and closes with one summary
# line in Criterion's format for the whole run.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export KEYPORT_ROOT=$root
export KEYPORT_BIN_DIR=${KEYPORT_BIN_DIR:-$root/${BUILD:-build}/bin}
logdir=$root/${BUILD:-build}/test-logs
mkdir -p "$logdir"

tested=0 passing=0 failing=0 crashing=0 failed_bins=()
for t in "$@"; do
	name=$(basename "$t")
	echo "==> $name"
	out=$logdir/$name.log
	"$t" --jobs 1 >"$out" 2>&1
	rc=$?
	grep -E '^\[(FAIL|----)\]|Synthesis' "$out" | sed 's/\x1b\[[0-9;]*m//g'
	line=$(grep -a 'Synthesis' "$out" | tail -n 1 | sed 's/\x1b\[[0-9;]*m//g')
	if [ -n "$line" ]; then
		n() { echo "$line" | sed -nE "s/.*$1: ([0-9]+).*/\\1/p"; }
		tested=$((tested + $(n Tested)))
		passing=$((passing + $(n Passing)))
		failing=$((failing + $(n Failing)))
		crashing=$((crashing + $(n Crashing)))
	else
		crashing=$((crashing + 1))
		tail -n 20 "$out"
	fi
	[ $rc -ne 0 ] && failed_bins+=("$name (log: $out)")
done

lint_rc=0
if [ -x "$root/scripts/lint.sh" ]; then
	echo "==> lint (OpenAPI and deployment files)"
	"$root/scripts/lint.sh" || lint_rc=1
fi

if [ ${#failed_bins[@]} -gt 0 ]; then
	echo "failed: ${failed_bins[*]}"
fi
[ $lint_rc -ne 0 ] && echo "failed: scripts/lint.sh"
echo "[====] Synthesis: Tested: $tested | Passing: $passing | Failing: $failing | Crashing: $crashing "
[ ${#failed_bins[@]} -eq 0 ] && [ $lint_rc -eq 0 ] && [ "$tested" -gt 0 ]
