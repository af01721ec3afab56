"""Planted secrets never reach a ticket, a note, the execution state or a log line: job
output, job status, exception text and a ticket API's error body all pass the scrubber."""

from __future__ import annotations

import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from opslink.adapters.http_client import HttpClient
from opslink.adapters.tickets.scrubbed import ScrubbedTickets
from opslink.errors import JobPlatformRejected
from opslink.ingest import IngestDeps
from opslink.models import Priority, TicketDraft, TicketType
from opslink.remediation import run_task
from opslink.scrub import REDACTED, maintained_rules, register, scrub
from tests.unit.conftest import Clock
from tests.unit.fakes import FakePlatform, opened_alert, remediate_deps
from tests.unit.secret_corpus import FALSE_POSITIVES, SHAPES

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BEARER = "eyJraWQiOiJ4In0.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLWJ5dGVz"
PLANTED = (
    f"export AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"
    f"aws_secret_access_key = {AWS_SECRET}\n"
    f"curl -H 'Authorization: Bearer {BEARER}' https://api.internal/v1\n"
    "connecting to postgres://app:hunter2-Pa55@db.internal:5432/orders\n"
    "DB_PASSWORD=s3cr3t-Value! restarting\n"
)
SECRETS = (AWS_KEY_ID, AWS_SECRET, BEARER, "hunter2-Pa55", "s3cr3t-Value!")


def clean(text: str) -> bool:
    return not any(s in text for s in SECRETS)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 deployed",
            "3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
        ),
        (
            "restarted checkout: 3 workers, disk 42 % used",
            "restarted checkout: 3 workers, disk 42 % used",
        ),
        ("alarm prod-checkout-api-cpu-high on i-0123456789abcdef0", "i-0123456789abcdef0"),
    ],
)
def test_ordinary_text_is_left_alone(text: str, kept: str) -> None:
    assert kept in scrub(text)


def test_every_shape_is_redacted() -> None:
    out = scrub(
        PLANTED
        + "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\n"
        + '{"api_key": "k-9f8e7d6c5b", "client_secret": "cs_live_77aa"}\n'
        + "Server=db;User Id=sa;Password=P@ssw0rd;\n"
    )
    assert clean(out)
    for leaked in ("b3BlbnNzaC1rZXk", "k-9f8e7d6c5b", "cs_live_77aa", "P@ssw0rd"):
        assert leaked not in out
    assert "[REDACTED" in out and "restarting" in out


@pytest.mark.parametrize(("label", "text", "secret"), SHAPES, ids=[s[0] for s in SHAPES])
def test_the_corpus_shape_is_redacted(label: str, text: str, secret: str) -> None:
    out = scrub(text)
    assert secret not in out, out
    assert "[REDACTED" in out


@pytest.mark.parametrize("text", FALSE_POSITIVES)
def test_random_looking_text_that_is_no_secret_stays_readable(text: str) -> None:
    assert scrub(text) == text


def test_the_corpus_is_large_enough_and_uses_the_maintained_rules() -> None:
    assert len(SHAPES) >= 40 and len(FALSE_POSITIVES) >= 15
    assert len(maintained_rules()) >= 30  # detect-secrets' regex-based plugins


def test_the_integrations_own_credential_by_exact_value() -> None:
    register("zz-live-credential-0042")
    assert "zz-live-credential-0042" not in scrub("remote said: bad key zz-live-credential-0042.")


@pytest.fixture
def world(deps: IngestDeps, clock: Clock) -> dict[str, Any]:
    platform = FakePlatform(clock)
    platform.stdout, platform.stderr = PLANTED, f"auth failed for {AWS_KEY_ID}"
    rdeps = remediate_deps(deps, platform, clock)
    alert = opened_alert(deps)
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type"}}
    launched = run_task({"action": "launch", "alert": alert, "selection": selection}, rdeps)
    return {
        "alert": alert,
        "rdeps": rdeps,
        "deps": deps,
        "launched": launched,
        "platform": platform,
    }


