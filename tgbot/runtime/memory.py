"""What the bot keeps about people only in memory, bounded in size and age, never on disk.

The emergency reply must not wait on the database, so the language a person chose is
mirrored here when their stored row is read. Erasing a chat needs the ids of its recent
messages: Telegram has no call to list them, and ids in private chats come from one counter
per bot account, so they cannot be derived. Short-lived conversation state (an amount the bot
waits for, a reason for leaving it may count) lives here too, instead of python-telegram-bot's
`user_data`, which grows with every person ever seen. Every structure forgets a person on
request (`/forget`, erasing the chat) and drops the least recently seen, or the too old, first.
"""

from __future__ import annotations

import time
from array import array
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

DELETABLE_SECONDS = 48 * 3600
"""Telegram lets a bot delete a private chat's messages for 48 hours after they were sent."""
MAX_PEOPLE = 10_000
"""People remembered at once by each structure; the least recently seen are dropped first.
Forgetting costs little: a language falls back to the client's, news may be offered again."""
MAX_CHATS = 20_000
"""Chats whose recent message ids are kept for erasing: the most recently active ones, which
are those whose person may need to erase them now."""
MAX_MESSAGES_PER_CHAT = 200
"""Ids kept per chat: more than anyone exchanges with this bot in 48 hours. With 16 bytes a
message, a full table stays under 70 MB even if every chat were full."""


V = TypeVar("V")


class PerPerson(Generic[V]):
    """One value per person, at most `capacity` people and `max_age` seconds old."""

    def __init__(
        self,
        capacity: int = MAX_PEOPLE,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.max_age = max_age
        self._clock = clock
        self._values: OrderedDict[int, tuple[float, V]] = OrderedDict()

    def get(self, user_id: int) -> V | None:
        found = self._values.get(user_id)
        if found is None:
            return None
        if self.max_age is not None and self._clock() - found[0] > self.max_age:
            del self._values[user_id]
            return None
        return found[1]

    def put(self, user_id: int, value: V) -> None:
        self._values[user_id] = (self._clock(), value)
        self._values.move_to_end(user_id)
        if len(self._values) > self.capacity:
            self._values.popitem(last=False)

    def pop(self, user_id: int) -> V | None:
        found = self.get(user_id)
        self._values.pop(user_id, None)
        return found

    def forget(self, user_id: int) -> None:
        self._values.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._values)


class RecentMessages:
    """Ids of the messages of each private chat that can still be deleted.

    Each chat's ids sit in one flat array of (time sent, message id) pairs, oldest first.
    """

    def __init__(
        self,
        capacity: int = MAX_CHATS,
        per_chat: int = MAX_MESSAGES_PER_CHAT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_chat = per_chat
        self._clock = clock
        self._chats: OrderedDict[int, array[int]] = OrderedDict()

    def add(self, chat_id: int, message_id: int) -> None:
        pairs = self._chats.get(chat_id)
        if pairs is None:
            pairs = self._chats[chat_id] = array("q")
            if len(self._chats) > self.capacity:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
            self._expire(pairs)
        pairs.extend((int(self._clock()), message_id))
        if len(pairs) > 2 * self.per_chat:
            del pairs[:2]

    def record_sent(self, method: str, request: dict[str, Any], result: object) -> None:
        """Note a message the bot sent to a private chat (an `OutboundLimiter` observer).

        Private chats have positive ids, the person's own; groups and channels negative.
        An edit names a message already noted (or forgotten on purpose): it is not noted.
        """
        if method.startswith("edit"):
            return
        chat_id = request.get("chat_id")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if isinstance(chat_id, int) and chat_id > 0 and isinstance(message_id, int):
            self.add(chat_id, message_id)

    def take(self, chat_id: int) -> list[int]:
        """The chat's deletable message ids, forgotten here as they are handed out."""
        pairs = self._chats.pop(chat_id, None)
        if pairs is None:
            return []
        self._expire(pairs)
        return sorted(set(pairs[1::2]))

    def forget(self, chat_id: int) -> None:
        self._chats.pop(chat_id, None)

    def _expire(self, pairs: array[int]) -> None:
        oldest = self._clock() - DELETABLE_SECONDS
        expired = 0
        while expired < len(pairs) and pairs[expired] < oldest:
            expired += 2
        del pairs[:expired]

    def __len__(self) -> int:
        return len(self._chats)
