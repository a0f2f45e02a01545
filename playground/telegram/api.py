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

The pieces, one concern each (:class:`FakeBotAPI` combines their mixins):
:mod:`.routing` (HTTP, request decoding, the method table and dispatch), :mod:`.updates` (the
update queue, long polling and webhooks), :mod:`.messages` (sending, editing, deleting,
callback and inline answers), :mod:`.profile` (getMe, commands, descriptions, names, menu
buttons, getChat), :mod:`.limits` (Telegram's limits, validation and flood control),
:mod:`.faults` (faults a test injects), :mod:`.state` (users, chats, messages, recorded calls
and the control API tests use) and :mod:`.errors` (Telegram's error answers).

Deliberate simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import deque

from playground.local_server import LocalServer
from playground.telegram.errors import JSONDict
from playground.telegram.faults import FaultsMixin, _Fault, _RandomFaults
from playground.telegram.limits import LimitsMixin, _FloodControl
from playground.telegram.messages import MessagesMixin
from playground.telegram.profile import ProfileMixin
from playground.telegram.routing import (
    _HIDE_DROPPED_CONNECTIONS,
    _UVICORN_ERROR_LOGGER,
    Call,
    RoutingMixin,
    UploadedFile,
)
from playground.telegram.state import SentMessage, StateMixin, _Consumption
from playground.telegram.updates import UpdatesMixin, _Signal

__all__ = ["DEFAULT_TOKEN", "FakeBotAPI"]


DEFAULT_TOKEN = "123456:TEST-token"


class FakeBotAPI(
    StateMixin,
    UpdatesMixin,
    MessagesMixin,
    ProfileMixin,
    LimitsMixin,
    FaultsMixin,
    RoutingMixin,
):
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
