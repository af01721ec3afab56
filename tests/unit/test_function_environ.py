"""A cold start's environment stays on its own thread (emulator/function_environ.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from opslink_cli.emulator.function_environ import function_environment


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OPSLINK_TEST_TABLE", raising=False)
    monkeypatch.setenv("OPSLINK_TEST_PROCESS", "process")
    yield


def test_the_function_sees_its_variables_and_the_process_ones(clean_env: None) -> None:
    with function_environment({"OPSLINK_TEST_TABLE": "alerts"}):
        assert os.environ["OPSLINK_TEST_TABLE"] == "alerts"
        assert os.getenv("OPSLINK_TEST_PROCESS") == "process"
        assert dict(os.environ)["OPSLINK_TEST_TABLE"] == "alerts"
        assert "OPSLINK_TEST_TABLE" in os.environ.copy()
    assert "OPSLINK_TEST_TABLE" not in os.environ


def test_what_a_handler_sets_or_deletes_at_import_stays_with_it(clean_env: None) -> None:
    with function_environment({}):
        os.environ["OPSLINK_TEST_TABLE"] = "set-at-import"
        del os.environ["OPSLINK_TEST_PROCESS"]
        assert "OPSLINK_TEST_PROCESS" not in os.environ
        assert "OPSLINK_TEST_PROCESS" not in list(os.environ)
        with pytest.raises(KeyError):
            del os.environ["OPSLINK_TEST_PROCESS"]
        with pytest.raises(TypeError):
            os.environ["OPSLINK_TEST_TABLE"] = 3  # type: ignore[assignment]
    assert "OPSLINK_TEST_TABLE" not in os.environ
    assert os.environ["OPSLINK_TEST_PROCESS"] == "process"


def test_other_threads_never_see_a_cold_start_come_or_go(clean_env: None) -> None:
    """The failure this prevents: botocore iterates os.environ (for proxies) on another
    thread while a cold start removes its variables again — KeyError in a client."""
    entered, checked = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def cold_start() -> None:
        with function_environment({"OPSLINK_TEST_TABLE": "alerts"}):
            entered.set()
            checked.wait(5)

    worker = threading.Thread(target=cold_start)
    worker.start()
    entered.wait(5)
    seen["during"] = os.environ.get("OPSLINK_TEST_TABLE")
    seen["items"] = [k for k, _ in os.environ.items() if k == "OPSLINK_TEST_TABLE"]
    checked.set()
    worker.join(5)
    assert seen == {"during": None, "items": []}


def test_iterating_while_cold_starts_churn_never_fails(clean_env: None) -> None:
    stop = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:
        while not stop.is_set():
            with function_environment({f"OPSLINK_TEST_{i}": "x" for i in range(20)}):
                os.environ["OPSLINK_TEST_TABLE"] = "y"

    workers = [threading.Thread(target=churn) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        for _ in range(2000):
            try:
                dict(os.environ.items())
            except Exception as exc:  # reported by the assertion below
                errors.append(exc)
    finally:
        stop.set()
        for worker in workers:
            worker.join(5)
    assert errors == []
    assert not [k for k in os.environ if k.startswith("OPSLINK_TEST_") and k[-1].isdigit()]
