#!/usr/bin/env bash
# Installs the Debian packages Keyport needs to build, run and test, when
# any is missing (apt-get, through sudo when not root). Quiet when all are
# present. The list is the project's whole set of system dependencies.
set -euo pipefail

pkgs=(
	build-essential make pkg-config
	libnng-dev libprotobuf-c-dev protobuf-c-compiler libprotobuf-dev
	libpq-dev libmicrohttpd-dev libjansson-dev libsodium-dev zlib1g-dev
	libcurl4-openssl-dev libcriterion-dev
	postgresql postgresql-contrib
	curl wrk jq procps iproute2 util-linux
	gcc-mingw-w64-x86-64 python3 openssl
	chromium
	docker-compose libnss-wrapper
	pgbouncer
	prometheus # promtool: `promtool check metrics` (it-ops), `check rules` (lint)
	clang # libFuzzer for `make fuzz` (fuzz/)
)
# `kubectl kustomize` renders k8s/ in the static tests. The machine image
# carries kubectl 1.32 (kustomize v5); Debian 12's own kubectl
# (kubernetes-client, 1.20, kustomize v2) is too old for the overlays, so
# it is not installed in its place: lint.sh says so when kubectl is missing.
# Node.js (for the OpenAPI lint and browser tests) may come from another
# packaging that bundles npm; only ask Debian for it when it is absent.
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "deps: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
