#!/bin/sh
# The image's HEALTHCHECK (installed as /usr/local/bin/keyport-health): asks
# the process the container runs (PID 1's command) whether it serves.
#   keyport-gateway   GET /readyz?scope=self (the gateway itself; a down
#                     service only fails its own routes)
#   keyport-<svc>     keyport-<svc> --check (health RPC to its own listener,
#                     which includes a database ping)
set -eu
cmd=$(tr '\0' '\n' </proc/1/cmdline | head -n 1)
case ${cmd##*/} in
keyport-gateway)
	exec curl -fsS -o /dev/null "http://127.0.0.1:${KEYPORT_HTTP_PORT:-8080}/readyz?scope=self" ;;
keyport-auth | keyport-org | keyport-license | keyport-activation | keyport-release)
	exec "${cmd##*/}" --check ;;
*)
	echo "keyport-health: not a Keyport process: $cmd" >&2
	exit 1 ;;
esac
