#!/usr/bin/env bash
# README command one: a development hub on http://127.0.0.1:8080 with its own PostgreSQL under ./data.
# Extra arguments go to `hiehub serve` (e.g. --https 127.0.0.1:8443 for mutual TLS with the dev CA).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh
exec cargo run --release --bin hiehub -- serve --dev --data-dir ./data --http 127.0.0.1:8080 "$@"
