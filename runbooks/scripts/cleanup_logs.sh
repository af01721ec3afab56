#!/usr/bin/env bash
# Remove rotated logs older than MAX_AGE_DAYS under LOG_DIR and vacuum the journal.
# Live log files are never touched; repeating it removes nothing more.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
LOG_DIR="${LOG_DIR:-/var/log}"
MAX_AGE_DAYS="${MAX_AGE_DAYS:-7}"
dir="${ROOT}${LOG_DIR}"
[ -d "$dir" ] || fail "log directory $LOG_DIR does not exist"
before=$(du -sk "$dir" | cut -f1)
count=$(find "$dir" -xdev -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' -o -name '*.bz2' \) -mtime +"$MAX_AGE_DAYS" -print -delete | wc -l)
if [ -z "$ROOT" ] && have journalctl; then journalctl --vacuum-time="${MAX_AGE_DAYS}d" >/dev/null 2>&1 || true; fi
after=$(du -sk "$dir" | cut -f1)
log "removed $count rotated log files older than $MAX_AGE_DAYS days from $LOG_DIR; freed $(( before - after )) KiB"
