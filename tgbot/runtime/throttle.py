"""How often one person may make the bot work: a token bucket per user, in memory.

A person typing or tapping buttons stays far below the limit. A script sending hundreds of
messages a minute is told once to slow down, then ignored until the bucket refills, so it
cannot take the bot's time (or Telegram's sending budget) from everyone else.
"""

import time
from collections.abc import Callable
from enum import Enum

BURST = 20
"""Updates a person may send in a quick burst."""
PER_MINUTE = 40
"""Updates per minute a person may keep sending."""
URGENT_BURST = 10
"""Emergency replies one person gets in a burst: enough to see the contact, not a spam tool."""
URGENT_PER_MINUTE = 20
MAX_TRACKED = 10_000
"""People remembered at once; idle ones are forgotten first (memory stays bounded). A person
forgotten starts again with a full bucket, which only lets them send a little more."""


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"
    """Over the limit for the first time in a row: say so once."""
    DROP = "drop"


class UserThrottle:
    def __init__(
        self,
        burst: int = BURST,
        per_minute: int = PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.rate = per_minute / 60
        self._clock = clock
        self._buckets: dict[int, tuple[float, float, bool]] = {}
        """user id -> (tokens, last update, warned since the bucket ran dry)"""

    def check(self, user_id: int) -> Verdict:
        now = self._clock()
        tokens, updated, warned = self._buckets.pop(user_id, (self.burst, now, False))
        tokens = min(self.burst, tokens + (now - updated) * self.rate)
        if tokens >= 1:
            verdict, tokens, warned = Verdict.ALLOW, tokens - 1, False
        else:
            verdict, warned = (Verdict.DROP if warned else Verdict.WARN), True
        self._buckets[user_id] = (tokens, now, warned)  # re-inserted: dict order = recency
        if len(self._buckets) > MAX_TRACKED:
            del self._buckets[next(iter(self._buckets))]
        return verdict

    def forget(self, user_id: int) -> None:
        self._buckets.pop(user_id, None)


def urgent_throttle() -> UserThrottle:
    return UserThrottle(URGENT_BURST, URGENT_PER_MINUTE)
