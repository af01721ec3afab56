"""The one secret reader: Secrets Manager through Powertools Parameters, cached per
container for SECRET_MAX_AGE seconds, so a rotated secret is picked up without a redeploy.
`fresh=True` skips the cache (after a 401 from the remote)."""

from __future__ import annotations

import json

from opslink.errors import ConfigurationError
from opslink.scrub import register

SECRET_MAX_AGE = 300
# A credentials secret holds one of these; each, and a "secret" beside them, is redacted by value.
_CREDENTIAL_KEYS = ("token", "password", "api_key", "client_secret")
_REDACTED_KEYS = (*_CREDENTIAL_KEYS, "secret")


def read_secret(name: str, what: str, fresh: bool = False) -> str:
    if not name:
        raise ConfigurationError(f"{what} needs the name of its secret")
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(name, max_age=SECRET_MAX_AGE, force_fetch=fresh)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"secret {name} for {what} is empty")
    register(value.strip())  # redacted by exact value wherever it would be written
    return value.strip()


def read_credentials(name: str, what: str, fresh: bool = False) -> dict[str, str]:
    """A JSON credentials secret ({"token"|"password"|"api_key"|"client_secret", "user"...});
    a plain string is taken as the token."""
    raw = read_secret(name, what, fresh)
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON (or not decodable): the token itself
        doc = {"token": raw}
    if not isinstance(doc, dict) or not any(doc.get(k) for k in _CREDENTIAL_KEYS):
        raise ConfigurationError(
            f"secret {name}: expected JSON with 'token', 'password', 'api_key' or 'client_secret'"
        )
    creds = {str(k): str(v) for k, v in doc.items()}
    register(*(v for k, v in creds.items() if k in _REDACTED_KEYS))
    return creds
