"""A fake Telegram Bot API server for tests.

:class:`FakeBotAPI` serves the Bot API over real HTTP on ``127.0.0.1`` (a Starlette app under
uvicorn, inside the test's own event loop), so the real python-telegram-bot ``Application`` can
talk to it unchanged::

    async with FakeBotAPI() as api:
        app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
        ...
        user = api.make_user(42)
        api.send_message(user, "/start")
        reply = await api.wait_for_message(42)
        assert "Welcome" in reply.text

The fake enforces Telegram's documented limits and answers with Telegram's error shapes and
wording, so a request that real Telegram would reject fails the test: every such 4xx answer is
recorded in :attr:`FakeBotAPI.violations`. Faults that the *test* asks for (blocked users, injected
errors, flood limits, dropped connections) are answered the same way but are not violations.

What the fake covers: getMe, getUpdates (long polling, offsets, allowed_updates), webhooks
(recorded; updates are POSTed to a local address once :meth:`FakeBotAPI.forward_webhook_to`
names one), sending/editing/deleting/forwarding/copying messages with text, photos
and documents, chat actions, callback and inline queries, bot commands/descriptions/names,
getChat and menu buttons. Other real Bot API methods answer ``400 Bad Request: FakeBotAPI does not
implement <method>`` (and count as violations) so that nothing is silently ignored.

Faults a test can inject: blocked/deactivated users, error answers (``fail_next``), flood limits
(``set_flood_limit``), latency (``set_latency``), dropped connections before or after the request
is processed (``drop_next``; the client gets a network error, not an answer) and seeded random
server errors and drops (``set_random_faults``).

Deliberate simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.policy
import inspect
import itertools
import json
import logging
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from playground.local_server import LocalServer
from playground.telegram.html import TelegramHTMLError, parse_html, trim_formatted_text, utf16_len

__all__ = [
    "BotAPIError",
    "Call",
    "FakeBotAPI",
    "FloodEvent",
    "SentMessage",
    "UploadedFile",
]

JSONDict = dict[str, Any]

_LOGGER = logging.getLogger(__name__)


def _names(words: str) -> tuple[str, ...]:
    """Split a whitespace-separated list of identifiers (keeps long constant lists compact)."""
    return tuple(words.split())


DEFAULT_TOKEN = "123456:TEST-token"

# -- Telegram limits (https://core.telegram.org/bots/api) -------------------------------------
MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_KEYBOARD_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_COMMANDS = 100
MAX_COMMAND_LENGTH = 32
MAX_COMMAND_DESCRIPTION_LENGTH = 256
MAX_DESCRIPTION_LENGTH = 512
MAX_SHORT_DESCRIPTION_LENGTH = 120
MAX_NAME_LENGTH = 64
MAX_SECRET_TOKEN_LENGTH = 256
MAX_UPDATES_LIMIT = 100
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})

CHAT_ACTIONS = frozenset(
    _names(
        "typing upload_photo record_video upload_video record_voice upload_voice upload_document"
        " choose_sticker find_location record_video_note upload_video_note"
    )
)

UPDATE_TYPES = _names(
    "message edited_message channel_post edited_channel_post business_connection"
    " business_message edited_business_message deleted_business_messages message_reaction"
    " message_reaction_count inline_query chosen_inline_result callback_query shipping_query"
    " pre_checkout_query purchased_paid_media poll poll_answer my_chat_member chat_member"
    " chat_join_request chat_boost removed_chat_boost"
)
#: Update types Telegram only delivers when they are listed in ``allowed_updates``.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MESSAGE_UPDATE_TYPES = frozenset(
    _names(
        "message edited_message channel_post edited_channel_post business_message"
        " edited_business_message"
    )
)

INLINE_BUTTON_ACTIONS = _names(
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat"
    " switch_inline_query_chosen_chat copy_text callback_game pay"
)
#: Actions whose empty string value means "absent", as on Telegram.
_NON_EMPTY_ACTIONS = frozenset({"url", "callback_data"})

INLINE_RESULT_TYPES = frozenset(
    _names(
        "article photo gif mpeg4_gif video audio voice document location venue contact game sticker"
    )
)

SIMPLE_COMMAND_SCOPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
)
CHAT_COMMAND_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})
MENU_BUTTON_TYPES = frozenset({"default", "commands", "web_app"})

#: Methods that count against flood limits (see :meth:`FakeBotAPI.set_flood_limit`).
FLOOD_LIMITED_METHODS = frozenset(
    _names(
        "sendMessage sendPhoto sendDocument forwardMessage copyMessage editMessageText"
        " editMessageCaption editMessageReplyMarkup"
    )
)
#: Methods whose results are listed by :meth:`FakeBotAPI.sent_messages`.
MESSAGE_METHODS = frozenset(
    _names(
        "sendMessage sendPhoto sendDocument forwardMessage copyMessage editMessageText"
        " editMessageCaption"
    )
)

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
WRONG_HTTP_URL = "inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"

# -- request parameter decoding --------------------------------------------------------------
#: Parameters whose form value is a JSON-serialized object or array.
JSON_PARAMS = frozenset(
    _names(
        "reply_markup entities caption_entities commands scope results allowed_updates"
        " link_preview_options reply_parameters button menu_button message_ids media permissions"
    )
)
INT_PARAMS = frozenset(
    _names(
        "offset limit timeout message_id message_thread_id reply_to_message_id user_id cache_time"
        " max_connections duration width height"
    )
)
BOOL_PARAMS = frozenset(
    _names(
        "disable_notification protect_content show_alert is_personal drop_pending_updates"
        " disable_web_page_preview allow_sending_without_reply has_spoiler"
        " show_caption_above_media disable_content_type_detection allow_paid_broadcast"
        " for_channels"
    )
)
CHAT_ID_PARAMS = frozenset({"chat_id", "from_chat_id"})

_INT_RE = re.compile(r"-?[0-9]+")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
_BOT_COMMAND_IN_TEXT_RE = re.compile(
    r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])"
)

#: How early (seconds) a request may arrive and still be within a flood limit or retry_after;
#: absorbs scheduling jitter between a well-behaved client's limiter and this server.
FLOOD_GRACE = 0.05
WEBHOOK_RETRY = 1.0
"""Seconds before a webhook delivery that failed is tried again."""
WEBHOOK_TIMEOUT = 30.0
#: How often a long poll checks whether its client has gone away.
_DISCONNECT_CHECK_INTERVAL = 0.5


# =============================================================================================
# Public value types
# =============================================================================================


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Call:
    """One HTTP request to the fake, as decoded and answered.

    ``params`` holds the decoded parameters: JSON-encoded values (reply_markup, commands,
    results, ...) are objects, integer/boolean form fields are ``int``/``bool``, uploads are
    :class:`UploadedFile`. ``at`` is the :func:`time.monotonic` time the answer was ready.

    ``dropped`` is true when the connection was closed instead of delivering the answer (see
    :meth:`FakeBotAPI.drop_next`): ``status`` is then ``0`` (and ``response`` empty) if the
    request was not processed, or the status of the lost answer if it was.
    """

    method: str
    params: JSONDict
    response: JSONDict
    status: int
    at: float = 0.0
    dropped: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")

    @property
    def description(self) -> str | None:
        return self.response.get("description")


DELETABLE_SECONDS = 48 * 3600
"""A bot may delete a private chat's messages while they are under 48 hours old."""
PER_CHAT_IDS = frozenset({"supergroup", "channel"})
"""Chat types whose message ids are numbered per chat."""


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent or edited (see :data:`MESSAGE_METHODS`).

    ``text`` is the plain text (caption for media) after entity parsing, ``html`` the raw
    ``text``/``caption`` parameter, ``message`` a snapshot of the Message dict returned.
    ``silent`` is the ``disable_notification`` parameter: no sound on the recipient's phone.
    """

    method: str
    chat_id: int
    text: str
    html: str | None
    parse_mode: str | None
    reply_markup: JSONDict | None
    silent: bool
    message: JSONDict

    @property
    def message_id(self) -> int:
        return self.message["message_id"]

    @property
    def entities(self) -> list[JSONDict]:
        return self.message.get("entities") or self.message.get("caption_entities") or []

    @property
    def buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row."""
        return _inline_buttons(self.reply_markup)


@dataclass(frozen=True)
class FloodEvent:
    """A request answered with 429 by the flood limiter.

    ``chat_id`` is ``None`` for the global limit. ``early`` is true when the request came
    while an earlier ``retry_after`` for the same scope was still running.
    """

    method: str
    chat_id: int | None
    retry_after: int
    early: bool
    at: float


