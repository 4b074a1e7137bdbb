#!/usr/bin/env bash
# Build the two orchestration components (wasm32-wasip2), and the misbehaving component of
# the sandbox tests. The host finds them at
# target/wasm32-wasip2/guest/guest_{backup,restore}.wasm (or via --component,
# AZUL_BACKUP_COMPONENT / AZUL_RESTORE_COMPONENT).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
out=target/wasm32-wasip2/guest
# The hot-swap test's second build of guest-backup (see its `swap-variant` feature); built
# first so that the plain build below leaves guest_backup.wasm as it should be.
cargo build --locked -p guest-backup --features swap-variant --target wasm32-wasip2 --profile guest "$@"
cp "$out/guest_backup.wasm" "$out/guest_backup_swap_variant.wasm"
cargo build --locked -p guest-backup -p guest-restore -p guest-sandbox --target wasm32-wasip2 --profile guest "$@"
ls -l "$out"/guest_{backup,backup_swap_variant,restore,sandbox}.wasm
