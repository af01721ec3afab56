#!/usr/bin/env bash
# Read-only: count established connections to the database port and show who holds them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DB_PORT="${DB_PORT:-5432}"
MAX_CONNECTIONS="${MAX_CONNECTIONS:-0}"
have ss || fail "ss (iproute2) not found"
count=$(ss -Htan state established "( dport = :$DB_PORT or sport = :$DB_PORT )" | wc -l)
log "$count established connections on port $DB_PORT"
ss -Htanp state established "( dport = :$DB_PORT )" 2>/dev/null | awk '{print $NF}' | sort | uniq -c | sort -rn | head -10 || true
if [ "$MAX_CONNECTIONS" -gt 0 ] && [ "$count" -ge "$MAX_CONNECTIONS" ]; then
  fail "connection pool exhausted: $count of $MAX_CONNECTIONS"
fi