def _everything(world: dict[str, Any]) -> str:
    deps, alert = world["deps"], world["alert"]
    ticket = deps.tickets.get(alert["ticket_id"])
    stored = deps.store.get(alert["alert_id"])
    return json.dumps(ticket.model_dump(mode="json")) + stored.model_dump_json()


def test_hand_over_carries_the_output_without_its_secrets(world: dict[str, Any]) -> None:
    out = run_task(
        {
            "action": "escalate",
            "alert": world["alert"],
            "job": world["launched"]["job"],
            "escalation": {"kind": "failed", "detail": f"exit 1 ({AWS_SECRET})"},
        },
        world["rdeps"],
    )
    assert out["handed_over"] and clean(json.dumps(out))
    everything = _everything(world)
    assert "restarting" in everything and "[REDACTED" in everything  # the output is there
    assert clean(everything)


def test_resolution_comment_and_excerpt_are_clean(world: dict[str, Any]) -> None:
    run_task(
        {"action": "resolve", "alert": world["alert"], "job": world["launched"]["job"]},
        world["rdeps"],
    )
    everything = _everything(world)
    assert "Resolved by OpsLink" in everything and clean(everything)


def test_job_status_detail_never_enters_the_execution_state(world: dict[str, Any]) -> None:

    class Detailed(FakePlatform):
        def status(self, ref: Any) -> Any:
            from opslink.remediation_models import JobState, JobStatus

            return JobStatus(state=JobState.FAILED, exit_code=1, detail=f"failed: {PLANTED}")

    world["rdeps"].jobs = Detailed(world["platform"].clock)
    state = run_task(
        {"action": "poll", "alert": world["alert"], **world["launched"]}, world["rdeps"]
    )["poll"]
    assert state["state"] == "failed" and clean(json.dumps(state))


def test_exception_text_in_a_failure_note_is_clean(world: dict[str, Any]) -> None:
    cause = json.dumps({"errorMessage": f"SSM refused: {AWS_KEY_ID}/{AWS_SECRET}"})
    run_task(
        {
            "action": "record_failure",
            "alert": world["alert"],
            "error": {"Error": "X", "Cause": cause},
        },
        world["rdeps"],
    )
    everything = _everything(world)
    assert "Automated remediation stopped" in everything and clean(everything)


def test_every_ticket_write_passes_the_guard(deps: IngestDeps, clock: Clock) -> None:
    from datetime import timedelta

    tickets = ScrubbedTickets(deps.tickets)
    ticket = tickets.create(
        TicketDraft(
            alert_id="A-1",
            title=f"deploy with {AWS_KEY_ID}",
            description=PLANTED,
            ticket_type=TicketType.INCIDENT,
            priority=Priority.HIGH,
            due_at=clock() + timedelta(hours=2),
        )
    )
    tickets.comment(ticket.id, f"note: password=hunter2-Pa55 and {BEARER}")
    stored = deps.tickets.get(ticket.id)
    assert stored is not None and clean(json.dumps(stored.model_dump(mode="json")))


def test_a_ticket_apis_error_body_is_scrubbed() -> None:
    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.dumps({"error": f"invalid credentials Bearer {BEARER} for {AWS_KEY_ID}"})
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        http = HttpClient("Tickets", f"http://127.0.0.1:{server.server_port}", {}, retries=0)
        with pytest.raises(JobPlatformRejected) as err:
            http.request("POST", "/x", json={}, idempotent=False)
    finally:
        server.shutdown()
    assert "answered 400" in str(err.value) and clean(str(err.value))


def test_log_lines_are_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    from opslink.observability import ScrubFilter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter())
    log = logging.getLogger("opslink.test.scrub")
    log.addHandler(handler)
    log.warning("job output: %s", PLANTED, extra={"detail": f"key {AWS_SECRET}"})
    log.removeHandler(handler)
    assert "job output" in stream.getvalue() and clean(stream.getvalue())


