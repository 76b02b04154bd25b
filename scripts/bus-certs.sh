#!/usr/bin/env bash
# bus-certs.sh: the internal bus's credentials (docs/deploy.md, "The bus").
#
#   bus-certs.sh init DIR         the deployment's CA, a certificate for the
#                                 gateway and each service, the pair keys
#                                 and the gateway's caller-signing key;
#                                 files that exist are kept (idempotent)
#   bus-certs.sh issue DIR NAME   a named internal client: its certificate
#                                 and its pair keys to every service (the
#                                 services then need KEYPORT_BUS_CLIENT_ROLES
#                                 to give it rights, and a restart)
#
# Layout of DIR (every file 0600, DIR 0700):
#   ca/ca.key, ca/ca.crt  the CA; ca/ is kept apart: move it off the hosts
#                         once the certificates are issued
#   ca.crt                the trust bundle every process reads (put an old
#                         and a new CA in it while rotating)
#   <id>.pem              the identity's certificate and key (TLS)
#   <from>-<to>.key       32 random bytes: the key that authenticates each
#                         request from identity <from> to service <to>
#   gateway-caller.seed   the gateway's Ed25519 seed: it signs the user a
#                         request acts for; gateway-caller.pub for the rest
set -euo pipefail

services=(auth org license activation release)
usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
command -v openssl >/dev/null || {
	echo "bus-certs: openssl is needed (scripts/deps.sh installs it)" >&2
	exit 1
}
umask 077
mkdir -p "$dir/ca"
chmod 0700 "$dir" "$dir/ca"

ca() {
	[ -s "$dir/ca/ca.key" ] && return 0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca/ca.key" -out "$dir/ca/ca.crt" -days 3650 \
		-subj "/CN=keyport-bus-ca" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	cp "$dir/ca/ca.crt" "$dir/ca.crt"
}

cert() { # identity
	local id=$1 tmp
	[ -s "$dir/$id.pem" ] && return 0
	case $id in *[!a-z0-9-]* | "" | -*)
		echo "bus-certs: bad identity '$id' (a-z, 0-9, -)" >&2
		exit 2 ;;
	esac
	tmp=$(mktemp -d)
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tmp/key" -out "$tmp/csr" -subj "/CN=$id" 2>/dev/null
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\n' \
		"$id" >"$tmp/ext"
	openssl x509 -req -in "$tmp/csr" -CA "$dir/ca/ca.crt" \
		-CAkey "$dir/ca/ca.key" -CAcreateserial -days 825 -sha256 \
		-extfile "$tmp/ext" -out "$tmp/crt" 2>/dev/null
	cat "$tmp/crt" "$tmp/key" >"$dir/$id.pem"
	rm -rf "$tmp"
}

pairkeys() { # from
	for to in "${services[@]}"; do
		[ -s "$dir/$1-$to.key" ] || openssl rand 32 >"$dir/$1-$to.key"
	done
}

case $cmd in
init)
	ca
	for id in gateway "${services[@]}"; do
		cert "$id"
		pairkeys "$id"
	done
	if [ ! -s "$dir/gateway-caller.seed" ]; then
		openssl genpkey -algorithm ed25519 -outform DER 2>/dev/null |
			tail -c 32 >"$dir/gateway-caller.seed.tmp"
		openssl pkey -inform DER -in <(printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; cat "$dir/gateway-caller.seed.tmp") \
			-pubout -outform DER | tail -c 32 >"$dir/gateway-caller.pub"
		mv "$dir/gateway-caller.seed.tmp" "$dir/gateway-caller.seed"
	fi
	;;
issue)
	[ $# -eq 3 ] || usage
	[ -s "$dir/ca/ca.key" ] || {
		echo "bus-certs: no CA in $dir/ca (run init first)" >&2
		exit 1
	}
	cert "$3"
	pairkeys "$3"
	echo "issued $3: $dir/$3.pem and $dir/$3-<service>.key"
	;;
*) usage ;;
esac
