#!/usr/bin/env bash
# Flush the host's DNS resolver cache, then check that TEST_HOST resolves.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
TEST_HOST="${TEST_HOST:-localhost}"
if have resolvectl; then resolvectl flush-caches && log "systemd-resolved cache flushed"
elif have systemd-resolve; then systemd-resolve --flush-caches && log "systemd-resolved cache flushed"
elif have nscd; then nscd -i hosts && log "nscd hosts cache invalidated"
else log "no resolver cache on this host; nothing to flush"; fi
getent hosts -- "$TEST_HOST" >/dev/null || fail "$TEST_HOST does not resolve after the flush"
log "$TEST_HOST resolves: $(getent hosts -- "$TEST_HOST" | head -1)"
