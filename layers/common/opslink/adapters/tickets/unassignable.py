"""An assignee the ticket system refuses never blocks a ticket or a hand-over.

The on-call or owner a service map names may have left the project, lost the role that
makes them assignable, or never had an account there: Jira answers 400 ("User … cannot be
assigned issues"), Redmine 422 ("Assignee is invalid"), Zendesk 422 ("… is not an agent").
Refused, the same write would be refused at every retry and the alarm never ticketed, or
the hand-over never made. The write is made once more without the assignee, and the text
says who could not be assigned and why, for a human to assign by hand.
"""

from __future__ import annotations

from opslink.errors import TicketSystemRejected
from opslink.inert import code


def refused_assignee(exc: TicketSystemRejected) -> bool:
    """Whether the system refused the write's assignee: a 400 or 422 whose answer names it."""
    return exc.status in (400, 422) and "assign" in exc.answer.lower()


def unassigned_notice(system: str, who: str, exc: TicketSystemRejected) -> str:
    """Markdown for the top of the ticket's text (rendered inert like the rest)."""
    answer = exc.answer
    return (
        f"**Assignee:** {code(who)} could not be assigned: {system} refused it "
        f"({code(answer[:200])}). Assign this ticket by hand, and check the service map's "
        "owner and on-call for this service.\n\n"
    )
