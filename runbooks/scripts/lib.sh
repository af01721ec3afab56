# Shared helpers for OpsLink runbooks. Parameters arrive as environment variables only;
# nothing here evaluates their contents as shell code.
# OPSLINK_TARGET_ROOT confines file operations to a directory (tests, dry runs).
ROOT="${OPSLINK_TARGET_ROOT:-}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
fail() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
need() { [ -n "${!1:-}" ] || fail "parameter $1 is required"; }
have() { command -v "$1" >/dev/null 2>&1; }
