"""`python -m tgbot check` against the Bot API emulator and the Stripe simulator (real HTTP,
the real python-telegram-bot and stripe SDK): a full pass, then each thing it must catch."""

from datetime import UTC, datetime

import pytest
from telegram import WebhookInfo

from playground.stripe import API_VERSION, FakeStripe
from tests.conftest import ADMIN_ID, EMERGENCY, STRIPE_KEY, STRIPE_WEBHOOK_SECRET, TOKEN
from tests.test_process import bot_env, free_port, run_cli
from tgbot.payments.events import HANDLED_EVENTS
from tgbot.runtime import preflight
from tgbot.runtime.preflight import Status, judge_webhook, passed, run_checks
from tgbot.settings import LANGUAGES

PUBLIC = "https://bot.example"
ENDPOINT = f"{PUBLIC}/stripe/webhook"
WEBHOOK_SECRET = "s3cret_webhook-token_0123456789abcdef"
OLDER_VERSION = "2025-03-31.basil"
OWN_TEXTS = {f"emergency_contact_text_{lang}": f"{EMERGENCY} ({lang})" for lang in LANGUAGES}


@pytest.fixture
def admin_started(bot_api):
    bot_api.open_private_chat(bot_api.make_user(ADMIN_ID))


@pytest.fixture
def configured(make_settings, stripe_settings, admin_started):
    """Settings for a bot that polls, takes donations and has its webhook on PUBLIC."""

    def make(**overrides: object):
        values = {**stripe_settings, "webhook_url": f"{PUBLIC}/telegram/webhook", **OWN_TEXTS}
        return make_settings(**(values | overrides))

    return make


def add_endpoint(stripe_fake: FakeStripe, **overrides):
    values = {
        "url": ENDPOINT,
        "enabled_events": HANDLED_EVENTS,
        "api_version": API_VERSION,
        "description": "appeal-bot",
    }
    return stripe_fake.add_webhook_endpoint(**(values | overrides))


async def lines(settings) -> list[str]:
    return [check.line for check in await run_checks(settings)]


def failures(checks) -> list[str]:
    return [check.text for check in checks if check.status is Status.FAIL]


def line_about(found: list[str], words: str) -> str:
    (line,) = [line for line in found if words in line]
    return line


async def test_a_bot_set_up_right_passes_every_check(bot_api, stripe_fake, configured):
    endpoint = add_endpoint(stripe_fake)
    checks = await run_checks(configured())
    assert [check.line for check in checks] == [
        "✓ The settings are valid (MODE=polling).",
        f"✓ Telegram accepts BOT_TOKEN: the bot is @AppealBot (id {bot_api.bot_id}).",
        "✓ No Telegram webhook is set, as polling needs.",
        f"✓ Admin {ADMIN_ID} has started the bot.",
        "✓ Each language has its own emergency text (en, ru, de, fr, es).",
        "✓ STRIPE_SECRET_KEY is a secret key in test mode: no real money.",
        "✓ Stripe accepts the key: it can read the account's events.",
        f"✓ Stripe webhook endpoint {endpoint['id']} sends to {ENDPOINT}.",
        "✓ The Stripe webhook endpoint is enabled.",
        f"✓ It sends all {len(HANDLED_EVENTS)} events the bot reads.",
        f"✓ Its API version is {API_VERSION}, the one the bot's Stripe SDK speaks.",
    ]
    assert passed(checks)
    # Only reads: nothing on Telegram or Stripe was changed.
    assert {call.method for call in bot_api.calls} == {"getMe", "getWebhookInfo", "getChat"}
    assert {request.method for request in stripe_fake.requests} == {"GET"}


async def test_webhook_mode_wants_the_webhook_on_webhook_url(bot_api, stripe_fake, configured):
    add_endpoint(stripe_fake)
    settings = configured(mode="webhook", webhook_secret=WEBHOOK_SECRET)
    before_start = await lines(settings)
    assert line_about(before_start, "webhook is set yet") == (
        f"✓ No Telegram webhook is set yet; the bot sets {PUBLIC}/telegram/webhook at start."
    )
    bot_api.webhook_url = settings.webhook_url
    assert f"✓ The Telegram webhook is WEBHOOK_URL ({PUBLIC}/telegram/webhook)." in (
        await lines(settings)
    )
    bot_api.webhook_url = "https://old.example/telegram/webhook"
    checks = await run_checks(settings)
    assert failures(checks) == [
        "The Telegram webhook is https://old.example/telegram/webhook, not WEBHOOK_URL "
        f"({PUBLIC}/telegram/webhook): another copy of the bot may be using this token."
    ]
    assert not passed(checks)


