"""JSON from outside (webhook bodies, chat payloads): hostile nesting is a malformed
body like any other. `json.loads` raises RecursionError on it, which the handlers'
`ValueError` checks would let through as an internal error (a 5xx the sender retries)."""

from __future__ import annotations

import json
from typing import Any


def loads(data: str | bytes | bytearray) -> Any:
    """`json.loads`, with nesting too deep to decode raised as ValueError."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
