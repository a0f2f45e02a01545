"""`python -m tgbot check`: everything that must be right before the bot goes live.

One line per check, `✓` or `✗` and a plain sentence (`–` for a check that could not or need
not run), in the order an operator fixes things: the settings, Telegram (token, webhook, the
admins), the emergency texts, then Stripe (key, access, the webhook endpoint). Nothing here
changes anything: Telegram is only read (`getMe`, `getWebhookInfo`, `getChat`) and so is
Stripe (one event, the webhook endpoints). No line holds a secret; each is also masked.

Telegram or Stripe out of reach is a `✗` line, never a traceback.
"""

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import stripe
from telegram import Bot, WebhookInfo
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from tgbot.payments.events import HANDLED_EVENTS
from tgbot.runtime.logs import MASK
from tgbot.settings import LANGUAGES, Settings

log = logging.getLogger(__name__)

TIMEOUT = 10.0
"""Seconds per request; nothing is retried, so an unreachable service is told quickly."""
TELEGRAM = Settings.model_fields["telegram_api_url"].default
STRIPE_WEBHOOK_PATH = "/stripe/webhook"
ENDPOINTS_PAGE = 100
PINNED_API_VERSION: str = stripe.api_version
"""The Stripe API version the SDK speaks, and so the one the bot's event parsing is tested on."""
_KEY_SHAPE = re.compile(r"(sk|rk|pk)_(test|live)_\w+")


class Status(Enum):
    OK = "✓"
    FAIL = "✗"
    SKIPPED = "–"


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    text: str

    @property
    def line(self) -> str:
        return f"{self.status.value} {self.text}"


def ok(text: str) -> Check:
    return Check(Status.OK, text)


def fail(text: str) -> Check:
    return Check(Status.FAIL, text)


def skipped(text: str) -> Check:
    return Check(Status.SKIPPED, text)


async def run_checks(
    settings: Settings, report: Callable[[Check], None] | None = None
) -> list[Check]:
    """Every check, in order; `report` sees each as soon as it is decided."""
    secrets = secret_values(settings)
    checks: list[Check] = []

    def add(*found: Check) -> None:
        for check in found:
            check = Check(check.status, redact(check.text, secrets))
            checks.append(check)
            if report is not None:
                report(check)

    add(ok(f"The settings are valid (MODE={settings.mode})."))
    await _guarded("Telegram", telegram_checks(settings, add), add)
    add(emergency_texts(settings))
    await _guarded("Stripe", stripe_checks(settings, add), add)
    return checks


async def _guarded(what: str, checks: Awaitable[None], add: Callable[..., None]) -> None:
    """A bug in a check is a line too: a traceback could print what the secrets mask hides."""
    try:
        await checks
    except Exception as error:
        log.exception("the %s checks failed", what)  # the log masks the secrets
        add(fail(f"{what} could not be checked: {type(error).__name__} (details in the log)."))


def passed(checks: list[Check]) -> bool:
    return all(check.status is not Status.FAIL for check in checks)


def secret_values(settings: Settings) -> list[str]:
    values = (
        settings.bot_token,
        settings.webhook_secret,
        settings.stripe_secret_key,
        settings.stripe_webhook_secret,
    )
    return [value.get_secret_value() for value in values if value is not None]


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


# -- Telegram ---------------------------------------------------------------------------------


