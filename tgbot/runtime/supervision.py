"""Keeping background work alive, and knowing whether it is.

`supervise` runs a long-running coroutine (the broadcast worker, reconciliation with Stripe)
and starts it again when it fails, after a pause that doubles each time up to a cap: a
database that is down for a minute costs a few tries, not the task. Each failure is logged
once at ERROR by its type (never a message, which could carry someone's words) and counted.

`Health` collects what readiness needs: each task's state, the last answer from Telegram to
`getUpdates`, the last successful reconciliation. Nothing here touches the network.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FIRST_PAUSE = 1.0
MAX_PAUSE = 60.0


@dataclass
class TaskHealth:
    name: str
    running: bool = False
    finished: bool = False
    """Ended of its own accord (reconciliation with RECONCILE_INTERVAL=0): not a failure."""
    failures: int = 0
    failing: bool = False
    """Failed, and has not got its work done since."""
    last_error: str | None = None
    """The type of the last exception, for readiness and the log."""
    last_success: float | None = None
    """When the task last completed a round of its work (monotonic clock)."""

    @property
    def alive(self) -> bool:
        return (self.running or self.finished) and not self.failing

    def succeeded(self) -> None:
        self.last_success = time.monotonic()
        self.failing = False


@dataclass
class Health:
    tasks: dict[str, TaskHealth] = field(default_factory=dict)
    telegram_ok: dict[str, float] = field(default_factory=dict)
    """Bot API method -> when it last answered successfully (monotonic clock)."""

    def task(self, name: str) -> TaskHealth:
        return self.tasks.setdefault(name, TaskHealth(name))

    def telegram_answered(self, endpoint: str) -> None:
        self.telegram_ok[endpoint] = time.monotonic()


async def supervise(
    health: TaskHealth,
    run: Callable[[], Awaitable[None]],
    *,
    first_pause: float = FIRST_PAUSE,
    max_pause: float = MAX_PAUSE,
) -> None:
    """Run `run()` until it returns, starting it again after each failure."""
    pause = first_pause
    while True:
        health.running = True
        started = time.monotonic()
        try:
            await run()
        except asyncio.CancelledError:
            health.running = False
            raise
        except Exception as error:
            health.running, health.failing = False, True
            health.failures += 1
            if time.monotonic() - started > max_pause:
                pause = first_pause  # it had been working: this is a new problem
            health.last_error = type(error).__name__
            log.error(
                "%s failed (%s); starting it again in %.0f s",
                health.name, health.last_error, pause,
            )  # fmt: skip
            log.debug("%s failure", health.name, exc_info=error)
            await asyncio.sleep(pause)
            pause = min(pause * 2, max_pause)
        else:
            health.running, health.finished = False, True
            return
