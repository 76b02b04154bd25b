#!/usr/bin/env bash
# `make bench`: every Keyport scenario measured against its own ceiling,
# measured in the same run on this machine (docs/performance.md, issue 16).
#
# Ceilings (no Keyport code on the request path except the bus's):
#   http       bench/bare_mhd plain: bare libmicrohttpd, the gateway's mode
#   http_sign  bench/bare_mhd sign: the same, parsing the JSON body and
#              Ed25519-signing a ~200-byte payload per request (the
#              heartbeat's floor)
#   bus        bench/rpc_hop: one kp_rpc round trip over the bus's mutual TLS
#              with the per-pair MAC, as the services use it
#   argon2     bench/argon2: Argon2id verifications/s with auth's parameters
#              and KEYPORT_HASH_CONCURRENCY threads
#   db_read    pgbench -S -M prepared on the stack's PostgreSQL
#   db_write   pgbench -M prepared, a one-row UPDATE per transaction
#   sendfile   bench/bare_mhd file: a 1 GiB file from an fd, MiB/s
# Scenarios through the gateway of a stack started by scripts/run.sh on a
# private PostgreSQL (scripts/pg.sh) under build/bench/var, seeded by
# bench/seed.sh, driven by wrk (lua scripts in bench/lua):
#   heartbeat, activation, licenses_page (+ _deep), me_releases, download,
#   login, healthz, cold_start, and the growth points heartbeat_100k,
#   licenses_page_10k (and with BENCH_SCALE=1 heartbeat_1m,
#   licenses_page_1m).
# Prints the machine and a table; writes build/bench/latest.json and a
# timestamped copy beside it; stops everything it started.
# Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_THREADS (2),
# BENCH_SCALE (0; 1 adds the 1,000,000-row growth points), BENCH_PERF (0;
# 1 adds a perf profile of each heartbeat run in build/bench/logs),
# BENCH_ONLY (space-separated step names: run just those, e.g. "http
# heartbeat"; the stack starts only when a step needs it).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
out=$root/$build/bench
var=$out/var
duration=${BENCH_DURATION:-10s}
secs=${duration%s}
conns=${BENCH_CONNECTIONS:-64}
wthreads=${BENCH_THREADS:-2}
scale=${BENCH_SCALE:-0}
only=${BENCH_ONLY:-}
http_threads=${KEYPORT_HTTP_THREADS:-8}
workers=${KEYPORT_WORKERS:-8}
hash_conc=${KEYPORT_HASH_CONCURRENCY:-2}
page_conns=8
file_conns=4   # 1 GiB answers: few connections, long timeout (see below)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

for c in wrk curl jq node psql pgbench; do
	command -v "$c" >/dev/null || {
		echo "bench: $c is missing (scripts/deps.sh)" >&2
		exit 1
	}
done
make --no-print-directory bench-build >/dev/null

rm -rf "$var"
mkdir -p "$var" "$out/logs"
rm -f "$out"/logs/*
ceil_jsonl=$out/ceilings.jsonl
scen_jsonl=$out/scenarios.jsonl
: >"$ceil_jsonl"
: >"$scen_jsonl"
log() { echo "bench: $*" >&2; }
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

pids=()
run_pid=
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	stack_stop
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$root/scripts/pg.sh" stop "$var/pg" >/dev/null 2>&1 || true
}
stack_stop() {
	if [ -n "$run_pid" ]; then
		kill -TERM "$run_pid" 2>/dev/null || true
		wait "$run_pid" 2>/dev/null || true
		run_pid=
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the machine -------------------------------------------------------------
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
ram_mib=$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)
kernel=$(uname -sr)
echo "machine: $cpu, $cores cores, $ram_mib MiB RAM, $kernel"
echo "load average at start: $load_start (a loaded machine gives lower bounds)"
echo "wrk: -t$wthreads -c$conns -d$duration (pages -c$page_conns, files -c$file_conns)"

# n distinct free loopback ports
free_ports() {
	node -e '
const net = require("node:net");
const n = Number(process.argv[1]), servers = [];
(function next() {
	if (servers.length === n) {
		console.log(servers.map((s) => s.address().port).join(" "));
		servers.forEach((s) => s.close());
		return;
	}
	const s = net.createServer().listen(0, "127.0.0.1", next);
	servers.push(s);
})();' "$1"
}

# wrk_run NAME CONNS URL [wrk args...] [-- lua args...]: runs wrk (output in logs/NAME.wrk)
# and prints "rps p50_ms p99_ms requests errors mib_s": rps counts 2xx/3xx
# answers only; errors are the other answers plus socket errors (wrk's
# timeouts included).
wrk_run() {
	local name=$1 c=$2 u=$3 t=$wthreads
	shift 3
	[ "$c" -lt "$t" ] && t=$c
	wrk -t"$t" -c"$c" -d"$duration" --latency "$u" "$@" >"$out/logs/$name.wrk" 2>&1 || true
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /s$/) return v * 1000
		return v + 0
	}
	function mib(v) {
		if (v ~ /GB$/) return v * 1024
		if (v ~ /MB$/) return v + 0
		if (v ~ /KB$/) return v / 1024
		if (v ~ /B$/) return v / 1048576
		return v + 0
	}
	/^Requests\/sec:/ { rps = $2 }
	/^Transfer\/sec:/ { tr = mib($2) }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/requests in/ { n = $1 }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
	END {
		ok = n > 0 ? rps * (n - bad) / n : 0 # answers 2xx/3xx per second
		printf "%.1f %.3f %.3f %d %d %.1f\n", ok, p50, p99, n, bad + err, tr
	}' \
		"$out/logs/$name.wrk"
}

# proc_sample PID...: "cpu_ticks ctx_switches" summed over the processes and
# every thread of each (utime+stime; voluntary+nonvoluntary switches)
proc_sample() {
	local t=0 c=0 p v
	for p in "$@"; do
		p=${p// /}
		[ -n "$p" ] && [ -r "/proc/$p/stat" ] || continue
		v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
		t=$((t + ${v:-0}))
		v=$(cat /proc/"$p"/task/*/status 2>/dev/null |
			awk '/ctxt_switches/ { s += $2 } END { print s + 0 }')
		c=$((c + v))
	done
	echo "$t $c"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }

