#!/usr/bin/env bash
# Checks the "two commands" promise on a minimal Debian 12, as a new machine
# has it: debootstrap (minbase) into DIR, plus only git, make and sudo; a
# clone of this tree's HEAD; then `make test` (which installs the rest through
# scripts/deps.sh) and `make run` (in a private network namespace, so its
# fixed ports meet nobody else's), /readyz must answer 200, a Ctrl-C to its
# process group must stop everything. Prints the timings.
#   sudo scripts/fresh-debian.sh [--user] [DIR]
#     DIR      where the root goes (default /var/tmp/keyport-fresh); outside
#              the tree; reused when it holds a previous run (delete it for a
#              new machine)
#     --user   run both commands as user `dev` with passwordless sudo
#              instead of root
# Needs root, debootstrap (installed when missing) and the network (Debian
# packages, the npm registry). The Debian mirror is the one this machine's
# apt uses (or FRESH_DEBIAN_MIRROR). CA certificates added locally to this
# machine (/usr/local/share/ca-certificates, as behind a TLS-inspecting proxy)
# are copied in. Everything it mounts is unmounted and every process it
# started is stopped on exit.
set -euo pipefail

as=root
[ "${1:-}" = --user ] && { as=dev; shift; }
R=${1:-/var/tmp/keyport-fresh}
tree=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || {
	echo "fresh-debian: run as root (sudo)" >&2
	exit 1
}
case $R/ in "$tree"/*)
	echo "fresh-debian: DIR must be outside the tree" >&2
	exit 1
	;;
esac

mirror=${FRESH_DEBIAN_MIRROR:-}
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(awk '$1 == "deb" { sub(/\[[^]]*\] */, ""); if ($3 == "bookworm") { print $2; exit } }' /etc/apt/sources.list)
fi
if [ -z "$mirror" ] && compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
	mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v RS= '
		/(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ {
			if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) {
				u = substr($0, RSTART, RLENGTH); sub(/.*URIs:[ \t]*/, "", u)
				print u; exit
			}
		}')
fi
[ -n "$mirror" ] || {
	echo "fresh-debian: no bookworm mirror in /etc/apt; set FRESH_DEBIAN_MIRROR" >&2
	exit 1
}

mounts=()
run_pid=
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$run_pid" ]; then
		kill -INT -- "-$run_pid" 2>/dev/null || true
		sleep 5
	fi
	inside_pids | xargs -r kill -TERM 2>/dev/null || true
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# processes whose root directory is the new machine's
inside_pids() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && echo "${p#/proc/}"
	done
	return 0
}
in_root() { # command (as $as, login-like environment)
	local path=/usr/local/bin:/usr/bin:/bin home=/home/dev
	[ "$as" = root ] && path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin home=/root
	chroot "$R" /usr/sbin/runuser -u "$as" -- /usr/bin/env -i PATH="$path" \
		HOME="$home" USER="$as" LOGNAME="$as" TERM=dumb bash -c "$1"
}
now() { date +%s; }

t0=$(now)
if [ ! -f "$R/etc/debian_version" ]; then
	command -v debootstrap >/dev/null || {
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	}
	echo "fresh-debian: debootstrap --variant=minbase bookworm $R"
	debootstrap --variant=minbase bookworm "$R" "$mirror" >"$R.debootstrap.log" 2>&1 || {
		tail -n 20 "$R.debootstrap.log" >&2
		exit 1
	}
	printf 'deb %s bookworm main\ndeb %s bookworm-updates main\n' "$mirror" "$mirror" \
		>"$R/etc/apt/sources.list"
fi
R=$(cd "$R" && pwd -P)
for m in proc sys dev dev/pts dev/shm; do
	mountpoint -q "$R/$m" && continue
	case $m in
	proc) mount -t proc proc "$R/proc" ;;
	sys) mount -t sysfs sysfs "$R/sys" ;;
	dev | dev/pts) mount --bind "/$m" "$R/$m" ;;
	dev/shm) mount -t tmpfs -o mode=1777 shm "$R/dev/shm" ;;
	esac
	mounts+=("$R/$m")
