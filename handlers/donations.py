"""Giving: /donate with its amount buttons, payment links, /progress, and thanking donors."""

import logging
from decimal import Decimal

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from handlers.common import PRIVATE, callback, replies_with, user_texts
from handlers.notes import caution, other_ways, with_notes
from tgbot.payments.gateway import PaymentsUnavailable
from tgbot.payments.money import (
    STRIPE_MINIMUM,
    AmountError,
    AmountProblem,
    Money,
    check_limits,
    parse_amount,
)
from tgbot.payments.progress import Progress, share_of_evacuation
from tgbot.payments.service import Gift, Link, StartProblem
from tgbot.services import Services, services
from tgbot.settings import CURRENCIES, Settings
from tgbot.text.i18n import Html, Texts, texts

log = logging.getLogger(__name__)

DEFAULT_CURRENCY = {"en": "usd", "ru": "usd", "de": "eur", "fr": "eur", "es": "eur"}
BAR_CELLS = 10

not_configured = replies_with("donate.unavailable")
WAIT_GROUP = -4
"""Ahead of the throttle and the features, which still run: it only ends a wait (a group
runs one handler per update, so it needs a group of its own)."""
MODES = {"once": False, "month": True}
"""Callback spelling of one-time and monthly giving."""


def _mode(monthly: bool) -> str:
    return "month" if monthly else "once"


def amount_keyboard(
    t: Texts, context: ContextTypes.DEFAULT_TYPE, currency: str, monthly: bool
) -> InlineKeyboardMarkup:
    """Preset amounts, "Other amount", the currencies, and a switch to the other frequency.

    Callback data is `don:<action>:<once|month>:<currency>[:<minor units>]`.
    """
    settings, mode = services(context).settings, _mode(monthly)

    def button(text: str, action: str, *rest: object) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=":".join(("don", action, *map(str, rest))))

    presets = [
        button(t.money(money), "pay", mode, currency, money.minor)
        for money in (Money.from_major(major, currency) for major in settings.presets(currency))
    ]
    currencies = [
        button(f"✓ {code.upper()}", "keep")
        if code == currency
        else button(code.upper(), "show", mode, code)
        for code in CURRENCIES
    ]
    other_frequency = (
        button(t("donate.once_button"), "show", "once", currency)
        if monthly
        else button(t("donate.monthly_button"), "show", "month", currency)
    )
    return InlineKeyboardMarkup(
        [
            presets[:3],
            presets[3:],
            [button(t("donate.other_button"), "other", mode, currency)],
            currencies,
            [other_frequency],
        ]
    )


def offer_text(t: Texts, settings: Settings, monthly: bool) -> str:
    """The amount question, with the operator's other ways to give and the caution, if any."""
    offer = t("donate.choose_monthly" if monthly else "donate.choose")
    return with_notes(offer, other_ways(t, settings), caution(t, settings, "donate"))


