"""What every external ticket provider shares: HTTP with ticket-system errors, the alert
marker that makes creation idempotent, and small parsing helpers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from opslink.clock import utcnow
from opslink.errors import TicketSystemError, TicketSystemRejected, TicketSystemThrottled
from opslink.models import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    Priority,
    Ticket,
    TicketDraft,
    TicketStatus,
)
from opslink.ports.tickets import Commentable

if TYPE_CHECKING:  # requests stays out of a cold start with the builtin ticket system
    from opslink.adapters.http_client import HttpClient

logger = Logger(child=True)


def parse_each(
    items: Iterable[dict[str, Any]], parse: Callable[[dict[str, Any]], Ticket], system: str
) -> list[Ticket]:
    """Tickets of a sweep page. One the adapter cannot read (an unknown or deleted status,
    a missing field) is logged and skipped: it must never stop the sweep, its checkpoint
    or the reminders of every other ticket."""
    out = []
    for item in items:
        try:
            out.append(parse(item))
        except TicketSystemRejected as exc:
            logger.warning(
                "ticket skipped by the sweep", extra={"system": system, "reason": str(exc)}
            )
    return out


def ticket_http(
    system: str, base_url: str, headers: dict[str, str], auth: Any = None, **kw: Any
) -> HttpClient:
    from opslink.adapters.http_client import HttpClient

    client = HttpClient(
        system,
        base_url,
        headers,
        retryable=TicketSystemError,
        rejected=TicketSystemRejected,
        throttled=TicketSystemThrottled,
        **kw,
    )
    client.auth = auth
    return client


def marker(key: str) -> str:
    """The label/tag/external id that ties a ticket to its alert (or follow-up key)."""
    return "opslink-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)


def draft_key(draft: TicketDraft) -> str:
    return draft.key or draft.alert_id


def require_settled(draft: TicketDraft, settle: float, system: str, key: str) -> None:
    """Before a create whose lookup found nothing: when an earlier delivery may already
    have sent this create (its answer lost) less than `settle` seconds ago, a lookup that
    is only eventually consistent may not show it yet — retry later, never create twice."""
    if draft.earlier_attempt_at is None:
        return
    age = max((utcnow() - draft.earlier_attempt_at).total_seconds(), 0.0)
    if age < settle:
        exc = TicketSystemError(
            f"{system}: an earlier attempt may have created the ticket for {key} {age:.0f}s "
            f"ago and search may not show it yet; retried once search has settled "
            f"({settle:.0f}s), never created twice"
        )
        exc.retry_after = settle - age
        raise exc


def parse_time(value: Any, system: str, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise TicketSystemRejected(f"{system}: field {name!r} is missing or not a timestamp")
    text = value.strip().replace("Z", "+00:00")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text):  # ServiceNow, UTC
        text = text.replace(" ", "T") + "+00:00"
    if re.fullmatch(r".*[+-]\d{4}$", text):  # Jira: +0000
        text = text[:-2] + ":" + text[-2:]
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise TicketSystemRejected(
            f"{system}: field {name!r} is not a timestamp: {value[:40]!r}"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def require(doc: Any, name: str, system: str) -> Any:
    if not isinstance(doc, dict) or doc.get(name) is None:
        raise TicketSystemRejected(f"{system}: response has no field {name!r}")
    return doc[name]


PRIORITY_WORDS = {p: p.value.lower() for p in Priority}


def already(current: Ticket | None, target: TicketStatus) -> bool:
    """The ticket is already where a status change would take it: applying it again (a
    retry whose first answer was lost) would only repeat its note. A closed ticket is
    past "resolved"; open and in progress are both "active"."""
    if current is None:
        return False
    if target is TicketStatus.RESOLVED:
        return current.status in FINISHED_STATUSES
    if target in ACTIVE_STATUSES:
        return current.status in ACTIVE_STATUSES
    return current.status is target


def reread(get: Callable[[str], Ticket | None], ticket_id: str, what: str) -> Ticket:
    """The ticket as the system holds it after a change (APIs that answer 204 or a partial
    body); gone in between is an unusable answer."""
    ticket = get(ticket_id)
    if ticket is None:
        raise TicketSystemRejected(f"{what} {ticket_id} vanished")
    return ticket


def get_by_number(
    http: HttpClient,
    ticket_id: str,
    path: str,
    field: str,
    system: str,
    parse: Callable[[dict[str, Any]], Ticket],
) -> Ticket | None:
    """GET a numeric-id ticket; None when the id is not a number or the ticket is gone."""
    if not ticket_id.isdigit():
        return None
    doc = http.request("GET", path, what=f"{field} {ticket_id}", missing_ok=True)
    return None if doc is None else parse(require(doc, field, system))


# A read-back reads a ticket's comments page after page, this many pages at most (5,000
# comments or more): an incident's shared ticket collects every member's comments, more
# than a first page holds.
COMMENT_PAGES = 50


def comment_ref(key: str) -> str:
    """The short reference a keyed comment carries, so that a retry can find it."""
    return "opslink ref " + hashlib.sha256(key.encode()).hexdigest()[:12]


def noted_already(
    tickets: Commentable, ticket_id: str, current: Ticket, note: str | None, key: str | None
) -> Ticket:
    """A ticket already where a status change would take it: nothing changes, but a keyed
    note is posted unless it is there (a retry whose first write landed, or someone else
    moved the ticket) — read back first."""
    if note and key:
        tickets.comment(ticket_id, note, key=key, verify=True)
    return current


def keyed_note(note: str | None, key: str | None) -> str | None:
    """A state change's note carrying its key's reference, as a keyed comment does: a retry
    that finds the state changed reads the note back before posting it again."""
    return f"{note}\n\n({comment_ref(key)})" if note and key else note


def keyed_comment(
    post: Callable[[str], None],
    texts: Callable[[str], list[str]],
    ticket_id: str,
    text: str,
    key: str | None,
    verify: bool,
) -> None:
    """Post `text` once per `key`: it carries the key's reference, and with `verify` (a
    retry whose first outcome is unknown) the ticket's comments are read back first and
    a comment already carrying the reference is not posted again."""
    if key:
        ref = comment_ref(key)
        if verify and any(ref in t for t in texts(ticket_id)):
            return
        text = f"{text}\n\n({ref})"
    post(text)


class KeyedComments:
    """`comment` for every provider: keyed, read back when asked (keyed_comment). A
    provider supplies `_post_comment` (one API call) and `comment_texts` (the read-back)."""

    def comment(
        self,
        ticket_id: str,
        text: str,
        author: str = "opslink",
        key: str | None = None,
        verify: bool = False,
    ) -> None:
        keyed_comment(
            lambda body: self._post_comment(ticket_id, body, author),
            self.comment_texts,
            ticket_id,
            text,
            key,
            verify,
        )

    def _post_comment(self, ticket_id: str, text: str, author: str) -> None:
        raise NotImplementedError

    def comment_texts(self, ticket_id: str) -> list[str]:
        raise NotImplementedError
