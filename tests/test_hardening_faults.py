"""Hardening against faults: Telegram errors and dropped connections, a locked database during
a Stripe webhook, and SIGTERM in the middle of a broadcast.

The bot must not crash, must answer later messages, must never half-apply a payment, and
must deliver every news message exactly once across a clean stop and a restart.
"""

import asyncio
import logging
import signal
import sqlite3
import time
from collections import Counter
from contextlib import closing
from http import HTTPStatus

import pytest

from tests.conftest import ADMIN_ID
from tests.test_conversation import plain, say, with_emergency_line
from tests.test_donations import deliver, donate, giving_bot, kept_total, only_session
from tests.test_process import (
    START_TIMEOUT,
    free_port,
    live_env,
    running,
    stop,
    with_subscribers,
)
from tgbot.payments.money import Money
from tgbot.storage import Storage

# -- Telegram faults during ordinary replies -----------------------------------------------------
#
# A reply that Telegram refuses with a 5xx, or whose connection drops, is not retried: the
# update's handler fails and the error handler logs it at ERROR (once, by type, without the
# message text) and apologises. That ERROR is the intended record of a lost reply, the same as
# for any other failed Telegram call (see test_bad_input), so these tests are `logs_errors`
# and check that it is the only one.


def the_one_error(caplog, kind: str) -> logging.LogRecord:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].name == "handlers.errors"
    assert kind in errors[0].getMessage()
    return errors[0]


@pytest.mark.logs_errors
@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_on_a_reply_is_apologised_for_and_the_bot_goes_on(
    bot, production_logging, status
):
    user = bot.api.make_user(11, language_code="en")
    bot.api.fail_next("sendMessage", status)
    bot.api.send_message(user, "how much does one evacuation cost?")
    assert (await bot.api.wait_for_message(11)).text == with_emergency_line("en", "error.generic")
    assert (await say(bot, user, "/about")).text == plain("en", "about.text")
    the_one_error(production_logging, "NetworkError")
    assert "evacuation" not in production_logging.text


@pytest.mark.logs_errors
async def test_a_dropped_connection_on_a_reply_is_apologised_for_and_the_bot_goes_on(
    bot, production_logging
):
    user = bot.api.make_user(12, language_code="de")
    bot.api.drop_next("sendMessage")
    bot.api.send_message(user, "/help")
    assert (await bot.api.wait_for_message(12)).text == with_emergency_line("de", "error.generic")
    assert (await say(bot, user, "/help")).text == plain("de", "help.text")
    the_one_error(production_logging, "NetworkError")


@pytest.mark.logs_errors
async def test_a_reply_delivered_but_unconfirmed_is_followed_by_an_apology_only(
    bot, production_logging
):
    user = bot.api.make_user(13, language_code="fr")
    bot.api.drop_next("sendMessage", after_processing=True)
    bot.api.send_message(user, "/help")
    assert (await bot.api.wait_for_message(13)).text == plain("fr", "help.text")
    assert (await bot.api.wait_for_message(13)).text == with_emergency_line("fr", "error.generic")
    assert (await say(bot, user, "/about")).text == plain("fr", "about.text")
    assert len(bot.api.sent_messages(13)) == 3
    the_one_error(production_logging, "NetworkError")


@pytest.mark.logs_errors
async def test_when_the_apology_fails_too_the_bot_still_goes_on(bot, production_logging):
    user = bot.api.make_user(14, language_code="es")
    bot.api.fail_next("sendMessage", 502, count=2)  # the reply, then the apology
    bot.api.send_message(user, "/help")
    await bot.api.wait_for_call("sendMessage", predicate=lambda c: c.status == 502)
    await bot.api.wait_for_call("sendMessage", predicate=lambda c: c.status == 502)
    assert (await say(bot, user, "/about")).text == plain("es", "about.text")
    assert len(bot.api.sent_messages(14)) == 1
    the_one_error(production_logging, "NetworkError")
    assert "could not send the error notice" in production_logging.text


@pytest.mark.logs_errors
@pytest.mark.parametrize("fault", ["500", "drop"])
async def test_a_failed_button_answer_does_not_break_the_buttons(bot, production_logging, fault):
    user = bot.api.make_user(15, language_code="en")
    menu = await say(bot, user, "/start")
    if fault == "drop":
        bot.api.drop_next("answerCallbackQuery")
    else:
        bot.api.fail_next("answerCallbackQuery", 500)
    bot.api.press_button(user, menu, "menu:about")
    assert (await bot.api.wait_for_message(15)).text == with_emergency_line("en", "error.generic")
    bot.api.press_button(user, menu, "menu:about")
    assert (await bot.api.wait_for_call("answerCallbackQuery", predicate=lambda c: c.ok)).ok
    assert (await bot.api.wait_for_message(15)).text == plain("en", "about.text")
    the_one_error(production_logging, "NetworkError")


@pytest.mark.logs_errors
async def test_a_burst_of_faults_loses_no_later_conversation(bot, caplog):
    """Random 5xx and drops on replies for a while; once they stop, everyone is answered."""
    users = [bot.api.make_user(100 + n, language_code="en") for n in range(10)]
    bot.api.set_random_faults(0.4, seed=3, drop_rate=0.2, methods=["sendMessage"])
    for user in users:
        bot.api.send_message(user, "/help")
    for user in users:
        await bot.api.wait_for_call(
            "sendMessage", predicate=lambda c, uid=user["id"]: c.params.get("chat_id") == uid
        )
    bot.api.set_random_faults(0)
    assert bot.api.injected_faults + bot.api.dropped_connections > 0
    for user in users:
        bot.api.send_message(user, "/about")
        await bot.api.wait_for_message(
            user["id"], predicate=lambda m: m.text == plain("en", "about.text")
        )
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert {(r.name, "NetworkError" in r.getMessage()) for r in errors} == {
        ("handlers.errors", True)
    }