class BotAPIError(Exception):
    """An error answer. ``violation`` is false for faults the test asked for."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        violation: bool = True,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.violation = violation

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> BotAPIError:
    return BotAPIError(400, f"Bad Request: {detail}")


def forbidden(detail: str) -> BotAPIError:
    return BotAPIError(403, f"Forbidden: {detail}", violation=False)


def too_many_requests(retry_after: int) -> BotAPIError:
    return BotAPIError(
        429,
        f"Too Many Requests: retry after {retry_after}",
        retry_after=retry_after,
        violation=False,
    )


@dataclass(frozen=True)
class _Result:
    """A success result with Telegram's optional ``description`` (e.g. "Webhook was set")."""

    value: Any
    description: str


@dataclass(frozen=True)
class _Fault:
    status: int
    description: str
    retry_after: int | None


@dataclass
class _RandomFaults:
    """Configuration and random state of :meth:`FakeBotAPI.set_random_faults`."""

    rate: float
    drop_rate: float
    statuses: tuple[int, ...]
    methods: frozenset[str]  # lower-cased
    rng: random.Random


# =============================================================================================
# Dropped connections
# =============================================================================================


class _ConnectionDropped(Exception):
    """Close the connection instead of answering (internally, and raised through uvicorn)."""


class _DroppedResponse(Response):
    """Starts a response, then fails, so that the server closes the connection mid-response.

    An ASGI app cannot close its connection itself, but uvicorn (like any ASGI server) closes
    it when the app raises after ``http.response.start``. The client gets a status line and a
    ``Content-Length`` that is never delivered, then EOF: httpx raises ``RemoteProtocolError``,
    which python-telegram-bot turns into ``NetworkError``. (Raising before the response start
    would make uvicorn answer 500 instead.) uvicorn's "Exception in ASGI application" record
    for it is dropped by :class:`_HideDroppedConnections`.
    """

    def __init__(self) -> None:
        super().__init__(status_code=200, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"1024")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        raise _ConnectionDropped("FakeBotAPI dropped the connection (an injected fault)")


class _HideDroppedConnections(logging.Filter):
    """Drops uvicorn's ERROR record for a connection the fake dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, _ConnectionDropped)


_HIDE_DROPPED_CONNECTIONS = _HideDroppedConnections()
#: The logger uvicorn reports exceptions in ASGI applications to.
_UVICORN_ERROR_LOGGER = "uvicorn.error"


# =============================================================================================
# Request decoding
# =============================================================================================


async def read_request_params(request: Request) -> JSONDict:
    """Merge query string and body (form, multipart or JSON) into decoded parameters."""
    raw: JSONDict = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json" and body.strip():
        raw.update(_json_body(body))
    elif mime == "application/x-www-form-urlencoded":
        raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif mime == "multipart/form-data":
        raw.update(_multipart_fields(content_type, body))
    return {name: _decode_value(name, value) for name, value in raw.items()}


def _json_body(body: bytes) -> JSONDict:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise bad_request("can't parse JSON encoded request") from exc
    if not isinstance(data, dict):
        raise bad_request("JSON request body must be an object")
    return data


def _multipart_fields(content_type: str, body: bytes) -> list[tuple[str, Any]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: list[tuple[str, Any]] = []
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields.append((name, payload.decode("utf-8", "replace")))
        else:
            fields.append((name, UploadedFile(name, filename, part.get_content_type(), payload)))
    return fields


def _decode_value(name: str, value: Any) -> Any:
    """Decode one form value the way the Bot API interprets that parameter."""
    if not isinstance(value, str):
        return value
    if name in JSON_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif name in INT_PARAMS or name in CHAT_ID_PARAMS:
        if _INT_RE.fullmatch(value.strip()):
            return int(value)
    elif name in BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


class Params:
    """Decoded request parameters with Telegram-style typed access."""

    def __init__(self, data: JSONDict, request: Request | None = None) -> None:
        self.data = data
        self.request = request

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise bad_request(f"parameter {name} must be a string")
        return str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, int):
            return value
        raise bad_request(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.data.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def json(self, name: str, what: str | None = None) -> Any:
        """A JSON parameter; a string that did not decode is a Bad Request."""
        value = self.data.get(name)
        if isinstance(value, str) and value != "":
            raise bad_request(f"can't parse {what or name} JSON object")
        return None if value == "" else value


# =============================================================================================
# Validation of Telegram objects
# =============================================================================================


def validate_reply_markup(markup: Any) -> JSONDict | None:
    """Validate any reply_markup; return it, or ``None`` when absent."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        _validate_reply_keyboard(markup["keyboard"])
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def validate_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard markup: Field "inline_keyboard" must be of '
            "type Array of Arrays"
        )
    buttons = [button for row in rows for button in row]
    for button in buttons:
        validate_inline_button(button)
    if len(buttons) > MAX_INLINE_KEYBOARD_BUTTONS:
        raise bad_request("reply markup is too long")


def validate_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise bad_request(prefix + 'Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise bad_request(prefix + 'Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request(prefix + 'Field "text" must be non-empty')
    actions = [name for name in INLINE_BUTTON_ACTIONS if _has_action(button, name)]
    if not actions:
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        raise bad_request(prefix + f"exactly one action field must be used, got {actions}")
    _validate_button_action(actions[0], button[actions[0]])


def _has_action(button: JSONDict, name: str) -> bool:
    value = button.get(name)
    if name in _NON_EMPTY_ACTIONS:
        return value not in (None, "")
    return value is not None


def _validate_button_action(action: str, value: Any) -> None:
    check = _BUTTON_ACTION_CHECKS.get(action)
    if check is not None:
        check(action, value)


def _check_callback_data(action: str, value: Any) -> None:
    if not isinstance(value, str) or not 1 <= len(value.encode()) <= MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")


def _check_url(action: str, value: Any) -> None:
    if not isinstance(value, str) or not _is_button_url(value):
        raise bad_request(WRONG_HTTP_URL.format(url=value))


def _check_https_object(action: str, value: Any) -> None:
    url = value.get("url") if isinstance(value, dict) else None
    if not isinstance(url, str) or not _is_button_url(url, schemes=("https",)):
        raise bad_request(f"inline keyboard button {action} URL '{url}' is invalid")


def _check_copy_text(action: str, value: Any) -> None:
    text = value.get("text") if isinstance(value, dict) else None
    if not isinstance(text, str) or not 1 <= len(text) <= 256:
        raise bad_request("COPY_TEXT_INVALID")


def _check_string(action: str, value: Any) -> None:
    if not isinstance(value, str):
        raise bad_request(
            f'can\'t parse inline keyboard button: Field "{action}" must be of type String'
        )


_BUTTON_ACTION_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "callback_data": _check_callback_data,
    "url": _check_url,
    "login_url": _check_https_object,
    "web_app": _check_https_object,
    "copy_text": _check_copy_text,
    "switch_inline_query": _check_string,
    "switch_inline_query_current_chat": _check_string,
}


def _is_button_url(url: str, schemes: Iterable[str] = ("http", "https", "tg")) -> bool:
    if not url or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in schemes and bool(parts.netloc)


def _validate_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse keyboard markup: Field "keyboard" must be of type Array of Arrays'
        )
    for button in (button for row in rows for button in row):
        text = button.get("text") if isinstance(button, dict) else button
        if not isinstance(text, str) or not text.strip():
            raise bad_request('can\'t parse keyboard button: Field "text" must be non-empty')


def validate_commands(commands: Any) -> list[JSONDict]:
    """Validate a setMyCommands list; return normalized ``{command, description}`` dicts."""
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    validated = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name, description = command.get("command"), command.get("description")
        if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not description.strip():
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        if len(description) > MAX_COMMAND_DESCRIPTION_LENGTH:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        validated.append({"command": name, "description": description})
    return validated


def validate_language_code(value: str | None) -> str:
    """Return the language code ('' for all languages) or raise like Telegram."""
    if value in (None, ""):
        return ""
    if not _LANGUAGE_RE.fullmatch(value):
        raise bad_request("invalid language code specified")
    return value


def _inline_buttons(markup: JSONDict | None) -> list[JSONDict]:
    if not markup or not isinstance(markup.get("inline_keyboard"), list):
        return []
    return [button for row in markup["inline_keyboard"] for button in row]


def command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities Telegram detects in an incoming text (``/cmd``, ``/cmd@Bot``)."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _BOT_COMMAND_IN_TEXT_RE.finditer(text)
    ]


# =============================================================================================
# Flood control
# =============================================================================================


