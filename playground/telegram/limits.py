"""Telegram's limits and the checks that enforce them.

Size limits (message text, captions, callback data, keyboards, commands, descriptions...), the
validation of reply markup, bot commands, language codes and webhook addresses, and flood
control: over a limit set by :meth:`FakeBotAPI.set_flood_limit`, a request gets 429 "Too Many
Requests" with ``retry_after``.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from playground.telegram.errors import JSONDict, _names, bad_request, too_many_requests
from playground.telegram.routing import Params

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

#: Methods that count against flood limits (see :meth:`FakeBotAPI.set_flood_limit`).
FLOOD_LIMITED_METHODS = frozenset(
    _names(
        "sendMessage sendPhoto sendDocument forwardMessage copyMessage editMessageText"
        " editMessageCaption editMessageReplyMarkup"
    )
)

WRONG_HTTP_URL = "inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"

_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")

#: How early (seconds) a request may arrive and still be within a flood limit or retry_after;
#: absorbs scheduling jitter between a well-behaved client's limiter and this server.
FLOOD_GRACE = 0.05


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


# =============================================================================================
# Flood control
# =============================================================================================


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


class LimitsMixin:
    """Flood limits of :class:`FakeBotAPI`: configuration, the 429 check, what it recorded."""

    def set_flood_limit(
        self, per_second: float | None, per_chat_per_second: float | None = None
    ) -> None:
        """Limit flood-limited methods (:data:`FLOOD_LIMITED_METHODS`) globally and per chat.

        Each limit is a token bucket: ``rate`` requests per second with a burst of
        ``max(1, rate)``. ``None`` disables a limit. Over the limit: 429 "Too Many Requests:
        retry after N" with ``parameters.retry_after = N``.
        """
        self._flood.configure(per_second, per_chat_per_second)

    @property
    def flood_events(self) -> list[FloodEvent]:
        return list(self._flood.events)

    @property
    def early_retries(self) -> int:
        """Requests sent to a scope while its retry_after had not elapsed yet."""
        return self._flood.early_retries

    def _check_flood(self, method: str, params: Params) -> None:
        if method not in FLOOD_LIMITED_METHODS:
            return
        chat = self._lookup_chat(params.get("chat_id"))
        chat_id = chat["id"] if chat is not None else None
        retry_after = self._flood.check(method, chat_id, time.monotonic())
        if retry_after is not None:
            raise too_many_requests(retry_after)
