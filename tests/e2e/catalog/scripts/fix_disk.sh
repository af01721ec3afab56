#!/usr/bin/env bash
set -euo pipefail
echo "freed 2 GiB for $SERVICE on $INSTANCE"
echo "$SERVICE $INSTANCE ${OPSLINK_RUN_ID}" >> "${OPSLINK_TARGET_ROOT}/runs.log"
