#!/usr/bin/env bash
# Shared by run-backup.sh and run-restore.sh (source it): builds the binaries, starts the S3
# server with its data under $AZUL_MANUAL_DIR (so a restore finds what a backup wrote) and a
# dispatcher emulator on a free port, and exports the settings of a manual run. Everything
# started is stopped when the calling script exits.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
AZUL_MANUAL_DIR=${AZUL_MANUAL_DIR:-/tmp/azul-backup-manual}
mkdir -p "$AZUL_MANUAL_DIR"
scripts/build-guests.sh >/dev/null
cargo build --locked -q -p azul-backup -p azul-dispatcher-emulator
export S3_DATA_DIR=${S3_DATA_DIR:-$AZUL_MANUAL_DIR/s3}
. scripts/start-s3.sh

# start_emulator ARGS…: an emulator on a free port; sets AZUL_DISPATCHER_URL.
start_emulator() {
  local out="$AZUL_MANUAL_DIR/emulator.out"
  target/debug/azul-dispatcher-emulator --listen 127.0.0.1:0 "$@" >"$out" 2>"$AZUL_MANUAL_DIR/emulator.log" &
  EMULATOR_PID=$!
  # Also stop the S3 server start-s3.sh started (its own EXIT trap is replaced here).
  trap 'kill $EMULATOR_PID 2>/dev/null || true; if declare -F stop_s3 >/dev/null; then stop_s3; fi' EXIT
  for _ in $(seq 100); do
    AZUL_DISPATCHER_URL=$(sed -n 's/^AZUL_DISPATCHER_URL=//p' "$out" | head -1)
    [ -n "$AZUL_DISPATCHER_URL" ] && break
    sleep 0.1
  done
  [ -n "$AZUL_DISPATCHER_URL" ] || { echo "the emulator did not start:" >&2; cat "$AZUL_MANUAL_DIR/emulator.log" >&2; exit 1; }
  echo "dispatcher emulator at $AZUL_DISPATCHER_URL (log: $AZUL_MANUAL_DIR/emulator.log)"
  export BK__DISPATCHER_EVENTS=$AZUL_DISPATCHER_URL BK__DISPATCHER_STREAMS=$AZUL_DISPATCHER_URL
}

export BK__EXTERNAL_BACKUP__ENDPOINT=$S3_ENDPOINT
export BK__EXTERNAL_BACKUP__ACCESS_KEY=$AWS_ACCESS_KEY_ID
export BK__EXTERNAL_BACKUP__SECRET_KEY=$AWS_SECRET_ACCESS_KEY
export BK__EXTERNAL_BACKUP__REGION=$AWS_REGION
export BK__SOURCES=${BK__SOURCES:-'{"sources": {"samples": {}, "testing": {}}}'}
export BK__LOCAL_DATA__ROOTDIR=${BK__LOCAL_DATA__ROOTDIR:-$AZUL_MANUAL_DIR/state}
export BK__FETCH_DEADLINE_SECS=${BK__FETCH_DEADLINE_SECS:-2}
export BK__METRICS_ADDR=${BK__METRICS_ADDR:-127.0.0.1:8900}
