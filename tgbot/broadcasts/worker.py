"""The broadcast worker: sends every pending delivery once, at the limiter's pace.

Each sender has at most one message in flight, and its row is marked 'sending' before the
request and settled right after Telegram answers. A crash between Telegram accepting a message
and the row being settled is the one window in which a subscriber can get a copy twice: on
restart, rows still 'sending' are sent again and counted as `resent`, so the number of
possible duplicates is known and never exceeds the number of senders (`BROADCAST_SENDERS`).
"""

import asyncio
import contextlib
import logging
import random

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from tgbot.broadcasts.compose import discreet_prefix
from tgbot.broadcasts.limiter import Priority
from tgbot.broadcasts.report import report_text
from tgbot.payments.money import Money
from tgbot.payments.progress import Converter, share_of_evacuation
from tgbot.runtime.supervision import TaskHealth, supervise
from tgbot.settings import Settings
from tgbot.storage import Storage
from tgbot.storage.broadcasts import Broadcast, Delivery, Outcome, Summary
from tgbot.text.i18n import Texts, texts

log = logging.getLogger(__name__)

PAGE_SIZE = 500
"""Deliveries read from the database at a time: memory stays flat however many subscribers."""
ATTEMPTS = 5
"""Tries per delivery on network errors and Telegram 5xx before it is marked failed."""
RETRY_BASE = 0.5
RETRY_CAP = 30.0
STOP_GRACE = 5.0
"""Seconds `stop()` lets messages in flight finish before cancelling them."""
SETTLE_PAUSE = 1.0
"""Seconds between tries to record a sent message while the database fails: the record must
land, or the message would be sent again after a restart."""


def stop_button(t: Texts) -> InlineKeyboardMarkup:
    """Every news message carries a one-tap way out."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t("news.stop_button"), callback_data="sub:off")]]
    )


def milestone_step(settings: Settings) -> Money | None:
    """`MILESTONE_STEP`, else one evacuation in the goal's currency (None if unconvertible)."""
    if not (settings.milestone_news and settings.donations_enabled):
        return None
    if settings.milestone_step is not None:
        return Money.from_major(settings.milestone_step, settings.goal_currency)
    return Converter(settings.goal_currency, settings.exchange_rates).evacuation_cost()


