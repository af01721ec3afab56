#!/usr/bin/env bash
# Move files older than MAX_AGE_DAYS from DATA_DIR into a dated tar.gz under ARCHIVE_DIR
# (and to S3_URI if given). Archived files leave DATA_DIR, so a repeat finds nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need DATA_DIR
ARCHIVE_DIR="${ARCHIVE_DIR:-/var/archive}"
MAX_AGE_DAYS="${MAX_AGE_DAYS:-30}"
src="${ROOT}${DATA_DIR}"; dst="${ROOT}${ARCHIVE_DIR}"
[ -d "$src" ] || fail "data directory $DATA_DIR does not exist"
mkdir -p "$dst"
list=$(mktemp); trap 'rm -f "$list"' EXIT
( cd "$src" && find . -xdev -type f -mtime +"$MAX_AGE_DAYS" -print0 ) > "$list"
if [ ! -s "$list" ]; then log "nothing older than $MAX_AGE_DAYS days in $DATA_DIR"; exit 0; fi
archive="$dst/archive-$(date -u +%Y%m%dT%H%M%SZ)-${OPSLINK_RUN_ID:-manual}.tar.gz"
tar -C "$src" --null -T "$list" -czf "$archive" --remove-files
if [ -n "${S3_URI:-}" ]; then have aws || fail "S3_URI given but no AWS CLI"; aws s3 cp "$archive" "$S3_URI"; fi
log "archived $(tr -cd '\0' < "$list" | wc -c) files from $DATA_DIR to $archive"
