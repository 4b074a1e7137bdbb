#!/usr/bin/env bash
# Build the two orchestration components (wasm32-wasip2), and the misbehaving component of
# the sandbox tests. The host finds them at
# target/wasm32-wasip2/guest/guest_{backup,restore}.wasm (or via --component,
# AZUL_BACKUP_COMPONENT / AZUL_RESTORE_COMPONENT).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
cargo build --locked -p guest-backup -p guest-restore -p guest-sandbox --target wasm32-wasip2 --profile guest "$@"
ls -l target/wasm32-wasip2/guest/guest_{backup,restore,sandbox}.wasm
