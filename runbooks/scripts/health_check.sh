#!/usr/bin/env bash
# Probe HEALTH_URL until it answers EXPECT_STATUS, up to RETRIES times.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need HEALTH_URL
EXPECT_STATUS="${EXPECT_STATUS:-200}"; RETRIES="${RETRIES:-5}"; INTERVAL="${INTERVAL:-2}"
have curl || fail "curl not found"
for i in $(seq 1 "$RETRIES"); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -- "$HEALTH_URL" || true)
  log "attempt $i: $HEALTH_URL answered ${code:-nothing}"
  [ "$code" = "$EXPECT_STATUS" ] && exit 0
  sleep "$INTERVAL"
done
fail "$HEALTH_URL did not answer $EXPECT_STATUS after $RETRIES attempts"
