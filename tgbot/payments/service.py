"""Donations from start to total: Checkout links, events applied once, reconciliation.

Stripe never learns who is giving: a session carries only a random intent id, and only this
bot's database knows which chat it belongs to.
"""

import logging
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tgbot.payments.events import HANDLED_EVENTS, MalformedEvent, changes_from
from tgbot.payments.gateway import PaymentsUnavailable, StripeGateway
from tgbot.payments.money import Money
from tgbot.payments.progress import Converter, Progress, progress
from tgbot.periods import day_start, week_start
from tgbot.settings import Settings
from tgbot.storage import Storage
from tgbot.storage.donations import Change, ExportRow, MonthlyGift, RefundChange, TotalsRow

log = logging.getLogger(__name__)

SESSION_LIFETIME = 2 * 3600
"""Seconds a Checkout link stays payable (Stripe allows 30 minutes to 24 hours)."""
REUSE_MARGIN = 10 * 60
"""A link is handed out again only if it stays open at least this long."""
RATE_WINDOW = 3600
RECONCILE_CHECKPOINT = "stripe_events_until"
RECONCILE_FIRST_LOOKBACK = 30 * 24 * 3600 - 3600
"""Stripe keeps 30 days of events."""
RECONCILE_OVERLAP = 300
"""Events become listable a little after their `created` time; read that far back again."""
SETTLEMENT_BATCH = 500
"""Payments settled per follow-up run; runs are coalesced, so one run may follow a burst."""
INVOICE_PREFIX = "in_"
EVENT_ATTEMPTS = 5
"""Tries at an unreadable event (one per reconciliation) before the admins are told."""


class StartProblem(StrEnum):
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class Gift:
    """What a supporter asked to give, with what the Checkout page needs to show it."""

    user_id: int
    language: str
    money: Money
    monthly: bool
    product_name: str
    bot_username: str


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    reused: bool
    """The user's earlier link for the same gift, still open."""


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    events_read: int
    events_applied: int
    thanks_due: bool
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    """Events (id, type) that failed `EVENT_ATTEMPTS` times: the admins must hear of them."""


@dataclass(frozen=True, slots=True)
class Stats:
    all_time: list[TotalsRow]
    today: list[TotalsRow]
    week: list[TotalsRow]


