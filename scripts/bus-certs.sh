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
#                                 to give it rights, read at start)
#   bus-certs.sh rotate-ca DIR    a new CA in DIR/ca (the old one kept as
#                                 ca/old-ca.*), the bundle ca.crt holding
#                                 both, every DIR/*.pem re-issued by the
#                                 new CA
#   bus-certs.sh finish-ca DIR    the old CA out of the bundle and of ca/
#   bus-certs.sh rotate-pair DIR FROM TO
#                                 a new key DIR/FROM-TO.key.next (the
#                                 receiver TO accepts it beside .key)
#   bus-certs.sh promote-pair DIR FROM TO
#                                 FROM-TO.key.next becomes FROM-TO.key, the
#                                 old key FROM-TO.key.prev (still accepted)
#   bus-certs.sh finish-pair DIR FROM TO
#                                 FROM-TO.key.prev removed: the old key is
#                                 refused
#
# Every command is idempotent; running processes pick the new files up
# within seconds (docs/deploy.md, "Rotation").
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
	sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//' >&2
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

# Replaces a file at once (a running process never reads half of it).
put() { # file (content on stdin)
	cat >"$1.tmp.$$"
	chmod 0600 "$1.tmp.$$"
	mv -f "$1.tmp.$$" "$1"
}

newca() { # subject CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$dir/ca/ca.key.tmp" -out "$dir/ca/ca.crt.tmp" -days 3650 \
		-subj "/CN=$1" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	mv "$dir/ca/ca.crt.tmp" "$dir/ca/ca.crt"
	mv "$dir/ca/ca.key.tmp" "$dir/ca/ca.key"
}

ca() {
	[ -s "$dir/ca/ca.key" ] && return 0
	newca keyport-bus-ca
	put "$dir/ca.crt" <"$dir/ca/ca.crt"
}

# Whether DIR/<id>.pem is signed by the current CA.
by_current_ca() { # identity
	openssl verify -CAfile "$dir/ca/ca.crt" "$dir/$1.pem" >/dev/null 2>&1
}

cert() { # identity [force]
	local id=$1 tmp
	[ -s "$dir/$id.pem" ] && [ -z "${2:-}" ] && return 0
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
	cat "$tmp/crt" "$tmp/key" | put "$dir/$id.pem"
	rm -rf "$tmp"
}

pairkeys() { # from
	for to in "${services[@]}"; do
		[ -s "$dir/$1-$to.key" ] || openssl rand 32 | put "$dir/$1-$to.key"
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
rotate-ca)
	[ -s "$dir/ca/ca.key" ] || {
		echo "bus-certs: no CA in $dir/ca (run init first)" >&2
		exit 1
	}
	# a rotation already begun is only completed, not begun again
	if [ ! -s "$dir/ca/old-ca.crt" ]; then
		cp -p "$dir/ca/ca.crt" "$dir/ca/old-ca.crt"
		cp -p "$dir/ca/ca.key" "$dir/ca/old-ca.key"
		rm -f "$dir/ca/ca.srl"
		newca "keyport-bus-ca-$(date -u +%Y%m%d%H%M%S)"
	fi
	cat "$dir/ca/ca.crt" "$dir/ca/old-ca.crt" | put "$dir/ca.crt"
	for pem in "$dir"/*.pem; do
		[ -e "$pem" ] || continue
		id=$(basename "$pem" .pem)
		by_current_ca "$id" || cert "$id" force
	done
	echo "rotated the CA of $dir: ca.crt trusts the new and the old CA," \
		"every certificate is the new CA's; finish-ca drops the old"
	;;
finish-ca)
	for pem in "$dir"/*.pem; do
		[ -e "$pem" ] || continue
		by_current_ca "$(basename "$pem" .pem)" || {
			echo "bus-certs: $pem is not the current CA's (rotate-ca first)" >&2
			exit 1
		}
	done
	put "$dir/ca.crt" <"$dir/ca/ca.crt"
	rm -f "$dir/ca/old-ca.crt" "$dir/ca/old-ca.key"
	echo "ca.crt of $dir trusts the current CA alone"
	;;
rotate-pair | promote-pair | finish-pair)
	[ $# -eq 4 ] || usage
	for id in "$3" "$4"; do
		case $id in *[!a-z0-9-]* | "" | -*)
			echo "bus-certs: bad identity '$id' (a-z, 0-9, -)" >&2
			exit 2 ;;
		esac
	done
	key=$dir/$3-$4.key
	if [ "$cmd" = rotate-pair ]; then
		[ -s "$key.next" ] || openssl rand 32 | put "$key.next"
		echo "$key.next: accepted by $4 beside $key; give it to $3 as" \
			"$3-$4.key, then promote-pair"
	elif [ "$cmd" = promote-pair ] && [ -s "$key.next" ]; then
		# the old key stays accepted as .prev: in a directory shared by
		# sender and receiver, either may reload first
		[ -s "$key" ] && cp -p "$key" "$key.prev"
		chmod 0600 "$key.next"
		mv -f "$key.next" "$key"
		echo "$key: the new key; the old one is $key.prev until finish-pair"
	elif [ "$cmd" = promote-pair ]; then
		echo "$key: nothing to promote (no $3-$4.key.next)"
	else
		rm -f "$key.prev"
		echo "$key: the only key of $3 towards $4"
	fi
	;;
*) usage ;;
esac
