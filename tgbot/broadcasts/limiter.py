"""One pace for every message the bot sends, with people who are chatting served first.

Telegram allows a bot about 30 messages per second in total. A broadcast that sends at that
pace on its own leaves no room for replies, and a shared queue makes a supporter's answer
wait behind thousands of news messages. Here replies are never queued: they spend the
budget as they go, and broadcast messages wait for what is left. A 429 `RetryAfter` means
Telegram wants silence, so every message waits out `retry_after` before the request is
tried again (replies included: sending during the wait only makes the wait longer).
An emergency reply (`Priority.URGENT`) is first in line when such a pause ends.

Every message the bot sends passes here, so `on_sent` sees each one's id: erasing a chat
needs them, and Telegram offers no way to list a chat's messages.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from enum import Enum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

MESSAGE_ENDPOINTS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage",
        "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
    }
)  # fmt: skip
"""Requests that count against Telegram's message limits."""
FLOOD_RETRIES = 3
"""Times one request is tried again after a 429 before the error reaches its caller."""
RETRY_MARGIN = 0.1
"""Seconds added to `retry_after`, so a retry never lands a moment early."""
BUCKET = 2.0
"""Tokens the bucket holds: one spare, so a sleep that wakes a little late is made up for
instead of lowering the pace (with one, 29/s came out as about 27/s)."""


class Priority(Enum):
    BULK = "bulk"
    """A broadcast message: waits for budget left over by replies."""
    URGENT = "urgent"
    """The emergency contact: goes before every other message waiting out a pause."""


JSON = bool | dict[str, Any] | list[dict[str, Any]]
SentObserver = Callable[[str, dict[str, Any], JSON], None]
"""Told of each message sent or edited: the method, its parameters and Telegram's result."""


def retry_seconds(error: RetryAfter) -> float:
    """`retry_after` is an int or a timedelta, depending on python-telegram-bot's settings."""
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class OutboundLimiter(BaseRateLimiter[Priority]):
    """A token bucket of `rate` messages per second shared by replies and broadcasts."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        on_sent: SentObserver | None = None,
        on_answer: Callable[[str], None] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._clock = clock
        self._on_sent = on_sent
        self._on_answer = on_answer
        """Told the method of each request Telegram answered: readiness watches getUpdates."""
        self._tokens = 1.0
        self._updated = clock()
        self._paused_until = 0.0
        self._bulk = asyncio.Lock()
        self._urgent_waiting = 0
        self._urgent_sent = asyncio.Event()
        self.pauses = 0
        """How many 429 answers were waited out (for reports and benchmarks)."""

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> JSON:
        if endpoint not in MESSAGE_ENDPOINTS:
            result = await callback(*args, **kwargs)
            if self._on_answer is not None:
                self._on_answer(endpoint)
            return result
        for attempt in range(FLOOD_RETRIES + 1):
            if rate_limit_args is Priority.URGENT:
                await self._urgent_turn()
            else:
                await self._wait_out_pause()
                await self._after_urgent()
            if rate_limit_args is Priority.BULK:
                await self._take()
            else:
                self._spend()
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as error:
                self.pause(retry_seconds(error))
                if attempt == FLOOD_RETRIES:
                    raise
            else:
                if self._on_sent is not None:
                    self._on_sent(endpoint, data, result)
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    def pause(self, seconds: float) -> None:
        """No message goes out for `seconds` (Telegram's `retry_after`) from now."""
        self.pauses += 1
        until = self._clock() + seconds + RETRY_MARGIN
        self._paused_until = max(self._paused_until, until)
        log.info("Telegram asked for a pause of %.0f s; all messages wait", seconds)

    async def _urgent_turn(self) -> None:
        """Wait out a pause as one of the urgent messages that go first when it ends."""
        self._urgent_waiting += 1
        try:
            await self._wait_out_pause()
        finally:
            self._urgent_waiting -= 1
            if not self._urgent_waiting:
                self._urgent_sent.set()

    async def _after_urgent(self) -> None:
        """Let urgent messages that waited out the same pause go first."""
        while self._urgent_waiting:
            self._urgent_sent.clear()
            await self._urgent_sent.wait()
            await self._wait_out_pause()

    async def _wait_out_pause(self) -> None:
        # a sleep, not an event: a later 429 can push the end of the pause further out
        while (wait := self._paused_until - self._clock()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(BUCKET, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def _spend(self) -> None:
        """A reply goes out at once; the broadcast makes up for it by waiting longer."""
        self._refill()
        self._tokens = max(self._tokens - 1.0, -self.rate)

    async def _take(self) -> None:
        """Wait for a whole token; broadcast senders queue for them one at a time."""
        async with self._bulk:
            while True:
                await self._wait_out_pause()
                self._refill()
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)