def test_every_corpus_shape_in_a_job_output_never_reaches_the_hand_over(
    deps: IngestDeps, clock: Clock
) -> None:
    """The whole corpus printed by one failing job: the hand-over comment on the ticket,
    the alert's notes and the execution state carry none of it."""
    platform = FakePlatform(clock)
    platform.stdout = "\n".join(text for _, text, _ in SHAPES)
    platform.stderr = "\n".join(text for _, text, _ in SHAPES[::-1])
    rdeps = remediate_deps(deps, platform, clock)
    alert = opened_alert(deps)
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type"}}
    launched = run_task({"action": "launch", "alert": alert, "selection": selection}, rdeps)
    out = run_task(
        {"action": "escalate", "alert": alert, "job": launched["job"],
         "escalation": {"kind": "failed", "detail": SHAPES[0][1]}},
        rdeps,
    )  # fmt: skip
    ticket = deps.tickets.get(alert["ticket_id"])
    stored = deps.store.get(alert["alert_id"])
    everything = (
        json.dumps(out) + json.dumps(ticket.model_dump(mode="json")) + stored.model_dump_json()
    )
    leaked = [label for label, _, secret in SHAPES if secret in everything]
    assert leaked == []
    assert "could not fix" in everything and "[REDACTED" in everything


@pytest.mark.parametrize(
    ("printed", "shown"),
    [
        ("\x1b[31mERROR\x1b[0m restart failed", "ERROR restart failed"),
        ("TASK [restart] \x1b[0;32mok: [web-1]\x1b[0m", "TASK [restart] ok: [web-1]"),
        ("\x1b]0;deploy\x07done", "done"),  # a terminal title (OSC)
        ("binary\x00\x01\x7f tail", "binary tail"),
        ("tab\tand\r\nlines\n", "tab\tand\r\nlines\n"),  # kept
        ("DB_PASS\x1b[0m=Col0ured-Pw", "DB_PASS=" + REDACTED),  # colour no longer hides it
    ],
)
def test_terminal_escapes_and_control_characters_never_leave(printed: str, shown: str) -> None:
    assert scrub(printed) == shown


def test_a_coloured_job_output_reaches_the_hand_over_as_plain_text(
    deps: IngestDeps, clock: Clock
) -> None:
    """Ansible and most CLIs colour their output: the hand-over note shows the text, not
    escape sequences (and a NUL, which a ticket system's database refuses, is gone)."""
    platform = FakePlatform(clock)
    platform.stdout = "TASK [restart checkout] \x1b[0;31mfatal: [web-1]: FAILED!\x1b[0m\x00"
    platform.stderr = "\x1b[1;33mWARNING\x1b[0m: unit checkout not found"
    rdeps = remediate_deps(deps, platform, clock)
    alert = opened_alert(deps)
    selection = {"runbook": {"name": "restart_service", "tier": "alert_type"}}
    launched = run_task({"action": "launch", "alert": alert, "selection": selection}, rdeps)
    run_task(
        {"action": "escalate", "alert": alert, "job": launched["job"],
         "escalation": {"kind": "failed", "detail": "exit 2"}},
        rdeps,
    )  # fmt: skip
    ticket = deps.tickets.get(alert["ticket_id"])
    text = json.dumps(ticket.model_dump(mode="json"))
    assert "fatal: [web-1]: FAILED!" in text and "WARNING: unit checkout not found" in text
    assert "\\u001b" not in text and "\\u0000" not in text


# Long secrets of the corpus: a cut leaving a part of one is what the next test looks for.
LONG = [(label, text, secret) for label, text, secret in SHAPES if len(secret) >= 20]


@pytest.mark.parametrize(("label", "text", "secret"), LONG, ids=[s[0] for s in LONG])
def test_a_job_output_cut_anywhere_keeps_no_part_of_a_secret(
    label: str, text: str, secret: str, tmp_path: Any
) -> None:
    """Job platforms hand over the last 20 KB of an output; a cut inside a line could
    leave the second half of a secret no rule recognises any more (the end of a key, a
    password without its `password=`). Cut at every character of the shape, what reaches
    the scrubber holds no 12-character piece of the secret."""
    from opslink.adapters.jobs.fields import tail
    from opslink.adapters.jobs.local_shell import _tail

    output = f"starting fix\n{text}\ndone: 0 errors\n"
    end = len("done: 0 errors\n")
    pieces = {secret[i : i + 12] for i in range(len(secret) - 11)}
    log = tmp_path / "stdout"
    log.write_text(output)
    for limit in range(end, len(output)):
        for cut in (tail(output, limit), _tail(log, limit)[0]):
            shown = scrub(cut)
            assert not any(p in shown for p in pieces), (limit, shown)