class Broadcaster:
    """Runs in the background while the bot runs; `wake()` it when there is new work."""

    def __init__(self, settings: Settings, storage: Storage, health: TaskHealth) -> None:
        self.settings = settings
        self.health = health
        self.step = milestone_step(settings)
        """One milestone in the goal's currency; None when milestone news is off."""
        self._converter = Converter(settings.goal_currency, settings.exchange_rates)
        self._store = storage.broadcasts
        self._users = storage.users
        self._bot: Bot | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._jitter = random.Random()  # noqa: S311 - spreads retries, guards nothing

    def start(self, bot: Bot) -> None:
        self._bot = bot
        self._stop.clear()
        self._task = asyncio.create_task(supervise(self.health, self._run), name="broadcasts")

    def news_text(self, broadcast: Broadcast, t: Texts) -> str:
        """What a reader of `t.language` gets: their block, else the default language's."""
        if broadcast.kind == "post":
            return (
                broadcast.texts.get(t.language) or broadcast.texts[self.settings.default_language]
            )
        if broadcast.amount is None or broadcast.currency is None:
            raise ValueError(f"milestone {broadcast.broadcast_id} was stored without its total")
        total = Money(broadcast.amount, broadcast.currency)
        text = t("news.milestone", amount=total)
        share = share_of_evacuation(total, self._converter)
        if share is not None and share >= 1:
            text += "\n\n" + t("news.milestone_people", count=int(share))
        return text

    async def send_copy(
        self,
        bot: Bot,
        chat_id: int,
        broadcast: Broadcast,
        language: str,
        priority: Priority | None = None,
        *,
        discreet: bool = False,
    ) -> None:
        """Send one copy as `language`'s subscribers see it; the admin's preview uses it too.

        A `discreet` copy comes without a sound and starts with a neutral line, so that the
        first line of its notification reveals nothing about the appeal.
        """
        t = texts(language)
        text = self.news_text(broadcast, t)
        if discreet:
            text = discreet_prefix(t) + text
        if broadcast.photo:
            await bot.send_photo(
                chat_id, broadcast.photo, caption=text, reply_markup=stop_button(t),
                disable_notification=discreet, rate_limit_args=priority,
            )  # fmt: skip
        else:
            await bot.send_message(
                chat_id, text, reply_markup=stop_button(t), disable_notification=discreet,
                rate_limit_args=priority,
            )  # fmt: skip

    def wake(self) -> None:
        self._wake.set()

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    async def check_milestone(self, raised: Money) -> int | None:
        """Announce the latest milestone `raised` has passed, unless it was announced already.

        Returns the new broadcast's id. A total that fell (a refund) announces nothing new.
        """
        if self.step is None or raised.currency != self.step.currency:
            return None
        reached = raised.minor // self.step.minor
        if reached < 1:
            return None
        amount = self.step.minor * reached
        broadcast_id = await self._store.create_milestone(reached, amount, self.step.currency)
        if broadcast_id is not None:
            log.info("milestone %d reached; news broadcast %d started", reached, broadcast_id)
            self.wake()
        return broadcast_id

    async def stop(self) -> None:
        """Let messages in flight finish and settle, then stop; the rest waits for a restart."""
        if self._task is None:
            return
        self._stop.set()
        self._wake.set()
        task, self._task = self._task, None
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        """Pick up where the last run stopped, then send until stopped. A failure (the
        database) ends the run; `supervise` starts it again, which resends what was in
        flight."""
        resent = await self._store.recover()
        self.health.succeeded()  # the database answers again
        if resent:
            log.warning("%d news messages were in flight when the bot stopped; resending", resent)
        for broadcast_id in await self._store.pause_after_restore():
            await self._ask_to_resume(broadcast_id)
        for summary in await self._store.unreported():
            await self._report(summary)
        while not self._stopping:
            broadcast = await self._store.next_to_send()
            if broadcast is None:
                self.health.succeeded()
                await self._wait_for_work()
                continue
            await self._deliver(broadcast)
            if self._stopping:
                return
            summary = await self._store.finish(broadcast.broadcast_id)
            self.health.succeeded()
            if summary is not None:
                await self._report(summary)

    async def _wait_for_work(self) -> None:
        self._wake.clear()
        if await self._store.next_to_send() is None and not self._stopping:
            await self._wake.wait()

    async def _deliver(self, broadcast: Broadcast) -> None:
        """One pass over the pending rows, `BROADCAST_SENDERS` messages in flight at most."""
        senders = self.settings.broadcast_senders
        queue: asyncio.Queue[Delivery | None] = asyncio.Queue(maxsize=senders * 2)
        tasks = [asyncio.create_task(self._produce(queue, broadcast, senders))]
        tasks += [asyncio.create_task(self._sender(queue, broadcast)) for _ in range(senders)]
        try:
            await asyncio.gather(*tasks)
        finally:  # one failed (the database?): stop the others, the rows say where we were
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _produce(
        self, queue: "asyncio.Queue[Delivery | None]", broadcast: Broadcast, senders: int
    ) -> None:
        after = 0
        while not self._stopping:
            page = await self._store.pending(broadcast.broadcast_id, after, PAGE_SIZE)
            if not page:
                break
            for delivery in page:
                await queue.put(delivery)
            after = page[-1].user_id
        for _ in range(senders):
            await queue.put(None)

    async def _sender(self, queue: "asyncio.Queue[Delivery | None]", broadcast: Broadcast) -> None:
        while (delivery := await queue.get()) is not None:
            if not self._stopping:
                await self._send_one(broadcast, delivery)

    async def _send_one(self, broadcast: Broadcast, delivery: Delivery) -> None:
        bid, user_id = broadcast.broadcast_id, delivery.user_id
        if not await self._store.claim(bid, user_id):
            return  # cancelled, or the person used /forget, since the page was read
        result = await self._attempt(broadcast, delivery)
        while True:  # a message sent must be recorded as sent, or it goes out twice
            try:
                if result is None:
                    await self._store.release(bid, user_id)
                else:
                    await self._store.settle(bid, user_id, *result)
                return
            except Exception as error:
                log.warning("recording a news delivery failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(SETTLE_PAUSE)

    async def _attempt(
        self, broadcast: Broadcast, delivery: Delivery
    ) -> tuple[Outcome, str | None] | None:
        """Send with retries; None when stopping interrupted the retries."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self.send_copy(
                    self._bot, delivery.user_id, broadcast, delivery.language, Priority.BULK,
                    discreet=delivery.discreet,
                )  # fmt: skip
                return Outcome.SENT, None
            except Forbidden:
                return Outcome.BLOCKED, None
            except RetryAfter:
                problem = "flood control"  # the limiter already waited out every retry_after
            except BadRequest as error:
                return Outcome.FAILED, error.message
            except NetworkError as error:  # timeouts, dropped connections, Telegram 5xx
                problem = error.message
            except TelegramError as error:
                return Outcome.FAILED, error.message
            except Exception:  # a bug must fail one delivery, not stall the broadcast
                log.exception("could not send a news message")
                return Outcome.FAILED, "internal error"
            if attempt == ATTEMPTS:
                return Outcome.FAILED, problem
            if not await self._backoff(attempt):
                return None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _backoff(self, attempt: int) -> bool:
        """Sleep with exponential backoff and jitter; False if the worker is stopping."""
        delay = min(RETRY_CAP, RETRY_BASE * 2 ** (attempt - 1)) * self._jitter.uniform(0.5, 1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)
        return not self._stopping

    async def _admin_texts(self, admin_id: int) -> Texts:
        """An admin's texts: their stored language, else the default one."""
        record = await self._users.get(admin_id)
        return texts(record.language if record else self.settings.default_language)

    async def _ask_to_resume(self, broadcast_id: int) -> None:
        """After a restore from a backup: ask the admins whether to send the rest of a post."""
        log.warning(
            "news broadcast %d paused: the database was restored from a backup", broadcast_id
        )
        for admin_id in self.settings.admin_ids:
            t = await self._admin_texts(admin_id)
            resume, cancel = f"post:resume:{broadcast_id}", f"post:cancel:{broadcast_id}"
            buttons = InlineKeyboardMarkup([[
                InlineKeyboardButton(t("news.resume_button"), callback_data=resume),
                InlineKeyboardButton(t("news.cancel_button"), callback_data=cancel),
            ]])  # fmt: skip
            try:
                await self._bot.send_message(
                    admin_id, t("news.paused_after_restore", id=broadcast_id), reply_markup=buttons
                )
            except TelegramError as error:
                log.warning("could not ask an admin to resume news: %s", type(error).__name__)

    async def _report(self, summary: Summary) -> None:
        """Tell the admin who started a post how it went, once."""
        if summary.admin_id is None or not await self._store.claim_report(summary.broadcast_id):
            return
        t = await self._admin_texts(summary.admin_id)
        try:
            await self._bot.send_message(summary.admin_id, report_text(t, summary))
        except TelegramError as error:
            log.warning("could not send a broadcast report: %s", type(error).__name__)
