#!/usr/bin/env bash
# A manual restore of what scripts/run-backup.sh wrote (same $AZUL_MANUAL_DIR) into a fresh,
# empty dispatcher emulator, then the emulator's counts of what it received. Restore cursors
# live in the state directory: `rm -r $AZUL_MANUAL_DIR/state/restore` to restore from the start.
#   scripts/run-restore.sh
#   BK__RESTORE_TYPE=streams scripts/run-restore.sh
set -euo pipefail
. "$(dirname "$0")/local-env.sh"
start_emulator --early-return
status=0
target/debug/azul-backup restore "$@" || status=$?
echo "the emulator received:"
curl -fsS "$AZUL_DISPATCHER_URL/emulator/v1/stats" | python3 -m json.tool | head -40
exit "$status"
