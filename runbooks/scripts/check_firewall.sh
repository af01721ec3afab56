#!/usr/bin/env bash
# Read-only: show the firewall rules and test a TCP connection to TARGET_HOST:TARGET_PORT.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need TARGET_HOST; need TARGET_PORT
TIMEOUT="${TIMEOUT:-5}"
if have nft; then nft list ruleset 2>/dev/null | head -100 || true
elif have iptables; then iptables -S 2>/dev/null | head -100 || true; fi
if timeout "$TIMEOUT" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$TARGET_HOST" "$TARGET_PORT" 2>/dev/null; then
  log "TCP $TARGET_HOST:$TARGET_PORT reachable"
else
  fail "TCP $TARGET_HOST:$TARGET_PORT not reachable within ${TIMEOUT}s"
fi