async def cannot_give(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Say why no payment link can be had (not set up, or the appeal has closed), if so."""
    settings = services(context).settings
    if services(context).payments is None:
        await not_configured(update, context)
    elif settings.campaign_status == "closed":
        t = await user_texts(update.effective_user, context)
        await update.effective_message.reply_text(t("donate.closed"))
    else:
        return False
    return True


async def donate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/donate` offers amounts; `/donate 25 EUR` goes straight to the payment link."""
    if await cannot_give(update, context):
        return
    t = await user_texts(update.effective_user, context)
    currency = DEFAULT_CURRENCY[t.language]
    typed = " ".join(context.args or ()) if update.callback_query is None else ""
    if typed:
        await pay_typed(update, context, t, typed, currency, monthly=False)
        return
    await update.effective_message.reply_text(
        offer_text(t, services(context).settings, monthly=False),
        reply_markup=amount_keyboard(t, context, currency, monthly=False),
    )


async def pay_typed(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    t: Texts,
    typed: str,
    currency: str,
    *,
    monthly: bool,
) -> bool:
    """Send a link for a typed amount, or say why it is refused; returns whether it was sent."""
    maximum = services(context).settings.max_donation
    try:
        money = parse_amount(typed, currency, maximum)
    except AmountError as error:
        await update.effective_message.reply_text(refusal(t, error, maximum))
        return False
    await send_link(update, context, t, money, monthly=monthly)
    return True


def refusal(t: Texts, error: AmountError, maximum: Decimal) -> str:
    """Why an amount was refused, with the limit that applies in its currency."""
    currency = error.currency or "usd"
    limits = {
        AmountProblem.BELOW_MINIMUM: {"minimum": Money(STRIPE_MINIMUM[currency], currency)},
        AmountProblem.ABOVE_MAXIMUM: {"maximum": Money.from_major(maximum, currency)},
    }
    return t(f"amount.{error.problem.value}", **limits.get(error.problem, {}))


async def send_link(
    update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts, money: Money, *, monthly: bool
) -> None:
    """Create (or find again) the Checkout Session and send its link as a button."""
    gift = Gift(
        user_id=update.effective_user.id,
        language=t.language,
        money=money,
        monthly=monthly,
        product_name=t("donate.product_name"),
        bot_username=context.bot.username,
    )
    result = await services(context).payments.start(gift)
    if isinstance(result, Link):
        label = "donate.pay_monthly_button" if monthly else "donate.pay_button"
        button = InlineKeyboardButton(t(label, amount=money), url=result.url)
        key = (
            "donate.link_again"
            if result.reused
            else ("donate.link_monthly" if monthly else "donate.link")
        )
        await update.effective_message.reply_text(
            t(key, amount=money), reply_markup=InlineKeyboardMarkup([[button]])
        )
    else:
        key = "donate.rate_limited" if result is StartProblem.RATE_LIMITED else "donate.unreachable"
        await update.effective_message.reply_text(t(key))


async def donation_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Amount, currency, frequency and "Other amount" buttons under the /donate message."""
    query = update.callback_query
    await query.answer()
    if await cannot_give(update, context):
        return
    t = await user_texts(update.effective_user, context)
    action, mode, currency, minor = (query.data.split(":") + [""] * 4)[1:5]
    if mode not in MODES or currency not in CURRENCIES:
        return  # "keep", or data no keyboard of ours carries
    monthly = MODES[mode]
    if action == "show":
        keyboard = amount_keyboard(t, context, currency, monthly)
        text = offer_text(t, services(context).settings, monthly)
        await query.edit_message_text(text, reply_markup=keyboard)
    elif action == "other":
        services(context).awaiting_amount.put(update.effective_user.id, (currency, monthly))
        key = "donate.other_prompt_monthly" if monthly else "donate.other_prompt"
        await update.effective_message.reply_text(
            t(key, currency=currency.upper()), reply_markup=cancel_wait_button(t)
        )
    elif action == "pay" and minor.isdigit() and len(minor) <= 9:
        maximum = services(context).settings.max_donation
        try:
            money = check_limits(Money(int(minor), currency), maximum)
        except AmountError as error:
            await update.effective_message.reply_text(refusal(t, error, maximum))
            return
        await send_link(update, context, t, money, monthly=monthly)


async def take_typed_amount(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts) -> bool:
    """Read a message as the amount asked for after "Other amount"; False if it is not one.

    A message without digits leaves the wait on: it may be a question, which gets its answer,
    or an amount in words, which `ask_for_digits` answers. A command, the menu or Cancel end it.
    """
    waiting = services(context).awaiting_amount
    user_id = update.effective_user.id
    if (awaited := waiting.get(user_id)) is None:
        return False
    text = update.effective_message.text
    if not any(char.isdigit() for char in text):
        return False
    currency, monthly = awaited
    if await pay_typed(update, context, t, text, currency, monthly=monthly):
        waiting.forget(user_id)
    return True


def awaits_amount(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> bool:
    return services(context).awaiting_amount.get(user_id) is not None


async def ask_for_digits(update: Update, context: ContextTypes.DEFAULT_TYPE, t: Texts) -> None:
    """The amount came in words ("twenty"): ask for digits, with an example in its currency."""
    awaited = services(context).awaiting_amount.get(update.effective_user.id)
    currency = awaited[0] if awaited else DEFAULT_CURRENCY[t.language]
    example = Money.from_major(services(context).settings.presets(currency)[0], currency)
    await update.effective_message.reply_text(
        t("donate.digits_please", example=t.money(example)), reply_markup=cancel_wait_button(t)
    )


def cancel_wait_button(t: Texts) -> InlineKeyboardMarkup:
    cancel = InlineKeyboardButton(
        t("donate.cancel_button"), callback_data=callback("don", "cancel")
    )
    return InlineKeyboardMarkup([[cancel]])


async def cancel_wait(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Cancel under "Send me the amount": the wait ends, and the button goes."""
    query = update.callback_query
    await query.answer()
    services(context).awaiting_amount.forget(update.effective_user.id)
    t = await user_texts(update.effective_user, context)
    await query.edit_message_text(t("donate.wait_cancelled"))


async def end_wait(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command or a menu button means the person moved on: stop waiting for an amount."""
    if update.effective_user is not None:
        services(context).awaiting_amount.forget(update.effective_user.id)


returned_from_checkout = replies_with("donate.returned")

# -- progress ---------------------------------------------------------------------------------


def progress_text(t: Texts, progress: Progress) -> str:
    lines = [t("progress.title"), ""]
    share = progress.share_of_goal
    if share is None:
        lines.append(t("progress.raised", raised=progress.raised))
    else:
        percent = t.percent(share, digits=1)
        lines.append(
            t(
                "progress.raised_of_goal",
                raised=progress.raised,
                goal=progress.goal,
                percent=percent,
            )
        )
        filled = min(BAR_CELLS, int(share * BAR_CELLS))
        lines.append("▓" * filled + "░" * (BAR_CELLS - filled))
    lines.append(t("progress.donations", count=progress.donations))
    if progress.evacuations:  # "enough for up to 0" says nothing
        lines.append(t("progress.evacuations", count=progress.evacuations))
    if progress.unconverted:
        amounts = ", ".join(t.money(money) for money in progress.unconverted)
        lines.append(t("progress.unconverted", amounts=amounts))
    if progress.uses_rates:
        lines.append(t("progress.by_rates"))
    elif progress.uses_settlement:
        lines.append(t("progress.by_settlement"))
    return "\n".join(lines)


def refresh_button(t: Texts) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(t("progress.refresh_button"), callback_data=callback("prog"))
    return InlineKeyboardMarkup([[button]])


async def progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Total raised towards the goal, with a button to refresh it in place."""
    payments = services(context).payments
    t = await user_texts(update.effective_user, context)
    if payments is None:
        await update.effective_message.reply_text(t("progress.unavailable"))
        return
    text = progress_text(t, await payments.progress())
    await update.effective_message.reply_text(text, reply_markup=refresh_button(t))


async def refresh_progress(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    payments = services(context).payments
    t = await user_texts(update.effective_user, context)
    await query.answer()
    if payments is None:
        return
    text = progress_text(t, await payments.progress())
    try:
        await query.edit_message_text(text, reply_markup=refresh_button(t))
    except BadRequest as error:
        if "not modified" not in error.message:
            raise


# -- after a payment --------------------------------------------------------------------------


def impact(t: Texts, gift: Money, settled: Money | None, services_: Services) -> str:
    share = share_of_evacuation(gift, services_.payments.converter, settled)
    if share is None:
        return ""
    if share >= 1:
        return t("donate.impact_people", count=int(share))
    return t("donate.impact_share", share=t.percent(share, digits=1 if share >= 0.01 else 2))


async def send_thanks(bot: Bot, services_: Services) -> int:
    """Thank every donor who is owed it, once; returns how many were sent."""
    sent = 0
    for owed in await services_.storage.donations.claim_thanks():
        t = texts(owed.language)
        gift = Money(owed.amount, owed.currency)
        settled = (
            Money(owed.settled_amount, owed.settled_currency) if owed.settled_currency else None
        )
        buttons = [InlineKeyboardButton(t("donate.share_button"), switch_inline_query="")]
        record = await services_.storage.users.get(owed.user_id)
        if record is None or not record.subscribed:
            buttons.append(
                InlineKeyboardButton(t("donate.news_button"), callback_data=callback("sub", "on"))
            )
        key = "donate.thanks_monthly" if owed.monthly else "donate.thanks"
        text = t(key, amount=gift, impact=Html(impact(t, gift, settled, services_)))
        try:
            await bot.send_message(
                owed.user_id, text, reply_markup=InlineKeyboardMarkup([[b] for b in buttons])
            )
            sent += 1
        except (BadRequest, TimedOut) as error:  # refused, or perhaps delivered: never twice
            log.warning("could not send a thank-you: %s", type(error).__name__)
        except NetworkError as error:  # a 5xx or a refused connection: the next run retries
            log.warning("a thank-you failed (%s); it is sent again later", type(error).__name__)
            await services_.storage.donations.thanks_due_again(owed.donation_id)
            continue
        except TelegramError as error:  # blocked, deleted account: nothing to retry
            log.warning("could not send a thank-you: %s", type(error).__name__)
        await services_.storage.donations.mark_thanked(owed.donation_id)
    return sent


async def after_payments(bot: Bot, services_: Services) -> None:
    """Fill in settled amounts, thank new donors, and announce a milestone the total passed;
    run after events are applied. Calls during a run are folded into one more run."""
    await services_.payment_follow_up.run(lambda: _follow_up(bot, services_))


async def _follow_up(bot: Bot, services_: Services) -> None:
    try:
        await services_.payments.settle_pending()
    except PaymentsUnavailable as error:
        log.warning("could not read settlements from Stripe: %s", error)
    await send_thanks(bot, services_)
    progress = await services_.payments.progress()
    await services_.broadcaster.check_milestone(progress.raised)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("donate", donate, filters=PRIVATE))
    application.add_handler(CommandHandler("progress", progress, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(cancel_wait, pattern=r"^don:cancel$"))
    application.add_handler(CallbackQueryHandler(donation_button, pattern=r"^don:"))
    moved_on = CallbackQueryHandler(end_wait, pattern=r"^menu:")
    application.add_handler(MessageHandler(filters.COMMAND, end_wait), group=WAIT_GROUP)
    application.add_handler(moved_on, group=WAIT_GROUP)
    application.add_handler(CallbackQueryHandler(refresh_progress, pattern=r"^prog:$"))
