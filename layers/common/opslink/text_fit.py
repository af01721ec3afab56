"""Ticket titles within their systems' limits as the systems count them.

Jira (Java) counts a summary's length in UTF-16 code units: an emoji or any character
outside the Basic Multilingual Plane is two, so a 255-character title holding one is
refused ("Summary can't exceed 255 characters": 400, nothing created) and the alarm would
never be ticketed. Counting UTF-16 units is never looser than counting characters, so a
title that fits here fits every system's limit of that number.
"""

from __future__ import annotations

ELLIPSIS = "…"


def utf16_units(text: str) -> int:
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def fit(text: str, limit: int) -> str:
    """`text`, or its longest head that with an ellipsis is at most `limit` UTF-16 units."""
    if utf16_units(text) <= limit:
        return text
    room = limit - 1  # the ellipsis is one unit
    out = []
    for c in text:
        room -= 2 if ord(c) > 0xFFFF else 1
        if room < 0:
            break
        out.append(c)
    return "".join(out) + ELLIPSIS
