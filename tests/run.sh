#!/usr/bin/env bash
# README command two: the whole test suite. Installs what the tests drive (PostgreSQL binaries,
# xmllint, zeep), then runs unit and integration tests. Each `cargo test` run starts one private
# PostgreSQL cluster under /tmp and gives every test a fresh database cloned from a migrated template.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/setup.sh --test
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-8}"
exec cargo test --all-targets "$@"
