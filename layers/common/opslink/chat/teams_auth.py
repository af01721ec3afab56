"""Is this activity from the Bot Framework Connector, for this bot? The checks Microsoft
documents for a bot that authenticates requests itself ("Authentication with the Bot
Connector API", connector to bot):

- an `Authorization: Bearer` JWT, RS256, signed by a key the Bot Framework's OpenID
  metadata publishes (its `jwks_uri`; the key set is cached a day and read again when a
  token names an unknown key — never more than once a minute);
- issuer `https://api.botframework.com`, audience this bot's app id (TeamsAppId), within
  its validity with five minutes of clock skew;
- its `serviceurl` claim is the activity's `serviceUrl`, and, when the key lists
  endorsements, the activity's channel is among them.

PyJWT verifies the signature and the claims; this module finds the key and checks the
rest. Anything else is BotRefused(401) with the reason."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import jwt
import requests

OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
ISSUER = "https://api.botframework.com"
SKEW_SECONDS = 300
KEYS_FOR_SECONDS = 86_400
REFRESH_AT_MOST_EVERY = 60


class BotRefused(Exception):
    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class BotKeys:
    """The Bot Framework's published signing keys, by key id (with their endorsements)."""

    def __init__(self, openid_url: str = "") -> None:
        self.openid_url = openid_url or OPENID_URL
        self._keys: dict[str, dict[str, Any]] = {}
        self._read_at = -1e9
        self._lock = threading.Lock()

    def key(self, kid: str) -> dict[str, Any] | None:
        with self._lock:
            stale = time.monotonic() - self._read_at > KEYS_FOR_SECONDS
            unknown = kid not in self._keys
            if stale or (unknown and time.monotonic() - self._read_at > REFRESH_AT_MOST_EVERY):
                self._keys, self._read_at = self._read(), time.monotonic()
            return self._keys.get(kid)

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            meta = requests.get(self.openid_url, timeout=5).json()
            keys = requests.get(str(meta["jwks_uri"]), timeout=5).json()["keys"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise BotRefused(f"the Bot Framework's signing keys could not be read "
                             f"({type(exc).__name__}); try again", status=503) from exc  # fmt: skip
        return {str(k["kid"]): k for k in keys if isinstance(k, dict) and k.get("kid")}


def verify(
    authorization: str, activity: dict[str, Any], app_id: str, keys: BotKeys, now: datetime
) -> dict[str, Any]:
    """The token's claims when the Bot Framework Connector sent `activity` to this bot;
    BotRefused otherwise."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise BotRefused("not signed: an Authorization: Bearer token is required")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise BotRefused("the bearer token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise BotRefused(f"token algorithm {str(header.get('alg'))[:10]!r} is not RS256")
    jwk = keys.key(str(header.get("kid") or ""))
    if jwk is None:
        raise BotRefused("signed by a key the Bot Framework does not publish")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, jwt.PyJWK(jwk, algorithm="RS256").key, algorithms=["RS256"],
            audience=app_id, issuer=ISSUER,
            options={"require": ["exp", "iss", "aud"], "verify_exp": False,
                     "verify_nbf": False, "verify_iat": False},
        )  # fmt: skip
    except jwt.InvalidAudienceError:
        raise BotRefused("the token is for another bot (audience is not TeamsAppId)") from None
    except jwt.InvalidIssuerError:
        raise BotRefused("the token was not issued by the Bot Framework") from None
    except jwt.PyJWTError as exc:
        raise BotRefused(f"token refused: {type(exc).__name__}") from None
    at = now.timestamp()
    if float(claims["exp"]) + SKEW_SECONDS < at:
        raise BotRefused("the token has expired")
    if float(claims.get("nbf") or 0) - SKEW_SECONDS > at:
        raise BotRefused("the token is not valid yet")
    if str(claims.get("serviceurl") or "") != str(activity.get("serviceUrl") or ""):
        raise BotRefused("the token's serviceurl is not the activity's serviceUrl")
    endorsements = jwk.get("endorsements")
    if isinstance(endorsements, list) and str(activity.get("channelId")) not in endorsements:
        raise BotRefused(f"the signing key is not endorsed for channel "
                         f"{str(activity.get('channelId'))[:20]!r}")  # fmt: skip
    return claims
