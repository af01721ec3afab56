#!/usr/bin/env bash
# Restart the database service after a checkpoint. Needs approval: never unattended.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SERVICE="${SERVICE:-postgresql}"
have systemctl || fail "systemctl not found"
if have psql && [ "$SERVICE" = "postgresql" ]; then
  runuser -u postgres -- psql -Atc 'CHECKPOINT' >/dev/null 2>&1 || log "checkpoint skipped"
fi
systemctl restart -- "$SERVICE"
systemctl is-active --quiet -- "$SERVICE" || fail "$SERVICE not active after restart"
log "$SERVICE restarted"
