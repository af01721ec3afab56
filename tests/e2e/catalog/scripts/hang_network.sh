#!/usr/bin/env bash
echo "$$" > "${OPSLINK_TARGET_ROOT}/hang.pid"
echo "waiting for the network to settle"
sleep 120