class _TokenBucket:
    """Allows ``rate`` requests per second, with a burst of one second's worth (at least 1)."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a request would be allowed (0 when allowed now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        missing = 1.0 - self.tokens - FLOOD_GRACE * self.rate
        return max(0.0, missing / self.rate)

    def take(self) -> None:
        self.tokens -= 1.0


class _FloodControl:
    """Global and per-chat rate limits with Telegram's retry_after semantics.

    A request over a limit gets 429 with ``retry_after`` (whole seconds, at least 1); further
    requests to the same scope during that time get 429 too and count as early retries.
    """

    def __init__(self) -> None:
        self.global_rate: float | None = None
        self.chat_rate: float | None = None
        self._global: _TokenBucket | None = None
        self._chats: dict[int, _TokenBucket] = {}
        self._penalties: dict[int | None, float] = {}
        self.events: list[FloodEvent] = []
        self.early_retries = 0

    def configure(self, per_second: float | None, per_chat_per_second: float | None) -> None:
        for rate in (per_second, per_chat_per_second):
            if rate is not None and rate <= 0:
                raise ValueError("flood limits must be positive or None")
        self.global_rate, self.chat_rate = per_second, per_chat_per_second
        self._global = None
        self._chats.clear()

    def penalize(self, chat_id: int | None, retry_after: int, now: float) -> None:
        """Start a ``retry_after`` window for a scope (``None`` = every chat)."""
        until = now + retry_after - FLOOD_GRACE
        self._penalties[chat_id] = max(until, self._penalties.get(chat_id, 0.0))

    def check(self, method: str, chat_id: int | None, now: float) -> int | None:
        """Return ``retry_after`` if this request must be refused, else consume and allow it."""
        scopes: list[int | None] = [None] if chat_id is None else [None, chat_id]
        for scope in scopes:
            until = self._penalties.get(scope, 0.0)
            if now < until:
                return self._refuse(method, scope, max(1, math.ceil(until - now)), now, True)
        buckets = self._buckets(chat_id, now)
        waits = [(bucket.wait_time(now), scope) for scope, bucket in buckets]
        wait, scope = max(waits, default=(0.0, None), key=lambda item: item[0])
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.penalize(scope, retry_after, now)
            return self._refuse(method, scope, retry_after, now, False)
        for _, bucket in buckets:
            bucket.take()
        return None

    def _buckets(self, chat_id: int | None, now: float) -> list[tuple[int | None, _TokenBucket]]:
        buckets: list[tuple[int | None, _TokenBucket]] = []
        if self.global_rate is not None:
            if self._global is None:
                self._global = _TokenBucket(self.global_rate, now)
            buckets.append((None, self._global))
        if self.chat_rate is not None and chat_id is not None:
            if chat_id not in self._chats:
                self._chats[chat_id] = _TokenBucket(self.chat_rate, now)
            buckets.append((chat_id, self._chats[chat_id]))
        return buckets

    def _refuse(
        self, method: str, scope: int | None, retry_after: int, now: float, early: bool
    ) -> int:
        if early:
            self.early_retries += 1
        self.events.append(FloodEvent(method, scope, retry_after, early, now))
        return retry_after


# =============================================================================================
# Small async helpers
# =============================================================================================


class _Signal:
    """Wakes every waiter on :meth:`notify` (a reusable broadcast event)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> None:
        """Wait for the next notification, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), max(0.0, seconds))


# =============================================================================================
# Method registry
# =============================================================================================

_Handler = Callable[["FakeBotAPI", Params], Any]
_F = TypeVar("_F", bound=_Handler)
_T = TypeVar("_T")


@dataclass(frozen=True)
class _MethodSpec:
    name: str
    handler: _Handler


_METHODS: dict[str, _MethodSpec] = {}


def _bot_method(name: str) -> Callable[[_F], _F]:
    """Register a handler for Bot API method ``name`` (looked up case-insensitively)."""

    def register(handler: _F) -> _F:
        _METHODS[name.lower()] = _MethodSpec(name, handler)
        return handler

    return register


def _real_bot_api_methods() -> dict[str, str]:
    """Lower-cased -> canonical names of all Bot API methods known to python-telegram-bot."""
    names = (name for name in dir(telegram.Bot) if name[:1].islower() and name != name.lower())
    return {name.lower(): name for name in names}


# =============================================================================================
# The fake server
# =============================================================================================


@dataclass
class _Consumption:
    """Which recorded items an ordered ``wait_for_*`` has already handed out."""

    taken: set[int] = field(default_factory=set)


class FakeBotAPI:
    """A local fake of the Telegram Bot API; see the module docstring.

    Use as ``async with FakeBotAPI() as api:``. Public state (read it in tests):

    * ``calls`` / ``violations`` - every :class:`Call`, and the 4xx ones caused by invalid
      requests (not by injected faults, blocked users or flood limits).
    * ``chats`` / ``users`` - known chats and users by id; ``files`` - uploads by file_id.
    * ``commands[(scope_key, language_code)]``, ``descriptions[lang]``,
      ``short_descriptions[lang]``, ``names[lang]`` - what the bot configured.
      ``scope_key`` is ``"default"``, ``"all_private_chats"``, ``"chat:<id>"``,
      ``"chat_member:<chat_id>:<user_id>"``...
    * ``callback_answers[query_id]``, ``inline_answers[query_id]`` - answers given.
    * ``webhook_url``, ``webhook_secret``, ``flood_events``, ``early_retries``,
      ``injected_faults``, ``dropped_connections``.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "AppealBot",
        first_name: str = "Appeal Bot",
    ) -> None:
        bot_id, separator, secret = token.partition(":")
        if not (bot_id.isdecimal() and separator and secret):
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.bot_user: JSONDict = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.calls: list[Call] = []
        self.violations: list[Call] = []
        self.chats: dict[int, JSONDict] = {}
        self.users: dict[int, JSONDict] = {}
        self.files: dict[str, UploadedFile] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.callback_answers: dict[str, JSONDict] = {}
        self.inline_answers: dict[str, list[JSONDict]] = {}
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.blocked: set[int] = set()
        self.deactivated: set[int] = set()
        self.webhook_deliveries: list[tuple[int, int | str]] = []
        """``(update_id, HTTP status or error name)`` per webhook delivery attempt."""
        self._webhook_target: str | None = None
        self._pump: asyncio.Task[None] | None = None

        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._allowed_updates: list[str] | None = None
        self._message_ids: dict[int | None, int] = {}
        """Last id given, per supergroup or channel; under None, for the bot's account."""
        self._last_message: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._sent: list[SentMessage] = []
        self._taken_messages = _Consumption()
        self._taken_calls = _Consumption()
        self._pending_callbacks: set[str] = set()
        self._pending_inline: set[str] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._drops: dict[str, deque[bool]] = {}  # method -> after_processing flags
        self._random_faults: _RandomFaults | None = None
        self._injected_faults = 0
        self._dropped_connections = 0
        self._flood = _FloodControl()
        self._latency = 0.0

        self._activity = _Signal()
        self._closing = asyncio.Event()
        self._server = LocalServer(self._build_app(), "FakeBotAPI")

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve on 127.0.0.1 at an OS-chosen port, in the running event loop."""
        self._closing = asyncio.Event()
        self._activity = _Signal()
        logging.getLogger(_UVICORN_ERROR_LOGGER).addFilter(_HIDE_DROPPED_CONNECTIONS)
        await self._server.start()
        self._pump = asyncio.create_task(self._deliver_to_webhook(), name="FakeBotAPI webhook")

    async def stop(self) -> None:
        """Answer pending long polls, then shut the server down."""
        if not self._server.running:
            return
        self._closing.set()
        self._activity.notify()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None
        await self._server.stop()

    def forward_webhook_to(self, url: str | None) -> None:
        """While a webhook is set, POST updates to ``url`` (``None``: nowhere).

        Telegram calls the public https address given to setWebhook; here that address stands
        for a reverse proxy in front of ``url``, a local one. Updates go one at a time, with
        the secret token header, and leave the queue once answered with 2xx; any other answer
        or a connection error is retried after :data:`WEBHOOK_RETRY` seconds, as Telegram does.
        Each attempt is listed in :attr:`webhook_deliveries`.
        """
        self._webhook_target = url
        self._activity.notify()

    async def _deliver_to_webhook(self) -> None:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as http:
            # not `while True`: Python 3.11's wait_for (in _Signal.wait) swallows a cancel that
            # comes together with the notify() of stop(), which would leave stop() waiting
            while not self._closing.is_set():
                update = self._updates[0] if self._updates else None
                if update is None or not (self.webhook_url and self._webhook_target):
                    await self._activity.wait(WEBHOOK_RETRY)
                    continue
                headers = {"Content-Type": "application/json"}
                if self.webhook_secret:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
                try:
                    response = await http.post(
                        self._webhook_target, content=json.dumps(update), headers=headers
                    )
                    outcome: int | str = response.status_code
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                self.webhook_deliveries.append((update["update_id"], outcome))
                if isinstance(outcome, int) and 200 <= outcome < 300:
                    self._confirm_updates(update["update_id"] + 1)
                    self._activity.notify()
                else:
                    await asyncio.sleep(WEBHOOK_RETRY)

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url()`` / ``Bot(base_url=...)``: the token follows."""
        return f"{self.root_url}/bot"

    @property
    def bot_id(self) -> int:
        return self.bot_user["id"]

    @property
    def username(self) -> str:
        return self.bot_user["username"]

    # -- test side: users, chats and incoming updates ----------------------------------------

    def make_user(
        self,
        user_id: int,
        language_code: str | None = "en",
        first_name: str = "Test",
        username: str | None = None,
        *,
        last_name: str | None = None,
    ) -> JSONDict:
        """Return (and remember) a Telegram User dict for a human user."""
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        optional = {"last_name": last_name, "username": username, "language_code": language_code}
        user.update({key: value for key, value in optional.items() if value is not None})
        self.users[user_id] = user
        return copy.deepcopy(user)

    def open_private_chat(self, user: Mapping[str, Any]) -> JSONDict:
        """Make ``user``'s private chat known, as if they had started the bot earlier."""
        self.users.setdefault(user["id"], copy.deepcopy(dict(user)))
        chat = self.chats.setdefault(user["id"], self._private_chat(user))
        return copy.deepcopy(chat)

    def make_chat(
        self,
        chat_id: int,
        chat_type: str = "supergroup",
        title: str = "Test group",
        *,
        username: str | None = None,
    ) -> JSONDict:
        """Return a group/supergroup/channel Chat dict and make the chat known to the bot."""
        if chat_type not in ("group", "supergroup", "channel"):
            raise ValueError("private chats come from make_user() + send_message()")
        chat: JSONDict = {"id": chat_id, "type": chat_type, "title": title}
        if username is not None:
            chat["username"] = username
        self.chats[chat_id] = chat
        return copy.deepcopy(chat)

    def send_message(
        self,
        user: Mapping[str, Any],
        text: str,
        *,
        chat: Mapping[str, Any] | None = None,
        entities: list[JSONDict] | None = None,
        reply_to: Mapping[str, Any] | SentMessage | None = None,
    ) -> JSONDict:
        """Enqueue a text message from ``user`` (private chat unless ``chat`` is given).

        ``bot_command`` entities are detected as Telegram does unless ``entities`` is given.
        Returns the update dict.
        """
        message: JSONDict = {"from": dict(user), "text": text}
        if chat is not None:
            message["chat"] = dict(chat)
        detected = command_entities(text) if entities is None else entities
        if detected:
            message["entities"] = detected
        if reply_to is not None:
            message["reply_to_message"] = self._stored_message(reply_to)
        return self.send_update({"message": message})

    def send_update(self, update_fields: Mapping[str, Any]) -> JSONDict:
        """Enqueue an arbitrary update; ``update_id`` is assigned.

        Message-like payloads get ``message_id``, ``date`` (and ``chat`` from ``from`` for
        private chats) when missing, and their chat becomes known. Callback and inline queries
        get an ``id`` and become answerable. A private ``my_chat_member`` update with status
        ``kicked``/``member`` blocks/unblocks the user, as on Telegram.
        """
        update = copy.deepcopy(dict(update_fields))
        update.pop("update_id", None)
        kinds = [key for key in update if key in UPDATE_TYPES]
        if len(kinds) != 1 or len(update) != 1:
            raise ValueError(f"an update needs exactly one of {UPDATE_TYPES}, got {list(update)}")
        kind = kinds[0]
        self._prepare_payload(kind, update[kind])
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._activity.notify()
        return copy.deepcopy(update)

    def press_button(
        self,
        user: Mapping[str, Any],
        message: Mapping[str, Any] | SentMessage,
        callback_data: str,
        *,
        check_button: bool = True,
    ) -> JSONDict:
        """Enqueue a callback_query for a button of a message the bot sent.

        With ``check_button`` the message's current keyboard must have a button with that
        ``callback_data`` (as a real client can only press existing buttons).
        """
        stored = self._stored_message(message)
        if check_button:
            available = [
                b.get("callback_data") for b in _inline_buttons(stored.get("reply_markup"))
            ]
            if callback_data not in available:
                raise AssertionError(
                    f"message {stored['message_id']} in chat {stored['chat']['id']} has no "
                    f"button with callback_data {callback_data!r}; it has {available}"
                )
        query = {
            "from": dict(user),
            "message": stored,
            "chat_instance": str(abs(stored["chat"]["id"]) * 7919 % 10**12),
            "data": callback_data,
        }
        return self.send_update({"callback_query": query})

    def inline_query(
        self,
        user: Mapping[str, Any],
        query: str,
        *,
        offset: str = "",
        chat_type: str = "sender",
    ) -> JSONDict:
        """Enqueue an inline_query from ``user``."""
        payload = {"from": dict(user), "query": query, "offset": offset, "chat_type": chat_type}
        return self.send_update({"inline_query": payload})

    def user_blocks_bot(self, user: Mapping[str, Any]) -> JSONDict:
        """The user blocks the bot: a ``my_chat_member`` update, and later sends get 403."""
        chat = self._private_chat(user)
        member_update = {
            "chat": chat,
            "from": dict(user),
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": self._bot_sender()},
            "new_chat_member": {
                "status": "kicked",
                "user": self._bot_sender(),
                "until_date": 0,
            },
        }
        return self.send_update({"my_chat_member": member_update})

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates not yet confirmed by the bot (via getUpdates offset)."""
        return copy.deepcopy(self._updates)

    def _prepare_payload(self, kind: str, payload: JSONDict) -> None:
        if kind in MESSAGE_UPDATE_TYPES:
            self._prepare_incoming_message(kind, payload)
        elif kind == "callback_query":
            payload.setdefault("id", str(next(self._query_ids)))
            self._pending_callbacks.add(payload["id"])
        elif kind == "inline_query":
            payload.setdefault("id", str(next(self._query_ids)))
            self._pending_inline.add(payload["id"])
        elif kind == "my_chat_member":
            self._apply_membership(payload)

    def _prepare_incoming_message(self, kind: str, message: JSONDict) -> None:
        if "chat" not in message:
            if "from" not in message:
                raise ValueError("a message needs 'chat' or 'from'")
            message["chat"] = self._private_chat(message["from"])
        chat = message["chat"]
        self.chats.setdefault(chat["id"], copy.deepcopy(chat))
        if "from" in message:
            self.users.setdefault(message["from"]["id"], copy.deepcopy(message["from"]))
        message.setdefault("date", int(time.time()))
        if kind.startswith("edited_"):
            message.setdefault("edit_date", int(time.time()))
            message.setdefault("message_id", self._last_message.get(chat["id"], 1))
        else:
            message.setdefault("message_id", self._next_message_id(chat["id"]))
        self._messages[(chat["id"], message["message_id"])] = copy.deepcopy(message)

    def _apply_membership(self, payload: JSONDict) -> None:
        chat = payload.get("chat", {})
        if "id" in chat:
            self.chats.setdefault(chat["id"], copy.deepcopy(chat))
        status = payload.get("new_chat_member", {}).get("status")
        if chat.get("type") == "private" and status == "kicked":
            self.blocked.add(chat["id"])
        elif chat.get("type") == "private" and status == "member":
            self.blocked.discard(chat["id"])

    def _private_chat(self, user: Mapping[str, Any]) -> JSONDict:
        chat: JSONDict = {"id": user["id"], "type": "private"}
        for key in ("first_name", "last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _stored_message(self, message: Mapping[str, Any] | SentMessage) -> JSONDict:
        snapshot = message.message if isinstance(message, SentMessage) else message
        key = (snapshot["chat"]["id"], snapshot["message_id"])
        if key not in self._messages:
            raise AssertionError(f"message {key[1]} in chat {key[0]} does not exist (deleted?)")
        return copy.deepcopy(self._messages[key])

    # -- test side: faults -------------------------------------------------------------------

    def block_user(self, chat_id: int) -> None:
        """Every later send to ``chat_id`` gets 403 "Forbidden: bot was blocked by the user"."""
        self._ensure_chat(chat_id)
        self.blocked.add(chat_id)

    def unblock_user(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def deactivate_user(self, chat_id: int) -> None:
        """Every later send to ``chat_id`` gets 403 "Forbidden: user is deactivated"."""
        self._ensure_chat(chat_id)
        self.deactivated.add(chat_id)

    def fail_next(
        self,
        method: str,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error instead of running it.

        ``description`` defaults to Telegram's wording for the status. A 429 with
        ``retry_after`` on a flood-limited method also opens a global retry_after window, so
        sends before it ends count in :attr:`early_retries`. Injected errors are not
        violations.
        """
        if description is None:
            description = _default_description(status, retry_after)
        fault = _Fault(status, description, retry_after)
        self._faults.setdefault(method.lower(), deque()).extend([fault] * count)

    def drop_next(self, method: str, count: int = 1, *, after_processing: bool = False) -> None:
        """Close the connection of the next ``count`` calls of ``method`` without an answer.

        The client gets a truncated response (python-telegram-bot raises ``NetworkError``).
        With ``after_processing=False`` the request is not executed at all. With
        ``after_processing=True`` it is executed first (a sent message is stored and listed by
        :meth:`sent_messages`, as if Telegram accepted it) and only the answer is lost: the
        client cannot know whether the message went out. Such calls are recorded with
        ``Call.dropped`` set (``status`` 0 when not executed), count in
        :attr:`dropped_connections` and are never violations.
        """
        if count < 1:
            raise ValueError("count must be at least 1")
        self._drops.setdefault(method.lower(), deque()).extend([after_processing] * count)

    def set_random_faults(
        self,
        rate: float,
        *,
        seed: int = 0,
        statuses: tuple[int, ...] = (500, 502, 503),
        drop_rate: float = 0.0,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Make calls of ``methods`` (default :data:`FLOOD_LIMITED_METHODS`) fail at random.

        Each call fails with probability ``rate`` with one of ``statuses`` (Telegram's error
        shape and wording, e.g. 502 "Bad Gateway"; counted in :attr:`injected_faults`) and has
        its connection dropped before processing with probability ``drop_rate`` (counted in
        :attr:`dropped_connections`). The sequence is deterministic for a given ``seed`` and
        order of calls; each call of this method restarts it. Calls queued by
        :meth:`fail_next` / :meth:`drop_next` take precedence. ``rate=0, drop_rate=0`` turns
        random faults off. Injected faults are not violations.
        """
        if not (0.0 <= rate <= 1.0 and 0.0 <= drop_rate <= 1.0 and rate + drop_rate <= 1.0):
            raise ValueError("rate and drop_rate must be probabilities with a sum of at most 1")
        if not statuses or not all(400 <= status <= 599 for status in statuses):
            raise ValueError("statuses must be a non-empty tuple of 4xx/5xx codes")
        names = FLOOD_LIMITED_METHODS if methods is None else [str(name) for name in methods]
        unknown = [name for name in names if name.lower() not in _METHODS]
        if unknown:
            raise ValueError(f"FakeBotAPI does not implement {unknown}")
        if rate == 0 and drop_rate == 0:
            self._random_faults = None
            return
        self._random_faults = _RandomFaults(
            rate=rate,
            drop_rate=drop_rate,
            statuses=tuple(statuses),
            methods=frozenset(name.lower() for name in names),
            rng=random.Random(seed),
        )

    def set_flood_limit(
        self, per_second: float | None, per_chat_per_second: float | None = None
    ) -> None:
        """Limit flood-limited methods (:data:`FLOOD_LIMITED_METHODS`) globally and per chat.

        Each limit is a token bucket: ``rate`` requests per second with a burst of
        ``max(1, rate)``. ``None`` disables a limit. Over the limit: 429 "Too Many Requests:
        retry after N" with ``parameters.retry_after = N``.
        """
        self._flood.configure(per_second, per_chat_per_second)

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds``."""
        self._latency = max(0.0, seconds)

    @property
    def flood_events(self) -> list[FloodEvent]:
        return list(self._flood.events)

    @property
    def early_retries(self) -> int:
        """Requests sent to a scope while its retry_after had not elapsed yet."""
        return self._flood.early_retries

    @property
    def injected_faults(self) -> int:
        """Error answers injected by :meth:`fail_next` and :meth:`set_random_faults`."""
        return self._injected_faults

    @property
    def dropped_connections(self) -> int:
        """Connections closed without an answer (:meth:`drop_next`, random drops)."""
        return self._dropped_connections

    def _ensure_chat(self, chat_id: int) -> None:
        if chat_id not in self.chats:
            user = self.users.get(chat_id, {"id": chat_id, "first_name": "Test"})
            self.chats[chat_id] = self._private_chat(user)

    # -- test side: inspection ---------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        """All calls of ``method`` (case-insensitive)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """The bot's outgoing messages and edits, oldest first, optionally for one chat."""
        return [sent for sent in self._sent if chat_id is None or sent.chat_id == chat_id]

    def history(self, chat_id: int) -> list[JSONDict]:
        """Every message of a chat as it is now (after edits, without deleted ones), in order."""
        found = [message for (chat, _), message in self._messages.items() if chat == chat_id]
        return copy.deepcopy(sorted(found, key=lambda message: message["message_id"]))

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """The current state of a stored message (after edits), or ``None`` if deleted."""
        stored = self._messages.get((chat_id, message_id))
        return copy.deepcopy(stored) if stored is not None else None

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, not a cancel scope
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> SentMessage:
        """The next bot message to ``chat_id`` not returned by an earlier call.

        Messages are handed out in order, each once, so a test can read a conversation
        step by step. With ``predicate``, the first unconsumed matching message is returned
        (non-matching ones stay available).
        """

        def find() -> SentMessage | None:
            return self._take(
                self._sent,
                self._taken_messages,
                lambda sent: sent.chat_id == chat_id and (predicate is None or predicate(sent)),
            )

        found = await self._wait(find, timeout)
        if found is None:
            raise AssertionError(self._describe_missing_message(chat_id, timeout))
        return found

    async def wait_for_call(
        self,
        method: str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the wait, not a cancel scope
        predicate: Callable[[Call], bool] | None = None,
    ) -> Call:
        """The next call of ``method`` (case-insensitive) not returned by an earlier call."""

        def find() -> Call | None:
            return self._take(
                self.calls,
                self._taken_calls,
                lambda call: (
                    call.method.lower() == method.lower() and (predicate is None or predicate(call))
                ),
            )

        found = await self._wait(find, timeout)
        if found is None:
            seen = [(call.method, call.status) for call in self.calls[-30:]]
            raise AssertionError(
                f"no call of {method} within {timeout}s (matching the predicate). "
                f"Last calls received: {seen}"
            )
        return found

    @staticmethod
    def _take(items: list[_T], consumption: _Consumption, match: Callable[[_T], bool]) -> _T | None:
        for index, item in enumerate(items):
            if index not in consumption.taken and match(item):
                consumption.taken.add(index)
                return item
        return None

    async def _wait(self, find: Callable[[], _T | None], seconds: float) -> _T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (found := find()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._activity.wait(remaining)
        return found

    def _describe_missing_message(self, chat_id: int, timeout: float) -> str:
        to_chat = self.sent_messages(chat_id)
        lines = [
            f"no new bot message to chat {chat_id} within {timeout}s (matching the predicate).",
            f"Messages to that chat ({len(to_chat)}, * = already consumed):",
        ]
        for index, sent in enumerate(self._sent):
            if sent.chat_id == chat_id:
                mark = "*" if index in self._taken_messages.taken else " "
                lines.append(f" {mark} {sent.method}: {sent.text[:200]!r}")
        failed = [call for call in self.calls if not call.ok or call.dropped][-10:]
        if failed:
            lines.append("Failed calls:")
            lines.extend(f"   {call.method} -> {_outcome(call)}" for call in failed)
        return "\n".join(lines)

    # -- HTTP layer --------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        methods = ["GET", "POST"]
        return Starlette(
            routes=[
                Route("/bot{token}/{method}", self._http_endpoint, methods=methods),
                Route("/{path:path}", _http_not_found, methods=methods),
            ]
        )

    async def _http_endpoint(self, request: Request) -> Response:
        call = await self._execute(request)
        if call.dropped:
            return _DroppedResponse()
        return JSONResponse(call.response, status_code=call.status)

    async def _execute(self, request: Request) -> Call:
        raw_method = request.path_params["method"]
        spec = _METHODS.get(raw_method.lower())
        drops = self._drops.get(raw_method.lower())
        drop_after: bool | None = drops.popleft() if drops else None  # None: no drop queued
        data: JSONDict = {}
        violation = False
        try:
            data = await read_request_params(request)
            if drop_after is False:
                raise _ConnectionDropped
            result = await self._run(
                spec, raw_method, request.path_params["token"], Params(data, request)
            )
            status, body = 200, _success_body(result)
        except _ConnectionDropped:
            status, body, drop_after = 0, {}, False
        except BotAPIError as error:
            status, body, violation = error.status, error.body(), error.violation
        except Exception as error:  # a bug in the fake must fail the test, not hang it
            _LOGGER.exception("FakeBotAPI failed to handle %s", raw_method)
            description = f"Internal Server Error: FakeBotAPI bug: {error!r}"
            status, body, violation = 500, BotAPIError(500, description).body(), True
        dropped = drop_after is not None
        if dropped:
            self._dropped_connections += 1
        name = spec.name if spec else raw_method
        call = Call(name, data, body, status, time.monotonic(), dropped=dropped)
        self._record(call, violation)
        return call

    async def _run(
        self, spec: _MethodSpec | None, raw_method: str, token: str, params: Params
    ) -> Any:
        if token != self.token:
            raise BotAPIError(401, "Unauthorized")
        if spec is None:
            raise _unknown_method(raw_method)
        await self._sleep(self._latency)
        self._raise_injected_fault(spec.name, params)
        self._raise_random_fault(spec.name)
        self._check_flood(spec.name, params)
        result = spec.handler(self, params)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _record(self, call: Call, violation: bool) -> None:
        self.calls.append(call)
        if violation:
            self.violations.append(call)
        if call.ok and call.method in MESSAGE_METHODS and isinstance(call.result, dict):
            self._record_sent(call)
        self._activity.notify()

    def _record_sent(self, call: Call) -> None:
        params = call.params
        chat = call.result.get("chat") or self._lookup_chat(params.get("chat_id")) or {}
        stored = self._messages.get((chat.get("id", 0), call.result["message_id"]))
        message = copy.deepcopy(stored if stored is not None else call.result)
        if "chat" not in message:
            return
        if "text" in message:
            text, html = message["text"], params.get("text")
        else:
            text, html = message.get("caption", ""), params.get("caption")
        markup = params.get("reply_markup")
        self._sent.append(
            SentMessage(
                method=call.method,
                chat_id=message["chat"]["id"],
                text=text,
                html=html if isinstance(html, str) else None,
                parse_mode=params.get("parse_mode") or None,
                reply_markup=markup if isinstance(markup, dict) else None,
                silent=params.get("disable_notification") is True,
                message=message,
            )
        )

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _raise_injected_fault(self, method: str, params: Params) -> None:
        queue = self._faults.get(method.lower())
        if not queue:
            return
        fault = queue.popleft()
        if fault.status == 429 and fault.retry_after and method in FLOOD_LIMITED_METHODS:
            self._flood.penalize(None, fault.retry_after, time.monotonic())
        self._injected_faults += 1
        raise BotAPIError(
            fault.status, fault.description, retry_after=fault.retry_after, violation=False
        )

    def _raise_random_fault(self, method: str) -> None:
        faults = self._random_faults
        if faults is None or method.lower() not in faults.methods:
            return
        roll = faults.rng.random()
        if roll < faults.drop_rate:
            raise _ConnectionDropped
        if roll < faults.drop_rate + faults.rate:
            status = faults.rng.choice(faults.statuses)
            self._injected_faults += 1
            raise BotAPIError(status, _default_description(status, None), violation=False)

    def _check_flood(self, method: str, params: Params) -> None:
        if method not in FLOOD_LIMITED_METHODS:
            return
        chat = self._lookup_chat(params.get("chat_id"))
        chat_id = chat["id"] if chat is not None else None
        retry_after = self._flood.check(method, chat_id, time.monotonic())
        if retry_after is not None:
            raise too_many_requests(retry_after)

    # -- shared helpers for handlers ---------------------------------------------------------

    def _bot_sender(self) -> JSONDict:
        keys = ("id", "is_bot", "first_name", "username")
        return {key: self.bot_user[key] for key in keys}

    def _next_message_id(self, chat_id: int) -> int:
        """Telegram numbers messages per chat in supergroups and channels, but from one
        counter per bot account in private chats and basic groups."""
        counter = chat_id if self.chats.get(chat_id, {}).get("type") in PER_CHAT_IDS else None
        self._message_ids[counter] = self._message_ids.get(counter, 0) + 1
        self._last_message[chat_id] = self._message_ids[counter]
        return self._message_ids[counter]

    def _lookup_chat(self, chat_id: Any) -> JSONDict | None:
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            return self.chats.get(chat_id)
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            for chat in self.chats.values():
                if str(chat.get("username", "")).lower() == wanted:
                    return chat
        return None

    def _chat(self, params: Params, name: str = "chat_id", *, sending: bool = True) -> JSONDict:
        """The chat a request targets; raises like Telegram when it is unknown or unreachable."""
        value = params.get(name)
        if value in (None, ""):
            raise bad_request(f"{name} is empty")
        chat = self._lookup_chat(value)
        if chat is None:
            raise bad_request("chat not found")
        if sending:
            self._check_reachable(chat)
        return copy.deepcopy(chat)

    def _check_reachable(self, chat: JSONDict) -> None:
        chat_id = chat["id"]
        if chat_id in self.deactivated:
            raise forbidden("user is deactivated")
        if chat_id not in self.blocked:
            return
        if chat["type"] == "private":
            raise forbidden("bot was blocked by the user")
        if chat["type"] == "channel":
            raise forbidden("bot is not a member of the channel chat")
        raise forbidden(f"bot was kicked from the {chat['type']} chat")

    def _format(
        self, params: Params, name: str, *, limit: int, optional: bool
    ) -> tuple[str, list[JSONDict], str | None]:
        """Parse ``params[name]`` per parse_mode; return (plain text, entities, raw)."""
        raw = params.text(name)
        entities_name = "entities" if name == "text" else "caption_entities"
        kind = "message text" if name == "text" else "message caption"
        if raw in (None, ""):
            if optional:
                return "", [], raw
            raise bad_request(f"{kind} is empty")
        assert raw is not None
        text, entities = self._parse(raw, params.text("parse_mode"), params.json(entities_name))
        text, entities = trim_formatted_text(text, entities)
        if not text and not optional:
            raise bad_request(f"{kind} is empty")
        if utf16_len(text) > limit:
            raise bad_request("message is too long" if name == "text" else f"{kind} is too long")
        return text, entities, raw

    def _parse(self, raw: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                return parse_html(raw)
            except TelegramHTMLError as error:
                raise bad_request(f"can't parse entities: {error.detail}") from error
        if mode in ("markdown", "markdownv2"):
            # Simplification: Markdown is accepted as-is (not validated); text stays raw.
            return raw, []
        if mode:
            raise bad_request("unsupported parse_mode")
        if entities is None:
            return raw, []
        if not isinstance(entities, list) or not all(isinstance(e, dict) for e in entities):
            raise bad_request("can't parse entities JSON object")
        return raw, [dict(entity) for entity in entities]

    def _reply_to(self, params: Params, chat: JSONDict) -> JSONDict | None:
        reply = params.json("reply_parameters", "ReplyParameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or params.integer("reply_to_message_id")
        if not message_id:
            return None
        reply_chat = reply.get("chat_id", chat["id"]) if isinstance(reply, dict) else chat["id"]
        target = self._lookup_chat(reply_chat)
        stored = self._messages.get((target["id"], message_id)) if target else None
        if stored is not None:
            return copy.deepcopy(stored)
        allowed = params.flag("allow_sending_without_reply") or (
            isinstance(reply, dict) and reply.get("allow_sending_without_reply")
        )
        if allowed:
            return None
        raise bad_request("message to be replied not found")

    def _store_bot_message(self, chat: JSONDict, content: JSONDict, params: Params) -> JSONDict:
        reply_to = self._reply_to(params, chat)
        message: JSONDict = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self._bot_sender(),
            "chat": chat,
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        message.update({key: value for key, value in content.items() if value not in (None, [])})
        self._messages[(chat["id"], message["message_id"])] = message
        return copy.deepcopy(message)

    def _inline_markup(self, params: Params) -> JSONDict | None:
        markup = validate_reply_markup(params.json("reply_markup", "reply keyboard markup"))
        return markup if markup is not None and "inline_keyboard" in markup else None

    def _media(self, params: Params, kind: str) -> tuple[str, UploadedFile | None]:
        """Resolve a file parameter (upload, ``attach://`` or file_id/URL) to a file_id."""
        value = params.get(kind)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, UploadedFile):
            file_id = f"{_FILE_ID_PREFIXES.get(kind, 'CQAC')}{next(self._file_ids):08d}FakeFileId"
            self.files[file_id] = value
            return file_id, value
        if not isinstance(value, str) or not value.strip():
            raise bad_request(f"there is no {kind} in the request")
        # Simplification: any non-empty file_id or URL is accepted.
        return value, None

    def _message_to_edit(self, params: Params) -> JSONDict | None:
        """The stored bot message an edit targets, or ``None`` for inline messages."""
        if params.has("inline_message_id"):
            return None
        chat = self._chat(params)
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = self._messages.get((chat["id"], message_id))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: JSONDict, changes: JSONDict) -> JSONDict:
        current = {key: message.get(key) for key in changes}
        if current == changes:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value in (None, [], ""):
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _take_updates(self, offset: int | None, limit: int) -> list[JSONDict]:
        if offset is not None:
            self._confirm_updates(offset)
        allowed = self._allowed_update_types()
        self._updates = [update for update in self._updates if _update_type(update) in allowed]
        return copy.deepcopy(self._updates[:limit])

    def _confirm_updates(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def _allowed_update_types(self) -> frozenset[str]:
        if self._allowed_updates:
            return frozenset(self._allowed_updates)
        return frozenset(UPDATE_TYPES) - OPT_IN_UPDATE_TYPES

    # == Bot API methods =====================================================================
    # Each handler takes the decoded Params and returns the "result" or raises BotAPIError.

    @_bot_method("getMe")
    def _get_me(self, params: Params) -> JSONDict:
        return dict(self.bot_user)

    @_bot_method("logOut")
    def _log_out(self, params: Params) -> bool:
        return True

    @_bot_method("close")
    def _close(self, params: Params) -> bool:
        return True

    # -- updates and webhooks ----------------------------------------------------------------

    @_bot_method("getUpdates")
    async def _get_updates(self, params: Params) -> list[JSONDict]:
        if self.webhook_url:
            raise BotAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset")
        limit = min(max(params.integer("limit", MAX_UPDATES_LIMIT) or 1, 1), MAX_UPDATES_LIMIT)
        timeout = max(params.integer("timeout", 0) or 0, 0)
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            # Simplification: applied when updates are delivered, not when they are created.
            self._allowed_updates = [str(kind) for kind in allowed]
        return await self._long_poll(offset, limit, timeout, params.request)

    async def _long_poll(
        self, offset: int | None, limit: int, seconds: int, request: Request | None
    ) -> list[JSONDict]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not (updates := self._take_updates(offset, limit)):
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing.is_set():
                break
            await self._activity.wait(min(remaining, _DISCONNECT_CHECK_INTERVAL))
            if request is not None and await request.is_disconnected():
                break
        return updates

    @_bot_method("setWebhook")
    def _set_webhook(self, params: Params) -> _Result:
        url = params.text("url", "") or ""
        if not url:
            return self._delete_webhook(params)
        _validate_webhook_url(url)
        secret = params.text("secret_token")
        if secret is not None:
            _validate_secret_token(secret)
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]
        self.webhook_url, self.webhook_secret = url, secret or None
        return _Result(True, "Webhook was set")

    @_bot_method("deleteWebhook")
    def _delete_webhook(self, params: Params) -> _Result:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        was_set, self.webhook_url, self.webhook_secret = bool(self.webhook_url), None, None
        return _Result(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    @_bot_method("getWebhookInfo")
    def _get_webhook_info(self, params: Params) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    # -- sending -----------------------------------------------------------------------------

    @_bot_method("sendMessage")
    def _send_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        text, entities, _ = self._format(params, "text", limit=MAX_MESSAGE_LENGTH, optional=False)
        markup = self._inline_markup(params)
        params.json("link_preview_options", "LinkPreviewOptions")
        content = {"text": text, "entities": entities, "reply_markup": markup}
        return self._store_bot_message(chat, content, params)

    @_bot_method("sendPhoto")
    def _send_photo(self, params: Params) -> JSONDict:
        return self._send_media(params, "photo", _photo_sizes)

    @_bot_method("sendDocument")
    def _send_document(self, params: Params) -> JSONDict:
        return self._send_media(params, "document", _document)

    def _send_media(
        self, params: Params, kind: str, describe: Callable[[str, UploadedFile | None], Any]
    ) -> JSONDict:
        chat = self._chat(params)
        file_id, upload = self._media(params, kind)
        caption, entities, _ = self._format(
            params, "caption", limit=MAX_CAPTION_LENGTH, optional=True
        )
        content = {
            kind: describe(file_id, upload),
            "caption": caption,
            "caption_entities": entities,
            "reply_markup": self._inline_markup(params),
        }
        return self._store_bot_message(chat, content, params)

    @_bot_method("sendChatAction")
    def _send_chat_action(self, params: Params) -> bool:
        self._chat(params)
        if params.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    @_bot_method("forwardMessage")
    def _forward_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        source = self._source_message(params, "message to forward not found")
        content = _message_content(source)
        origin_user = source.get("from")
        content["forward_origin"] = (
            {"type": "user", "sender_user": origin_user, "date": source["date"]}
            if origin_user
            else {"type": "chat", "sender_chat": source["chat"], "date": source["date"]}
        )
        return self._store_bot_message(chat, content, params)

    @_bot_method("copyMessage")
    def _copy_message(self, params: Params) -> JSONDict:
        chat = self._chat(params)
        source = self._source_message(params, "message to copy not found")
        content = _message_content(source)
        if params.get("caption") is not None and "text" not in content:
            caption, entities, _ = self._format(
                params, "caption", limit=MAX_CAPTION_LENGTH, optional=True
            )
            content.update(caption=caption, caption_entities=entities)
        content["reply_markup"] = self._inline_markup(params)
        return {"message_id": self._store_bot_message(chat, content, params)["message_id"]}

    def _source_message(self, params: Params, missing: str) -> JSONDict:
        source_chat = self._chat(params, "from_chat_id", sending=False)
        message_id = params.integer("message_id")
        source = self._messages.get((source_chat["id"], message_id or 0))
        if source is None:
            raise bad_request(missing)
        return source

    # -- editing and deleting ----------------------------------------------------------------

    @_bot_method("editMessageText")
    def _edit_message_text(self, params: Params) -> JSONDict | bool:
        message = self._message_to_edit(params)
        text, entities, _ = self._format(params, "text", limit=MAX_MESSAGE_LENGTH, optional=False)
        markup = self._inline_markup(params)
        if message is None:
            return True
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        changes = {"text": text, "entities": entities or None, "reply_markup": markup}
        return self._apply_edit(message, changes)

    @_bot_method("editMessageCaption")
    def _edit_message_caption(self, params: Params) -> JSONDict | bool:
        message = self._message_to_edit(params)
        caption, entities, _ = self._format(
            params, "caption", limit=MAX_CAPTION_LENGTH, optional=True
        )
        markup = self._inline_markup(params)
        if message is None:
            return True
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        changes = {
            "caption": caption or None,
            "caption_entities": entities or None,
            "reply_markup": markup,
        }
        return self._apply_edit(message, changes)

    @_bot_method("editMessageReplyMarkup")
    def _edit_message_reply_markup(self, params: Params) -> JSONDict | bool:
        message = self._message_to_edit(params)
        markup = self._inline_markup(params)
        if message is None:
            return True
        return self._apply_edit(message, {"reply_markup": markup})

    @_bot_method("deleteMessage")
    def _delete_message(self, params: Params) -> bool:
        chat = self._chat(params, sending=False)
        key = (chat["id"], params.integer("message_id") or 0)
        if self._messages.pop(key, None) is None:
            raise bad_request("message to delete not found")
        return True

    @_bot_method("deleteMessages")
    def _delete_messages(self, params: Params) -> bool:
        chat = self._chat(params, sending=False)
        ids = params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be an array of 1-100 message identifiers")
        oldest = time.time() - DELETABLE_SECONDS
        for message_id in ids:  # ids that cannot be deleted are skipped, as on Telegram
            message = self._messages.get((chat["id"], message_id))
            if message is not None and message.get("date", 0) >= oldest:
                del self._messages[(chat["id"], message_id)]
        return True

    # -- queries -----------------------------------------------------------------------------

    @_bot_method("answerCallbackQuery")
    def _answer_callback_query(self, params: Params) -> bool:
        query_id = params.text("callback_query_id") or ""
        text = params.text("text")
        if query_id not in self._pending_callbacks:
            raise bad_request(QUERY_TOO_OLD)
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self.callback_answers[query_id] = {
            "text": text,
            "show_alert": params.flag("show_alert"),
            "url": params.text("url"),
            "cache_time": params.integer("cache_time"),
        }
        return True

    @_bot_method("answerInlineQuery")
    def _answer_inline_query(self, params: Params) -> bool:
        query_id = params.text("inline_query_id") or ""
        if query_id not in self._pending_inline:
            raise bad_request(QUERY_TOO_OLD)
        results = params.json("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._validate_inline_result(result, seen)
        params.integer("cache_time")
        self._pending_inline.discard(query_id)
        self.inline_answers[query_id] = copy.deepcopy(results)
        return True

    def _validate_inline_result(self, result: Any, seen: set[str]) -> None:
        prefix = "can't parse inline query result: "
        if not isinstance(result, dict):
            raise bad_request(prefix + "InlineQueryResult must be an Object")
        if result.get("type") not in INLINE_RESULT_TYPES:
            raise bad_request(prefix + f'Result type "{result.get("type")}" is unsupported')
        result_id = result.get("id")
        if not isinstance(result_id, str) or not (
            1 <= len(result_id.encode()) <= MAX_INLINE_RESULT_ID_BYTES
        ):
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        validate_reply_markup(result.get("reply_markup"))
        if result["type"] == "article":
            self._validate_article(result, prefix)

    def _validate_article(self, result: JSONDict, prefix: str) -> None:
        title = result.get("title")
        if not isinstance(title, str) or not title.strip():
            raise bad_request(prefix + 'Can\'t find field "title"')
        content = result.get("input_message_content")
        if not isinstance(content, dict):
            raise bad_request(prefix + 'Can\'t find field "input_message_content"')
        if "message_text" in content:
            text = content["message_text"]
            if not isinstance(text, str):
                raise bad_request(prefix + 'Field "message_text" must be of type String')
            plain, entities = self._parse(text, content.get("parse_mode"), content.get("entities"))
            plain, _ = trim_formatted_text(plain, entities)
            if not plain:
                raise bad_request("MESSAGE_EMPTY")
            if utf16_len(plain) > MAX_MESSAGE_LENGTH:
                raise bad_request("MESSAGE_TOO_LONG")

    # -- bot settings ------------------------------------------------------------------------

    def _scope_key(self, params: Params) -> str:
        scope = params.json("scope", "BotCommandScope")
        if scope is None:
            return "default"
        kind = scope.get("type") if isinstance(scope, dict) else None
        if kind in SIMPLE_COMMAND_SCOPES:
            return str(kind)
        if kind not in CHAT_COMMAND_SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        assert isinstance(scope, dict)
        chat = self._lookup_chat(scope.get("chat_id"))
        if chat is None:
            raise bad_request("chat not found")
        if kind != "chat_member":
            return f"{kind}:{chat['id']}"
        user_id = scope.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise bad_request("invalid user_id specified")
        return f"chat_member:{chat['id']}:{user_id}"

    def _language(self, params: Params) -> str:
        return validate_language_code(params.text("language_code"))

    @_bot_method("setMyCommands")
    def _set_my_commands(self, params: Params) -> bool:
        commands = validate_commands(params.json("commands"))
        key = (self._scope_key(params), self._language(params))
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    @_bot_method("getMyCommands")
    def _get_my_commands(self, params: Params) -> list[JSONDict]:
        key = (self._scope_key(params), self._language(params))
        return copy.deepcopy(self.commands.get(key, []))

    @_bot_method("deleteMyCommands")
    def _delete_my_commands(self, params: Params) -> bool:
        self.commands.pop((self._scope_key(params), self._language(params)), None)
        return True

    def _set_text_setting(
        self, params: Params, store: dict[str, str], name: str, limit: int
    ) -> bool:
        value = params.text(name, "") or ""
        language = self._language(params)
        if len(value) > limit:
            raise bad_request(f"{name.replace('_', ' ')} is too long")
        if value:
            store[language] = value
        else:
            store.pop(language, None)
        return True

    def _get_text_setting(self, params: Params, store: dict[str, str], default: str) -> str:
        language = self._language(params)
        return store.get(language, store.get("", default))

    @_bot_method("setMyDescription")
    def _set_my_description(self, params: Params) -> bool:
        return self._set_text_setting(
            params, self.descriptions, "description", MAX_DESCRIPTION_LENGTH
        )

    @_bot_method("getMyDescription")
    def _get_my_description(self, params: Params) -> JSONDict:
        return {"description": self._get_text_setting(params, self.descriptions, "")}

    @_bot_method("setMyShortDescription")
    def _set_my_short_description(self, params: Params) -> bool:
        return self._set_text_setting(
            params, self.short_descriptions, "short_description", MAX_SHORT_DESCRIPTION_LENGTH
        )

    @_bot_method("getMyShortDescription")
    def _get_my_short_description(self, params: Params) -> JSONDict:
        short = self._get_text_setting(params, self.short_descriptions, "")
        return {"short_description": short}

    @_bot_method("setMyName")
    def _set_my_name(self, params: Params) -> bool:
        return self._set_text_setting(params, self.names, "name", MAX_NAME_LENGTH)

    @_bot_method("getMyName")
    def _get_my_name(self, params: Params) -> JSONDict:
        return {"name": self._get_text_setting(params, self.names, self.bot_user["first_name"])}

    @_bot_method("setChatMenuButton")
    def _set_chat_menu_button(self, params: Params) -> bool:
        chat_id = self._chat(params, sending=False)["id"] if params.has("chat_id") else None
        button = params.json("menu_button", "MenuButton") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in MENU_BUTTON_TYPES:
            raise bad_request("can't parse MenuButton JSON object")
        self.menu_buttons[chat_id] = button
        return True

    @_bot_method("getChatMenuButton")
    def _get_chat_menu_button(self, params: Params) -> JSONDict:
        chat_id = self._chat(params, sending=False)["id"] if params.has("chat_id") else None
        default = self.menu_buttons.get(None, {"type": "commands"})
        return copy.deepcopy(self.menu_buttons.get(chat_id, default))

    @_bot_method("getChat")
    def _get_chat(self, params: Params) -> JSONDict:
        chat = self._chat(params, sending=False)
        gifts = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }


# =============================================================================================
# Module helpers
# =============================================================================================


async def _http_not_found(request: Request) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, 404)


def _outcome(call: Call) -> str:
    if call.dropped:
        return f"connection dropped ({'after' if call.status else 'before'} processing)"
    return f"{call.status} {call.description}"


def _success_body(result: Any) -> JSONDict:
    if isinstance(result, _Result):
        return {"ok": True, "result": result.value, "description": result.description}
    return {"ok": True, "result": result}


def _unknown_method(raw_method: str) -> BotAPIError:
    real = _real_bot_api_methods().get(raw_method.lower())
    if real is not None:
        return bad_request(f"FakeBotAPI does not implement {real} yet")
    return BotAPIError(404, "Not Found: method not found")


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return (
            f"Too Many Requests: retry after {retry_after}" if retry_after else "Too Many Requests"
        )
    defaults = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return defaults.get(status, f"Error {status}")


_FILE_ID_PREFIXES = {"photo": "AgAC", "document": "BQAC"}


def _photo_sizes(file_id: str, upload: UploadedFile | None) -> list[JSONDict]:
    size = len(upload.data) if upload is not None else 51234
    unique_id = "AQAD" + file_id[-12:]
    return [
        {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "width": 800,
            "height": 600,
            "file_size": size,
        }
    ]


def _document(file_id: str, upload: UploadedFile | None) -> JSONDict:
    document: JSONDict = {"file_id": file_id, "file_unique_id": "AgAD" + file_id[-12:]}
    if upload is not None:
        document.update(
            file_name=upload.filename, mime_type=upload.content_type, file_size=len(upload.data)
        )
    return document


def _update_type(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


_METADATA_KEYS = frozenset(
    _names(
        "message_id from chat date edit_date reply_markup reply_to_message forward_origin"
        " message_thread_id sender_chat"
    )
)


def _message_content(message: JSONDict) -> JSONDict:
    """The content fields of a message (text, media, caption...), for forwards and copies."""
    return {
        key: copy.deepcopy(value) for key, value in message.items() if key not in _METADATA_KEYS
    }


def _validate_webhook_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad_request("bad webhook: Failed to resolve host: Name or service not known") from exc
    if parts.scheme.lower() != "https":
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if not parts.hostname:
        raise bad_request("bad webhook: Failed to resolve host: Name or service not known")
    if port is not None and port not in WEBHOOK_PORTS:
        raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")


def _validate_secret_token(secret: str) -> None:
    if not secret or len(secret) > MAX_SECRET_TOKEN_LENGTH:
        raise bad_request("secret token must be 1-256 characters long")
    if not _SECRET_TOKEN_RE.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
