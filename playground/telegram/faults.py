"""Faults a test injects into :class:`FakeBotAPI`.

Blocked and deactivated users, error answers (``fail_next``), dropped connections
(``drop_next``), seeded random server errors and drops (``set_random_faults``) and latency.
They are answered like real Telegram faults but are never violations.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from playground.telegram.errors import BotAPIError, _default_description
from playground.telegram.limits import FLOOD_LIMITED_METHODS
from playground.telegram.routing import _METHODS, Params, _ConnectionDropped


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


class FaultsMixin:
    """The faults a test can inject, and how :class:`FakeBotAPI` raises them."""

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

    def set_latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds``."""
        self._latency = max(0.0, seconds)

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