# Ceilings that a scenario is compared with are measured again right after
# it, so that its ratio is to the mean of the ceiling's runs just before and
# just after it (on a shared machine the load drifts within minutes); the
# "ceilings" section gives the mean of all runs and each run's rate.
declare -A ceil_n
ceiling() { # NAME JSON: one more run of ceiling NAME
	ceil_n[$1]=$((${ceil_n[$1]:-0} + 1))
	jq -nc --arg k "$1" --argjson v "$2" '{key:$k, value:$v}' >>"$ceil_jsonl"
}
cname() { # NAME -> the log name of its next run (NAME, NAME-2, ...)
	local n=${ceil_n[$1]:-0}
	if [ "$n" = 0 ]; then echo "$1"; else echo "$1-$((n + 1))"; fi
}
ceil_rate() { # NAME -> the rate of its latest run, 0 when not measured
	jq -rs --arg k "$1" '[.[] | select(.key == $k) | .value | (.mib_s // .rps)] | last // 0' "$ceil_jsonl"
}

# Per-request cost of a scenario: CPU time (utime+stime) and context
# switches (voluntary and involuntary, every thread) of each process of the
# stack and of PostgreSQL (postmaster and every backend), sampled before
# and after the wrk run and divided by the requests served.
prof_groups=(gateway auth org license activation release postgres)
prof_snap() {
	local g pp snap=()
	for g in "${prof_groups[@]}"; do
		if [ "$g" = postgres ]; then
			mapfile -t pp < <(pg_pids)
			snap+=("$(proc_sample "${pp[@]}")")
		else
			snap+=("$(proc_sample "$(stack_pid "$g")")")
		fi
	done
	echo "${snap[*]}"
}
prof_json() { # BEFORE AFTER REQUESTS -> {"requests":..,"cpu_us_per_request":{..},"context_switches_per_request":{..}}
	awk -v b="$1" -v a="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" -v names="${prof_groups[*]}" 'BEGIN {
		split(b, x, " "); split(a, y, " "); k = split(names, name, " ")
		if (n <= 0) n = 1
		printf "{\"requests\":%d,\"cpu_us_per_request\":{", n
		for (i = 1; i <= k; i++) {
			cpu = (y[2 * i - 1] - x[2 * i - 1]) * 1e6 / hz / n; tc += cpu
			printf "\"%s\":%.1f,", name[i], cpu
		}
		printf "\"total\":%.1f},\"context_switches_per_request\":{", tc
		for (i = 1; i <= k; i++) {
			cs = (y[2 * i] - x[2 * i]) / n; ts += cs
			printf "\"%s\":%.2f,", name[i], cs
		}
		printf "\"total\":%.2f}}", ts
	}'
}
# scen_wrk NAME CONNS URL [wrk args]: wrk_run with the profile around it;
# sets rps p50 p99 reqs err mib and prof
scen_wrk() {
	local before after
	before=$(prof_snap)
	read -r rps p50 p99 reqs err mib <<<"$(wrk_run "$@")"
	after=$(prof_snap)
	prof=$(prof_json "$before" "$after" "$reqs")
}

