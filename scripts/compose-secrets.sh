#!/usr/bin/env bash
# Makes the secret files compose.yaml mounts (Compose `secrets:`), once:
#   secrets/postgres-password   PostgreSQL's keyport password (random)
#   secrets/database-url        the services' libpq URL holding it
#   secrets/admin-password      the vendor admin's first password (random,
#                               or $KEYPORT_ADMIN_PASSWORD when set)
#   secrets/bus/                the bus's CA and credentials
#                               (scripts/bus-certs.sh; bus/ca/ holds the CA
#                               key: keep it off the host afterwards)
#   secrets/bus-<identity>/     exactly the files of one identity, mounted
#                               read-only into that service only
# An existing file is kept. The directory is 0700 (only you on this host);
# the files are 0644 because Compose (without Swarm) bind-mounts them as
# they are and the containers run as uid 10001.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
mkdir -p secrets
chmod 0700 secrets
rnd() { head -c 24 /dev/urandom | base64 | tr -d '/+=\n'; }
[ -s secrets/postgres-password ] || rnd >secrets/postgres-password
[ -s secrets/database-url ] ||
	printf 'postgresql://keyport:%s@postgres:5432/keyport\n' \
		"$(cat secrets/postgres-password)" >secrets/database-url
[ -s secrets/admin-password ] ||
	printf '%s' "${KEYPORT_ADMIN_PASSWORD:-$(rnd)}" >secrets/admin-password
chmod 0644 secrets/postgres-password secrets/database-url secrets/admin-password
scripts/bus-certs.sh init secrets/bus
for id in gateway auth org license activation release; do
	d=secrets/bus-$id
	mkdir -p "$d"
	cp secrets/bus/ca.crt secrets/bus/gateway-caller.pub "secrets/bus/$id.pem" "$d/"
	cp secrets/bus/"$id"-*.key "$d/"
	for k in secrets/bus/*-"$id".key; do [ -e "$k" ] && cp "$k" "$d/"; done
	[ "$id" = gateway ] && cp secrets/bus/gateway-caller.seed "$d/"
	chmod 0755 "$d"
	chmod 0644 "$d"/*
done
echo "compose-secrets: secrets/ is ready; the admin password is in secrets/admin-password" >&2
