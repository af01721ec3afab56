#!/usr/bin/env bash
# Free memory held by caches: the kernel's page cache and an optional application cache
# directory. Only clean caches are dropped; repeating it is harmless.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
log "memory before:"; free -m || true
if [ -n "${CACHE_DIR:-}" ]; then
  dir="${ROOT}${CACHE_DIR}"
  [ -d "$dir" ] || fail "cache directory $CACHE_DIR does not exist"
  count=$(find "$dir" -mindepth 1 -type f | wc -l)
  find "$dir" -mindepth 1 -type f -delete
  log "removed $count cached files from $CACHE_DIR"
fi
if [ "${DROP_PAGE_CACHE:-true}" = "true" ] && [ -z "$ROOT" ]; then
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 1 > /proc/sys/vm/drop_caches; log "page cache dropped"; fi
fi
log "memory after:"; free -m || true