# scenario NAME RATE P50 P99 ERRORS CEILING UNIT [EXTRA_JSON]
scenario() {
	local name=$1 rate=$2 p50=$3 p99=$4 err=$5 ceil=$6 unit=$7 extra=${8:-'{}'}
	local c r
	c=$(ceil_rate "$ceil")
	r=$(ratio "$rate" "$c")
	jq -nc --arg n "$name" --argjson rate "$rate" --arg unit "$unit" \
		--argjson p50 "$p50" --argjson p99 "$p99" --argjson e "$err" \
		--arg c "$ceil" --argjson r "$r" --argjson x "$extra" \
		--argjson seq "${ceil_n[$ceil]:-0}" \
		'{name:$n} + (if $unit == "mib_s" then {mib_s:$rate} else {rps:$rate} end)
		 + {p50_ms:$p50, p99_ms:$p99, errors:$e, ceiling:$c, ratio:$r, ceil_seq:$seq} + $x' >>"$scen_jsonl"
	log "$name: $rate ${unit/_/\/}, p50 $p50 ms, p99 $p99 ms, $err errors, ~$r of $ceil"
}

bare_start() { # PORT MODE [FILE]
	"$root/$build/bench/bare_mhd" "$1" "$http_threads" "${@:2}" 2>>"$out/logs/bare_mhd.log" &
	bare_pid=$!
	for _ in $(seq 1 50); do
		curl -fsS -o /dev/null -r 0-0 "http://127.0.0.1:$1/" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: bare_mhd did not start" >&2
	exit 1
}
bare_stop() { kill -TERM "$bare_pid" 2>/dev/null || true; wait "$bare_pid" 2>/dev/null || true; }

read -r p_bare p_http p_auth p_org p_lic p_act p_rel p_hop <<<"$(free_ports 8)"
sign_body='{"key":"ABCDEFGHJKMNPQRSTUVWXYZ23"}'

# ---- ceilings that need no stack ---------------------------------------------
if want http; then
	log "ceiling http: bare libmicrohttpd, $http_threads threads"
	bare_start "$p_bare" plain
	read -r rps p50 p99 n err _ <<<"$(wrk_run http "$conns" "http://127.0.0.1:$p_bare/")"
	bare_stop
	ceiling http "{\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err}"
fi
measure_http_sign() {
	log "ceiling http_sign: bare libmicrohttpd + JSON parse + Ed25519 over ~200 bytes"
	bare_start "$p_bare" sign
	local b0 b1
	b0=$(proc_sample "$bare_pid")
	read -r rps p50 p99 n err _ <<<"$(wrk_run "$(cname http_sign)" "$conns" \
		"http://127.0.0.1:$p_bare/" -s "$root/bench/lua/post.lua" -- "$sign_body")"
	b1=$(proc_sample "$bare_pid")
	bare_stop
	# the server's CPU per request: a figure the machine's other load
	# changes less than the rate (compare with a scenario's profile)
	cpu=$(awk -v a="$b0" -v b="$b1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
		'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f", (n > 0 ? (y[1] - x[1]) * 1e6 / hz / n : 0) }')
	ceiling http_sign "{\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err,\"cpu_us_per_request\":$cpu}"
}
measure_argon2() {
	log "ceiling argon2: $hash_conc thread(s), auth's parameters (interactive: 64 MiB)"
	read -r rps p50 p99 n err <<<"$("$root/$build/bench/argon2" "$secs" "$hash_conc")"
	ceiling argon2 "{\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err,\"threads\":$hash_conc}"
}
again() { # NAME: measure ceiling NAME once more when it is measured at all
	if [ "${ceil_n[$1]:-0}" -gt 0 ]; then "measure_$1"; fi
}
want http_sign && measure_http_sign
if want bus; then
	export KEYPORT_BUS_DIR=$var/bus
	"$root/scripts/bus-certs.sh" init "$KEYPORT_BUS_DIR" >/dev/null
	log "ceiling bus: one kp_rpc hop over mutual TLS: $conns callers, $workers workers"
	read -r rps p50 p99 n err <<<"$("$root/$build/bench/rpc_hop" \
		"tls+tcp://127.0.0.1:$p_hop" "$secs" "$conns" "$workers" 2>"$out/logs/rpc_hop.log" ||
		echo 0 0 0 0 0)"
	# the same over plain TCP (KEYPORT_BUS_ALLOW_PLAIN=1: MAC and checks
	# kept, TLS gone), for what TLS costs a hop
	read -r plain _ <<<"$(KEYPORT_BUS_ALLOW_PLAIN=1 "$root/$build/bench/rpc_hop" \
		"tcp://127.0.0.1:$p_hop" "$secs" "$conns" "$workers" 2>"$out/logs/rpc_hop_plain.log" ||
		echo 0)"
	unset KEYPORT_BUS_DIR
	ceiling bus "{\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err,\"plain_tcp_rps\":$plain}"
