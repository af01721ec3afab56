#!/usr/bin/env bash
# Restart a systemd service and wait until it is active again. Safe to repeat.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need SERVICE
WAIT_SECONDS="${WAIT_SECONDS:-30}"
have systemctl || fail "systemctl not found: this runbook needs systemd"
systemctl cat -- "$SERVICE" >/dev/null 2>&1 || fail "unknown service: $SERVICE"
log "restarting $SERVICE"
systemctl restart -- "$SERVICE"
for _ in $(seq 1 "$WAIT_SECONDS"); do
  if systemctl is-active --quiet -- "$SERVICE"; then
    log "$SERVICE is active"
    exit 0
  fi
  sleep 1
done
systemctl status --no-pager -- "$SERVICE" >&2 || true
fail "$SERVICE not active after ${WAIT_SECONDS}s"
