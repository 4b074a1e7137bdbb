#!/usr/bin/env bash
# A manual backup: a dispatcher emulator seeded with EVENTS_PER_ACTION (default 20) synthetic
# events per source and action, backed up into the local S3 server (data kept under
# $AZUL_MANUAL_DIR, default /tmp/azul-backup-manual). Runs until Ctrl-C (twice: fast stop),
# or pass --until-idle to stop once everything is copied. Metrics: http://127.0.0.1:8900/metrics.
#   scripts/run-backup.sh --until-idle
#   BK__EVENT_BATCH_SIZE=50 scripts/run-backup.sh
set -euo pipefail
. "$(dirname "$0")/local-env.sh"
start_emulator --events-per-action "${EVENTS_PER_ACTION:-20}" --early-return
target/debug/azul-backup backup "$@"
