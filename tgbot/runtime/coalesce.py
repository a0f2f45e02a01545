"""Run a job once for a burst of requests instead of once per request."""

from collections.abc import Awaitable, Callable


class Coalescer:
    """Requests that arrive while the job runs are folded into one more run after it.

    Twenty webhooks arriving together then cost two runs of the follow-up work (settling
    payments, thanking donors), not twenty runs that each read every unsettled payment.
    """

    def __init__(self) -> None:
        self._running = False
        self._again = False

    async def run(self, job: Callable[[], Awaitable[None]]) -> None:
        if self._running:
            self._again = True
            return
        self._running = True
        try:
            self._again = True
            while self._again:
                self._again = False
                await job()
        finally:
            self._running = False