class DonationService:
    def __init__(self, settings: Settings, storage: Storage, gateway: StripeGateway) -> None:
        self.settings = settings
        self.store = storage.donations
        self.gateway = gateway
        self.converter = Converter(settings.goal_currency, settings.exchange_rates)

    @property
    def goal(self) -> Money | None:
        amount = self.settings.goal_amount
        return Money.from_major(amount, self.settings.goal_currency) if amount else None

    # -- giving ------------------------------------------------------------------------------

    async def start(self, gift: Gift) -> Link | StartProblem:
        """A payment link for a gift: the user's open one for the same gift, or a new session."""
        user_id, money = gift.user_id, gift.money
        now = int(time.time())
        reusable = await self.store.open_intent(
            user_id, money.minor, money.currency, gift.monthly, now + REUSE_MARGIN
        )
        if reusable is not None:
            return Link(reusable.url, reused=True)
        if await self.store.intents_since(user_id, now - RATE_WINDOW) >= (
            self.settings.donation_sessions_per_hour
        ):
            return StartProblem.RATE_LIMITED
        intent_id = secrets.token_urlsafe(18)
        await self.store.create_intent(
            intent_id, user_id, gift.language, money.minor, money.currency, gift.monthly
        )
        params = self._checkout_params(intent_id, gift)
        try:
            link = await self.gateway.create_checkout(params, f"appeal-bot-{intent_id}")
        except PaymentsUnavailable:
            return StartProblem.UNAVAILABLE
        await self.store.attach_session(intent_id, link.session_id, link.url, link.expires_at)
        return Link(link.url, reused=False)

    def _checkout_params(self, intent_id: str, gift: Gift) -> dict[str, Any]:
        bot = f"https://t.me/{gift.bot_username}"
        price: dict[str, Any] = {
            "currency": gift.money.currency,
            "unit_amount": gift.money.minor,
            "product_data": {"name": gift.product_name},
        }
        params: dict[str, Any] = {
            "line_items": [{"price_data": price, "quantity": 1}],
            "locale": gift.language,
            "success_url": self.settings.donation_success_url or f"{bot}?start=paid",
            "cancel_url": self.settings.donation_cancel_url or f"{bot}?start=donate",
            "client_reference_id": intent_id,
            "metadata": {"intent": intent_id},
            "adaptive_pricing": {"enabled": False},
            "expires_at": int(time.time()) + SESSION_LIFETIME,
        }
        if gift.monthly:
            price["recurring"] = {"interval": "month"}
            params |= {
                "mode": "subscription",
                "subscription_data": {"metadata": {"intent": intent_id}},
            }
        else:
            params |= {"mode": "payment", "submit_type": "donate"}
        return params

    async def cancel_monthly(self, user_id: int, ref: str) -> MonthlyGift | None:
        """Cancel one of the user's own monthly gifts, named by its local `ref`; None if it is
        not theirs or not active."""
        gifts = await self.store.monthly_gifts(user_id)
        gift = next((g for g in gifts if g.ref == ref), None)
        if gift is None:
            return None
        await self.gateway.cancel_subscription(gift.subscription_id)
        await self.store.mark_canceled(gift.subscription_id)
        return gift

    # -- recording ---------------------------------------------------------------------------

    async def handle_webhook(self, body: bytes, signature: str | None) -> bool | None:
        """Verify and apply a webhook; see `apply` for the result."""
        return await self.apply(self.gateway.verify(body, signature))

    async def apply(self, event: dict[str, Any]) -> bool | None:
        """Apply an event once: None if seen before, else whether a thank-you is now due."""
        try:
            event_id, kind, created = str(event["id"]), str(event["type"]), int(event["created"])
        except (KeyError, TypeError, ValueError) as error:
            raise MalformedEvent(f"{type(error).__name__} in an event's id, type or date") from None
        changes = [await self._current(change) for change in changes_from(event)]
        return await self.store.apply_event(event_id, kind, created, changes)

    async def _current(self, change: Change) -> Change:
        """A refund as the charge has it now, whatever the event said."""
        if not isinstance(change, RefundChange):
            return change
        return replace(change, amount_refunded=await self.gateway.amount_refunded(change.charge_id))

    async def settle_pending(self) -> int:
        """Record Stripe's settled amount for paid donations that lack it; returns how many.

        A monthly gift's invoice event does not carry its payment, so the payment intent,
        which refunds and disputes are matched by, is looked up here first.
        """
        settled = 0
        for donation_id, payment in await self.store.unsettled(SETTLEMENT_BATCH):
            if payment is None and donation_id.startswith(INVOICE_PREFIX):
                payment = await self.gateway.invoice_payment_intent(donation_id)
                if payment is not None:
                    await self.store.set_payment_intent(donation_id, payment)
            found = await self.gateway.settlement(payment) if payment else None
            if found is not None:
                await self.store.set_settlement(
                    donation_id, found.amount, found.currency, found.fee
                )
                settled += 1
        return settled

    async def reconcile(self) -> ReconcileReport:
        """Read Stripe's event list since the last run and apply what webhooks missed."""
        started = int(time.time())
        checkpoint = await self.store.checkpoint(RECONCILE_CHECKPOINT)
        since = (
            checkpoint - RECONCILE_OVERLAP
            if checkpoint is not None
            else started - RECONCILE_FIRST_LOOKBACK
        )
        set_aside = await self.store.events_to_retry(EVENT_ATTEMPTS)
        retried = []
        for event_id in set_aside:
            if (event := await self.gateway.event(event_id)) is not None:
                retried.append(event)
            else:  # Stripe no longer has it: one more failed try
                await self.store.event_failed(event_id, "")
        events = await self.gateway.events_since(since, HANDLED_EVENTS)
        applied, thanks_due = 0, False
        fresh = [event for event in events if event.get("id") not in set_aside]
        for event in [*retried, *fresh]:  # a set-aside event is tried once a run
            outcome = await self._apply_or_set_aside(event, set_aside)
            if outcome is not None:
                applied += 1
                thanks_due |= outcome
        await self.store.set_checkpoint(RECONCILE_CHECKPOINT, started)
        await self.settle_pending()
        unreadable = await self.store.claim_poison_report(EVENT_ATTEMPTS)
        return ReconcileReport(len(events), applied, thanks_due, unreadable)

    async def _apply_or_set_aside(self, event: dict[str, Any], set_aside: list[str]) -> bool | None:
        """Apply an event; one that cannot be read is set aside to be tried again by id, so
        that it never holds back the checkpoint and the events after it."""
        try:
            outcome = await self.apply(event)
        except MalformedEvent:
            event_id, kind = event.get("id"), event.get("type")
            if not isinstance(event_id, str):
                log.warning("a Stripe event without an id could not be read")
                return None
            attempts = await self.store.event_failed(event_id, str(kind))
            log.warning("Stripe event %s (%s) could not be read, try %d", event_id, kind, attempts)
            return None
        if event["id"] in set_aside:
            await self.store.event_recovered(event["id"])
        return outcome

    # -- reporting ---------------------------------------------------------------------------

    async def progress(self) -> Progress:
        return progress(await self.store.totals(), self.converter, self.goal)

    async def stats(self) -> Stats:
        now = datetime.now(UTC)
        today, week = day_start(now), week_start(now)
        return Stats(
            all_time=await self.store.totals(),
            today=await self.store.totals(int(today.timestamp())),
            week=await self.store.totals(int(week.timestamp())),
        )

    async def export(self) -> list[ExportRow]:
        return await self.store.export()
