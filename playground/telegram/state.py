"""What :class:`FakeBotAPI` knows, and the control API that tests and the playground page use.

State: users, chats, stored messages and recorded calls (:class:`SentMessage` for the bot's
messages). The test side creates users and chats and sends updates as people would
(``make_user``, ``send_message``, ``press_button``, ``inline_query``, ``user_blocks_bot``...)
and inspects what the bot did (``sent_messages``, ``history``, ``wait_for_message``,
``wait_for_call``...).
"""

from __future__ import annotations

import asyncio
import copy
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playground.telegram.errors import JSONDict, _names
from playground.telegram.html import utf16_len
from playground.telegram.routing import Call
from playground.telegram.updates import MESSAGE_UPDATE_TYPES, UPDATE_TYPES

_T = TypeVar("_T")

#: Methods whose results are listed by :meth:`FakeBotAPI.sent_messages`.
MESSAGE_METHODS = frozenset(
    _names(
        "sendMessage sendPhoto sendDocument forwardMessage copyMessage editMessageText"
        " editMessageCaption"
    )
)

_BOT_COMMAND_IN_TEXT_RE = re.compile(
    r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])"
)

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


@dataclass
class _Consumption:
    """Which recorded items an ordered ``wait_for_*`` has already handed out."""

    taken: set[int] = field(default_factory=set)


class StateMixin:
    """The state of :class:`FakeBotAPI` and its control API."""

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

    # -- recording calls ---------------------------------------------------------------------

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

    # -- chats and messages, for the handlers ------------------------------------------------

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


def _outcome(call: Call) -> str:
    if call.dropped:
        return f"connection dropped ({'after' if call.status else 'before'} processing)"
    return f"{call.status} {call.description}"
