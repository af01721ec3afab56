#!/usr/bin/env bash
# What `opslink report` and its browser test need from the system: Debian's chromium
# (driven by Playwright with executable_path: no browser download) and the Noto CJK fonts
# (the Chinese report's labels). Installed with apt when missing; root needed then.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
fc-list 2>/dev/null | grep -q "Noto Sans CJK" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "need apt packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" fontconfig >/dev/null
echo "installed: ${missing[*]}"
