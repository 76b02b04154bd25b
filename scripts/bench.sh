#!/usr/bin/env bash
# `make bench`: throughput and latency of Keyport's HTTP paths, as ratios
# against this machine's own ceiling.
#   1. bench/bare_mhd (a bare libmicrohttpd server in the gateway's threading
#      mode answering a fixed JSON body) under wrk: the ceiling.
#   2. A private PostgreSQL (scripts/pg.sh) and the whole stack (scripts/run.sh)
#      on free ports under build/bench/var; login as the vendor admin.
#   2. bench/rpc_hop (a kp_rpc server answering at once, called by $conns
#      client threads in the same process): one internal NNG hop, which
#      every route that reaches a service pays at least once.
#   3. Each bench/scenarios/*.sh (contract in bench/README.md) seeds its data
#      and names a request; wrk drives it through the gateway.
# Prints rps, p50/p99 latency, scenario_rps / ceiling_rps (ratio) and
# scenario_rps / hop_rps (of_hop) per scenario,
# writes build/bench/latest.json, and stops everything it started.
# Knobs: BENCH_DURATION (10s), BENCH_CONNECTIONS (64), BENCH_THREADS (2),
# BENCH_ONLY (a scenario name: run just that one).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
out=$root/$build/bench
var=$out/var
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-64}
wthreads=${BENCH_THREADS:-2}
http_threads=${KEYPORT_HTTP_THREADS:-8}

for c in wrk curl jq node; do
	command -v "$c" >/dev/null || {
		echo "bench: $c is missing (scripts/deps.sh)" >&2
		exit 1
	}
done
make --no-print-directory bench-build >/dev/null

rm -rf "$var"
mkdir -p "$var" "$out/scenarios"

pids=()
run_pid=
cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	if [ -n "$run_pid" ]; then
		kill -TERM "$run_pid" 2>/dev/null || true
		wait "$run_pid" 2>/dev/null || true
	fi
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	"$root/scripts/pg.sh" stop "$var/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# wrk URL [wrk args...] -> "rps p50_ms p99_ms requests non2xx errors"
run_wrk() {
	local url=$1 log=$2
	shift 2
	wrk -t"$wthreads" -c"$conns" -d"$duration" --latency "$@" "$url" >"$log" 2>&1 || true
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /s$/) return v * 1000
		return v + 0
	}
	/^Requests\/sec:/ { rps = $2 }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/requests in/ { n = $1 }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/Socket errors:/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
	END { printf "%.1f %.3f %.3f %d %d %d\n", rps, p50, p99, n, bad, err }' "$log"
}

read -r p_bare p_http p_auth p_org p_lic p_act1 p_act2 p_rel p_hop <<<"$(free_ports 9)"

# ---- 1. the ceiling --------------------------------------------------------
echo "bench: ceiling: bare libmicrohttpd, $http_threads threads; wrk -t$wthreads -c$conns -d$duration" >&2
"$root/$build/bench/bare_mhd" "$p_bare" "$http_threads" 2>"$out/bare_mhd.log" &
pids+=($!)
for _ in $(seq 1 50); do
	curl -fsS -o /dev/null "http://127.0.0.1:$p_bare/" 2>/dev/null && break
	sleep 0.1
done
read -r c_rps c_p50 c_p99 c_n c_bad c_err <<<"$(run_wrk "http://127.0.0.1:$p_bare/" "$out/ceiling.wrk")"
kill -TERM "${pids[0]}" && wait "${pids[0]}" 2>/dev/null || true
pids=()
[ "${c_rps%.*}" -gt 0 ] || {
	echo "bench: the ceiling run failed:" >&2
	cat "$out/ceiling.wrk" >&2
	exit 1
}

# ---- 1b. one internal hop --------------------------------------------------
# Over the bus as deployed (mutual TLS, every request's MAC checked) and,
# in the same run, over plain TCP (KEYPORT_BUS_ALLOW_PLAIN=1: the MAC and
# checks stay, TLS goes): the difference is what TLS costs a hop.
workers=${KEYPORT_WORKERS:-8}
export KEYPORT_BUS_DIR=$var/bus
"$root/scripts/bus-certs.sh" init "$KEYPORT_BUS_DIR"
echo "bench: one kp_rpc hop over TLS: $conns callers, $workers workers, ${duration}" >&2
read -r h_rps h_p50 h_p99 h_n h_err <<<"$("$root/$build/bench/rpc_hop" \
	"tls+tcp://127.0.0.1:$p_hop" "${duration%s}" "$conns" "$workers" 2>"$out/rpc_hop.log" ||
	echo 0 0 0 0 0)"