fi
want argon2 && measure_argon2

# ---- the stack -----------------------------------------------------------------
needs_stack=0
for s in db_read db_write sendfile heartbeat activation licenses_page me_releases \
	download login healthz cold_start growth; do
	want "$s" && needs_stack=1
done

stack_start() { # sets started_in: seconds from start to /readyz 200
	local t0 t1
	t0=$(date +%s.%N)
	(
		export KEYPORT_DATA_DIR=$var KEYPORT_DATABASE_URL=$db_url
		export KEYPORT_HTTP_PORT=$p_http KEYPORT_HTTP_THREADS=$http_threads
		export KEYPORT_AUTH_URL=tls+tcp://127.0.0.1:$p_auth
		export KEYPORT_ORG_URL=tls+tcp://127.0.0.1:$p_org
		export KEYPORT_LICENSE_URL=tls+tcp://127.0.0.1:$p_lic
		export KEYPORT_ACTIVATION_URL=tls+tcp://127.0.0.1:$p_act
		export KEYPORT_RELEASE_URL=tls+tcp://127.0.0.1:$p_rel
		export KEYPORT_ADMIN_EMAIL=$admin_email KEYPORT_ADMIN_PASSWORD=$admin_password
		export KEYPORT_LOG_LEVEL=${KEYPORT_LOG_LEVEL:-warn}
		exec "$root/scripts/run.sh"
	) >>"$out/logs/run.log" 2>&1 &
	run_pid=$!
	for i in $(seq 1 1200); do
		curl -fsS -o /dev/null "$url/readyz" 2>/dev/null && break
		kill -0 "$run_pid" 2>/dev/null || {
			echo "bench: the stack did not start:" >&2
			tail -n 20 "$out/logs/run.log" >&2
			exit 1
		}
		[ "$i" = 1200 ] && {
			echo "bench: the stack is not ready after 60 s" >&2
			exit 1
		}
		sleep 0.05
	done
	t1=$(date +%s.%N)
	started_in=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}
stack_pid() { # NAME -> the pid of keyport-NAME under run.sh
	ps -o pid=,args= --ppid "$run_pid" |
		awk -v n="keyport-$1" '{ b = $2; sub(/.*\//, "", b) } b == n { print $1; exit }'
}
pg_pids() { # the postmaster and its children (backends, walwriter, ...)
	local pm
	pm=$(head -n 1 "$var/pg/data/postmaster.pid" 2>/dev/null) || return 0
	echo "$pm"
	ps -o pid= --ppid "$pm" 2>/dev/null || true
}
rss_mib() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo 0; }

if [ "$needs_stack" = 1 ]; then
	source "$root/bench/seed.sh"
	log "starting PostgreSQL and the stack in $var"
	PG_FAST=${PG_FAST:-0} "$root/scripts/pg.sh" start "$var/pg" >>"$out/logs/pg.log" 2>&1
	db_url=$("$root/scripts/pg.sh" url "$var/pg")
	url=http://127.0.0.1:$p_http
	admin_email=admin@bench.example.com
	admin_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	stack_start
	first_start=$started_in
	log "stack ready in $first_start s (first start: migrations included)"
	token=$(curl -fsS -H 'Content-Type: application/json' \
		-d "$(jq -nc --arg e "$admin_email" --arg p "$admin_password" '{email:$e,password:$p}')" \
		"$url/v1/auth/login" | jq -r .accessToken)
	[ -n "$token" ] && [ "$token" != null ] || {
		echo "bench: the vendor admin cannot log in" >&2
		exit 1
	}
fi