def test_a_private_key_whose_begin_line_was_cut_off_is_still_redacted() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nAb==\n"
    shown = scrub(f"{body}-----END RSA PRIVATE KEY-----\nrestarted checkout")
    assert "MIIE" not in shown and "BKcw" not in shown and "restarted checkout" in shown


@pytest.mark.parametrize(("label", "text", "secret"), LONG, ids=[s[0] for s in LONG])
def test_an_answer_cut_to_its_start_keeps_no_part_of_a_secret(
    label: str, text: str, secret: str
) -> None:
    """Error bodies and job details are kept to their first characters: scrubbed before
    the cut, never a secret's first half a rule no longer recognises."""
    from opslink.scrub import scrub_excerpt

    answer = f"request failed: {text} (see logs)"
    pieces = {secret[i : i + 12] for i in range(len(secret) - 11)}
    for limit in range(len("request failed: "), len(answer)):
        shown = scrub_excerpt(answer, limit)
        assert len(shown) <= limit and not any(p in shown for p in pieces), (limit, shown)


def test_a_rejected_record_is_recorded_without_its_secrets(deps: IngestDeps) -> None:
    """Bad input is recorded with an excerpt (`opslink faults` shows it): a malformed
    alarm carrying a credential never keeps it, cut or whole."""
    from opslink.ingest import IngestPolicy, ingest_event

    message = json.dumps({"AlarmName": "x", "note": f"key {AWS_SECRET} " + "y" * 950})
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": message}}]}
    [result] = ingest_event(event, deps, IngestPolicy())
    assert result.outcome.value == "rejected"
    [kept] = deps.rejections.rejections(deps.clock())  # type: ignore[attr-defined]
    pieces = {AWS_SECRET[i : i + 12] for i in range(len(AWS_SECRET) - 11)}
    assert len(kept["excerpt"]) <= 1000 and not any(p in kept["excerpt"] for p in pieces)


def test_an_error_leaves_a_handler_under_its_name_without_its_secrets() -> None:
    """Lambda reports a task's error message as its cause: Step Functions keeps it in the
    execution's state and history (and an asynchronous invocation's dead letter carries
    it). Its name still matches the state machine's Retry and Catch."""
    from opslink.errors import TicketSystemError
    from opslink.scrub import scrubbed_errors

    def fail() -> None:
        raise TicketSystemError(f"Jira answered 400 for password=Hunt3r-Pw and {AWS_SECRET}")

    with pytest.raises(Exception) as caught, scrubbed_errors():
        fail()
    assert type(caught.value).__name__ == "TicketSystemError"
    assert "Hunt3r-Pw" not in str(caught.value) and AWS_SECRET not in str(caught.value)
    assert "Jira answered 400" in str(caught.value)
    assert any(t.name == "fail" for t in caught.traceback)  # where it was raised: kept
    with pytest.raises(ValueError, match="no secret here"), scrubbed_errors():
        raise ValueError("no secret here")  # unchanged: the very exception


@pytest.mark.parametrize(
    ("text", "limit", "kept"),
    [
        ("ab\ncd\n", 3, "cd\n"),  # the cut falls at a line's start: all of it
        ("ab\ncd\n", 4, "cd\n"),  # inside "ab": the rest of that line left out
        ("one line of words", 9, "of words"),  # no line break: from the first space
        ("x" * 50, 10, ""),  # one token longer than the limit: none of it
        ("a", 0, ""),
        ("short", 10, "short"),
    ],
)
def test_a_job_outputs_tail_starts_where_a_line_or_word_does(
    text: str, limit: int, kept: str
) -> None:
    from opslink.adapters.jobs.fields import tail

    assert tail(text, limit) == kept
