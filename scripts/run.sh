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
mkdir -p "$logs"
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
	echo "  Vendor admin:   admin@localhost / $(cat "$KEYPORT_DATA_DIR/admin-password")"
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
