"""Whether the bot is doing its job, for `/readyz` and uptime monitors.

Liveness (`/healthz`) only says the process and its event loop answer. Readiness names every
problem it finds, without secrets:
- Telegram updates are flowing: in polling mode the last `getUpdates` succeeded within
  `UPDATES_FRESH` seconds; in webhook mode `getWebhookInfo` shows no error in the last
  `WEBHOOK_ERROR_WINDOW` seconds (asked at most every `WEBHOOK_INFO_TTL` seconds);
- the database answers;
- the broadcast worker and, with donations on, reconciliation are running;
- reconciliation has succeeded within its last three intervals.
"""

import time
from datetime import UTC, datetime

from telegram import Bot
from telegram.error import TelegramError

from tgbot.services import BROADCASTS, RECONCILIATION, Services

UPDATES_FRESH = 60.0
WEBHOOK_ERROR_WINDOW = 300.0
WEBHOOK_INFO_TTL = 30.0
RECONCILE_ROUNDS = 3


class Readiness:
    def __init__(self, services: Services, bot: Bot, *, polling: bool) -> None:
        self.services = services
        self.bot = bot
        self.polling = polling
        self.started = time.monotonic()
        self._webhook_checked = -WEBHOOK_INFO_TTL
        self._webhook_problem: str | None = None

    async def problems(self) -> list[str]:
        found = [await self._telegram(), await self._database()]
        health = self.services.health
        broadcasts = health.task(BROADCASTS)
        if not broadcasts.alive:
            found.append(f"broadcast worker failing ({broadcasts.last_error}); restarting")
        if self.services.payments is not None:
            found.append(self._reconciliation())
        return [problem for problem in found if problem]

    async def _telegram(self) -> str | None:
        if self.polling:
            last = self.services.health.telegram_ok.get("getUpdates", self.started)
            if (age := time.monotonic() - last) > UPDATES_FRESH:
                return f"no successful getUpdates for {age:.0f} s"
            return None
        now = time.monotonic()
        if now - self._webhook_checked >= WEBHOOK_INFO_TTL:
            self._webhook_checked = now
            self._webhook_problem = await self._webhook_error()
        return self._webhook_problem

    async def _webhook_error(self) -> str | None:
        try:
            info = await self.bot.get_webhook_info()
        except TelegramError as error:
            return f"getWebhookInfo failed ({type(error).__name__})"
        if info.last_error_date is None:
            return None
        age = (datetime.now(UTC) - info.last_error_date).total_seconds()
        if age <= WEBHOOK_ERROR_WINDOW:
            return f"Telegram reported a webhook error {age:.0f} s ago"
        return None

    async def _database(self) -> str | None:
        try:
            await self.services.storage.database.ping()
        except Exception as error:  # any failure means the database is not usable
            return f"database unusable ({type(error).__name__})"
        return None

    def _reconciliation(self) -> str | None:
        task = self.services.health.task(RECONCILIATION)
        if not task.alive:
            return f"reconciliation failing ({task.last_error}); restarting"
        interval = self.services.settings.reconcile_interval
        if not interval:
            return None
        last = task.last_success or self.started
        if (age := time.monotonic() - last) > RECONCILE_ROUNDS * interval:
            return f"no successful reconciliation for {age:.0f} s"
        return None
