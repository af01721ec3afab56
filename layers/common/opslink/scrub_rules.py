"""OpsLink's own secret rules (layer 3 of scrub.py): the shapes operational text carries
and a token detector cannot see — a secret known by what names it (a key, a flag, a
command, a configuration line, a header). Tokens known by their own form are in
scrub_tokens.py. scrub.py applies both."""

from __future__ import annotations

import base64
import binascii
import re

from opslink.scrub_tokens import REDACTED, TOKEN_RULES, Rule

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
        r"app(?:lication)?[_-]?key",
        r"psk(?![a-z])",
        r"credentials?",
        r"signature",
        r"(?<![a-z])sig(?![a-z])",
        r"(?<![a-z])auth(?![a-z])",
    )
)
# Bounded around the secret word (no key name is longer): a token made of secret words
# repeated (hostile text) would otherwise cost time quadratic in its length.
_KEY = r"[A-Za-z0-9_.-]{0,64}(?:" + _SECRET_WORDS + r")[A-Za-z0-9_.-]{0,64}"
# Where a secret word can start (each one's first letter, either case): a rule that begins
# with this lookahead is only tried there — the regex engine skips to those characters.
_FIRST_LETTERS = {w.removeprefix("(?<![a-z])")[0] for w in _SECRET_WORDS.split("|")}
assert all(c.isalpha() for c in _FIRST_LETTERS), _FIRST_LETTERS  # each word starts with one
_AT_SECRET_WORD = f"(?=[{''.join(sorted(_FIRST_LETTERS | {c.upper() for c in _FIRST_LETTERS}))}])"

