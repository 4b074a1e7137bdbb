#!/usr/bin/env bash
# Run every test: builds the components, starts a throw-away SeaweedFS S3 server unless
# S3_ENDPOINT is already set, then runs the workspace's tests (unit, emulator, integration).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-guests.sh
if [ -z "${S3_ENDPOINT:-}" ]; then
  . scripts/start-s3.sh
fi
cargo test --locked --workspace "$@"
