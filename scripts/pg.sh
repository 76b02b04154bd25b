#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of ours, on a free local port.
#   pg.sh start DIR   create the cluster on first use, then start it
#   pg.sh stop DIR    stop it (fast shutdown); no-op when not running
#   pg.sh url DIR     print the libpq URL of its "keyport" database
#   pg.sh status DIR  exit 0 when it is running
# PostgreSQL refuses to run as root: when we are root, the cluster belongs to
# the unprivileged user `nobody` and its commands run through runuser.
# `nobody` must be able to reach DIR: when root creates a cluster under a
# directory that nobody cannot traverse (a clone in /root, mode 0700), the
# cluster lives in /var/lib/keyport/pg-<hash of DIR> and DIR is a symbolic
# link to it. Removing DIR (with the rest of the data directory: its secrets
# go too) means a new cluster: the next start replaces the old one.
# PG_FAST=1 trades durability for speed (throw-away test clusters only).
set -euo pipefail
# runuser lives in /usr/sbin, which a root shell from plain `su` lacks
PATH=$PATH:/usr/sbin:/sbin

cmd=${1:?usage: pg.sh start|stop|url|status DIR}
dir=${2:?usage: pg.sh start|stop|url|status DIR}

# As root, for a cluster not created yet: relocate it when nobody cannot
# enter the parent directory (see above). An uninitialised DIR left by an
# earlier failed attempt holds only our own files and is replaced.
relocate() {
	local parent base alt
	[ "$(id -u)" -eq 0 ] && [ ! -L "$dir" ] &&
		[ ! -f "$dir/data/PG_VERSION" ] || return 0
	parent=$(dirname "$dir")
	base=$(basename "$dir")
	mkdir -p "$parent"
	parent=$(cd "$parent" && pwd -P)
	runuser -u nobody -- test -x "$parent" 2>/dev/null && return 0
	if [ -d "$dir" ]; then
		rm -f "$dir/password" "$dir/port" "$dir/initdb.log"
		rmdir "$dir" 2>/dev/null || return 0 # not ours: init_cluster explains
	fi
	alt=/var/lib/keyport/pg-$(printf '%s' "$parent/$base" | sha256sum | cut -c1-16)
	if [ -d "$alt" ]; then
		echo "pg.sh: $dir was removed; replacing its old cluster in $alt" >&2
		if (cd / && runuser -u nobody -- "$pgbin/pg_ctl" -D "$alt/data" status) >/dev/null 2>&1; then
			echo "pg.sh: the old cluster in $alt is still running; stop it first" >&2
			exit 1
		fi
		rm -rf "$alt"
	fi
	mkdir -p "$alt"
	chmod 0755 /var/lib/keyport
	ln -s "$alt" "$dir"
	echo "pg.sh: user nobody cannot enter $parent; the cluster lives in $alt" \
		"($dir links to it)" >&2
}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || {
	echo "pg.sh: PostgreSQL server binaries not found (install postgresql)" >&2
	exit 1
}

[ "$cmd" = start ] && relocate
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
data=$dir/data

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		# from /: nobody may not be able to enter the current directory
		(cd / && runuser -u nobody -- "$@")
	else
		"$@"
	fi
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "pg.sh: no free port found" >&2
	return 1
}

running() {
	[ -f "$data/postmaster.pid" ] && as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

init_cluster() {
	[ -f "$data/PG_VERSION" ] && return 0
	umask 077
	head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$dir/password"
	chmod 0600 "$dir/password"
	if [ "$(id -u)" -eq 0 ]; then
		chown nobody "$dir" "$dir/password"
		runuser -u nobody -- test -x "$dir" || {
			echo "pg.sh: user nobody cannot enter $dir; put the data" \
				"directory (KEYPORT_DATA_DIR) where every user can" \
				"traverse the path" >&2
			exit 1
		}
	fi
	as_owner "$pgbin/initdb" -D "$data" -U keyport -E UTF8 --no-locale \
		--auth=scram-sha-256 --pwfile="$dir/password" >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	pick_port >"$dir/port"
	[ "$(id -u)" -eq 0 ] && chown nobody "$dir/port"
	return 0
}

start() {
	init_cluster
	if running; then
		return 0
	fi
	local opts="-c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300"
	[ "${PG_FAST:-0}" = 1 ] &&
		opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	for attempt in 1 2 3 4 5; do
		port=$(cat "$dir/port")
		if port_free "$port" &&
			as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
				-o "-p $port $opts" start >/dev/null; then
			break
		fi
		[ "$attempt" = 5 ] && {
			echo "pg.sh: PostgreSQL did not start; see $dir/server.log" >&2
			tail -n 20 "$dir/server.log" >&2 || true
			exit 1
		}
		# the port was taken meanwhile: choose another and try again
		pick_port >"$dir/port"
	done
	if [ ! -f "$dir/created" ]; then
		PGPASSWORD=$(cat "$dir/password") "$pgbin/psql" -qAt -h 127.0.0.1 \
			-p "$port" -U keyport -d postgres \
			-c "CREATE DATABASE keyport" >/dev/null
		touch "$dir/created"
	fi
}

stop() {
	if running; then
		as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
	fi
}

url() {
	printf 'postgresql://keyport:%s@127.0.0.1:%s/keyport\n' \
		"$(cat "$dir/password")" "$(cat "$dir/port")"
}

case $cmd in
start) start ;;
stop) stop ;;
url) url ;;
status) running ;;
*)
	echo "pg.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
