"""Secret scrubbing: what a job prints, an exception says or a remote answers may hold
credentials; nothing of it reaches a ticket, a note, a log, a notification or the
execution state before passing through `scrub`.

Three layers, applied in order (the third's rules: scrub_rules.py):
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
   `htpasswd -b`, `rabbitmqctl add_user`, `curl -u user:pw`, `redis-cli AUTH`, `mongosh -p`,
   `psexec -p`, `ipmitool -P`, snmp `-A`/`-X`/`-c`, `net use /user:u pw`, Oracle's
   `user/password@db`), configuration lines (`bindpw`, `requirepass`, `auth_pass`, HAProxy
   `stats auth`), `vault operator init` output, PuTTY key files, YAML block scalars under a
   secret key, private keys in base64 (kubeconfig `client-key-data`),
   `.netrc` lines, Authorization and Cookie headers, URL credentials and query
   parameters (`?key=`, `&sig=`, `X-Amz-Signature=`), cloud keys detect-secrets lacks
   (Google API keys and OAuth tokens, Vault tokens, fine-grained GitHub and OpenAI project
   keys, Slack app-level and refresh tokens, Heroku keys, DigitalOcean, Databricks, New
   Relic, Grafana, Sentry, Pulumi, Doppler and Telegram tokens, bare npm and Shopify
   tokens, Docker Hub, Postman, Dynatrace, Terraform Cloud, age, Alibaba, Meta/Square,
   Google refresh, Mailgun, Contentful, Netlify, Supabase, Render, Notion, Buildkite,
   CircleCI, Infracost, Airtable and Fly.io tokens, Entra ID client secrets,
   an Authorization header of any scheme, webhook URLs whose path is the credential: Discord, Teams, Slack workflows,
   Zapier, PagerDuty) and a 40-character AWS secret key standing alone. A JWT, a Stripe key and a Discord bot
   token are redacted whole before layer 2, whose patterns stop short or match inside.
   Base64 of a JSON document (a Docker config's `auths`, a key file passed encoded) is
   decoded and redacted whole when what it says holds a secret.
Each rule runs line by line and once more across line breaks, so a secret wrapped over
two lines (a terminal's or a log shipper's wrap) is caught too."""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from opslink.scrub_rules import PRIVATE_KEY, RULES
from opslink.scrub_tokens import AWS_SECRET, FIRST, REDACTED

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
    for pattern, replacement in FIRST:
        text = pattern.sub(replacement, text)
    for pattern in maintained_rules():
        text = pattern.sub("[REDACTED token]", text)
    for pattern, replacement in RULES:
        text = pattern.sub(replacement, text)
    text = _B64_JSON.sub(_b64_json, text)
    return AWS_SECRET.sub(_aws_secret, text)


# Base64 of a JSON document ('{"' or '{' and a line break): a Docker config's `auths`
# (a registry pull secret's `.dockerconfigjson`), a service-account key passed as
# GOOGLE_CREDENTIALS, a Kubernetes secret's value. Its credentials hide in the encoding:
# decoded, and redacted whole when the decoded text holds a secret.
_B64_JSON = re.compile(r"(?=e)\be[wy][A-Za-z0-9+/]{22,}={0,2}")


def _b64_json(match: re.Match[str]) -> str:
    token = match.group(0)
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64 of UTF-8 text: a token of its own
        return token
    return "[REDACTED base64 credentials]" if _apply(decoded) != decoded else token


# A private key's base64 lines before its END line (a PuTTY key's: before its MAC line),
# without their BEGIN line: a block whose start an excerpt of the output cut off (a
# whole block is redacted above). Found from the END line back, line by line: linear.
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|Private-MAC:")
_B64_LINE = re.compile(r"[A-Za-z0-9+/=]+[ \t]*\r?")


def _key_bodies_before_end(text: str) -> str:
    parts: list[str] = []
    done = 0
    for end in _KEY_END.finditer(text):
        at = end.start()
        if at == 0 or text[at - 1] != "\n" or at <= done:
            continue
        top = at  # the start of the lowest line not (yet) known to be key material
        while top > done:
            start = text.rfind("\n", done, top - 1) + 1 or done
            if not _B64_LINE.fullmatch(text, start, top - 1):
                break
            top = start
        if top < at:
            parts += [text[done:top], "[REDACTED private key]\n"]
            done = at
    return "".join(parts) + text[done:] if parts else text


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
    text = PRIVATE_KEY[0].sub(str(PRIVATE_KEY[1]), text)
    text = _key_bodies_before_end(text)
    if "\n" in text:
        text = _unwrap(text)
    return _apply(text)


def scrub_excerpt(text: str | None, limit: int) -> str:
    """The start of `text`, at most `limit` characters, scrubbed. Scrubbed before it is
    cut: a cut through a secret leaves a part no rule recognises (a key's first half)."""
    text = text or ""
    if len(text) <= limit:
        return scrub(text)
    return scrub(text[: limit + 1024])[:limit]


def scrub_fields(fields: dict[str, str]) -> dict[str, str]:
    """Each value scrubbed: the facts a chat message is written from."""
    return {k: scrub(v) if isinstance(v, str) else v for k, v in fields.items()}


@contextmanager
def scrubbed_errors() -> Iterator[None]:
    """An exception leaves a handler under its own name (the state machine's Retry and
    Catch match names) with its message scrubbed: Lambda reports the message as the
    error's cause, which Step Functions keeps in the execution's state and history and
    an asynchronous invocation's dead-letter message carries."""
    try:
        yield
    except Exception as exc:
        said = str(exc)
        clean = scrub(said)
        if clean == said:
            raise
        named = type(type(exc).__name__, (Exception,), {"__module__": type(exc).__module__})
        raise named(clean).with_traceback(exc.__traceback__) from None