done
cp /etc/resolv.conf "$R/etc/resolv.conf"
grep -q "[[:space:]]$(hostname)\$" "$R/etc/hosts" 2>/dev/null ||
	echo "127.0.1.1 $(hostname)" >>"$R/etc/hosts"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
	mkdir -p "$R/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"
fi
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
	bash -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends git make sudo >/dev/null'
if [ "$as" = dev ] && ! chroot "$R" id dev >/dev/null 2>&1; then
	chroot "$R" useradd -m -s /bin/bash dev
	echo 'dev ALL=(ALL) NOPASSWD:ALL' >"$R/etc/sudoers.d/dev"
	chmod 0440 "$R/etc/sudoers.d/dev"
fi
t1=$(now)

# the tree's HEAD, as a clone would see it
home=/root
[ "$as" = dev ] && home=/home/dev
rm -rf "$R/srv/keyport.git" "$R$home/keyport"
git clone -q --bare "$tree" "$R/srv/keyport.git"
chroot "$R" chown -R "$as:" /srv/keyport.git
in_root "git clone -q /srv/keyport.git ~/keyport"
echo "fresh-debian: make test as $as in $home/keyport ($(git -C "$tree" log --oneline -1))"
t2=$(now)
in_root 'cd ~/keyport && make test' >"$R.make-test.log" 2>&1 || {
	tail -n 40 "$R.make-test.log" >&2
	echo "fresh-debian: make test FAILED (log: $R.make-test.log)" >&2
	exit 1
}
t3=$(now)
grep -a 'Synthesis' "$R.make-test.log" | tail -n 1

echo "fresh-debian: make run as $as (private network namespace)"
path=/usr/local/bin:/usr/bin:/bin
[ "$as" = root ] && path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# job control on (the job gets its own process group): a background job of a
# script would otherwise start with SIGINT ignored, and run.sh could not trap
# the Ctrl-C
set -m
unshare -n chroot "$R" /bin/bash -c "ip link set lo up && exec /usr/sbin/runuser -u $as -- \
	/usr/bin/env -i PATH=$path HOME=$home TERM=dumb \
	bash -c 'cd ~/keyport && exec make run'" >"$R.make-run.log" 2>&1 &
run_pid=$!
set +m
# poll only once make run has its own network namespace (another 8080 may
# answer on this machine's)
for _ in $(seq 1 50); do
	[ "$(readlink "/proc/$run_pid/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] &&
		[ "$(readlink "/proc/$run_pid/root" 2>/dev/null)" = "$R" ] && break
	sleep 0.1
done
ready=
for _ in $(seq 1 300); do
	if nsenter -t "$run_pid" -n chroot "$R" curl -fsS -o /dev/null \
		http://127.0.0.1:8080/readyz 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.2
done
t4=$(now)
[ -n "$ready" ] || {
	cat "$R.make-run.log" >&2
	echo "fresh-debian: make run did not become ready" >&2
	exit 1
}
echo "fresh-debian: /readyz 200 after $((t4 - t3)) s; Ctrl-C"
# runuser starts `make run` in a session of its own: Ctrl-C goes to make's
# process group, as a terminal would send it
pgid=
for p in $(inside_pids); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = make ] && pgid=$(ps -o pgid= -p "$p" | tr -d ' ')
done
[ -n "$pgid" ] || {
	echo "fresh-debian: make run's process not found" >&2
	exit 1
}
kill -INT -- "-$pgid"
for _ in $(seq 1 150); do
	[ -z "$(inside_pids)" ] && break
	sleep 0.2
done
left=$(inside_pids)
[ -z "$left" ] || {
	ps -o pid,args -p "$(echo $left | tr ' ' ,)" >&2
	echo "fresh-debian: processes left after Ctrl-C" >&2
	exit 1
}
run_pid=
echo "fresh-debian: stopped, nothing left running"
echo "fresh-debian: ok: machine $((t1 - t0)) s, make test $((t3 - t2)) s, make run to ready $((t4 - t3)) s (logs: $R.make-test.log, $R.make-run.log)"
