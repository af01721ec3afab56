#!/usr/bin/env bash
# Raise an Auto Scaling group's desired capacity by INCREMENT, up to its MaxSize.
# Idempotent per run: the capacity reached is recorded under OPSLINK_RUN_ID.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need ASG_NAME
INCREMENT="${INCREMENT:-1}"
have aws || fail "the AWS CLI is needed to scale $ASG_NAME"
state="${ROOT}/var/tmp/opslink-scale-${OPSLINK_RUN_ID:-manual}"
if [ -f "$state" ]; then
  log "already scaled in this run to $(cat "$state"); nothing to do"
  exit 0
fi
read -r current max < <(aws autoscaling describe-auto-scaling-groups \
  --auto-scaling-group-names "$ASG_NAME" \
  --query 'AutoScalingGroups[0].[DesiredCapacity,MaxSize]' --output text)
[ "$current" != "None" ] || fail "no Auto Scaling group named $ASG_NAME"
target=$(( current + INCREMENT ))
[ "$target" -le "$max" ] || target="$max"
if [ "$target" -eq "$current" ]; then
  fail "$ASG_NAME is already at its maximum ($max)"
fi
aws autoscaling set-desired-capacity --auto-scaling-group-name "$ASG_NAME" --desired-capacity "$target"
mkdir -p "$(dirname "$state")" && echo "$target" > "$state"
log "$ASG_NAME desired capacity $current -> $target (max $max)"
