#!/usr/bin/env bash
# `make run`: the whole stack on this machine. With no KEYPORT_DATABASE_URL a
# private PostgreSQL cluster is created under $KEYPORT_DATA_DIR/pg (default
# var/). Starts the five services and the gateway, waits for /readyz,
# prints the portal URL, and on Ctrl-C or SIGTERM stops everything,
# PostgreSQL included.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${KEYPORT_BIN_DIR:-$root/${BUILD:-build}/bin}
export KEYPORT_DATA_DIR=${KEYPORT_DATA_DIR:-$root/var}
mkdir -p "$KEYPORT_DATA_DIR"
KEYPORT_DATA_DIR=$(cd "$KEYPORT_DATA_DIR" && pwd)
export KEYPORT_SECRET_DIR=${KEYPORT_SECRET_DIR:-$KEYPORT_DATA_DIR/secrets}
export KEYPORT_HTTP_PORT=${KEYPORT_HTTP_PORT:-8080}
export KEYPORT_WEB_DIR=${KEYPORT_WEB_DIR:-$root/web}
logs=$KEYPORT_DATA_DIR/logs

# Every port this stack listens on must be free before anything starts: on
# a shared host another stack may hold them, and then our services would
# fail to listen while our gateway and its health check answered from the
# other stack's processes. The ports are the gateway's and the first
# address of each KEYPORT_<SVC>_URL (default from common/kp_services.def).
taken_by() { # port: prints the listening socket(s) on it, exit 0 when any
	local out
	if command -v ss >/dev/null; then
		out=$(ss -Hltn "sport = :$1" 2>/dev/null) || out=
		[ -n "$out" ] && { echo "$out" | awk '{print $4}' | paste -sd' '; return 0; }
		return 1
	fi
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && { echo "127.0.0.1:$1"; return 0; }
	return 1
}
check_ports() {
	local line name port url busy=0 where
	local -a wanted=("gateway KEYPORT_HTTP_PORT $KEYPORT_HTTP_PORT")
	while read -r line; do
		name=$(echo "$line" | sed -nE 's/^KP_SERVICE\(([A-Z]+), "([a-z]+)", ([0-9]+)\).*/\1 \2 \3/p')
		[ -n "$name" ] || continue
		set -- $name
		url=$(printenv "KEYPORT_$1_URL" || true)
		url=${url%%,*}
		port=$3
		[ -n "$url" ] && port=${url##*:}
		wanted+=("$2 KEYPORT_$1_URL $port")
	done <"$root/common/kp_services.def"
	for w in "${wanted[@]}"; do
		set -- $w
		if where=$(taken_by "$3"); then
			echo "keyport: port $3 ($1, $2) is already in use (listening: $where);" \
				"another Keyport or another program holds it. Stop it, or choose" \
				"other ports (KEYPORT_HTTP_PORT, KEYPORT_<SERVICE>_URL)." >&2
			busy=1
		fi
	done
	return $busy
}
check_ports || {
	echo "keyport: not starting: a port it needs is taken" >&2
	exit 1
}

# logs are the operator's: they name users, addresses and licenses
(umask 077 && mkdir -p "$logs")
chmod 0700 "$logs"
(umask 077 && mkdir -p "$KEYPORT_SECRET_DIR")
chmod 0700 "$KEYPORT_SECRET_DIR"
# The bus's CA and every process's credentials, made on the first start
# (docs/deploy.md, "The bus"); the services listen on loopback, over TLS.
export KEYPORT_BUS_DIR=${KEYPORT_BUS_DIR:-$KEYPORT_SECRET_DIR/bus}
"$root/scripts/bus-certs.sh" init "$KEYPORT_BUS_DIR"

pids=()
own_pg=0
stopping=0

stop_all() {
	[ "$stopping" = 1 ] && return
	stopping=1
	# The terminal (or a pipe such as `| tee`) may be gone with the same
	# Ctrl-C: a failed echo must not cut the shutdown short.
	trap '' PIPE
	echo "keyport: stopping" >&2 2>/dev/null || true
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 1 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "$own_pg" = 1 ]; then
		"$root/scripts/pg.sh" stop "$KEYPORT_DATA_DIR/pg" || true
	fi
	echo "keyport: stopped" >&2 2>/dev/null || true
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

if [ -z "${KEYPORT_DATABASE_URL:-}" ]; then
	echo "keyport: starting the embedded PostgreSQL in $KEYPORT_DATA_DIR/pg" >&2
	own_pg=1
	"$root/scripts/pg.sh" start "$KEYPORT_DATA_DIR/pg"
	KEYPORT_DATABASE_URL=$("$root/scripts/pg.sh" url "$KEYPORT_DATA_DIR/pg")
	export KEYPORT_DATABASE_URL
fi

names=(auth org license activation release gateway)
start_one() { # index
	local n=${names[$1]}
	(umask 077 && : >>"$logs/$n.log")
	chmod 0600 "$logs/$n.log"
	"$bin/keyport-$n" >>"$logs/$n.log" 2>&1 &
	pids[$1]=$!
}
for i in "${!names[@]}"; do start_one "$i"; done

url="http://127.0.0.1:$KEYPORT_HTTP_PORT"
ready=0
for _ in $(seq 1 600); do
	if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then
		ready=1
		break
	fi
	for p in "${pids[@]}"; do
		kill -0 "$p" 2>/dev/null || {
			echo "keyport: a process exited during start-up; logs in $logs" >&2
			tail -n 5 "$logs"/*.log >&2
			exit 1
		}
	done
	sleep 0.1
done
if [ "$ready" != 1 ]; then
	echo "keyport: not ready after 60 s:" >&2
	curl -sS "$url/readyz" >&2 || true
	exit 1
fi

cat <<MSG
Keyport is running.
  Portal and API: $url   (API base $url/v1)
  Logs:           $logs/
  Data:           $KEYPORT_DATA_DIR
MSG
if [ -f "$KEYPORT_DATA_DIR/admin-password" ] && [ ! -f "$KEYPORT_DATA_DIR/.admin-password-shown" ]; then
	echo "  Vendor admin:   ${KEYPORT_ADMIN_EMAIL:-admin@localhost} / $(cat "$KEYPORT_DATA_DIR/admin-password")"
	echo "                  (shown once; saved in $KEYPORT_DATA_DIR/admin-password)"
	touch "$KEYPORT_DATA_DIR/.admin-password-shown"
fi
echo "Press Ctrl-C to stop."

# Supervise until a signal arrives (the trap stops everything): a process
# that dies is started again, as a service manager would.
while :; do
	for i in "${!names[@]}"; do
		if ! kill -0 "${pids[$i]}" 2>/dev/null; then
			wait "${pids[$i]}" 2>/dev/null || true
			echo "keyport: ${names[$i]} exited; starting it again (log: $logs/${names[$i]}.log)" >&2
			start_one "$i"
		fi
	done
	sleep 1 &
	wait $! || true
done
