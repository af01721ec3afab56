"""Shared fixtures. Tests never reach beyond 127.0.0.1: AWS is moto, in-process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

# Handlers import from their CodeUri directory, as on Lambda.
for fn in ("ingest", "remediate", "track", "metrics"):
    sys.path.insert(0, str(ROOT / "functions" / fn))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)
os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"  # tests read state, not EMF on stdout


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture
def event() -> Any:
    return load_event
