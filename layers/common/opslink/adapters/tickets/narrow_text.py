"""Text for ticket systems that store only 3-byte UTF-8.

A ticket system on MySQL's `utf8` (3-byte) character set — Redmine's and Jira Server's
default on installations older than utf8mb4 — answers 500 to any write holding a character
outside the Basic Multilingual Plane: an emoji in an alarm's name or description is
enough. The same write would be refused for ever, and the alarm never ticketed. Such a
write is made once more with those characters replaced by U+FFFD (the replacement
character); when that one succeeds the container writes every later text that way at once.
"""

from __future__ import annotations

import re

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
REPLACEMENT = "\ufffd"


def astral(*texts: str | None) -> bool:
    """Whether any of `texts` holds a character outside the Basic Multilingual Plane."""
    return any(t and _ASTRAL.search(t) for t in texts)


def narrowed(text: str) -> str:
    """`text` with every character outside the Basic Multilingual Plane replaced."""
    return _ASTRAL.sub(REPLACEMENT, text)


def same(text: str) -> str:
    return text


def refused_for_astral(exc: Exception, *texts: str | None) -> bool:
    """Whether a failed write may have been refused for its 4-byte characters: the system
    answered 500 (an application error: the database refused the row; never a gateway's
    502/504 or a 503) and the write held such characters."""
    return getattr(exc, "status", None) == 500 and astral(*texts)