PRIVATE_KEY: Rule = (
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


_SNMP_FLAG = re.compile(r"(\s-[AXc][ \t]*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)")


def _snmp_secrets(match: re.Match[str]) -> str:
    """Every secret flag of one snmp* command line (a command may carry two)."""
    return _SNMP_FLAG.sub(r"\1" + REDACTED, match.group(0))


# Where an Oracle tool takes `user/password`: its first argument after options, or after
# userid= / target / catalog / auxiliary (RMAN has two).
_ORACLE_LOGIN = re.compile(
    r"(?i)(^[\w.]+(?:[ \t]+-[A-Za-z]+)*[ \t]+[\"']?[\w$#]+/"
    r"|\b(?:userid|target|catalog|auxiliary)(?:[ \t]*=[ \t]*|[ \t]+)[\"']?[\w$#]+/)"
    r"(?![\[/])([^\s@/\"']+)"
)


def _oracle_logins(match: re.Match[str]) -> str:
    return _ORACLE_LOGIN.sub(r"\1" + REDACTED, match.group(0))


RULES: tuple[Rule, ...] = (
    *TOKEN_RULES,
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
        re.compile(
            r"(?=[bBtTnNdD])(?i:\b(bearer|basic|token|negotiate|digest)(\s+))[A-Za-z0-9._~+/=-]{8,}"
        ),
        r"\1\2" + REDACTED,
    ),
    # An Authorization header of any other scheme (Splunk, SSWS, sso-key, AWS4-HMAC-...):
    # the scheme stays readable, the credential goes.
    (
        re.compile(
            r"(?=[pPaA])(?i:(\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:[A-Za-z][A-Za-z0-9_-]*[ \t]+)?))(?!\[REDACTED)[^\s\"'\[][^\s\"']{7,}"
        ),
        r"\1" + REDACTED,
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
            r"(?=m)\b((?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]*?\s-p)(?!\[)"
            r"('[^']*'|\"[^\"]*\"|[^\s'\"]+)"
        ),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?=s)\b(sshpass\s+-p\s*)('[^']*'|\"[^\"]*\"|\S+)"), r"\1" + REDACTED),
    # Registry logins (`docker login -u ci -p X`) and redis-cli's `-a X`.
    (
        re.compile(
            r"(?=[dpnbsoh])\b((?:docker|podman|nerdctl|buildah|skopeo|oras|helm(?:\s+registry)?)\s+login\b"
            r"[^\n]*?\s-p\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(r"(?=r)\b(redis-cli\b[^\n]*?\s-a\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"),
        r"\1" + REDACTED,
    ),
    # `redis-cli AUTH [user] password`: the rest of the command.
    (re.compile(r"(?=r)\b(redis-cli\b[^\n]*?\s(?i:auth)\s+)(?!\[)[^\n;|&]+"), r"\1" + REDACTED),
    # Tools whose `-p`/`-P` is the password: the MongoDB shell and tools, PsExec, ipmitool.
    (
        re.compile(
            r"(?=[mpi])\b((?:(?:mongo(?:sh|dump|restore|export|import|stat|top|files)?|psexec|paexec)"
            r"(?:\.exe)?\b[^\n]*?\s-p|ipmitool\b[^\n]*?\s-P)\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"
        ),
        r"\1" + REDACTED,
    ),
    # SNMP: v3 authentication and privacy passphrases (-A, -X), a v1/v2c community (-c).
    (re.compile(r"(?=s)\bsnmp[a-z]*\b[^\n]*"), _snmp_secrets),
    # Oracle logins `user/password[@db]`: sqlplus, sqlldr, Data Pump, exp/imp, RMAN,
    # DGMGRL, and SQL*Plus's own `connect user/password`.
    (
        re.compile(
            r"(?=[sSeEiIrRdD])(?i:\b(?:sqlplus|sqlldr|expdp|impdp|exp|imp|rman|dgmgrl)\b)[^\n]*"
        ),
        _oracle_logins,
    ),
    (
        re.compile(
            r"(?im)^((?:SQL>[ \t]*)?conn(?:ect)?[ \t]+[\"']?[\w$#]+/)(?![\[/])([^\s@/\"']+)"
        ),
        r"\1" + REDACTED,
    ),
    # `net use \\srv\share /user:NAME PASSWORD` (a `*` asks for it; `/option` is none).
    (
        re.compile(r"(?=[nN])(?i:\b(net\s+use\b[^\n]*?/user:\S+\s+))(?![/*\[])(\S+)"),
        r"\1" + REDACTED,
    ),
    # HAProxy: `stats auth user:password`, `user NAME insecure-password PASSWORD`.
    (re.compile(r"(?=s)\b(stats\s+auth\s+[^\s:]+:)(\S+)"), r"\1" + REDACTED),
    (re.compile(r"(?=i)\b(insecure-password\s+)(\S+)"), r"\1" + REDACTED),
    # `vault operator init` prints the unseal (or recovery) keys and the root token.
    (
        re.compile(
            r"(?=[uUrRiI])(?i:\b((?:Unseal|Recovery) Key[ \t]+\d+|Initial Root Token)[ \t]*:[ \t]*)"
            r"(?!\[REDACTED)(\S+)"
        ),
        r"\1" + REDACTED,
    ),
    # A PuTTY key file's private lines (up to its Private-MAC line; also once a log has
    # folded the file onto one line).
    (
        re.compile(
            r"(Private-Lines:[ \t]*\d+\s+)[A-Za-z0-9+/=]+(?:\s+(?!Private-)[A-Za-z0-9+/=]+)*"
        ),
        r"\1[REDACTED private key]",
    ),
    # Tools whose password flag names no secret: az login -p, ldap* -w, sqlcmd/bcp -P,
    # openssl -k and -pass/-passin/-passout pass:X.
    (
        re.compile(
            r"(?=[alsbo])\b((?:az\s+login|ldap(?:search|modify|add|delete|whoami|passwd|compare)|sqlcmd|bcp|osql)"
            r"\b[^\n]*?\s(?:-p|-w|-P)\s*)(?!\[)('[^']*'|\"[^\"]*\"|\S+)"
        ),
        r"\1" + REDACTED,
    ),
    (
        re.compile(
            r"(?=o)\b(openssl\b[^\n]*?\s(?:-k\s+|-pass(?:in|out)?\s+(?:pass|env|file):))(?!\[)(\S+)"
        ),
        r"\1" + REDACTED,
    ),
    # smbclient -U user%password; positional passwords: htpasswd -b file user PW,
    # rabbitmqctl add_user|change_password user PW.
    (re.compile(r"(?<!\S)(-U\s*[^\s%]+%)(\S+)"), r"\1" + REDACTED),
    (re.compile(r"(?=h)\b(htpasswd\s+-[a-zA-Z]*b[a-zA-Z]*\s+\S+\s+\S+\s+)(\S+)"), r"\1" + REDACTED),
    (
        re.compile(r"(?=r)\b(rabbitmqctl\s+(?:add_user|change_password)\s+\S+\s+)(\S+)"),
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
    # .netrc, and configuration files whose keyword and value a space separates:
    # ldap.conf / nslcd.conf `bindpw`, slapd.conf `rootpw`, redis.conf `requirepass` and
    # `masterauth`, keepalived's `auth_pass`. (`password = X` is key=value, below: the `=`
    # is no value.)
    (
        re.compile(
            r"(?im)^([ \t]*(?:machine\s+\S+\s+login\s+\S+\s+)?"
            r"(?:password|bindpw|rootpw|requirepass|masterauth|auth_pass)[ \t]+)(?![=:\[])(\S+)"
        ),
        r"\1" + REDACTED,
    ),
    # <password>value</password>
    (
        re.compile(r"(?i)(<(" + _KEY + r")(?:\s[^>]*)?>)([^<]+)(</\2\s*>)"),
        r"\1" + REDACTED + r"\4",
    ),
    # <add key="ApiKey" value="..."/>
    (
        re.compile(r"(?=[kK])(?i:(\bkey\s*=\s*\"" + _KEY + r"\"\s+value\s*=\s*))\"[^\"]*\""),
        r'\1"' + REDACTED + '"',
    ),
    # key=value, key: value, "key": "value", \"key\": \"value\" where the key names a secret.
    # Matched from the secret word on (what comes before it in the key is kept as it is),
    # and tried only where one can start: 5x faster than from every character of a log.
    (
        re.compile(
            _AT_SECRET_WORD
            + r"(?i:((?:"
            + _SECRET_WORDS
            + r")[A-Za-z0-9_.-]{0,64}(?:\\*[\"'])?)(\s*[=:]\s*)(?!\[REDACTED)"
            r"(\\+\"(?:(?!\\+\").)*\\+\"|\"[^\"]*\"|'[^']*'"
            # bare: up to a space, a separator, or an `&` that starts the next `name=`
            r"|(?:[^\s,;&\"'}<]|&(?![A-Za-z_][A-Za-z0-9_.-]*=))+))"
        ),
        r"\1\2" + REDACTED,
    ),
)
