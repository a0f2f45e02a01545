"""The HTTP app: health check, the Telegram webhook's secret check, the Stripe placeholder."""

import json
from http import HTTPStatus

import httpx
import pytest

import tgbot
from tests.test_conversation import plain
from tgbot.runtime.app import build_application
from tgbot.runtime.web import MAX_UPDATE_BYTES, SECRET_HEADER, create_web_app
from tgbot.services import Services
from tgbot.storage import Storage

SECRET = "webhook-secret_0123456789abcdefghijklmn"


@pytest.fixture
async def webhook_bot(bot_api, make_settings):
    """The bot in webhook mode: updates arrive over HTTP, replies go to the fake Bot API."""
    settings = make_settings(
        mode="webhook", webhook_url="https://bot.example/telegram/webhook", webhook_secret=SECRET
    )
    storage = await Storage.open(settings.database_path)
    services = Services(settings, storage)
    application = build_application(services, polling=False)
    web = create_web_app(application, services, telegram_secret=SECRET)
    transport = httpx.ASGITransport(app=web)
    async with application, httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        await application.start()
        services.broadcaster.start(application.bot)
        yield http, storage
        await services.broadcaster.stop()
        await application.stop()
    await storage.close()


def command_update(update_id: int, user_id: int, command: str = "/start") -> dict:
    user = {"id": user_id, "is_bot": False, "first_name": "T", "language_code": "ru"}
    message = {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": user_id, "type": "private", "first_name": "T"},
        "from": user,
        "text": command,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
    }
    return {"update_id": update_id, "message": message}


async def post_update(http, update, secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await http.post("/telegram/webhook", json=update, headers=headers)


async def test_update_with_the_right_secret_is_handled(webhook_bot, bot_api):
    http, _ = webhook_bot
    bot_api.make_user(31, language_code="ru")
    bot_api.send_message(bot_api.users[31], "hi")  # makes the private chat known to the fake
    response = await post_update(http, command_update(1, 31))
    assert response.status_code == HTTPStatus.OK
    assert (await bot_api.wait_for_message(31)).text == plain("ru", "start.greeting")


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", SECRET.upper()])
async def test_update_without_the_right_secret_is_refused_and_not_handled(
    webhook_bot, bot_api, secret
):
    http, _ = webhook_bot
    bot_api.make_user(32)
    bot_api.send_message(bot_api.users[32], "hi")
    response = await post_update(http, command_update(2, 32), secret=secret)
    assert response.status_code == HTTPStatus.FORBIDDEN
    ok = await post_update(
        http,
        {
            "update_id": 3,
            "message": {
                **command_update(3, 32)["message"],
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        },
    )
    assert ok.status_code == HTTPStatus.OK
    reply = await bot_api.wait_for_message(32)
    assert reply.text == plain("ru", "help.text")  # the refused /start never ran
    assert len(bot_api.sent_messages(32)) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", HTTPStatus.BAD_REQUEST),
        (b"[1, 2, 3]", "application/json", HTTPStatus.BAD_REQUEST),
        (b'{"no_update_id": true}', "application/json", HTTPStatus.BAD_REQUEST),
        (b"\xff\xfe", "application/json", HTTPStatus.BAD_REQUEST),
        (b"x" * (MAX_UPDATE_BYTES + 1), "application/json", HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    ],
)
async def test_malformed_bodies_are_refused(webhook_bot, body, content_type, status):
    http, _ = webhook_bot
    headers = {SECRET_HEADER: SECRET, "content-type": content_type}
    response = await http.post("/telegram/webhook", content=body, headers=headers)
    assert response.status_code == status


@pytest.mark.logs_errors  # the broadcast worker fails on the closed database too
async def test_liveness_reports_the_version_and_readiness_a_dead_database(webhook_bot):
    """In webhook mode readiness also asks Telegram for the webhook's last error."""
    http, storage = webhook_bot
    response = await http.get("/healthz")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok", "version": tgbot.__version__}
    assert (await http.get("/readyz")).status_code == HTTPStatus.OK
    await storage.close()  # the database goes away under the running bot
    assert (await http.get("/healthz")).status_code == HTTPStatus.OK  # the process is alive
    response = await http.get("/readyz")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "database unusable (ValueError)" in response.json()["problems"]


async def test_stripe_webhook_asks_stripe_to_retry_while_donations_are_not_configured(webhook_bot):
    http, _ = webhook_bot
    response = await http.post("/stripe/webhook", content=json.dumps({"id": "evt_1"}))
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE


async def test_polling_mode_serves_no_telegram_webhook(bot, make_settings):
    web = create_web_app(bot.application, bot.services, telegram_secret=None)
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        response = await post_update(http, command_update(1, 33))
    assert response.status_code == HTTPStatus.NOT_FOUND
