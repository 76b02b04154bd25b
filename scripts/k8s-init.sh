#!/usr/bin/env bash
# k8s-init.sh: the one-time init step of a Kubernetes deployment
# (docs/deploy.md, "Kubernetes"): makes the key material and writes the
# Secrets the manifests in k8s/ mount, as one file to apply.
#
#   k8s-init.sh init DIR [--admin-email EMAIL] [--namespace NS]
#                        [--db-password-file FILE]
#                        [--tls-cert FILE --tls-key FILE]
#       makes what is missing in DIR and writes DIR/secrets.yaml;
#       files that exist are kept, so running it again changes nothing
#       (re-run it after `bus-certs.sh issue DIR/bus NAME`)
#   k8s-init.sh rotate-auth-key DIR
#       adds a new access-token signing key, keeps the previous newest
#       one (it verifies the tokens it signed), drops older ones, and
#       writes DIR/secrets.yaml again
#
# Then: kubectl apply -f DIR/secrets.yaml   (before or after the overlay)
#
# DIR (0700) is the only copy of the keys: keep it, offline, like a backup
# of the database. DIR/bus/ca/ca.key, the bus CA's key, is never put in a
# Secret. The Secrets, in namespace NS (keyport):
#   keyport-db              kubernetes.io/basic-auth, username keyport: the
#                           services' PGPASSWORD, the dev StatefulSet's and
#                           the CloudNativePG Cluster's owner password
#                           (--db-password-file: a managed database's)
#   keyport-admin           email, password: the first vendor admin
#   keyport-bus-<identity>  the bus credentials of the gateway and of each
#                           service, exactly the files kp_bus reads
#   keyport-auth-keys       <kid>.key: auth's Ed25519 signing keys
#                           (KEYPORT_AUTH_KEY_ROTATION=external)
#   keyport-license-master  license-master.key: seals the products' keys
#   keyport-release-links   release-links.key: signs download links
#   keyport-tls             kubernetes.io/tls for the Ingress, only with
#                           --tls-cert/--tls-key (else cert-manager's)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ids=(gateway auth org license activation release)
usage() {
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
die() {
	echo "k8s-init: $*" >&2
	exit 1
}
[ $# -ge 2 ] || usage
cmd=$1 dir=$2
shift 2
ns=keyport email="" dbpw="" tlscert="" tlskey=""
while [ $# -gt 0 ]; do
	case $1 in
	--namespace) ns=${2:?}; shift 2 ;;
	--admin-email) email=${2:?}; shift 2 ;;
	--db-password-file) dbpw=${2:?}; shift 2 ;;
	--tls-cert) tlscert=${2:?}; shift 2 ;;
	--tls-key) tlskey=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
command -v openssl >/dev/null || die "openssl is needed (scripts/deps.sh installs it)"
umask 077
mkdir -p "$dir/auth-keys"
chmod 0700 "$dir"

rnd() { openssl rand -base64 32 | tr -d '/+=\n' | head -c 32; }

# A new Ed25519 key in libsodium's form (seed, then public key: 64 bytes)
# under a kid that sorts by creation time, as auth's own keys do.
new_auth_key() {
	local kid tmp
	kid=$(date -u +%Y%m%d%H%M%S)-$(openssl rand -hex 4)
	tmp=$(mktemp -d)
	openssl genpkey -algorithm ed25519 -outform DER 2>/dev/null | tail -c 32 >"$tmp/seed"
	openssl pkey -inform DER -pubout -outform DER \
		-in <(printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; cat "$tmp/seed") |
		tail -c 32 >"$tmp/pub"
	cat "$tmp/seed" "$tmp/pub" >"$dir/auth-keys/$kid.key.tmp"
	rm -rf "$tmp"
	[ "$(wc -c <"$dir/auth-keys/$kid.key.tmp")" -eq 64 ] || die "could not make a signing key"
	mv "$dir/auth-keys/$kid.key.tmp" "$dir/auth-keys/$kid.key"
	echo "$kid"
}

