"""OpsLink: CloudWatch alarms to tickets and verified, automated remediation.

This package is the common Lambda layer: models, pure domain rules, ports and adapters.
"""

__version__ = "0.1.0"
