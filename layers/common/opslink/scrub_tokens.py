"""Secrets known by their own form (a vendor's token prefix, a key's length and alphabet,
a webhook URL whose path is the credential), wherever they stand; scrub_rules.py has the
ones known by what names them. FIRST: whole tokens redacted before the maintained rules,
which would cut them short; TOKEN_RULES: those detect-secrets has no plugin for;
AWS_SECRET: a bare 40-character secret access key (checked by scrub.py: mixed case and a
digit)."""

from __future__ import annotations

import re
from collections.abc import Callable

REDACTED = "[REDACTED]"
Rule = tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]

# The lookahead names every branch's first character: the regex engine then skips to
# those positions instead of trying all the branches at each word (3x faster on a log).
_OPS_TOKENS = re.compile(
    r"(?=[1ACDELNPbdfgiknprs])\b(?:(?P<digitalocean>do[opr]_v1_[a-f0-9]{64}\b)"
    r"|(?P<databricks>dapi[a-f0-9]{32}(?:-\d+)?\b)"
    r"|(?P<newrelic>NR(?:AK|II|AA|JS)-[A-Za-z0-9_-]{20,})"
    r"|(?P<grafana>gl(?:sa|c)_[A-Za-z0-9_+/=-]{20,})"
    r"|(?P<sentry>sntr[yu]s?_[A-Za-z0-9_+/=.-]{30,})"
    r"|(?P<pulumi>pul-[a-f0-9]{40}\b)"
    r"|(?P<doppler>dp\.(?:st|pt|ct|sa|scim|audit)\.[A-Za-z0-9_.-]{20,})"
    r"|(?P<dockerhub>dckr_(?:pat|oat)_[A-Za-z0-9_-]{20,})"
    r"|(?P<postman>PMAK-[a-f0-9]{24}-[a-f0-9]{34}\b)"
    r"|(?P<dynatrace>dt0[a-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64}\b)"
    r"|(?P<age>AGE-SECRET-KEY-1[0-9A-Z]{50,})"
    r"|(?P<alibaba>LTAI[A-Za-z0-9]{12,20}\b)"
    r"|(?P<meta>EAA[A-Za-z0-9]{30,})"  # Facebook / Meta and Square access tokens
    r"|(?P<google>1//0[A-Za-z0-9_-]{30,})"  # Google OAuth refresh tokens
    r"|(?P<mailgun>key-[a-f0-9]{32}\b)"
    r"|(?P<contentful>CFPAT-[A-Za-z0-9_-]{40,})"
    r"|(?P<netlify>nfp_[A-Za-z0-9]{36,})"
    r"|(?P<supabase>sbp_[a-f0-9]{40}\b)"
    r"|(?P<render>rnd_[A-Za-z0-9]{24,})"
    r"|(?P<notion>ntn_[A-Za-z0-9]{40,})"
    r"|(?P<buildkite>bkua_[a-f0-9]{40}\b)"
    r"|(?P<circleci>CCIPAT_[A-Za-z0-9]{20,}_[a-f0-9]{40}\b)"
    r"|(?P<infracost>ico-[A-Za-z0-9]{32}\b)"
    r"|(?P<airtable>pat[A-Za-z0-9]{14}\.[a-f0-9]{64}\b)"
    r"|(?P<fly>fm[12][ar]?_[A-Za-z0-9_+/=-]{40,}))"
)
# Terraform Cloud / Enterprise API tokens "<14 characters>.atlasv1.<the secret>"; found by
# their literal middle (a rule starting with a literal is fast; the 14 before it are
# checked behind).
_TERRAFORM = re.compile(r"\.atlasv1\.(?<=[A-Za-z0-9]{14}\.atlasv1\.)[A-Za-z0-9_=-]{60,}")
# Microsoft Entra ID (Azure AD) client secrets: three characters, a digit, "Q~", 31-34 more.
_ENTRA_SECRET = re.compile(r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}")


def _ops_token(match: re.Match[str]) -> str:
    return f"[REDACTED {match.lastgroup}-token]"


