"""Secret scrubbing: what a job prints, an exception says or a remote answers may hold
credentials; nothing of it reaches a ticket, a note, a log, a notification or the
execution state before passing through `scrub`.

Three layers, applied in order:
1. by exact value, the credentials OpsLink itself holds right now (registered by the
   secret reader when it reads them);
2. the maintained rule set of Yelp's detect-secrets: every regex-based plugin (GitHub,
   GitLab, Slack, Stripe, npm, PyPI, SendGrid, Twilio, Azure storage keys, JWTs, AWS
   keys, basic-auth URLs...), loaded on first use so a cold start does not pay for it;
3. OpsLink's own rules for the shapes operational text carries and a token detector
   cannot see: private key blocks (PEM, OpenSSH, PGP), `key=value` / `key: value` /
   `"key": "value"` (also JSON-escaped) / `<key>value</key>` whose key names a secret,
   command-line flags (`--password X`, `-pX`, `sshpass -p`, `docker login -p`,
   `redis-cli -a`, `az login -p`, `ldap* -w`, `sqlcmd -P`, `openssl -k`, `smbclient -U u%pw`,
   `htpasswd -b`, `rabbitmqctl add_user`, `curl -u user:pw`), YAML block scalars under a
   secret key, private keys in base64 (kubeconfig `client-key-data`),
   `.netrc` lines, Authorization and Cookie headers, URL credentials and query
   parameters (`?key=`, `&sig=`, `X-Amz-Signature=`), cloud keys detect-secrets lacks
   (Google API keys and OAuth tokens, Vault tokens, fine-grained GitHub and OpenAI project
   keys, bare npm and Shopify tokens) and a 40-character AWS secret key standing alone.
   A JWT is redacted whole before layer 2, whose pattern stops short of the signature.
Each rule runs line by line and once more across line breaks, so a secret wrapped over
two lines (a terminal's or a log shipper's wrap) is caught too."""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable

REDACTED = "[REDACTED]"

# Names of secrets (not secrets): a key containing one of them has its value redacted.
# `pass`, `pw` and `auth` only as whole parts, so "passed", "bypass", "author" are kept.
_SECRET_WORDS = "|".join(
    (
        r"password",
        r"passwd",
        r"pass(?![a-z])",
        r"pwd",
        r"pw(?![a-z])",
        r"passphrase",
        r"secret",
        r"token",
        r"api[_-]?key",
        r"apikey",
        r"access[_-]?key",
        r"account[_-]?key",
        r"private[_-]?key",
        r"client[_-]?secret",
        r"credentials?",
        r"signature",
        r"(?<![a-z])sig(?![a-z])",
        r"(?<![a-z])auth(?![a-z])",
    )
)
# Bounded around the secret word (no key name is longer): a token made of secret words
# repeated (hostile text) would otherwise cost time quadratic in its length.
_KEY = r"[A-Za-z0-9_.-]{0,64}(?:" + _SECRET_WORDS + r")[A-Za-z0-9_.-]{0,64}"
_Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

_PRIVATE_KEY: _Rule = (
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        re.S,
    ),
    "[REDACTED private key]",
)


def _yaml_block(match: re.Match[str]) -> str:
    """A block scalar's lines (those indented deeper than its key) redacted; the lines
    after it, back at the key's indentation or less, kept."""
    indent, key, body = match.group(1), match.group(2), match.group(3)
    lines = body.splitlines(keepends=True)
    taken = 0
    for line in lines:
        if line.strip() and len(line) - len(line.lstrip(" \t")) <= len(indent):
            break
        taken += 1
    rest = "".join(lines[taken:])
    return f"{indent}{key}{indent}  {REDACTED}\n{rest}" if taken else match.group(0)