async def telegram_checks(settings: Settings, add: Callable[..., None]) -> None:
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.bot_api_base_url,
        base_file_url=settings.bot_api_file_url,
        request=HTTPXRequest(connect_timeout=TIMEOUT, read_timeout=TIMEOUT),
    )
    try:
        try:
            await bot.initialize()  # getMe
        except InvalidToken:  # its message holds the token: never shown
            elsewhere = (
                "" if settings.telegram_api_url == TELEGRAM else ", or check TELEGRAM_API_URL"
            )
            add(
                fail(f"Telegram refused BOT_TOKEN: copy it again from @BotFather{elsewhere}."),
                skipped("The webhook and the admins were not checked: the token does not work."),
            )
            return
        except TelegramError as error:
            add(
                fail(f"Telegram did not answer getMe: {_telegram_problem(error, settings)}."),
                skipped("The webhook and the admins were not checked: Telegram did not answer."),
            )
            return
        add(ok(f"Telegram accepts BOT_TOKEN: the bot is @{bot.username} (id {bot.id})."))
        try:
            add(judge_webhook(await bot.get_webhook_info(), settings))
        except TelegramError as error:
            add(fail(f"Telegram did not answer getWebhookInfo: {_telegram_problem(error)}."))
        if not settings.admin_ids:
            add(skipped("ADMIN_IDS is empty: nobody can post news, and no one hears of problems."))
        for admin_id in sorted(settings.admin_ids):
            add(await _admin_started(bot, admin_id))
    finally:
        await bot.shutdown()


def judge_webhook(info: WebhookInfo, settings: Settings) -> Check:
    """What getWebhookInfo says about the MODE the bot is set to run in."""
    last_error = _last_error(info)
    if settings.mode == "polling":
        if not info.url:
            return ok("No Telegram webhook is set, as polling needs.")
        return fail(
            f"A Telegram webhook is set ({info.url}) but MODE=polling: Telegram refuses "
            "getUpdates while it is set. Stop any copy of the bot in webhook mode; starting this "
            f"one then deletes it.{last_error}"
        )
    if not info.url:
        return ok(f"No Telegram webhook is set yet; the bot sets {settings.webhook_url} at start.")
    if info.url != settings.webhook_url:
        return fail(
            f"The Telegram webhook is {info.url}, not WEBHOOK_URL ({settings.webhook_url}): "
            f"another copy of the bot may be using this token.{last_error}"
        )
    return ok(f"The Telegram webhook is WEBHOOK_URL ({info.url}).{last_error}")


def _last_error(info: WebhookInfo) -> str:
    if not info.last_error_message:
        return ""
    when = info.last_error_date
    at = f" at {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if isinstance(when, datetime) else ""
    waiting = (
        f"; {info.pending_update_count} updates are waiting" if info.pending_update_count else ""
    )
    return f" Telegram's last delivery failed{at}: {info.last_error_message}{waiting}."


async def _admin_started(bot: Bot, admin_id: int) -> Check:
    """An admin has started the bot if Telegram lets it read their private chat (getChat)."""
    try:
        await bot.get_chat(admin_id)
    except (BadRequest, Forbidden) as error:
        said = error.message[:1].lower() + error.message[1:]  # PTB capitalises "chat not found"
        return fail(
            f"Admin {admin_id} has not started the bot (Telegram: {said}): they must open it "
            "and send /start before it can write to them."
        )
    except TelegramError as error:
        return fail(f"Admin {admin_id} could not be checked: {_telegram_problem(error)}.")
    return ok(f"Admin {admin_id} has started the bot.")


def _telegram_problem(error: TelegramError, settings: Settings | None = None) -> str:
    if isinstance(error, NetworkError) and not isinstance(error, BadRequest):
        where = f" at {settings.telegram_api_url}" if settings is not None else ""
        return f"it could not be reached{where} ({type(error).__name__})"
    return f"{type(error).__name__} ({error.message})"


# -- the emergency texts ----------------------------------------------------------------------


def emergency_texts(settings: Settings) -> Check:
    """Every language has one (EMERGENCY_CONTACT_TEXT is required); say who falls back to it."""
    own = [lang for lang in LANGUAGES if getattr(settings, f"emergency_contact_text_{lang}")]
    default = [lang for lang in LANGUAGES if lang not in own]
    if not default:
        return ok(f"Each language has its own emergency text ({', '.join(own)}).")
    if not own:
        return ok(
            "Every language gets EMERGENCY_CONTACT_TEXT as its emergency text "
            f"({', '.join(default)}): no EMERGENCY_CONTACT_TEXT_XX is set."
        )
    return ok(
        f"Emergency text: its own for {', '.join(own)}; {', '.join(default)} fall back to "
        "EMERGENCY_CONTACT_TEXT."
    )