# ---- ceilings on the stack's PostgreSQL ------------------------------------------
# pgbench's tables live in a schema of their own (pgbench), beside the
# services' schemas, in the same database and cluster.
pgb_url() { echo "$db_url?options=-csearch_path%3Dpgbench"; }
pgbench_run() { # NAME ARGS... -> "tps p50_ms p99_ms errors"
	local name=$1
	shift
	pgbench -n -M prepared -c "$conns" -j "$wthreads" -T "$secs" -r -l \
		--log-prefix="$out/logs/pgb-$name" "$@" "$(pgb_url)" >"$out/logs/$name.pgbench" 2>&1 || true
	local tps fails
	tps=$(awk '/^tps = / { printf "%.1f", $3 }' "$out/logs/$name.pgbench")
	fails=$(awk '/number of failed transactions:/ { print $5 }' "$out/logs/$name.pgbench")
	# per-transaction log: field 3 is the latency in microseconds
	cat "$out/logs/pgb-$name".* 2>/dev/null | awk '{ print $3 / 1000 }' | sort -n |
		awk -v tps="${tps:-0}" -v f="${fails:-0}" '
		{ v[NR] = $1 }
		END {
			p50 = NR ? v[int(NR * 0.5) + 1] : 0
			p99 = NR ? v[int(NR * 0.99) + 1] : 0
			printf "%s %.3f %.3f %d\n", tps, p50, p99, f
		}'
	rm -f "$out/logs/pgb-$name".*
}
if want db_read || want db_write; then
	sql -c "CREATE SCHEMA IF NOT EXISTS pgbench" >/dev/null
	pgbench -i -q -s 10 "$(pgb_url)" >"$out/logs/pgbench-init.log" 2>&1
fi
measure_db_read() {
	log "ceiling db_read: pgbench -S -M prepared, $conns clients"
	read -r rps p50 p99 err <<<"$(pgbench_run "$(cname db_read)" -S)"
	ceiling db_read "{\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err}"
}
measure_db_write() {
	log "ceiling db_write: pgbench -M prepared, one-row UPDATE, $conns clients"
	cat >"$out/logs/db_write.sql" <<'SQL'
\set aid random(1, 1000000)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
SQL
	read -r rps p50 p99 err <<<"$(pgbench_run "$(cname db_write)" -f "$out/logs/db_write.sql")"
	ceiling db_write "{\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err}"
}
want db_read && measure_db_read
want db_write && measure_db_write

# ---- heartbeat (10,000 activations on 1,000 licenses) and its growth --------------
hb_products=()
if want heartbeat || want growth; then
	log "seeding 1,000 licenses with 10 activations each"
	hb_products+=("$(seed_product bench-heartbeat-1)")
	seed_licenses "${hb_products[0]}" 1000 -1 "" ""
	# one activation made over HTTP too, so the path is the real one
	read -r hb_key <<<"$(sql -c "SELECT key FROM license.licenses
		WHERE product_id = '${hb_products[0]}' LIMIT 1")"
	curl -fsS -o /dev/null -X POST "$url/v1/activations" -H 'Content-Type: application/json' \
		--data-raw "{\"key\":\"$hb_key\",\"productId\":\"${hb_products[0]}\",\"fingerprint\":\"bench-http\",\"hostname\":\"bench\",\"os\":\"linux\"}"
	seed_activations "${hb_products[0]}" 10
	vacuum activation.activations
fi
heartbeat_run() { # NAME
	local name=$1 f=$out/logs/$1.ids gw act n
	heartbeat_file "$f" "${hb_products[@]}"
	n=$(wc -l <"$f")
	log "$name: heartbeats over $n activations"
	gw=$(stack_pid gateway) act=$(stack_pid activation)
	# warm-up, not counted: the license cache and PostgreSQL's buffers see
	# every license once, as in a steady state, before the measured run
	wrk_run "$name-warmup" "$conns" "$url/" -s "$root/bench/lua/heartbeat.lua" -- "$f" >/dev/null
	scen_wrk "$name" "$conns" "$url/" -s "$root/bench/lua/heartbeat.lua" -- "$f"
	scenario "$name" "$rps" "$p50" "$p99" "$err" http_sign rps \
		"{\"activations\":$n,\"profile\":$prof}"
	# BENCH_PERF=1: one more run under perf (not counted: perf slows it),
	# call graphs of the gateway and the activation service
	if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
		log "$name: profiling with perf"
		perf record -q -F 499 -o "$out/logs/$name.perf.data" -p "$gw,$act" \
			-- sleep "$secs" >/dev/null 2>&1 &
		local perf_pid=$!
		wrk_run "$name-perf" "$conns" "$url/" -s "$root/bench/lua/heartbeat.lua" -- "$f" >/dev/null
		wait "$perf_pid" || true
		perf report -i "$out/logs/$name.perf.data" --stdio --no-children \
			--sort comm,dso --percent-limit 1 2>/dev/null | grep -v '^$' \
			>"$out/logs/$name.perf-dso.txt" || true
		perf report -i "$out/logs/$name.perf.data" --stdio --no-children \
			--sort comm,sym --percent-limit 0.7 2>/dev/null | grep -v '^$' \
			>"$out/logs/$name.perf-sym.txt" || true
	fi
}
if want heartbeat || want growth; then
	again http_sign
	heartbeat_run heartbeat
	again http_sign
