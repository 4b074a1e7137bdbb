#!/usr/bin/env bash
# Every benchmark of the README's Performance section, side by side in one run: starts (or
# reuses) the S3 server, builds the components, and runs `cargo bench` (release build).
#   scripts/bench.sh                 # the full set
#   BENCH_SCALE=0.1 scripts/bench.sh # a quick smoke run with smaller corpora
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/start-s3.sh
scripts/build-guests.sh >/dev/null
cargo bench --locked -p azul-backup --bench pipeline
