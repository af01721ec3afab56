"""Secret scrubbing: what a job prints, an exception says or a remote answers may hold
credentials; nothing of it reaches a ticket, a note, a log, a notification or the
execution state before passing through `scrub`.

Shapes recognised: AWS access key ids and secret keys, bearer/basic/token credentials,
passwords in URLs, `key=value` / `key: value` pairs whose key names a secret, private key
blocks, JWTs — and, by exact value, the credentials OpsLink itself holds right now
(registered by the secret reader when it reads them).
"""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"

# Names of secrets (not secrets): a key containing one of them has its value redacted.
_SECRET_WORDS = "|".join(
    (
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "api[_-]?key",
        "apikey",
        "access[_-]?key",
        "private[_-]?key",
        "client[_-]?secret",
        "credentials?",
    )
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.S,
        ),
        "[REDACTED private key]",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED jwt]"),
    (
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        "[REDACTED aws-key-id]",
    ),
    # user:password@ in any URL (database connection strings included)
    (re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
    # Authorization headers and bare schemes
    (
        re.compile(r"(?i)\b(bearer|basic|token|negotiate)(\s+)[A-Za-z0-9._~+/=-]{8,}"),
        r"\1\2" + REDACTED,
    ),
    # key=value, key: value, "key": "value" where the key names a secret
    (
        re.compile(
            r"(?i)([\"']?[A-Za-z0-9_.-]*(?:"
            + _SECRET_WORDS
            + r")[A-Za-z0-9_.-]*[\"']?)(\s*[=:]\s*)(?!\[REDACTED)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}]+)"
        ),
        r"\1\2" + REDACTED,
    ),
)
# A 40-character AWS secret access key standing alone: mixed case and a digit (so a git
# commit id, 40 lowercase hex digits, is left alone).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

_known: set[str] = set()
_lock = threading.Lock()


def register(*values: str) -> None:
    """Credentials OpsLink holds (a ticket token, a job platform key): redacted wherever
    they appear verbatim, whatever their shape."""
    with _lock:
        _known.update(v for v in values if isinstance(v, str) and len(v.strip()) >= 6)


def _aws_secret(match: re.Match[str]) -> str:
    s = match.group(0)
    looks = (
        any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s)
    )
    return "[REDACTED aws-secret]" if looks else s


def scrub(text: str | None) -> str:
    if not text:
        return text or ""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _AWS_SECRET.sub(_aws_secret, text)
