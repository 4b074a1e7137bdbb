#!/usr/bin/env bash
# Build everything and run `azul-backup demo`: a seeded dispatcher emulator is backed up
# into a local directory and restored into an empty one; prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-guests.sh >/dev/null
cargo build --locked -p azul-backup -p azul-dispatcher-emulator
AZUL_LOG=${AZUL_LOG:-warn} target/debug/azul-backup demo "$@"