# -- Stripe -----------------------------------------------------------------------------------


def key_kind(key: str) -> tuple[str, str] | None:
    """(`secret` | `restricted` | `publishable`, `test` | `live`), or None for no Stripe key."""
    match = _KEY_SHAPE.fullmatch(key)
    if match is None:
        return None
    kinds = {"sk": "secret", "rk": "restricted", "pk": "publishable"}
    return kinds[match[1]], match[2]


async def stripe_checks(settings: Settings, add: Callable[..., None]) -> None:
    if settings.stripe_secret_key is None:
        add(skipped("Stripe was not checked: STRIPE_SECRET_KEY is not set, so no donations."))
        return
    key = settings.stripe_secret_key.get_secret_value()
    kind = key_kind(key)
    if kind is None or kind[0] == "publishable":
        shape = "a publishable key (pk_…)" if kind else "not a Stripe API key"
        add(
            fail(
                f"STRIPE_SECRET_KEY is {shape}: the bot needs a secret key (sk_test_…, "
                "sk_live_…) or a restricted one (rk_test_…, rk_live_…)."
            ),
            skipped("Stripe was not called with it."),
        )
        return
    mode = "live mode: real payments" if kind[1] == "live" else "test mode: no real money"
    add(ok(f"STRIPE_SECRET_KEY is a {kind[0]} key in {mode}."))
    http = stripe.HTTPXClient(timeout=TIMEOUT)
    client = stripe.StripeClient(
        key,
        base_addresses={"api": settings.stripe_api_base},
        http_client=http,
        max_network_retries=0,
    )
    try:
        if await _stripe_access(client, settings, add):
            await _webhook_endpoint_checks(client, settings, add)
    finally:
        await http.close_async()


async def _stripe_access(
    client: stripe.StripeClient, settings: Settings, add: Callable[..., None]
) -> bool:
    """Whether Stripe takes the key: it lists one event, as reconciliation lists them."""
    try:
        await client.v1.events.list_async({"limit": 1})
    except stripe.AuthenticationError:
        add(
            fail("Stripe refused STRIPE_SECRET_KEY (401): it is wrong, expired or rolled."),
            skipped("The Stripe webhook endpoint was not checked: the key does not work."),
        )
        return False
    except stripe.APIConnectionError:
        add(
            fail(f"Stripe could not be reached at {settings.stripe_api_base}."),
            skipped("The Stripe webhook endpoint was not checked: Stripe did not answer."),
        )
        return False
    except stripe.PermissionError:
        add(fail("The Stripe key may not read events (403), which reconciliation needs."))
        return True
    except stripe.StripeError as error:
        add(fail(f"Stripe refused to list events: {_stripe_problem(error)}."))
        return True
    add(ok("Stripe accepts the key: it can read the account's events."))
    return True


async def _webhook_endpoint_checks(
    client: stripe.StripeClient, settings: Settings, add: Callable[..., None]
) -> None:
    if settings.stripe_webhook_secret is None:
        if settings.reconcile_interval == 0:
            add(
                fail(
                    "STRIPE_WEBHOOK_SECRET is not set and RECONCILE_INTERVAL=0: the running bot "
                    "would never record a payment."
                )
            )
        else:
            add(
                skipped(
                    "The Stripe webhook endpoint was not checked: STRIPE_WEBHOOK_SECRET is not "
                    "set, so payments are recorded only by reconciliation, every "
                    f"{settings.reconcile_interval} seconds."
                )
            )
        return
    try:
        endpoints = await _list_webhook_endpoints(client)
    except stripe.PermissionError:
        add(
            skipped(
                "The Stripe webhook endpoint was not checked: the key may not read webhook "
                "endpoints (403). Check it in the Dashboard (Developers → Webhooks)."
            )
        )
        return
    except stripe.StripeError as error:
        add(fail(f"Stripe did not list the webhook endpoints: {_stripe_problem(error)}."))
        return
    add(*judge_endpoints(endpoints, settings.webhook_url))


