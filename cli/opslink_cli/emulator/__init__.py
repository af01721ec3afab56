"""The local emulator: OpsLink's stack from template.yaml on moto, handlers in-process.

stack         LocalStack: lifecycle, invoke, publish, advance the clock, executions
deploy        template.yaml onto moto (read once per stack)
runtime       the in-process Lambda runtime (moto's invoke seam)
template      template.yaml reading and intrinsic functions
monitor       plays CloudWatch: mirrored alarms recover when the sandbox host is fixed
moto_patches  where moto differs from AWS in ways OpsLink depends on
sandbox_host  the scratch host runbooks act on, with stand-in tools (sandbox/)
"""

from opslink_cli.emulator.deploy import (
    ACCOUNT,
    DEFAULT_ROOT,
    LOCAL_PARAMETERS,
    REGION,
    check_parameters,
)
from opslink_cli.emulator.sandbox_host import seed_sandbox_host
from opslink_cli.emulator.stack import LocalStack, put_cloudwatch_alarm, schedule_event

__all__ = [
    "ACCOUNT",
    "DEFAULT_ROOT",
    "LOCAL_PARAMETERS",
    "REGION",
    "LocalStack",
    "check_parameters",
    "put_cloudwatch_alarm",
    "schedule_event",
    "seed_sandbox_host",
]
