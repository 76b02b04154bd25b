#!/usr/bin/env bash
# GET /healthz through the gateway: HTTP parsing, routing and the JSON
# answer, no RPC and no database; the gateway's own overhead over bare_mhd.
set -euo pipefail
echo "method GET"
echo "path /healthz"
echo "noauth"
