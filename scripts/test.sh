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
# Sanitizers (`make SAN=1`; ignored by other builds): stop at the first
# error, check leaks at exit, library leaks suppressed by
# tests/harness/lsan.supp. The harness gives the stack processes the same
# settings plus a log_path, and fails a test binary when any of them wrote a
# report; a report of the test binary itself lands in its log. Either is
# printed here and fails the run. Integration tests themselves are not
# leak-checked (test code that keeps its tokens; the stack is).
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/harness/lsan.supp}
san_re='^kpt: SANITIZER REPORT|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error: '

tested=0 passing=0 failing=0 crashing=0 failed_bins=()
for t in "$@"; do
	name=$(basename "$t")
	echo "==> $name"
	out=$logdir/$name.log
	case $name in
	it-*) ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 "$t" --jobs 1 >"$out" 2>&1 ;;
	*) "$t" --jobs 1 >"$out" 2>&1 ;;
	esac
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
	if grep -qaE "$san_re" "$out"; then
		echo "sanitizer report(s) in $out:"
		grep -aE -A 25 "$san_re" "$out" | head -n 120
		[ $rc -eq 0 ] && rc=1
	fi
	[ $rc -ne 0 ] && failed_bins+=("$name (log: $out)")
done

# Every fuzz target over its seed corpus, each input once (fuzz/driver.c;
# `make fuzz` runs them under libFuzzer).
for t in ${FUZZ_BINS:-}; do
	name=$(basename "$t")
	echo "==> $name (fuzz/corpus/${name#fuzz-}/, each input once)"
	out=$logdir/$name.log
	tested=$((tested + 1))
	if "$t" "$root/fuzz/corpus/${name#fuzz-}" >"$out" 2>&1 &&
		! grep -qaE "$san_re" "$out"; then
		passing=$((passing + 1))
		tail -n 1 "$out"
	else
		crashing=$((crashing + 1))
		tail -n 30 "$out"
		failed_bins+=("$name (log: $out)")
	fi
done

lint_rc=0
echo "==> configuration table (common/kp_config.def)"
"$root/scripts/config-doc.sh" check || lint_rc=1
echo "==> RPC contract (docs/rpc-contract.md)"
"$root/scripts/rpc-contract.sh" check || lint_rc=1
if [ -x "$root/scripts/lint.sh" ]; then
	echo "==> lint (OpenAPI and deployment files)"
	"$root/scripts/lint.sh" || lint_rc=1
fi
# The portal end to end: headless Chromium against a stack of its own
# (tests/portal/stack.mjs starts scripts/run.sh); screenshots of every page
# in build/screenshots/.
portal_rc=0
if [ -d "$root/tests/portal" ]; then
	echo "==> portal (headless Chromium, tests/portal)"
	node --test "$root/tests/portal/" >"$logdir/portal.log" 2>&1 || portal_rc=1
	grep -E '^# portal:|^not ok|^ok' "$logdir/portal.log"
	[ $portal_rc -ne 0 ] && failed_bins+=("portal (log: $logdir/portal.log)")
	n=$(grep -cE '^ok [0-9]' "$logdir/portal.log")
	f=$(grep -cE '^not ok [0-9]' "$logdir/portal.log")
	tested=$((tested + n + f))
	passing=$((passing + n))
	failing=$((failing + f))
fi

# The hostile-input walk: every operation of docs/openapi.yaml with
# mutated input, against a stack of its own (tests/hostile, issue 19).
if [ -d "$root/tests/hostile" ]; then
	echo "==> hostile input (every operation of docs/openapi.yaml, tests/hostile)"
	hostile_rc=0
	node --test "$root/tests/hostile/" >"$logdir/hostile.log" 2>&1 || hostile_rc=1
	grep -E 'hostile: |^not ok|^ok' "$logdir/hostile.log" | sed 's/^# \\# /# /'
	[ $hostile_rc -ne 0 ] && failed_bins+=("hostile (log: $logdir/hostile.log)")
	n=$(grep -cE '^ok [0-9]' "$logdir/hostile.log")
	f=$(grep -cE '^not ok [0-9]' "$logdir/hostile.log")
	tested=$((tested + n + f))
	passing=$((passing + n))
	failing=$((failing + f))
fi

if [ ${#failed_bins[@]} -gt 0 ]; then
	echo "failed: ${failed_bins[*]}"
fi
[ $lint_rc -ne 0 ] && echo "failed: scripts/lint.sh, scripts/config-doc.sh or scripts/rpc-contract.sh"
echo "[====] Synthesis: Tested: $tested | Passing: $passing | Failing: $failing | Crashing: $crashing "
[ ${#failed_bins[@]} -eq 0 ] && [ $lint_rc -eq 0 ] && [ "$tested" -gt 0 ]