async def _list_webhook_endpoints(client: stripe.StripeClient) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"limit": ENDPOINTS_PAGE}
    found: list[dict[str, Any]] = []
    while True:
        page = await client.v1.webhook_endpoints.list_async(params)
        found.extend(endpoint.to_dict() for endpoint in page.data)
        if not page.has_more or not page.data:
            return found
        params["starting_after"] = page.data[-1].id


def judge_endpoints(endpoints: list[dict[str, Any]], webhook_url: str | None) -> list[Check]:
    """The bot's endpoint: its URL ends with /stripe/webhook on WEBHOOK_URL's host (on any
    host without WEBHOOK_URL); then whether it is enabled, sends the events the bot reads,
    and renders them in the API version the bot's SDK speaks."""
    host = urlsplit(webhook_url).netloc.lower() if webhook_url else None
    ours = [endpoint for endpoint in endpoints if _is_ours(endpoint.get("url"), host)]
    wanted = f"https://{host}{STRIPE_WEBHOOK_PATH}" if host else f"…{STRIPE_WEBHOOK_PATH}"
    if not ours:
        others = f" (the account has {len(endpoints)} for other URLs)" if endpoints else ""
        return [
            fail(
                f"No Stripe webhook endpoint sends to {wanted}{others}: add one in the Dashboard "
                "(Developers → Webhooks) and put its signing secret in STRIPE_WEBHOOK_SECRET."
            )
        ]
    judged = [(endpoint, _endpoint_checks(endpoint)) for endpoint in ours]
    endpoint, checks = min(judged, key=lambda pair: sum(c.status is Status.FAIL for c in pair[1]))
    which = "" if len(ours) == 1 else f" (the best of {len(ours)} such endpoints)"
    unmatched = "" if host else " No WEBHOOK_URL is set, so any host was accepted."
    found = ok(f"Stripe webhook endpoint {endpoint['id']} sends to {endpoint['url']}{which}.")
    return [Check(found.status, found.text + unmatched), *checks]


def _is_ours(url: object, host: str | None) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.path.rstrip("/").endswith(STRIPE_WEBHOOK_PATH) and (
        host is None or parts.netloc.lower() == host
    )


def _endpoint_checks(endpoint: dict[str, Any]) -> list[Check]:
    checks = []
    if endpoint.get("status") == "enabled":
        checks.append(ok("The Stripe webhook endpoint is enabled."))
    else:
        checks.append(
            fail(
                "The Stripe webhook endpoint is disabled: Stripe sends it nothing. Enable it in "
                "the Dashboard once the bot answers at its URL."
            )
        )
    enabled = set(endpoint.get("enabled_events") or ())
    missing = [event for event in HANDLED_EVENTS if event not in enabled]
    if "*" in enabled:
        checks.append(
            ok(f"It sends every event type, so the {len(HANDLED_EVENTS)} the bot reads too.")
        )
    elif missing:
        checks.append(
            fail(
                f"It does not send {len(missing)} of the {len(HANDLED_EVENTS)} events the bot "
                f"reads: {', '.join(missing)}."
            )
        )
    else:
        checks.append(ok(f"It sends all {len(HANDLED_EVENTS)} events the bot reads."))
    version = endpoint.get("api_version")
    if version == PINNED_API_VERSION:
        checks.append(ok(f"Its API version is {version}, the one the bot's Stripe SDK speaks."))
    elif version is None:
        checks.append(
            fail(
                "It has no API version of its own, so Stripe uses the account's default, which "
                f"cannot be checked: make a new endpoint with API version {PINNED_API_VERSION}."
            )
        )
    else:
        checks.append(
            fail(
                f"Its API version is {version}, but the bot's Stripe SDK speaks "
                f"{PINNED_API_VERSION}: make a new endpoint with that version."
            )
        )
    return checks


def _stripe_problem(error: stripe.StripeError) -> str:
    """Class, status and code; Stripe's own message may quote the key (masked or not)."""
    return f"{type(error).__name__} (status {error.http_status}, code {error.code})"