async def test_a_bad_token_fails_and_the_rest_of_telegram_is_skipped(
    bot_api, stripe_fake, configured
):
    add_endpoint(stripe_fake)
    wrong = "123456:WRONG-token_abcdefghijklmnop"
    checks = await run_checks(configured(bot_token=wrong))
    telegram = [check.line for check in checks[1:3]]
    assert telegram == [
        "✗ Telegram refused BOT_TOKEN: copy it again from @BotFather, or check TELEGRAM_API_URL.",
        "– The webhook and the admins were not checked: the token does not work.",
    ]
    assert not passed(checks)
    assert len(failures(checks)) == 1  # Stripe is still checked, and passes
    assert all(wrong not in check.text for check in checks)
    assert [call.status for call in bot_api.violations] == [401]
    bot_api.violations.clear()  # a wrong token is what this test sends on purpose


async def test_a_webhook_left_set_fails_in_polling_mode(bot_api, stripe_fake, configured):
    add_endpoint(stripe_fake)
    bot_api.webhook_url = f"{PUBLIC}/telegram/webhook"
    checks = await run_checks(configured())
    assert failures(checks) == [
        f"A Telegram webhook is set ({PUBLIC}/telegram/webhook) but MODE=polling: Telegram "
        "refuses getUpdates while it is set. Stop any copy of the bot in webhook mode; starting "
        "this one then deletes it."
    ]


async def test_a_secret_in_what_telegram_reports_is_masked(bot_api, stripe_fake, configured):
    add_endpoint(stripe_fake)
    bot_api.webhook_url = f"{PUBLIC}/hook/{TOKEN}"  # a common pattern: the token in the path
    (failure,) = failures(await run_checks(configured()))
    assert f"{PUBLIC}/hook/[secret]" in failure
    assert TOKEN not in failure


def test_telegrams_last_delivery_error_is_reported(make_settings):
    info = WebhookInfo(
        url="https://bot.example/telegram/webhook",
        has_custom_certificate=False,
        pending_update_count=3,
        last_error_date=datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
        last_error_message="Connection refused",
    )
    settings = make_settings(mode="webhook", webhook_url=info.url, webhook_secret=WEBHOOK_SECRET)
    check = judge_webhook(info, settings)
    assert check.line == (
        f"✓ The Telegram webhook is WEBHOOK_URL ({info.url}). Telegram's last delivery failed "
        "at 2026-11-25 14:00 UTC: Connection refused; 3 updates are waiting."
    )


async def test_an_admin_who_never_started_the_bot_fails(bot_api, stripe_fake, configured):
    add_endpoint(stripe_fake)
    stranger = 4242
    checks = await run_checks(configured(admin_ids=f"{ADMIN_ID},{stranger}"))
    assert f"✓ Admin {ADMIN_ID} has started the bot." in [check.line for check in checks]
    assert failures(checks) == [
        f"Admin {stranger} has not started the bot (Telegram: chat not found): they must open "
        "it and send /start before it can write to them."
    ]
    assert [call.method for call in bot_api.violations] == ["getChat"]
    bot_api.violations.clear()  # asking is how the check finds out


async def test_no_admins_is_said_but_not_a_failure(bot_api, stripe_fake, configured):
    add_endpoint(stripe_fake)
    checks = await run_checks(configured(admin_ids=""))
    assert "– ADMIN_IDS is empty: nobody can post news, and no one hears of problems." in [
        check.line for check in checks
    ]
    assert passed(checks)


async def test_languages_falling_back_to_the_default_text_are_named(stripe_fake, configured):
    add_endpoint(stripe_fake)
    some = {f"emergency_contact_text_{lang}": None for lang in ("en", "de", "fr", "es")}
    checks = await run_checks(configured(**some))
    assert passed(checks)
    assert line_about([c.line for c in checks], "Emergency text") == (
        "✓ Emergency text: its own for ru; en, de, fr, es fall back to EMERGENCY_CONTACT_TEXT."
    )
    none = {f"emergency_contact_text_{lang}": None for lang in LANGUAGES}
    assert line_about(await lines(configured(**none)), "emergency text") == (
        "✓ Every language gets EMERGENCY_CONTACT_TEXT as its emergency text "
        "(en, ru, de, fr, es): no EMERGENCY_CONTACT_TEXT_XX is set."
    )


