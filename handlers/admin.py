"""Admin commands: /stats and /export_donations. Counts and amounts only, never people.

`ADMIN_IDS` is checked on every call; anyone else gets the answer for an unknown command (or
for a stale button), so the commands do not reveal that they exist. Every admin action is
written to the audit log.
"""

import csv
import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from telegram import Bot, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes

from handlers.common import PRIVATE, Callback, replies_with, user_texts
from tgbot.payments.money import Money
from tgbot.payments.progress import Converter, progress
from tgbot.payments.service import EVENT_ATTEMPTS, Stats
from tgbot.periods import week_start
from tgbot.services import Services, services
from tgbot.storage.donations import TotalsRow
from tgbot.storage.users import SubscriberStats
from tgbot.text.i18n import Texts, texts

log = logging.getLogger(__name__)

ADMIN_COMMANDS = ("stats", "export_donations")
CSV_COLUMNS = (
    "created_utc", "paid_utc", "amount", "currency", "frequency", "status",
    "refunded_or_disputed", "stripe_reference", "payment_intent",
)  # fmt: skip

unknown_command = replies_with("error.unknown_command")


def admins_only(handler: Callback) -> Callback:
    @wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_user.id in services(context).settings.admin_ids:
            await handler(update, context)
        elif update.callback_query is not None:
            t = await user_texts(update.effective_user, context)
            await update.callback_query.answer(t("error.stale_button"))
        else:
            await unknown_command(update, context)

    return guarded


async def audit(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: str, target: object = None
) -> None:
    """Record who did what; `target` names the object (a broadcast number), never content."""
    target_text = None if target is None else str(target)
    await services(context).storage.audit.record(update.effective_user.id, action, target_text)


def counted(t: Texts, counts: dict[str, int]) -> str:
    """`en 12, ru 3`, largest first."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{key} {t.number(count)}" for key, count in ordered)


def _amounts(
    t: Texts,
    rows: list[TotalsRow],
    value: Callable[[TotalsRow], int],
    currency: Callable[[TotalsRow], str | None] = lambda row: row.currency,
) -> str:
    """`value` of the rows summed per currency, as `€25.00 + $10.00`."""
    by_currency: dict[str, int] = {}
    for row in rows:
        if code := currency(row):
            by_currency[code] = by_currency.get(code, 0) + value(row)
    return " + ".join(t.money(Money(minor, cur)) for cur, minor in by_currency.items() if minor)


def _in_goal(t: Texts, total: Money, originals: str, unconverted: list[Money]) -> str:
    """`$30.80 (€20.00 + $10.00)`: the total in GOAL_CURRENCY with the currencies it came in,
    then what no rate converts."""
    parts = []
    if total.minor or not unconverted:
        shown = t.money(total)
        parts.append(f"{shown} ({originals})" if originals and originals != shown else shown)
    if unconverted:
        parts.append(t("admin.not_converted", amounts=" + ".join(map(t.money, unconverted))))
    return ", ".join(parts)


def _converted(
    t: Texts,
    converter: Converter,
    rows: list[TotalsRow],
    value: Callable[[TotalsRow], int],
    currency: Callable[[TotalsRow], str | None] = lambda row: row.currency,
) -> str:
    """`value` of the rows in GOAL_CURRENCY at the configured rates, originals beside."""
    total, unconverted = 0, []
    for row in rows:
        if (code := currency(row)) and (minor := value(row)):
            money = Money(minor, code)
            if (in_goal := converter.to_goal(money)) is not None:
                total += in_goal.minor
            else:
                unconverted.append(money)
    originals = _amounts(t, rows, value, currency)
    return _in_goal(t, Money(total, converter.goal_currency), originals, unconverted)


def donation_lines(t: Texts, stats: Stats, converter: Converter) -> list[str]:
    """Every total in GOAL_CURRENCY, counted as /progress counts it (Stripe's settlement
    first, then the rates), with the currencies the donations came in beside it."""
    lines = [t("admin.donations_title")]
    for key, rows in (("all_time", stats.all_time), ("today", stats.today), ("week", stats.week)):
        count = sum(row.donations for row in rows)
        if count:
            counted_ = progress(rows, converter, None)
            originals = _amounts(t, rows, lambda row: row.gross - row.returned)
            kept = _in_goal(t, counted_.raised, originals, counted_.unconverted)
            lines.append(t("admin.period", period=t(f"admin.{key}"), amounts=kept, count=count))
        else:
            lines.append(t("admin.nothing", period=t(f"admin.{key}")))
    if any(row.returned for row in stats.all_time):
        returned = _converted(t, converter, stats.all_time, lambda row: row.returned)
        lines.append(t("admin.returned", amounts=returned))
    # fees are charged in the currency Stripe settled in, not the donation's
    if any(row.fees for row in stats.all_time):
        fees = _converted(
            t, converter, stats.all_time, lambda row: row.fees, lambda row: row.settled_currency
        )
        lines.append(t("admin.fees", amounts=fees))
    return lines


def subscriber_lines(t: Texts, stats: SubscriberStats) -> list[str]:
    lines = [t("admin.subscribers", count=sum(stats.by_language.values()))]
    if stats.by_language:
        lines.append(t("admin.by_language", list=counted(t, stats.by_language)))
    lines.append(t("admin.news_week", joined=stats.joined, left=stats.left))
    if stats.blocked:
        lines.append(t("admin.blocked", count=stats.blocked))
    if stats.reasons:
        reasons = {t(f"unsubscribe.reason_{key}"): n for key, n in stats.reasons.items()}
        lines.append(t("admin.reasons", list=counted(t, reasons)))
    return lines


@admins_only
async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Subscribers and donation totals."""
    t = await user_texts(update.effective_user, context)
    await audit(update, context, "stats")
    users = services(context).storage.users
    lines = [t("admin.stats_title"), ""]
    since = week_start(datetime.now(UTC)).date()
    lines.extend(subscriber_lines(t, await users.subscriber_stats(since)))
    lines.append("")
    payments = services(context).payments
    if payments is None:
        lines.append(t("admin.not_configured"))
    else:
        lines.extend(donation_lines(t, await payments.stats(), payments.converter))
    await update.effective_message.reply_text("\n".join(lines))


