#!/bin/sh
# Soak test of the ATNA syslog TLS listener (issue #4): one hiehub server (release build, private
# PostgreSQL cluster with fsync on) under a steady mutual-TLS syslog load for MINUTES (default 30).
# Every 30 s it prints a row: ledger size and growth, frames sent, the p99 and max of the time a
# sender waited in one write over those 30 s, the server's VmRSS. It exits 1 on a stall (the ledger
# did not grow for 60 s), on a frame sent but missing from the ledger at the end, or when VmRSS grew
# by more than RSS_GROWTH_MIB (default 16) between the 5-minute mark (half the run when it is
# shorter than 10 minutes) and the end.
#
#   tests/bench/soak.sh [MINUTES]           # env: SENDERS (20), RATE (frames/s, 1000), RSS_GROWTH_MIB
#
# Nothing scrapes /metrics during the soak, on purpose: a server nobody scrapes must not grow
# either (seen 2026-11-23: histogram samples piling up in the Prometheus recorder, ~1.2 MiB/min at
# 1000 frames/s, flat as soon as /metrics was read every 2 s).
#
# Not run in CI (.ci/run): it takes MINUTES and needs the PostgreSQL server binaries.
# The work is done by the bench binary: tests/bench/syslog_ingest.rs, --soak mode.
set -eu
cd "$(dirname "$0")/../.."
exec cargo bench --bench syslog_ingest -- \
    --soak "${1:-30}" \
    --senders "${SENDERS:-20}" \
    --rate "${RATE:-1000}" \
    --rss-growth-mib "${RSS_GROWTH_MIB:-16}"