async def test_transient_polling_failures_are_not_logged_as_errors(tmp_path, bot_api):
    """A 502 or a dropped long poll happens on Telegram now and then; the bot polls on, and
    the log has no ERROR (an operator alerting on ERROR would be paged for nothing)."""
    env = live_env(tmp_path, bot_api, free_port())
    async with running(tmp_path, env) as process:
        await bot_api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)
        bot_api.fail_next("getUpdates", 502)
        user = bot_api.make_user(41, language_code="ru")
        bot_api.send_message(user, "/start")  # ends the current long poll; the next one fails
        await bot_api.wait_for_call("getUpdates", predicate=lambda c: c.status == 502)
        assert (await bot_api.wait_for_message(41)).text == plain("ru", "start.greeting")
        bot_api.drop_next("getUpdates")
        bot_api.send_message(user, "/help")
        await bot_api.wait_for_call("getUpdates", predicate=lambda c: c.dropped, timeout=10)
        assert (await bot_api.wait_for_message(41)).text == plain("ru", "help.text")
        bot_api.send_message(user, "/about")  # polled after the failures
        assert (await bot_api.wait_for_message(41, timeout=10)).text == plain("ru", "about.text")
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert bot_api.injected_faults == bot_api.dropped_connections == 1
    assert [line for line in log.splitlines() if " ERROR " in line] == []


# -- a locked database during a Stripe webhook ---------------------------------------------------


@pytest.fixture
async def giving(bot_api, stripe_fake, make_settings, stripe_settings):
    async with giving_bot(bot_api, stripe_fake, make_settings(**stripe_settings)) as running_:
        yield running_


@pytest.mark.logs_errors
async def test_a_webhook_meeting_a_locked_database_gets_500_and_its_retry_counts(giving, caplog):
    """Another process holds the write lock longer than the bot's busy_timeout.

    The event is not applied, so the bot must answer 5xx (Stripe delivers it again) and log
    it at ERROR: a payment is waiting on the database, which an operator must hear about.
    """
    user = giving.api.make_user(987, language_code="en")
    await donate(giving, user)
    event = giving.stripe.pay(only_session(giving)["id"])
    (busy_ms,) = await giving.storage.database.fetch_one("PRAGMA busy_timeout")
    path = giving.services.settings.database_path
    with closing(sqlite3.connect(path, isolation_level=None, timeout=0)) as other:
        other.execute("BEGIN IMMEDIATE")  # the write lock, held until released below
        started = time.monotonic()
        refused = await deliver(giving, event)
        waited = time.monotonic() - started
        assert refused.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
        assert waited >= busy_ms / 1000 * 0.9, "the lock outlasted the bot's busy_timeout"
        (events,) = other.execute("SELECT count(*) FROM stripe_events").fetchone()
        (donations,) = other.execute("SELECT count(*) FROM donations").fetchone()
        assert (events, donations) == (0, 0)  # nothing half-written
        other.execute("ROLLBACK")
    assert await giving.services.storage.donations.export() == []
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage() == "Stripe event not applied (OperationalError)"

    retried = await deliver(giving, event)
    assert (retried.status_code, retried.json()["duplicate"]) == (HTTPStatus.OK, False)
    assert await kept_total(giving) == Money(2500, "eur")
    thanks = await giving.api.wait_for_message(987, predicate=lambda m: "Thank" in m.text)
    assert thanks.text
    again = await deliver(giving, event)
    assert (again.status_code, again.json()["duplicate"]) == (HTTPStatus.OK, True)


# -- SIGTERM in the middle of a broadcast ------------------------------------------------------


async def test_sigterm_mid_broadcast_exits_0_and_the_restart_sends_each_copy_once(
    tmp_path, bot_api
):
    subscribers = range(600, 630)
    env, admin = await with_subscribers(tmp_path, bot_api, subscribers)

    def to_subscriber(call) -> bool:
        return call.ok and call.params["chat_id"] in subscribers

    async with running(tmp_path, env) as process:
        await bot_api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)
        bot_api.send_message(admin, "/post [en] SIGTERM test")
        summary = await bot_api.wait_for_message(
            ADMIN_ID, predicate=lambda m: "post:send:1" in str(m.buttons), timeout=START_TIMEOUT
        )
        bot_api.set_latency(0.2)  # every request in flight for 0.2 s
        bot_api.press_button(admin, summary, "post:send:1")
        for _ in range(3):
            await bot_api.wait_for_call("sendMessage", predicate=to_subscriber, timeout=10)
        await asyncio.sleep(0.1)  # the fourth message is on its way
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert "appeal-bot stopped" in log
    assert "Traceback" not in log
    first_run = Counter(m.chat_id for m in bot_api.sent_messages() if m.chat_id in subscribers)
    assert 3 <= sum(first_run.values()) < len(subscribers)
    assert max(first_run.values()) == 1

    bot_api.set_latency(0)
    async with running(tmp_path, env) as process:
        await bot_api.wait_for_message(
            ADMIN_ID, predicate=lambda m: "has finished sending" in m.text, timeout=START_TIMEOUT
        )
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert "in flight" not in log  # a clean stop leaves nothing to resend
    copies = Counter(m.chat_id for m in bot_api.sent_messages() if m.chat_id in subscribers)
    assert copies == Counter(dict.fromkeys(subscribers, 1))
    storage = await Storage.open(env["DATABASE_PATH"])
    (broadcast,) = await storage.broadcasts.recent(1)
    await storage.close()
    assert (broadcast.counts.sent, broadcast.resent) == (len(subscribers), 0)