# Whole tokens a maintained rule would cut short, applied before those rules:
# detect-secrets' JWT pattern ends lazily before the signature, which, with a guessable
# header and payload, is the token.
FIRST: tuple[Rule, ...] = (
    (
        re.compile(r"(?=e)\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        "[REDACTED jwt]",
    ),
    # detect-secrets' Stripe pattern takes 24 characters: today's keys run to 100+, and
    # the rest of the key was left in the text.
    (re.compile(r"(?=[sr])\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"), "[REDACTED stripe-key]"),
    # and its Discord pattern matches inside a bot token, leaving both ends
    (
        re.compile(r"(?=[MNO])\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}"),
        "[REDACTED discord-token]",
    ),
)
TOKEN_RULES: tuple[Rule, ...] = (
    (
        re.compile(r"(?=A)\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b"),
        "[REDACTED aws-key-id]",
    ),
    # Cloud and SaaS tokens detect-secrets 1.5 has no plugin for.
    (re.compile(r"(?=A)\bAIza[0-9A-Za-z_-]{35}"), "[REDACTED google-api-key]"),
    (re.compile(r"(?=y)\bya29\.[0-9A-Za-z_-]{20,}"), "[REDACTED google-oauth]"),
    (re.compile(r"(?=h)\bhv[sbr]\.[A-Za-z0-9_-]{20,}"), "[REDACTED vault-token]"),
    (re.compile(r"(?=g)\bgithub_pat_[A-Za-z0-9_]{22,}"), "[REDACTED github-token]"),
    (re.compile(r"(?=g)\bgh[pousr]_[A-Za-z0-9]{30,}"), "[REDACTED github-token]"),
    (re.compile(r"(?=s)\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"), "[REDACTED api-key]"),
    # Slack: bot/user/app tokens, refresh (xoxe.xoxp-, xoxe-) and app-level (xapp-).
    (re.compile(r"(?=x)\bxox[abposre](?:\.xox[a-z])?-[A-Za-z0-9-]{10,}"), "[REDACTED slack-token]"),
    (re.compile(r"(?=x)\bxapp-\d-[A-Za-z0-9-]{10,}"), "[REDACTED slack-token]"),
    (re.compile(r"(?=H)\bHRKU-[A-Za-z0-9_-]{20,}"), "[REDACTED heroku-key]"),
    # Ops SaaS tokens, one pass: DigitalOcean, Databricks, New Relic, Grafana, Sentry,
    # Pulumi, Doppler.
    (_OPS_TOKENS, _ops_token),
    (_ENTRA_SECRET, "[REDACTED azure-client-secret]"),
    (_TERRAFORM, ".atlasv1.[REDACTED terraform-token]"),
    # Webhook URLs whose path is the credential (anyone holding one can post): Discord,
    # Teams / Office 365 incoming webhooks, Slack workflows and triggers, Zapier, the
    # Telegram Bot API, PagerDuty's Events v1 integration key. The host stays readable.
    (
        re.compile(
            r"(https?://(?:(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/"
            r"|[a-z0-9-]+\.webhook\.office\.com/webhookb2/|outlook\.office(?:365)?\.com/webhook/"
            r"|hooks\.slack\.com/(?:workflows|triggers)/|hooks\.zapier\.com/hooks/catch/"
            r"|api\.telegram\.org/(?:file/)?bot|events\.pagerduty\.com/integration/))"
            r"[^\s\"'<>]+"
        ),
        r"\1" + REDACTED,
    ),
    # A Telegram bot token on its own: "<bot id>:<35 characters>".
    (re.compile(r"(?=[0-9])\b\d{8,10}:AA[A-Za-z0-9_-]{30,40}\b"), "[REDACTED telegram-token]"),
    (re.compile(r"(?=A)\bATATT[A-Za-z0-9_=-]{20,}"), "[REDACTED atlassian-token]"),
    (re.compile(r"(?=n)\bnpm_[A-Za-z0-9]{36}\b"), "[REDACTED npm-token]"),
    (re.compile(r"(?=s)\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}\b"), "[REDACTED shopify-token]"),
)
# A 40-character AWS secret access key standing alone: mixed case and a digit (so a git
# commit id, 40 lowercase hex digits, is left alone).
AWS_SECRET = re.compile(r"(?<![A-Za-z0-9+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
