"""`python -m tgbot` as a real process: configuration errors, a conversation, a clean stop."""

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from http import HTTPStatus

import httpx
import pytest

from tests.conftest import ADMIN_ID, EMERGENCY, STRIPE_KEY, STRIPE_WEBHOOK_SECRET, TOKEN
from tests.test_conversation import plain
from tgbot.runtime.web import SECRET_HEADER
from tgbot.settings import LANGUAGES
from tgbot.storage import Storage

START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_env(tmp_path, **settings: str) -> dict[str, str]:
    """A clean environment: nothing inherited that could configure the bot by accident."""
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG")}
    env |= {key.upper(): value for key, value in settings.items()}
    env["DATABASE_PATH"] = str(tmp_path / "data" / "bot.sqlite3")
    return env


def live_env(tmp_path, bot_api, port: int, **settings: str) -> dict[str, str]:
    """Settings for a bot that talks to the fake Bot API and serves HTTP on `port`."""
    return bot_env(
        tmp_path,
        bot_token=TOKEN,
        emergency_contact_text=EMERGENCY,
        telegram_api_url=bot_api.root_url,
        port=str(port),
        **settings,
    )


def spawn(tmp_path, env: dict[str, str], *args: str) -> Awaitable[asyncio.subprocess.Process]:
    """`python -m tgbot` in `tmp_path`, so no `.env` of the checkout is read."""
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "tgbot", *args, cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@asynccontextmanager
async def running(tmp_path, env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot as a process, killed at the end if the test did not stop it."""
    process = await spawn(tmp_path, env)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stop(process: asyncio.subprocess.Process, signum: int) -> str:
    """Send `signum` and return what the process logged until it exited."""
    process.send_signal(signum)
    _, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    return stderr.decode()


async def with_subscribers(tmp_path, bot_api, subscribers: range) -> tuple[dict[str, str], dict]:
    """Settings for a bot process whose database already has English `subscribers` (their
    chats known to the emulator), and the admin, whose chat is known too."""
    env = live_env(tmp_path, bot_api, free_port(), admin_ids=str(ADMIN_ID))
    storage = await Storage.open(env["DATABASE_PATH"])
    for user_id in subscribers:
        bot_api.open_private_chat(bot_api.make_user(user_id, language_code="en"))
        await storage.users.set_subscribed(user_id, "en", True)
    await storage.close()
    admin = bot_api.make_user(ADMIN_ID, language_code="en")
    bot_api.open_private_chat(admin)
    return env, admin


async def run_cli(tmp_path, env: dict[str, str], *args: str) -> tuple[int, str]:
    process = await spawn(tmp_path, env, *args)
    stdout, stderr = await asyncio.wait_for(process.communicate(), START_TIMEOUT)
    return process.returncode, stdout.decode() + stderr.decode()


async def test_missing_token_exits_2_with_one_clear_line(tmp_path):
    code, stderr = await run_cli(tmp_path, bot_env(tmp_path, emergency_contact_text=EMERGENCY))
    assert code == 2
    assert stderr.strip().splitlines() == [
        "Configuration error: BOT_TOKEN: required setting is missing"
    ]


async def test_a_malformed_token_is_named_but_never_printed(tmp_path):
    secret = "not-a-token-but-a-secret-anyway"
    env = bot_env(tmp_path, bot_token=secret, emergency_contact_text=EMERGENCY)
    code, stderr = await run_cli(tmp_path, env)
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert "BOT_TOKEN" in stderr
    assert secret not in stderr


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"mode": "webhook"}, "WEBHOOK_URL"),
        ({"mode": "webhook", "webhook_url": "https://x.example/hook"}, "WEBHOOK_SECRET"),
        ({"webhook_url": "http://plain.example/hook"}, "WEBHOOK_URL"),
        ({"default_language": "it"}, "DEFAULT_LANGUAGE"),
        ({"admin_ids": "12,abc"}, "ADMIN_IDS"),
        ({"port": "http"}, "PORT"),
    ],
)
async def test_invalid_settings_exit_2_naming_the_setting(tmp_path, settings, named):
    env = bot_env(tmp_path, bot_token=TOKEN, emergency_contact_text=EMERGENCY, **settings)
    code, stderr = await run_cli(tmp_path, env)
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("Configuration error: ")
    assert named in line
    assert TOKEN not in stderr


async def test_the_bot_runs_answers_and_stops_cleanly_on_sigterm(tmp_path, bot_api):
    port = free_port()
    env = live_env(tmp_path, bot_api, port)
    async with running(tmp_path, env) as process:
        await bot_api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)  # polling starts
        user = bot_api.make_user(41, language_code="ru")
        bot_api.send_message(user, "/start")
        assert (await bot_api.wait_for_message(41)).text == plain("ru", "start.greeting")

        async with httpx.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == HTTPStatus.OK

        # SIGTERM while a reply is on its way: the update was fetched, so it must be answered.
        bot_api.set_latency(1.0)
        bot_api.send_message(user, "/help")
        await bot_api.wait_for_call(
            "getUpdates", predicate=lambda call: bool(call.result), timeout=START_TIMEOUT
        )
        await asyncio.sleep(0.3)
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert (await bot_api.wait_for_message(41)).text == plain("ru", "help.text")
    assert "appeal-bot stopped" in log
    assert TOKEN not in log
    assert "Traceback" not in log
    for language in LANGUAGES:
        assert ("all_private_chats", language) in bot_api.commands
        assert bot_api.descriptions[language]


async def test_webhook_mode_registers_the_secret_and_serves_updates(tmp_path, bot_api):
    port = free_port()
    secret = "s3cret_webhook-token_0123456789abcdef"
    env = live_env(
        tmp_path,
        bot_api,
        port,
        mode="webhook",
        webhook_url="https://bot.example/telegram/webhook",
        webhook_secret=secret,
    )
    async with running(tmp_path, env) as process:
        await bot_api.wait_for_call("setWebhook", timeout=START_TIMEOUT)
        assert (bot_api.webhook_url, bot_api.webhook_secret) == (env["WEBHOOK_URL"], secret)
        user = bot_api.make_user(42, language_code="es")
        update = bot_api.send_message(user, "/help")  # also makes the chat known to the fake
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        async with httpx.AsyncClient() as http:
            for _ in range(50):  # the HTTP server starts right after setWebhook
                try:
                    refused = await http.post(url, json=update)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.1)
            accepted = await http.post(url, json=update, headers={SECRET_HEADER: secret})
        assert refused.status_code == HTTPStatus.FORBIDDEN
        assert accepted.status_code == HTTPStatus.OK
        assert (await bot_api.wait_for_message(42)).text == plain("es", "help.text")

        # Telegram delivering by itself, through a "proxy" from the public URL to the port:
        # first the /help posted by hand above (Telegram never delivered it), then /about
        bot_api.forward_webhook_to(url)
        bot_api.send_message(user, "/about")
        assert (await bot_api.wait_for_message(42)).text == plain("es", "help.text")
        assert (await bot_api.wait_for_message(42)).text == plain("es", "about.text")
        log = await stop(process, signal.SIGINT)
    assert process.returncode == 0, log
    assert len(bot_api.sent_messages(42)) == 3
    assert bot_api.pending_updates == []
    assert [status for _, status in bot_api.webhook_deliveries][-1] == HTTPStatus.OK
    assert bot_api.calls_to("getUpdates") == []


async def test_reconcile_command_counts_a_payment_whose_webhook_never_came(tmp_path, stripe_fake):
    env = bot_env(
        tmp_path,
        bot_token=TOKEN,
        emergency_contact_text=EMERGENCY,
        stripe_secret_key=STRIPE_KEY,
        stripe_api_base=stripe_fake.base_url,
    )
    storage = await Storage.open(env["DATABASE_PATH"])
    await storage.donations.create_intent("intent_lost_webhook", 5, "en", 2500, "eur")
    session = stripe_fake.create_session(
        {
            "mode": "payment",
            "success_url": "https://t.me/AppealBot",
            "client_reference_id": "intent_lost_webhook",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 2500,
                        "product_data": {"name": "Gift"},
                    },
                    "quantity": 1,
                }
            ],
        }
    )
    stripe_fake.pay(session["id"])  # paid, but the webhook is lost
    code, stderr = await run_cli(tmp_path, env, "reconcile")
    assert code == 0, stderr
    (row,) = await storage.donations.export()
    assert (row.status, row.amount, row.currency) == ("paid", 2500, "eur")
    await storage.close()
    code, _ = await run_cli(tmp_path, env, "reconcile")  # again: nothing new, still fine
    assert code == 0


async def test_reconcile_without_stripe_settings_exits_2(tmp_path):
    env = bot_env(tmp_path, bot_token=TOKEN, emergency_contact_text=EMERGENCY)
    code, stderr = await run_cli(tmp_path, env, "reconcile")
    assert code == 2
    assert "STRIPE_SECRET_KEY" in stderr


async def test_the_running_process_takes_a_donation_end_to_end(tmp_path, bot_api, stripe_fake):
    port = free_port()
    env = live_env(
        tmp_path,
        bot_api,
        port,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        stripe_api_base=stripe_fake.base_url,
        goal_amount="4555",
        goal_currency="usd",
    )
    async with running(tmp_path, env) as process:
        await bot_api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)
        user = bot_api.make_user(43, language_code="en")
        bot_api.send_message(user, "/donate $45.55")
        link = await bot_api.wait_for_message(43)
        (session,) = stripe_fake.sessions.values()
        assert link.buttons[0]["url"] == session["url"]
        event = stripe_fake.pay(session["id"])
        url = f"http://127.0.0.1:{port}/stripe/webhook"
        for _ in range(50):  # the HTTP server may still be starting
            try:
                response = await stripe_fake.deliver(event, url)
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
        assert response.status_code == HTTPStatus.OK
        thanks = await bot_api.wait_for_message(43)
        assert "Thank you" in thanks.text
        bot_api.send_message(user, "/progress")
        progress = await bot_api.wait_for_message(43)
        assert "$45.55 of $4,555.00 (1%)" in progress.text
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    assert STRIPE_KEY not in log


async def test_a_broadcast_killed_mid_way_resumes_on_restart_with_one_copy_each(tmp_path, bot_api):
    """SIGKILL while a news message is in flight: after a restart every subscriber has it,
    and the one in flight is the only one that could have arrived twice."""
    subscribers = range(500, 520)
    env, admin = await with_subscribers(tmp_path, bot_api, subscribers)

    async with running(tmp_path, env) as process:
        await bot_api.wait_for_call("deleteWebhook", timeout=START_TIMEOUT)
        bot_api.send_message(admin, "/post [en] Kill test")
        summary = await bot_api.wait_for_message(
            ADMIN_ID, predicate=lambda m: "post:send:1" in str(m.buttons), timeout=START_TIMEOUT
        )
        bot_api.set_latency(0.3)  # every request is in flight for 0.3 s
        bot_api.press_button(admin, summary, "post:send:1")
        for _ in range(5):
            await bot_api.wait_for_call(
                "sendMessage", predicate=lambda c: c.ok and c.params["chat_id"] in subscribers,
                timeout=START_TIMEOUT,
            )  # fmt: skip
        await asyncio.sleep(0.15)  # the sixth message is on its way
        process.kill()
        await process.wait()
    delivered = sum(1 for m in bot_api.sent_messages() if m.chat_id in subscribers)
    assert 5 <= delivered < len(subscribers)

    bot_api.set_latency(0)
    async with running(tmp_path, env) as process:
        report = await bot_api.wait_for_message(
            ADMIN_ID, predicate=lambda m: "has finished sending" in m.text, timeout=START_TIMEOUT
        )
        log = await stop(process, signal.SIGTERM)
    assert process.returncode == 0, log
    copies = Counter(m.chat_id for m in bot_api.sent_messages() if m.chat_id in subscribers)
    assert set(copies) == set(subscribers)
    duplicates = sum(count - 1 for count in copies.values())
    storage = await Storage.open(env["DATABASE_PATH"])
    (broadcast,) = await storage.broadcasts.recent(1)
    await storage.close()
    assert broadcast.resent == 1  # the message in flight at the kill
    assert duplicates <= broadcast.resent
    assert plain("en", "broadcasts.resent", count=1) in report.text
