"""HTTP retry waits (Retry-After included) never run past the invocation's time budget
(its Lambda context): the call fails retryable and the work is left for a later run."""

from __future__ import annotations

import time

import pytest

from opslink.adapters.http_client import HttpClient
from opslink.deadline import MARGIN_SECONDS, budget
from opslink.errors import JobPlatformError
from tests.integration.contract_servers import Fault, GenericJobApi, serve


class Context:
    """A Lambda context with `seconds` left, counting down in real time."""

    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.ends - time.monotonic()) * 1000)


def test_a_retry_after_longer_than_the_budget_is_not_waited_out() -> None:
    app = GenericJobApi()
    app.faults.append(
        Fault("GET", r"/jobs/.+", 503, b"{}", headers={"Retry-After": "20"}, times=10)
    )
    with serve(app) as url:
        client = HttpClient("job API", url, {"Authorization": "Bearer secret-token"},
                            timeout=(1.0, 2.0), retries=3, backoff=0.01)  # fmt: skip
        started = time.monotonic()
        with (
            budget(Context(MARGIN_SECONDS + 3)),
            pytest.raises(JobPlatformError, match="time budget"),
        ):
            client.request("GET", "/jobs/j-1", what="job j-1")
        assert time.monotonic() - started < 3  # never slept the 20 s
        # Unbounded (no Lambda context): the same wait is honoured.
        app.faults[0] = Fault("GET", r"/jobs/.+", 503, b"{}", headers={"Retry-After": "1"}, times=1)
        started = time.monotonic()
        client.request("GET", "/jobs/j-1", what="job j-1", missing_ok=True)
        assert time.monotonic() - started >= 0.9
