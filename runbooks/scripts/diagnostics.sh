#!/usr/bin/env bash
# Read-only snapshot for a human: load, memory, disks, top processes, recent kernel messages.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
log "host $(hostname), $(uptime -p 2>/dev/null || uptime)"
echo "== load";    cat "${ROOT}/proc/loadavg"
echo "== memory";  free -m
echo "== disks";   df -hP -x tmpfs -x devtmpfs 2>/dev/null || df -hP
echo "== top cpu"; ps -eo pid,comm,%cpu,%mem --sort=-%cpu | head -6
echo "== top mem"; ps -eo pid,comm,%cpu,%mem --sort=-%mem | head -6
echo "== kernel";  (dmesg -T 2>/dev/null || true) | tail -10
exit 0
