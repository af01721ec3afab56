"""The approval request's chat message once the run moves on: it shows the decision the
decider noted before waking the run, once; a run woken without one leaves it as it is."""

from __future__ import annotations

from typing import Any

from opslink.remediation.chat_notices import decision_to_chat
from opslink.remediation_input import RemediationInput
from tests.unit.conftest import Clock
from tests.unit.fakes import opened_alert, remediation_on

MESSAGE = "C0OPS/1765000000.000100"


class RecordingChat:
    name = "slack"

    def __init__(self) -> None:
        self.replaced: list[tuple[str, str]] = []

    def replace(self, message: str, text: str) -> None:
        self.replaced.append((message, text))


def _waiting(deps: Any, clock: Clock) -> tuple[Any, RemediationInput, RecordingChat]:
    payload = opened_alert(deps)
    chat = RecordingChat()
    rdeps = remediation_on(deps, chat=chat, clock=clock)
    rdeps.store.add_note(payload["alert_id"], "Approval request posted.", clock(),
                         kind="chat_posted", fields={"chat_message": MESSAGE})  # fmt: skip
    return rdeps, RemediationInput.model_validate(payload), chat


def test_the_noted_decision_replaces_the_request_once(deps: Any, clock: Clock) -> None:
    rdeps, alert, chat = _waiting(deps, clock)
    rdeps.store.add_note(alert.alert_id, "Runbook approved by dana@example.com.", clock(),
                         kind="approved")  # fmt: skip
    decision_to_chat(rdeps, alert, clock())
    decision_to_chat(rdeps, alert, clock())  # a retried task: the message is replaced once
    [(message, text)] = chat.replaced
    assert message == MESSAGE
    assert text.startswith("Runbook approved by dana@example.com.")
    assert text.endswith("the runbook runs now.")


def test_a_run_woken_without_a_decision_leaves_the_request_as_it_is(
    deps: Any, clock: Clock
) -> None:
    """A task token answered by hand (the Step Functions console): nothing to show."""
    rdeps, alert, chat = _waiting(deps, clock)
    decision_to_chat(rdeps, alert, clock())
    assert chat.replaced == []
