"""Handling updates of different people at once, and each person's in the order sent.

python-telegram-bot either handles every update one after another (one slow reply holds up
everyone) or all concurrently (a `/language ru` and the question right after it may race).
`PerUserOrder` runs updates concurrently but queues those of the same user behind each other.

Before any queue, every update goes through the `first` responder: the danger check, which
must answer a call for help at once even while the same person's previous update waits on
Stripe or the database. It can also declare an update fully handled.
"""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 64
"""Updates whose handlers run at once (each may hold an HTTP connection)."""
MAX_PENDING_UPDATES = 4096
"""Updates accepted at once, most of them waiting their turn; the first responder runs for
each as soon as it is accepted, so a call for help is never held back by the 64 above."""

FirstResponder = Callable[[object], Awaitable[bool]]
"""Runs before any queue; True means the update needs nothing more."""


async def _nothing_first(update: object) -> bool:
    return False


class PerUserOrder(BaseUpdateProcessor):
    __slots__ = ("_locks", "_running", "first")

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(MAX_PENDING_UPDATES)
        self._running = asyncio.BoundedSemaphore(max_concurrent_updates)
        # A lock lives only while an update of its user is waiting or running.
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.first: FirstResponder = _nothing_first

    async def do_process_update(self, update: object, coroutine: Coroutine[Any, Any, Any]) -> None:
        try:
            if await self.first(update):
                coroutine.close()
                return
        except BaseException:
            coroutine.close()
            raise
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            async with self._running:
                await coroutine
            return
        lock = self._locks.get(user.id)
        if lock is None:
            lock = self._locks[user.id] = asyncio.Lock()
        async with lock, self._running:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