async def test_a_missing_stripe_endpoint_fails(stripe_fake, configured):
    add_endpoint(stripe_fake, url="https://elsewhere.example/stripe/webhook")
    add_endpoint(stripe_fake, url=f"{PUBLIC}/payments/hook")
    checks = await run_checks(configured())
    assert failures(checks) == [
        f"No Stripe webhook endpoint sends to {ENDPOINT} (the account has 2 for other URLs): "
        "add one in the Dashboard (Developers → Webhooks) and put its signing secret in "
        "STRIPE_WEBHOOK_SECRET."
    ]


async def test_without_webhook_url_any_host_is_accepted_and_said(stripe_fake, configured):
    endpoint = add_endpoint(stripe_fake, url="https://donate.example/stripe/webhook")
    checks = await run_checks(configured(webhook_url=None))
    assert passed(checks)
    assert (
        f"✓ Stripe webhook endpoint {endpoint['id']} sends to "
        "https://donate.example/stripe/webhook. No WEBHOOK_URL is set, so any host was accepted."
    ) in [check.line for check in checks]


async def test_an_endpoint_missing_events_fails_naming_them(stripe_fake, configured):
    leave_out = ("invoice.paid", "charge.dispute.closed")
    add_endpoint(stripe_fake, enabled_events=[e for e in HANDLED_EVENTS if e not in leave_out])
    checks = await run_checks(configured())
    assert failures(checks) == [
        f"It does not send 2 of the {len(HANDLED_EVENTS)} events the bot reads: "
        "invoice.paid, charge.dispute.closed."
    ]


async def test_an_endpoint_for_every_event_is_enough(stripe_fake, configured):
    add_endpoint(stripe_fake, enabled_events=["*"])
    checks = await run_checks(configured())
    assert passed(checks)
    assert f"✓ It sends every event type, so the {len(HANDLED_EVENTS)} the bot reads too." in [
        check.line for check in checks
    ]


async def test_an_endpoint_on_another_api_version_fails(stripe_fake, configured):
    add_endpoint(stripe_fake, api_version=OLDER_VERSION)
    assert failures(await run_checks(configured())) == [
        f"Its API version is {OLDER_VERSION}, but the bot's Stripe SDK speaks {API_VERSION}: "
        "make a new endpoint with that version."
    ]


async def test_an_endpoint_on_the_accounts_default_version_fails(stripe_fake, configured):
    add_endpoint(stripe_fake, api_version=None)
    (failure,) = failures(await run_checks(configured()))
    assert failure.startswith("It has no API version of its own")
    assert API_VERSION in failure


async def test_a_disabled_endpoint_fails(stripe_fake, configured):
    add_endpoint(stripe_fake, status="disabled")
    assert failures(await run_checks(configured())) == [
        "The Stripe webhook endpoint is disabled: Stripe sends it nothing. Enable it in the "
        "Dashboard once the bot answers at its URL."
    ]


async def test_the_best_of_several_endpoints_is_judged(stripe_fake, configured):
    add_endpoint(stripe_fake, status="disabled")
    good = add_endpoint(stripe_fake)
    add_endpoint(stripe_fake, api_version=OLDER_VERSION)
    checks = await run_checks(configured())
    assert passed(checks)
    assert (
        f"✓ Stripe webhook endpoint {good['id']} sends to {ENDPOINT} "
        "(the best of 3 such endpoints)."
    ) in [check.line for check in checks]


async def test_a_key_stripe_refuses_fails_without_showing_it(stripe_fake, configured):
    add_endpoint(stripe_fake)
    wrong = "sk_live_51WrongKeyAbcdefghijklmnop"
    checks = await run_checks(configured(stripe_secret_key=wrong))
    found = [check.line for check in checks]
    assert found[-3:] == [
        "✓ STRIPE_SECRET_KEY is a secret key in live mode: real payments.",
        "✗ Stripe refused STRIPE_SECRET_KEY (401): it is wrong, expired or rolled.",
        "– The Stripe webhook endpoint was not checked: the key does not work.",
    ]
    assert not any(wrong in line or wrong[-4:] in line for line in found)
    assert [request.status for request in stripe_fake.violations] == [401]
    stripe_fake.violations.clear()  # the wrong key is what this test sends on purpose