def _b64_private_key(match: re.Match[str]) -> str:
    """Base64 of a PEM block ("-----BEGIN"): redacted when the block is a private key."""
    head = match.group(0)[:64]
    try:
        decoded = base64.b64decode(head[: len(head) // 4 * 4])
    except (binascii.Error, ValueError):
        return match.group(0)
    return "[REDACTED private key]" if b"PRIVATE KEY" in decoded else match.group(0)


# Whole tokens a maintained rule would cut short, applied before those rules:
# detect-secrets' JWT pattern ends lazily before the signature, which, with a guessable
# header and payload, is the token.
_FIRST: tuple[_Rule, ...] = (
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "[REDACTED jwt]"),
)
_RULES: tuple[_Rule, ...] = (
    (
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        "[REDACTED aws-key-id]",
    ),
    # Cloud and SaaS tokens detect-secrets 1.5 has no plugin for.
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), "[REDACTED google-api-key]"),
    (re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"), "[REDACTED google-oauth]"),
    (re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}"), "[REDACTED vault-token]"),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"), "[REDACTED github-token]"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"), "[REDACTED github-token]"),
    (re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), "[REDACTED api-key]"),
    (re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"), "[REDACTED stripe-key]"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "[REDACTED slack-token]"),
    (re.compile(r"\bATATT[A-Za-z0-9_=-]{20,}"), "[REDACTED atlassian-token]"),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "[REDACTED npm-token]"),
    (re.compile(r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"), "[REDACTED shopify-token]"),
    # user:password@ in any URL (database connection strings included)
    # (the scheme is tried only where one can start: a long token, a hex dump, is not
    # re-scanned from each of its characters)
    (
        re.compile(r"(?<![a-zA-Z0-9+.-])([a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^/\s:@]*:)[^@\s/]+@"),
        r"\1" + REDACTED + "@",
    ),
    # Query parameters that carry credentials: ?key=, &sig=, X-Amz-Signature=, ...
    (re.compile(r"(?i)([?&;](?:key|" + _KEY + r")=)[^&\s#\"'<>]+"), r"\1" + REDACTED),
    # Whole headers whose value is a credential.
    (re.compile(r"(?im)^([ \t]*(?:set-)?cookie:[ \t]*).+$"), r"\1" + REDACTED),
    (
        re.compile(r"(?i)\b(bearer|basic|token|negotiate|digest)(\s+)[A-Za-z0-9._~+/=-]{8,}"),
        r"\1\2" + REDACTED,
    ),
    # Command-line flags.
    (
        re.compile(
            r"(?i)(?<!\S)(--?" + _KEY + r")(=|[ \t]+)(?!\[REDACTED)('[^']*'|\"[^\"]*\"|\S+)"
        ),
        r"\1\2" + REDACTED,
    ),
    (
        re.compile(
            r"\b((?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p)(?!\[)"
            r"('[^']*'|\"[^\"]*\"|[^\s'\"]+)"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(sshpass\s+-p\s*)('[^']*'|\"[^\"]*\"|\S+)"), r"\1" + REDACTED),
    # Registry logins (`docker login -u ci -p X`) and redis-cli's `-a X`.
    (
        re.compile(
            r"\b((?:docker|podman|nerdctl|buildah|skopeo|oras|helm(?:\s+registry)?)\s+login\b"
            r"[^\n]*?\s-p\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"\b(redis-cli\b[^\n]*?\s-a\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"), r"\1" + REDACTED),
    # Tools whose password flag names no secret: az login -p, ldap* -w, sqlcmd/bcp -P,
    # openssl -k and -pass/-passin/-passout pass:X.
    (
        re.compile(
            r"\b((?:az\s+login|ldap(?:search|modify|add|delete|whoami|passwd|compare)|sqlcmd|bcp|osql)"
            r"\b[^\n]*?\s(?:-p|-w|-P)\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(
            r"\b(openssl\b[^\n]*?\s(?:-k\s+|-pass(?:in|out)?\s+(?:pass|env|file):))(?!\[)(\S+)"
        ),
        r"\1" + REDACTED,
    ),
    # smbclient -U user%password; positional passwords: htpasswd -b file user PW,
    # rabbitmqctl add_user|change_password user PW.
    (re.compile(r"(?<!\S)(-U\s*[^\s%]+%)(\S+)"), r"\1" + REDACTED),
    (re.compile(r"\b(htpasswd\s+-[a-zA-Z]*b[a-zA-Z]*\s+\S+\s+\S+\s+)(\S+)"), r"\1" + REDACTED),
    (
        re.compile(r"\b(rabbitmqctl\s+(?:add_user|change_password)\s+\S+\s+)(\S+)"),
        r"\1" + REDACTED,
    ),
    # A YAML block scalar under a secret key: `password: |` and its indented lines.
    (
        re.compile(
            r"(?im)^([ \t]*)((?:- )?[\"']?" + _KEY + r"[\"']?[ \t]*:[ \t]*[|>][+-]?[0-9]?[ \t]*\n)"
            r"((?:[ \t]*\n|[ \t]+\S[^\n]*(?:\n|$))+)"
        ),
        _yaml_block,
    ),
    # A private key in base64 (a kubeconfig's client-key-data, a Kubernetes secret's data).
    (re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{16,}={0,2}"), _b64_private_key),
    (re.compile(r"(?<!\S)(-u|--user)(\s+|=)([^\s:]+):(\S+)"), r"\1\2\3:" + REDACTED),
    # .netrc
    (
        re.compile(r"(?im)^([ \t]*(?:machine\s+\S+\s+login\s+\S+\s+)?password\s+)(\S+)"),
        r"\1" + REDACTED,
    ),
    # <password>value</password>
    (
        re.compile(r"(?i)(<(" + _KEY + r")(?:\s[^>]*)?>)([^<]+)(</\2\s*>)"),
        r"\1" + REDACTED + r"\4",
    ),
    # <add key="ApiKey" value="..."/>
    (
        re.compile(r"(?i)(\bkey\s*=\s*\"" + _KEY + r"\"\s+value\s*=\s*)\"[^\"]*\""),
        r'\1"' + REDACTED + '"',
    ),
    # key=value, key: value, "key": "value", \"key\": \"value\" where the key names a secret.
    # Tried only where a key can start (not inside a word): the same matches, without
    # re-scanning each long token from every one of its characters.
    (
        re.compile(
            r"(?i)(?<![A-Za-z0-9_.\\-])((?:\\*[\"'])?"
            + _KEY
            + r"(?:\\*[\"'])?)(\s*[=:]\s*)(?!\[REDACTED)"
            r"(\\+\"(?:(?!\\+\").)*\\+\"|\"[^\"]*\"|'[^']*'|[^\s,;&\"'}<]+)"
        ),
        r"\1\2" + REDACTED,
    ),
)
# A 40-character AWS secret access key standing alone: mixed case and a digit (so a git
# commit id, 40 lowercase hex digits, is left alone).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
# detect-secrets plugins left out: public IPs are not secrets; private keys are redacted
# as whole blocks above (the plugin sees the header line only).
_SKIPPED_PLUGINS = {"IPPublicDetector", "PrivateKeyDetector"}

_known: set[str] = set()
_lock = threading.Lock()
_maintained: list[re.Pattern[str]] | None = None


def register(*values: str) -> None:
    """Credentials OpsLink holds (a ticket token, a job platform key): redacted wherever
    they appear verbatim, whatever their shape."""
    with _lock:
        _known.update(v for v in values if isinstance(v, str) and len(v.strip()) >= 6)


def maintained_rules() -> list[re.Pattern[str]]:
    """The denylist regexes of every regex-based detect-secrets plugin (imported once,
    on first use)."""
    global _maintained
    if _maintained is None:
        import importlib
        import pkgutil

        import detect_secrets.plugins as plugins
        from detect_secrets.plugins.base import RegexBasedDetector

        found: list[re.Pattern[str]] = []
        for info in pkgutil.iter_modules(plugins.__path__):
            module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, RegexBasedDetector)
                    and value is not RegexBasedDetector
                    and value.__module__ == module.__name__
                    and value.__name__ not in _SKIPPED_PLUGINS
                ):
                    found += list(value().denylist)
        _maintained = found
    return _maintained


def _aws_secret(match: re.Match[str]) -> str:
    s = match.group(0)
    looks = (
        any(c.isupper() for c in s) and any(c.islower() for c in s) and any(c.isdigit() for c in s)
    )
    return "[REDACTED aws-secret]" if looks else s


def _apply(text: str) -> str:
    for pattern, replacement in _FIRST:
        text = pattern.sub(replacement, text)
    for pattern in maintained_rules():
        text = pattern.sub("[REDACTED token]", text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return _AWS_SECRET.sub(_aws_secret, text)


# The end of one line and the start of the next: the two halves of a wrapped token.
_WRAPPED = re.compile(
    r"(?<![A-Za-z0-9/+=_.-])([A-Za-z0-9/+=_.-]{6,})\r?\n([A-Za-z0-9/+=_.-]{4,})(?=\s|$)"
)


def _unwrap(text: str) -> str:
    """A token broken over two lines is tested whole; if the whole is a secret, both
    halves are redacted."""

    def join(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        whole = head + tail
        # Only a secret that neither half shows alone: the rest is for the line rules.
        if _apply(whole) != whole and _apply(head) == head and _apply(tail) == tail:
            return REDACTED + "\n" + REDACTED
        return match.group(0)

    return _WRAPPED.sub(join, text)


# Terminal escape sequences (colours a job prints: CSI, OSC, two-character) and the
# control characters other than tab and line breaks: shown as noise by every ticket
# system, and a NUL is refused by the databases behind some (a note never written).
_TERMINAL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


def scrub(text: str | None) -> str:
    """`text` as it may leave OpsLink: without secrets, terminal escapes or control
    characters."""
    if not text:
        return text or ""
    text = _TERMINAL.sub("", text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    text = _PRIVATE_KEY[0].sub(str(_PRIVATE_KEY[1]), text)
    if "\n" in text:
        text = _unwrap(text)
    return _apply(text)