material() {
	"$root/scripts/bus-certs.sh" init "$dir/bus"
	[ -s "$dir/license-master.key" ] || openssl rand 32 >"$dir/license-master.key"
	[ -s "$dir/release-links.key" ] || openssl rand 32 >"$dir/release-links.key"
	if [ -n "$dbpw" ]; then
		[ -s "$dbpw" ] || die "$dbpw is empty"
		tr -d '\n' <"$dbpw" >"$dir/db-password"
	elif [ ! -s "$dir/db-password" ]; then
		rnd >"$dir/db-password"
	fi
	printf keyport >"$dir/db-username"
	[ -s "$dir/admin-password" ] || rnd >"$dir/admin-password"
	if [ -n "$email" ]; then
		printf '%s' "$email" >"$dir/admin-email"
	elif [ ! -s "$dir/admin-email" ]; then
		die "--admin-email is needed the first time (the vendor admin's login)"
	fi
	if ! ls "$dir/auth-keys/"*.key >/dev/null 2>&1; then
		new_auth_key >/dev/null
	fi
	if [ -n "$tlscert$tlskey" ]; then
		[ -s "$tlscert" ] && [ -s "$tlskey" ] || die "--tls-cert and --tls-key go together"
		cp "$tlscert" "$dir/tls.crt"
		cp "$tlskey" "$dir/tls.key"
	fi
}

# secret NAME TYPE KEY=FILE...: one Secret document on stdout.
secret() {
	local name=$1 type=$2 kv
	shift 2
	printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n    app.kubernetes.io/part-of: keyport\ntype: %s\ndata:\n' \
		"$name" "$ns" "$type"
	for kv in "$@"; do
		printf '  %s: %s\n' "${kv%%=*}" "$(base64 -w0 <"${kv#*=}")"
	done
}

# The files of one bus identity: its certificate, the trust bundle, its
# keys to every service, every caller's key to it, the gateway's public
# caller key (and the gateway its seed).
bus_files() {
	local id=$1 f b
	for f in "$dir/bus/ca.crt" "$dir/bus/gateway-caller.pub" "$dir/bus/$id.pem" \
		"$dir/bus/$id"-*.key "$dir/bus/"*-"$id".key; do
		[ -e "$f" ] || continue
		b=$(basename "$f")
		echo "$b=$f"
	done | sort -u
	[ "$id" = gateway ] && echo "gateway-caller.seed=$dir/bus/gateway-caller.seed"
	return 0
}

write_secrets() {
	local out=$dir/secrets.yaml.tmp id k keys=()
	{
		echo "# Keyport's Secrets (scripts/k8s-init.sh): kubectl apply -f this file."
		echo "# Key material: keep it out of version control."
		secret keyport-db kubernetes.io/basic-auth "username=$dir/db-username" "password=$dir/db-password"
		secret keyport-admin Opaque "email=$dir/admin-email" "password=$dir/admin-password"
		for id in "${ids[@]}"; do
			mapfile -t keys < <(bus_files "$id")
			secret "keyport-bus-$id" Opaque "${keys[@]}"
		done
		keys=()
		for k in "$dir/auth-keys/"*.key; do keys+=("$(basename "$k")=$k"); done
		secret keyport-auth-keys Opaque "${keys[@]}"
		secret keyport-license-master Opaque "license-master.key=$dir/license-master.key"
		secret keyport-release-links Opaque "release-links.key=$dir/release-links.key"
		if [ -s "$dir/tls.crt" ]; then
			secret keyport-tls kubernetes.io/tls "tls.crt=$dir/tls.crt" "tls.key=$dir/tls.key"
		fi
	} >"$out"
	mv "$out" "$dir/secrets.yaml"
}

case $cmd in
init)
	material
	;;
rotate-auth-key)
	[ -s "$dir/license-master.key" ] || die "no key material in $dir (run init first)"
	new=$(new_auth_key)
	# keep the new key and the one it supersedes; older ones have signed
	# nothing that is still valid once the previous rotation is past
	# KEYPORT_AUTH_KEY_CHECK_SECONDS + the access-token lifetime
	mapfile -t old < <(ls "$dir/auth-keys/" | grep '\.key$' | sort -r | tail -n +3)
	for k in "${old[@]}"; do rm -f "$dir/auth-keys/$k"; done
	echo "k8s-init: new signing key $new; dropped ${#old[@]} old one(s)" >&2
	;;
*) usage ;;
esac
write_secrets
echo "k8s-init: wrote $dir/secrets.yaml; apply it with kubectl apply -f $dir/secrets.yaml" >&2