fi
if want growth; then
	log "growth: seeding 9,000 more licenses with 10 activations each (100,000)"
	hb_products+=("$(seed_product bench-heartbeat-2)")
	seed_licenses "${hb_products[1]}" 9000 -1 "" ""
	seed_activations "${hb_products[1]}" 10
	vacuum activation.activations
	heartbeat_run heartbeat_100k
	again http_sign
	if [ "$scale" = 1 ]; then
		log "growth: seeding 90,000 more licenses with 10 activations each (1,000,000)"
		hb_products+=("$(seed_product bench-heartbeat-3)")
		seed_licenses "${hb_products[2]}" 90000 -1 "" ""
		seed_activations "${hb_products[2]}" 10
		vacuum activation.activations
		heartbeat_run heartbeat_1m
		again http_sign
	fi
fi

# ---- activation: new machines on licenses with room -----------------------------
if want activation; then
	log "seeding 1,000 licenses with room (100,000 activations each)"
	act_product=$(seed_product bench-activation)
	seed_licenses "$act_product" 1000 100000 "" ""
	sql -F ' ' -c "SELECT key, product_id FROM license.licenses
		WHERE product_id = '$act_product' ORDER BY random()" >"$out/logs/activation.keys"
	again db_write
	scen_wrk activation "$conns" "$url/" -s "$root/bench/lua/activation.lua" -- \
		"$out/logs/activation.keys"
	scenario activation "$rps" "$p50" "$p99" "$err" db_write rps "{\"profile\":$prof}"
	again db_write
fi

# ---- licenses_page as an organization admin, and its growth -------------------------
page_run() { # NAME PAGE LICENSES
	local name=$1 page=$2
	scen_wrk "$name" "$page_conns" "$url/v1/me/licenses?page=$page&limit=50" \
		-H "Authorization: Bearer $org_token"
	scenario "$name" "$rps" "$p50" "$p99" "$err" db_read rps \
		"{\"licenses\":$3,\"page\":$page,\"connections\":$page_conns,\"profile\":$prof}"
}
if want licenses_page || want growth; then
	org_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	org_id=$(api POST /v1/organizations '{"name":"Bench Org","allowedUsers":-1}' | jq -r .id)
	api POST /v1/users "$(jq -nc --arg p "$org_pw" --arg o "$org_id" \
		'{email:"orgadmin@bench.example.com",password:$p,role:"organization-admin",organizationId:$o}')" >/dev/null
	org_token=$(curl -fsS -H 'Content-Type: application/json' \
		-d "$(jq -nc --arg p "$org_pw" '{email:"orgadmin@bench.example.com",password:$p}')" \
		"$url/v1/auth/login" | jq -r .accessToken)
	page_product=$(seed_product bench-licenses-page)
	log "seeding 10,000 licenses of organization $org_id"
	seed_licenses "$page_product" 10000 1 "$org_id" ""
	vacuum license.licenses
	want growth && page_run licenses_page_10k 1 10000
	log "seeding 90,000 more (100,000)"
	seed_licenses "$page_product" 90000 1 "$org_id" ""
	vacuum license.licenses
	page_run licenses_page 1 100000
	want licenses_page && page_run licenses_page_deep 2000 100000
	if want growth && [ "$scale" = 1 ]; then
		log "growth: seeding 900,000 more (1,000,000)"
		seed_licenses "$page_product" 900000 1 "$org_id" ""
		vacuum license.licenses
		page_run licenses_page_1m 1 1000000
	fi
fi

# ---- me_releases, download of a 1 GiB file, sendfile -----------------------------------
if want me_releases || want download || want login || want sendfile; then
	cust_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	cust_id=$(api POST /v1/users "$(jq -nc --arg p "$cust_pw" \
		'{email:"customer@bench.example.com",password:$p}')" | jq -r .id)
	cust_token=$(curl -fsS -H 'Content-Type: application/json' \
		-d "$(jq -nc --arg p "$cust_pw" '{email:"customer@bench.example.com",password:$p}')" \
		"$url/v1/auth/login" | jq -r .accessToken)