def _utc(timestamp: int | None) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else ""


@admins_only
async def export_donations(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every donation as CSV: dates, amounts, statuses and Stripe ids; nothing about donors."""
    t = await user_texts(update.effective_user, context)
    await audit(update, context, "export_donations")
    payments = services(context).payments
    rows = await payments.export() if payments else []
    if not rows:
        await update.effective_message.reply_text(t("admin.export_empty"))
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                _utc(row.created_at), _utc(row.paid_at), Money(row.amount, row.currency).major,
                row.currency.upper(), "monthly" if row.monthly else "once", row.status,
                Money(row.returned, row.currency).major, row.donation_id,
                row.payment_intent_id or "",
            )
        )  # fmt: skip
    name = f"donations-{datetime.now(UTC):%Y-%m-%d}.csv"
    await update.effective_message.reply_document(
        InputFile(buffer.getvalue().encode(), filename=name),
        caption=t("admin.export_caption", count=len(rows)),
    )


async def report_unreadable_events(
    bot: Bot, services: Services, events: list[tuple[str, str]]
) -> None:
    """Tell every admin of Stripe events that could not be read after every try: the money
    they stand for is missing from the totals until someone looks."""
    settings = services.settings
    for admin_id in settings.admin_ids:
        record = await services.storage.users.get(admin_id)
        t = texts(record.language if record else settings.default_language)
        lines = [
            t("admin.unreadable_event", event=event_id, kind=kind or "?", count=EVENT_ATTEMPTS)
            for event_id, kind in events
        ]
        try:
            await bot.send_message(admin_id, "\n".join(lines))
        except TelegramError as error:
            log.warning("could not tell an admin of unreadable events: %s", type(error).__name__)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("stats", stats, filters=PRIVATE))
    application.add_handler(CommandHandler("export_donations", export_donations, filters=PRIVATE))