h_ratio=$(awk -v a="$h_rps" -v b="$c_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
echo "bench: one kp_rpc hop over plain TCP, for comparison" >&2
read -r hp_rps hp_p50 hp_p99 hp_n hp_err <<<"$(KEYPORT_BUS_ALLOW_PLAIN=1 "$root/$build/bench/rpc_hop" \
	"tcp://127.0.0.1:$p_hop" "${duration%s}" "$conns" "$workers" 2>"$out/rpc_hop_plain.log" ||
	echo 0 0 0 0 0)"
hp_ratio=$(awk -v a="$hp_rps" -v b="$c_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
tls_cost=$(awk -v t="$h_rps" -v p="$hp_rps" 'BEGIN { printf "%.3f", (p > 0 ? t / p : 0) }')

# ---- 2. the stack ------------------------------------------------------------
echo "bench: starting PostgreSQL and the stack in $var" >&2
PG_FAST=${PG_FAST:-0} "$root/scripts/pg.sh" start "$var/pg"
db_url=$("$root/scripts/pg.sh" url "$var/pg")
admin_email=admin@bench.example.com
admin_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
(
	export KEYPORT_DATA_DIR=$var KEYPORT_DATABASE_URL=$db_url
	export KEYPORT_HTTP_PORT=$p_http KEYPORT_HTTP_THREADS=$http_threads
	export KEYPORT_AUTH_URL=tls+tcp://127.0.0.1:$p_auth
	export KEYPORT_ORG_URL=tls+tcp://127.0.0.1:$p_org
	export KEYPORT_LICENSE_URL=tls+tcp://127.0.0.1:$p_lic
	export KEYPORT_ACTIVATION_URL=tls+tcp://127.0.0.1:$p_act1
	export KEYPORT_RELEASE_URL=tls+tcp://127.0.0.1:$p_rel
	export KEYPORT_ADMIN_EMAIL=$admin_email KEYPORT_ADMIN_PASSWORD=$admin_password
	export KEYPORT_LOG_LEVEL=${KEYPORT_LOG_LEVEL:-warn}
	exec "$root/scripts/run.sh"
) >"$out/run.log" 2>&1 &
run_pid=$!
url=http://127.0.0.1:$p_http
for i in $(seq 1 600); do
	curl -fsS -o /dev/null "$url/readyz" 2>/dev/null && break
	kill -0 "$run_pid" 2>/dev/null || {
		echo "bench: the stack did not start:" >&2
		tail -n 20 "$out/run.log" >&2
		exit 1
	}
	[ "$i" = 600 ] && {
		echo "bench: the stack is not ready after 60 s" >&2
		exit 1
	}
	sleep 0.1
done

token=
login=$(curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' \
	-d "$(jq -nc --arg e "$admin_email" --arg p "$admin_password" '{email:$e,password:$p}')" \
	"$url/v1/auth/login" || true)
if [ "$(tail -n 1 <<<"$login")" = 200 ]; then
	token=$(head -n -1 <<<"$login" | jq -r '.accessToken // empty')
fi
[ -n "$token" ] || echo "bench: admin login failed (POST /v1/auth/login" \
	"answered $(tail -n 1 <<<"$login")); scenarios run without BENCH_TOKEN" >&2

# ---- 3. the scenarios --------------------------------------------------------
results=()
printf '\n%-18s %10s %9s %9s %8s %8s  %s\n' scenario rps p50_ms p99_ms ratio of_hop note
printf '%-18s %10s %9s %9s %8s %8s  %s\n' ceiling "$c_rps" "$c_p50" "$c_p99" 1.000 - "bare libmicrohttpd"
printf '%-18s %10s %9s %9s %8s %8s  %s\n' rpc_hop "$h_rps" "$h_p50" "$h_p99" "$h_ratio" 1.000 \
	"one kp_rpc round trip over mutual TLS, no HTTP, no work ($h_err errors)"
printf '%-18s %10s %9s %9s %8s %8s  %s\n' rpc_hop_plain "$hp_rps" "$hp_p50" "$hp_p99" "$hp_ratio" - \
	"the same over plain TCP; TLS keeps $tls_cost of it ($hp_err errors)"
failed=0
for s in bench/scenarios/*.sh; do
	name=$(basename "$s" .sh)
	[ -n "${BENCH_ONLY:-}" ] && [ "$name" != "$BENCH_ONLY" ] && continue
	spec=$out/scenarios/$name.spec
	note= status=ok
	if ! BENCH_URL=$url BENCH_TOKEN=$token BENCH_DATABASE_URL=$db_url \
		BENCH_DIR=$out/scenarios bash "$s" >"$spec" 2>"$out/scenarios/$name.err"; then
		status=failed note="seeding failed: $(tail -n 1 "$out/scenarios/$name.err")"
	fi
	method=GET path=/ body= lua= skip= auth=1 headers=()
	while IFS= read -r line; do
		case $line in
		"method "*) method=${line#method } ;;
		"path "*) path=${line#path } ;;
		"body "*) body=${line#body } ;;
		"lua "*) lua=${line#lua } ;;
		"header "*) headers+=("${line#header }") ;;
		noauth) auth=0 ;;
		"skip "*) skip=${line#skip } ;;
		esac
	done <"$spec"
	if [ "$status" = ok ] && [ -n "$skip" ]; then
		status=skipped note=$skip
	fi
	rps=0 p50=0 p99=0 ratio=0 hop=0 n=0 bad=0 err=0
	if [ "$status" = ok ]; then
		has_auth=0
		for h in "${headers[@]}"; do
			[[ ${h,,} == authorization:* ]] && has_auth=1
		done
		[ "$auth" = 1 ] && [ "$has_auth" = 0 ] && [ -n "$token" ] &&
			headers+=("Authorization: Bearer $token")
		[ -n "$body" ] && ! printf '%s\n' "${headers[@],,}" | grep -q '^content-type:' &&
			headers+=("Content-Type: application/json")
		hargs=()
		for h in "${headers[@]}"; do hargs+=(-H "$h"); done
		if [ -z "$lua" ]; then
			lua=$out/scenarios/$name.lua
			{
				echo "wrk.method = \"$method\""
				[ -n "$body" ] && printf 'wrk.body = [==[%s]==]\n' "$body"
			} >"$lua"
			# one request first: the numbers are only worth having for 2xx
			code=$(curl -sS -o "$out/scenarios/$name.probe" -w '%{http_code}' \
				-X "$method" "${hargs[@]}" ${body:+--data-raw "$body"} "$url$path" || true)
			if [ "${code:0:1}" != 2 ]; then
				status=failed
				note="probe answered $code: $(head -c 200 "$out/scenarios/$name.probe")"
			fi
		else
			case $lua in /*) ;; *) lua=$root/bench/scenarios/$lua ;; esac
		fi
	fi
	if [ "$status" = ok ]; then
		read -r rps p50 p99 n bad err <<<"$(run_wrk "$url$path" "$out/scenarios/$name.wrk" \
			-s "$lua" "${hargs[@]}")"
		ratio=$(awk -v a="$rps" -v b="$c_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
		hop=$(awk -v a="$rps" -v b="$h_rps" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
		note="$method $path"
		if [ "$n" -eq 0 ] || [ "$bad" -gt $((n / 100)) ]; then
			status=failed note="$bad of $n responses not 2xx/3xx ($method $path)"
		fi
	fi
	[ "$status" = failed ] && failed=1
	printf '%-18s %10s %9s %9s %8s %8s  %s%s\n' "$name" "$rps" "$p50" "$p99" "$ratio" "$hop" \
		"$([ "$status" = ok ] || echo "[$status] ")" "$note"
	results+=("$(jq -nc --arg name "$name" --arg status "$status" --arg note "$note" \
		--arg method "$method" --arg path "$path" \
		--argjson rps "$rps" --argjson p50 "$p50" --argjson p99 "$p99" \
		--argjson ratio "$ratio" --argjson ofHop "$hop" --argjson requests "$n" --argjson non2xx "$bad" \
		--argjson socketErrors "$err" \
		'{name:$name,status:$status,method:$method,path:$path,rps:$rps,p50Ms:$p50,p99Ms:$p99,ratio:$ratio,ofHop:$ofHop,requests:$requests,non2xx:$non2xx,socketErrors:$socketErrors,note:$note}')")
done

printf '%s\n' "${results[@]}" | jq -s \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
	--arg cpu "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson cores "$(nproc)" --arg duration "$duration" \
	--argjson connections "$conns" --argjson threads "$wthreads" \
	--argjson httpThreads "$http_threads" \
	--argjson c_rps "$c_rps" --argjson c_p50 "$c_p50" --argjson c_p99 "$c_p99" \
	--argjson h_rps "$h_rps" --argjson h_p50 "$h_p50" --argjson h_p99 "$h_p99" \
	--argjson h_ratio "$h_ratio" --argjson workers "$workers" \
	--argjson hp_rps "$hp_rps" --argjson hp_p50 "$hp_p50" --argjson hp_p99 "$hp_p99" \
	--argjson tls_cost "$tls_cost" \
	'{date:$date, commit:$commit, machine:{cpu:$cpu, cores:$cores},
	  wrk:{threads:$threads, connections:$connections, duration:$duration},
	  gatewayHttpThreads:$httpThreads,
	  ceiling:{rps:$c_rps, p50Ms:$c_p50, p99Ms:$c_p99},
	  rpcHop:{rps:$h_rps, p50Ms:$h_p50, p99Ms:$h_p99, ratio:$h_ratio,
	          callers:$connections, workers:$workers, tls:true},
	  rpcHopPlain:{rps:$hp_rps, p50Ms:$hp_p50, p99Ms:$hp_p99,
	               tlsKeeps:$tls_cost},
	  scenarios:.}' >"$out/latest.json"
echo
echo "bench: results in $out/latest.json (wrk output and logs beside it)"
exit $failed