fi
big=$out/logs/release-1g.bin
if want me_releases || want download || want sendfile; then
	rel_product=$(seed_product bench-releases)
	api POST /v1/licenses "$(jq -nc --arg p "$rel_product" --arg u "$cust_id" \
		'{productId:$p,type:"node-locked",allowedActivations:5,allowedDeactivations:-1,validity:0,expirationStrategy:"immediate",userId:$u}')" >/dev/null
	log "making a 1 GiB release file"
	head -c 1073741824 /dev/urandom >"$big"
	for v in 1.0.0 1.1.0 2.0.0; do
		rid=$(api POST /v1/releases "$(jq -nc --arg p "$rel_product" --arg v "$v" \
			'{productId:$p,name:("Bench " + $v),version:$v,channel:"stable",platform:"linux-x86_64",notes:"bench"}')" | jq -r .id)
		if [ "$v" = 2.0.0 ]; then
			log "uploading it"
			file_id=$(curl -fsS -X POST -T "$big" -H "Authorization: Bearer $token" \
				-H 'Content-Type: application/octet-stream' \
				"$url/v1/releases/$rid/files?name=bench-1g.bin" | jq -r .id)
			big_release=$rid
		else
			printf 'small %s\n' "$v" | curl -fsS -o /dev/null -X POST --data-binary @- \
				-H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
				"$url/v1/releases/$rid/files?name=bench-$v.txt"
		fi
		api POST "/v1/releases/$rid/publish" '{}' >/dev/null
	done
fi
if want me_releases; then
	scen_wrk me_releases "$conns" "$url/v1/me/releases" -H "Authorization: Bearer $cust_token"
	scenario me_releases "$rps" "$p50" "$p99" "$err" db_read rps "{\"profile\":$prof}"
fi
# 1 GiB answers: with 64 connections no answer would finish within the run,
# so both the ceiling and the download use $file_conns connections and a
# long timeout; MiB/s counts every byte read, finished answers or not.
measure_sendfile() {
	log "ceiling sendfile: bare libmicrohttpd serving the 1 GiB file from an fd"
	bare_start "$p_bare" file "$big"
	read -r rps p50 p99 n err mib <<<"$(wrk_run "$(cname sendfile)" "$file_conns" \
		"http://127.0.0.1:$p_bare/" --timeout 120s)"
	bare_stop
	ceiling sendfile "{\"mib_s\":$mib,\"rps\":$rps,\"p50_ms\":$p50,\"p99_ms\":$p99,\"errors\":$err,\"connections\":$file_conns}"
}
want sendfile && measure_sendfile
if want download; then
	dl=$(api POST "/v1/releases/$big_release/files/$file_id/download-url" '{}' "$cust_token" | jq -r .url)
	case $dl in http*) ;; *) dl=$url$dl ;; esac
	read -r rps p50 p99 reqs err mib <<<"$(wrk_run download "$file_conns" "$dl" --timeout 120s)"
	scenario download "$mib" "$p50" "$p99" "$err" sendfile mib_s \
		"{\"rps\":$rps,\"connections\":$file_conns}"
	again sendfile
fi

# ---- login ----------------------------------------------------------------------------
if want login; then
	auth=$(stack_pid auth)
	hwm0=$(rss_mib "$auth" VmHWM)
	again argon2
	# each login waits its turn for one of auth's $hash_conc hashing slots:
	# a timeout long enough for the queue of $conns connections
	scen_wrk login "$conns" "$url/v1/auth/login" --timeout 60s -s "$root/bench/lua/post.lua" -- \
		"$(jq -nc --arg p "$cust_pw" '{email:"customer@bench.example.com",password:$p}')"
	hwm=$(rss_mib "$auth" VmHWM)
	scenario login "$rps" "$p50" "$p99" "$err" argon2 rps \
		"{\"auth_vmhwm_mib\":$hwm,\"auth_vmhwm_before_mib\":$hwm0,\"profile\":$prof}"
	again argon2
fi

# ---- healthz: the gateway's own overhead over bare libmicrohttpd ----------------------
if want healthz; then
	read -r rps p50 p99 reqs err _ <<<"$(wrk_run healthz "$conns" "$url/healthz")"
	scenario healthz "$rps" "$p50" "$p99" "$err" http rps
fi

# ---- cold start and idle RSS ------------------------------------------------------------
if want cold_start; then
	log "cold_start: stopping the stack, starting it again (database migrated and seeded)"
	stack_stop
	stack_start
	cold=$started_in
	sleep 3
	rss='{}'
	for n in gateway auth org license activation release; do
		p=$(stack_pid "$n")
		rss=$(jq -c --arg n "$n" --argjson v "$(rss_mib "$p" VmRSS)" '. + {($n):$v}' <<<"$rss")
	done
	jq -nc --argjson s "$cold" --argjson f "${first_start:-0}" --argjson rss "$rss" \
		'{name:"cold_start", seconds:$s, first_start_seconds:$f, idle_rss_mib:$rss,
		  rps:null, p50_ms:null, p99_ms:null, errors:0, ceiling:null, ratio:null}' >>"$scen_jsonl"
	log "cold_start: $cold s to /readyz; idle RSS (MiB) $rss"
fi

