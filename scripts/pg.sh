#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of ours, on a free local port.
#   pg.sh start DIR   create the cluster on first use, then start it
#   pg.sh stop DIR    stop it (fast shutdown); no-op when not running
#   pg.sh url DIR     print the libpq URL of its "keyport" database
#   pg.sh status DIR  exit 0 when it is running
# PostgreSQL refuses to run as root. When we are root, its commands run in a
# user namespace (unshare) that maps our uid 0 to uid 65534 inside: the
# server sees an unprivileged user, the files stay root's on disk, and the
# cluster lives in DIR whatever the permissions of the path above it (a
# clone in /root, mode 0700, included). Every byte is under DIR, so removing
# the data directory removes the cluster. Where user namespaces are not
# available, the cluster belongs to `nobody` (runuser), which must then be
# able to traverse the path to DIR; pg.sh says so and stops otherwise. A
# cluster made by an older pg.sh that belongs to nobody keeps being run as
# nobody; one that an older pg.sh put in /var/lib/keyport/pg-<hash> is
# moved back under DIR on start (relocated below). Clusters left there by
# data directories deleted before that are orphans: nothing links to them;
# remove them by hand (ls -l /var/lib/keyport).
# PG_FAST=1 trades durability for speed (throw-away test clusters only).
set -euo pipefail
# runuser lives in /usr/sbin, which a root shell from plain `su` lacks
PATH=$PATH:/usr/sbin:/sbin

cmd=${1:?usage: pg.sh start|stop|url|status DIR}
dir=${2:?usage: pg.sh start|stop|url|status DIR}

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || {
	echo "pg.sh: PostgreSQL server binaries not found (install postgresql)" >&2
	exit 1
}

# A cluster that an older pg.sh put in /var/lib/keyport/pg-<hash> (as root,
# when nobody could not enter DIR), with DIR a symbolic link to it: on
# start, bring it back under DIR, so that removing the data directory
# removes the cluster too. It is stopped first; its files become root's
# and run in a user namespace like a new cluster's.
relocated() {
	local target
	[ "$cmd" = start ] && [ -L "$dir" ] && [ "$(id -u)" -eq 0 ] || return 0
	target=$(readlink -f "$dir")
	case $target in /var/lib/keyport/pg-*) ;; *) return 0 ;; esac
	unshare --user --map-user=65534 --map-group=65534 true 2>/dev/null || return 0
	[ -d "$target/data" ] || return 0
	if [ -f "$target/data/postmaster.pid" ]; then
		(cd / && runuser -u nobody -- "$pgbin/pg_ctl" -D "$target/data" -m fast -w -t 60 stop) >/dev/null 2>&1 || true
	fi
	[ -f "$target/data/postmaster.pid" ] && return 0 # still running: leave it
	rm "$dir"
	mv "$target" "$dir"
	chown -R 0:0 "$dir"
	rmdir /var/lib/keyport 2>/dev/null || true
	echo "pg.sh: moved the cluster from $target back to $dir" >&2
}
relocated

mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
data=$dir/data

# How we run PostgreSQL's commands: "self" (not root), "userns" (root,
# mapped to 65534 in a user namespace) or "nobody" (root, runuser).
mode=self
if [ "$(id -u)" -eq 0 ]; then
	if [ -e "$data/PG_VERSION" ] && [ "$(stat -c %u "$data")" != 0 ]; then
		mode=nobody # a cluster made as nobody before
	elif unshare --user --map-user=65534 --map-group=65534 true 2>/dev/null; then
		mode=userns
	else
		mode=nobody
	fi
fi

as_owner() {
	case $mode in
	self) "$@" ;;
	# from /: nobody may not be able to enter the current directory
	userns) (cd / && unshare --user --map-user=65534 --map-group=65534 -- "$@") ;;
	nobody) (cd / && runuser -u nobody -- "$@") ;;
	esac
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
	if [ "$mode" = nobody ]; then
		chown nobody "$dir" "$dir/password"
		runuser -u nobody -- test -x "$dir" || {
			echo "pg.sh: user nobody cannot enter $dir and this" \
				"system has no user namespaces; put the data" \
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
	[ "$mode" = nobody ] && chown nobody "$dir/port"
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
