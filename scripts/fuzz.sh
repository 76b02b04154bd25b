#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer target (build-fuzz/test/fuzz-<target>)
# for FUZZ_SECONDS, from the seeds in fuzz/corpus/<target>/ (read only) and
# a working corpus in build-fuzz/corpus/<target>/ (kept between runs), and
# writes the figures (inputs tried, corpus size, coverage, crashes) to
# build-fuzz/fuzz-figures.md. A crash leaves its input in
# build-fuzz/artifacts/ and fails the run.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build-fuzz
secs=${FUZZ_SECONDS:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
mkdir -p "$out/artifacts" "$out/logs"
figures=$out/fuzz-figures.md
{
	echo "| target | seconds | inputs tried | per second | corpus | coverage (edges) | crashes |"
	echo "|---|---|---|---|---|---|---|"
} >"$figures"
rc=0
for t in "$@"; do
	bin=$out/test/fuzz-$t
	log=$out/logs/$t.log
	mkdir -p "$out/corpus/$t"
	echo "==> fuzz $t (${secs} s)"
	"$bin" -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=2048 \
		-timeout=10 -artifact_prefix="$out/artifacts/$t-" \
		"$out/corpus/$t" "$root/fuzz/corpus/$t" >"$log" 2>&1
	r=$?
	runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
	rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1)
	cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -n 1 | sed 's/cov: //')
	corpus=$(find "$out/corpus/$t" -type f | wc -l)
	crashes=0
	if [ $r -ne 0 ]; then
		crashes=1
		rc=1
		grep -aE 'ERROR|SUMMARY|artifact' "$log" | head -n 20
	fi
	echo "| $t | $secs | ${runs:-0} | ${rate:-0} | $corpus | ${cov:-?} | $crashes |" >>"$figures"
	echo "    ${runs:-0} inputs, ${rate:-0}/s, corpus $corpus, coverage ${cov:-?}, crashes $crashes"
done
echo "figures: $figures"
exit $rc