# ---- growth ratios -------------------------------------------------------------------------
growth='{}'
if want growth; then
	growth=$(jq -s '
		def r(n): [.[] | select(.name == n) | .rps] | first;
		{heartbeat: {"10k": r("heartbeat"), "100k": r("heartbeat_100k"), "1m": r("heartbeat_1m")},
		 licenses_page: {"10k": r("licenses_page_10k"), "100k": r("licenses_page"), "1m": r("licenses_page_1m")}}
		| map_values(. + {ratio_largest_to_10k: (if (.["10k"] // 0) > 0 then ((.["1m"] // .["100k"] // 0) / .["10k"] * 1000 | round / 1000) else null end)})' \
		"$scen_jsonl")
fi

# ---- output ----------------------------------------------------------------------------------
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
jq -n --slurpfile c "$ceil_jsonl" --slurpfile s "$scen_jsonl" \
	--arg cpu "$cpu" --argjson cores "$cores" --argjson ram "$ram_mib" --arg kernel "$kernel" \
	--arg ls "$load_start" --arg le "$load_end" --arg date "$started" \
	--arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--arg duration "$duration" --argjson conns "$conns" --argjson threads "$wthreads" \
	--argjson growth "$growth" --argjson scale "$scale" \
	'{machine: {cpu:$cpu, cores:$cores, ram_mib:$ram, kernel:$kernel,
	    load_start: ($ls | split(" ") | map(tonumber)),
	    load_end: ($le | split(" ") | map(tonumber)),
	    date:$date, commit:$commit,
	    wrk: {threads:$threads, connections:$conns, duration:$duration},
	    scale:$scale},
	  ceilings: ($c | group_by(.key) | map({(.[0].key):
	      (map(.value) as $runs | $runs[0]
	       + ($runs | map(to_entries | map(select(.value | type == "number")))
	          | add | group_by(.key)
	          | map({(.[0].key): (if .[0].key == "errors" then (map(.value) | add)
	                else ((map(.value) | add / length * 1000 | round) / 1000) end)}) | add)
	       + {runs: ($runs | map(.mib_s // .rps))})}) | add // {}
	      | . as $o | ["http", "http_sign", "bus", "db_read", "db_write", "argon2", "sendfile"]
	      | map(select($o[.] != null) | {(.): $o[.]}) | add // {}),
	  scenarios: ($s | map(
	      . as $x
	      | ([$c[] | select(.key == $x.ceiling) | .value | (.mib_s // .rps)]) as $r
	      | ($x.ceil_seq // 0) as $k
	      | ((if $k > 0 then [$r[$k - 1]] else [] end) + [$r[$k]]
	         | map(select(. != null))) as $adj
	      | if ($x.ceiling != null) and ($adj | length) > 0 then
	          (($adj | add / length) as $cr
	           | . + {ceiling_rate: $cr,
	                  ratio: (if $cr > 0 then ((($x.mib_s // $x.rps) / $cr * 1000 | round) / 1000) else 0 end)})
	        else . end
	      | del(.ceil_seq))),
	  growth: $growth}' >"$out/latest.json"
cp "$out/latest.json" "$out/bench-$stamp.json"

echo
printf '%-20s %10s %-5s %9s %9s %7s  %-10s %6s\n' scenario rate unit p50_ms p99_ms errors ceiling ratio
jq -r '
	(.ceilings | to_entries[] | [.key, (.value.mib_s // .value.rps),
		(if .value.mib_s then "MiB/s" else "rps" end),
		.value.p50_ms, .value.p99_ms, .value.errors, "-", "1.000"]),
	(.scenarios[] | [.name, (.mib_s // .rps // .seconds),
		(if .mib_s then "MiB/s" elif .seconds then "s" else "rps" end),
		(.p50_ms // "-"), (.p99_ms // "-"), .errors, (.ceiling // "-"), (.ratio // "-")])
	| map(tostring) | @tsv' "$out/latest.json" |
	while IFS=$'\t' read -r a b c d e f g h; do
		printf '%-20s %10s %-5s %9s %9s %7s  %-10s %6s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
	done
jq -r '.scenarios[] | select(.name == "cold_start") |
	"cold_start: idle RSS (MiB) " + (.idle_rss_mib | to_entries | map("\(.key) \(.value)") | join(", "))' \
	"$out/latest.json"
jq -r '.scenarios[] | select(.profile) | "\(.name): CPU µs/request " +
	(.profile.cpu_us_per_request | to_entries | map("\(.key) \(.value)") | join(", ")) +
	"; context switches/request " +
	(.profile.context_switches_per_request | to_entries | map("\(.key) \(.value)") | join(", "))' \
	"$out/latest.json"
echo "load average at end: $load_end"
echo "bench: $out/latest.json (and bench-$stamp.json); wrk/pgbench output and logs in $out/logs"
