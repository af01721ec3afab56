"""Chat wiring: the Slack or Teams adapter a function talks through, and the track
function URL's chat endpoints (/chat/slack, /chat/teams) built from the settings.
Imported only where chat is configured or asked for."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from opslink.adapters.store.faults import FaultRecords
from opslink.errors import ConfigurationError, OpsLinkError
from opslink.scrub import scrub_excerpt
from opslink.secrets import read_secret

logger = Logger(child=True)

if TYPE_CHECKING:
    from opslink.config import CommonSettings, TrackSettings
    from opslink.track_service import TrackDeps


def chat_messages(settings: CommonSettings, smap: Any, fresh: bool = False) -> Any:
    """Messages in Slack (a bot token configured) or Microsoft Teams (a bot); None.
    `fresh`: the secret as it is now (the doctor), not a cached copy."""
    if settings.slack_bot_token_secret_name and settings.teams_app_id:
        raise ConfigurationError("configure one chat platform: Slack (SlackBotTokenSecretName) "
                                 "or Microsoft Teams (TeamsAppId), not both")  # fmt: skip
    if settings.teams_app_id:
        from opslink.adapters.chat.teams_messages import TeamsApprovalMessages

        password = read_secret(settings.teams_app_password_secret_name, "the Teams bot", fresh)
        conversations = {s: e.teams_conversation for s, e in smap.services.items()
                         if e.teams_conversation}  # fmt: skip
        return TeamsApprovalMessages(
            settings.teams_app_id, password, settings.teams_conversation, conversations,
            tenant=settings.teams_tenant_id, service_url=settings.teams_service_url,
            login_url=settings.teams_login_url,
            reread=lambda: read_secret(settings.teams_app_password_secret_name, "the Teams bot",
                                       fresh=True),
        )  # fmt: skip
    if not settings.slack_bot_token_secret_name:
        return None
    from opslink.adapters.chat.slack_messages import SlackApprovalMessages

    token = read_secret(settings.slack_bot_token_secret_name, "Slack approval messages", fresh)
    channels = {s: e.chat_channel for s, e in smap.services.items() if e.chat_channel}
    return SlackApprovalMessages(token, settings.slack_channel, channels,
                                 base_url=settings.slack_api_url or None)  # fmt: skip


def faults_to_chat(settings: TrackSettings, deps: TrackDeps) -> list[str]:
    """The scheduled pass tells chat of faults opened or recovered (chat/fault_notices.py)."""
    if not (settings.slack_bot_token_secret_name or settings.teams_app_id):
        return []
    from opslink.chat.fault_notices import tell_faults

    store = deps.store
    records = FaultRecords(store.table, store.client)  # type: ignore[attr-defined]
    try:  # the sweep's work is done: chat never turns it into a failed run
        return tell_faults(records, deps.bookkeeping, _track_chat(settings), deps.clock())
    except OpsLinkError as exc:  # a secret unreadable, a store away: the next pass tells
        logger.warning("faults not told in chat", extra={"error": scrub_excerpt(str(exc), 300)})
        return []


_CHATS: dict[int, Any] = {}  # by settings object: the adapter keeps its sign-in token


def _track_chat(settings: TrackSettings) -> Any:
    from opslink.service_map import load_service_map

    if id(settings) not in _CHATS:
        _CHATS[id(settings)] = chat_messages(settings, load_service_map(settings.service_map_path))
    return _CHATS[id(settings)]


@cache
def _bot_keys(openid_url: str) -> Any:
    from opslink.chat.teams_auth import BotKeys

    return BotKeys(openid_url)


def teams_answer(settings: TrackSettings, request: Any, deps: TrackDeps) -> dict[str, Any]:
    """The track function URL's `/chat/teams`: the Teams bot's messaging endpoint."""
    from opslink.webhook_service import function_url_response

    if not settings.teams_app_id:  # before any import of PyJWT: the Teams layer is not there
        return function_url_response(404, {"error": "Teams is not configured (TeamsAppId)"})
    from opslink.adapters.workflow.task_callbacks import StepFunctionsCallbacks
    from opslink.chat.teams import handle
    from opslink.service_map import load_service_map

    keys = _bot_keys(settings.teams_openid_url)
    bot = (lambda: _track_chat(settings)) if settings.teams_app_password_secret_name else None
    status, doc = handle(request, settings.teams_app_id, keys, deps, StepFunctionsCallbacks(),
                         load_service_map(settings.service_map_path), _control(settings), bot,
                         _tenant(settings.teams_tenant_id))  # fmt: skip
    return function_url_response(status, doc)


def chat_answer(settings: TrackSettings, request: Any, deps: TrackDeps) -> dict[str, Any]:
    """The track function URL's chat paths: /chat/slack and /chat/teams."""
    path = request.path.rstrip("/")
    if path == "/chat/teams":
        return teams_answer(settings, request, deps)
    if path == "/chat/slack":
        return slack_answer(settings, request, deps)
    from opslink.webhook_service import function_url_response

    return function_url_response(404, {"error": f"no chat endpoint at {path[:60]}"})


def slack_answer(settings: TrackSettings, request: Any, deps: TrackDeps) -> dict[str, Any]:
    """The track function URL's `/chat/slack`: a button press from Slack (chat/slack.py)."""
    from opslink.adapters.workflow.task_callbacks import StepFunctionsCallbacks
    from opslink.chat.slack import handle
    from opslink.service_map import load_service_map
    from opslink.webhook_service import function_url_response

    if not settings.slack_signing_secret_name:
        return function_url_response(
            404, {"error": "Slack is not configured (SlackSigningSecretName)"}
        )
    secret = read_secret(settings.slack_signing_secret_name, "the Slack receiver")
    # With the bot token, Reject asks why and outcomes update the message: the track
    # function's one Slack client (faults use it too).
    web = _track_chat(settings) if settings.slack_bot_token_secret_name else None
    status, doc = handle(request, secret, deps, StepFunctionsCallbacks(),
                         load_service_map(settings.service_map_path), _control(settings), web)  # fmt: skip
    return function_url_response(status, doc)


def _control(settings: TrackSettings) -> Any:
    """Chat's "pause" writes the automation control parameter's maintenance windows."""
    from opslink.automation_control import SsmAutomationControl

    param = settings.automation_control_parameter
    return SsmAutomationControl(param) if param else None


def _tenant(configured: str) -> str:
    """A single-tenant bot's tenant id (a GUID); a multi-tenant bot's setting is empty or
    names the Bot Framework's own sign-in tenant, and any tenant may reach it."""
    return "" if configured.lower() in ("", "botframework.com") else configured