@pytest.mark.parametrize(
    ("key", "shape"),
    [("pk_test_51Publishable", "a publishable key (pk_…)"), ("hunter2", "not a Stripe API key")],
)
async def test_something_other_than_a_secret_key_is_not_sent_to_stripe(
    stripe_fake, configured, key, shape
):
    checks = await run_checks(configured(stripe_secret_key=key))
    assert failures(checks) == [
        f"STRIPE_SECRET_KEY is {shape}: the bot needs a secret key (sk_test_…, sk_live_…) or a "
        "restricted one (rk_test_…, rk_live_…)."
    ]
    assert stripe_fake.requests == []


async def test_stripe_is_skipped_without_a_key(bot_api, make_settings, admin_started):
    checks = await run_checks(make_settings())
    assert checks[-1].line == (
        "– Stripe was not checked: STRIPE_SECRET_KEY is not set, so no donations."
    )
    assert passed(checks)


async def test_without_a_webhook_secret_reconciliation_must_be_on(
    stripe_fake, make_settings, stripe_settings, admin_started
):
    settings = {**stripe_settings, "stripe_webhook_secret": None}
    checks = await run_checks(make_settings(**settings))
    assert passed(checks)
    assert checks[-1].line == (
        "– The Stripe webhook endpoint was not checked: STRIPE_WEBHOOK_SECRET is not set, so "
        "payments are recorded only by reconciliation, every 600 seconds."
    )
    checks = await run_checks(make_settings(**settings, reconcile_interval=0))
    assert failures(checks) == [
        "STRIPE_WEBHOOK_SECRET is not set and RECONCILE_INTERVAL=0: the running bot would "
        "never record a payment."
    ]


async def test_telegram_and_stripe_out_of_reach_are_lines_not_tracebacks(
    make_settings, stripe_settings
):
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = make_settings(
        **(stripe_settings | {"telegram_api_url": nowhere, "stripe_api_base": nowhere})
    )
    checks = await run_checks(settings)
    assert failures(checks) == [
        f"Telegram did not answer getMe: it could not be reached at {nowhere} (NetworkError).",
        f"Stripe could not be reached at {nowhere}.",
    ]


# -- as a process -----------------------------------------------------------------------------


def check_env(tmp_path, bot_api, stripe_fake, **settings: str) -> dict[str, str]:
    return bot_env(
        tmp_path,
        bot_token=TOKEN,
        emergency_contact_text=EMERGENCY,
        telegram_api_url=bot_api.root_url,
        admin_ids=str(ADMIN_ID),
        mode="webhook",
        webhook_url=f"{PUBLIC}/telegram/webhook",
        webhook_secret=WEBHOOK_SECRET,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        stripe_api_base=stripe_fake.base_url,
        **settings,
    )


async def test_the_check_command_exits_0_1_or_2_and_never_prints_a_secret(
    tmp_path, bot_api, stripe_fake, admin_started
):
    add_endpoint(stripe_fake)
    env = check_env(tmp_path, bot_api, stripe_fake)
    code, output = await run_cli(tmp_path, env, "check")
    assert code == 0, output
    assert output.startswith("✓ The settings are valid (MODE=webhook).\n")
    assert output.count("\n") == len(output.strip().splitlines()) == 11
    assert "✗" not in output

    bot_api.webhook_url = "https://old.example/telegram/webhook"
    code, failed = await run_cli(tmp_path, env, "check")
    assert code == 1, failed
    assert failed.count("✗ ") == 1

    invalid = env | {"ADMIN_IDS": "me"}
    code, refused = await run_cli(tmp_path, invalid, "check")
    assert code == 2
    assert refused.strip().splitlines() == [
        "Configuration error: ADMIN_IDS: must be comma-separated numeric Telegram user ids"
    ]

    secrets = (TOKEN, TOKEN.partition(":")[2], STRIPE_KEY, STRIPE_WEBHOOK_SECRET, WEBHOOK_SECRET)
    for printed in (output, failed, refused):
        assert "Traceback" not in printed
        assert not [secret for secret in secrets if secret in printed]
    assert not (tmp_path / "data").exists()  # the check opens no database


@pytest.mark.logs_errors
async def test_a_bug_in_a_check_is_a_line_and_the_other_checks_still_run(
    bot_api, stripe_fake, configured, monkeypatch
):
    def broken(info, settings):
        raise RuntimeError(f"bug with {TOKEN} in its message")

    monkeypatch.setattr(preflight, "judge_webhook", broken)
    add_endpoint(stripe_fake)
    checks = await run_checks(configured())
    assert failures(checks) == ["Telegram could not be checked: RuntimeError (details in the log)."]
    assert len(checks) == 10  # all but the admin: the emergency texts and Stripe too
