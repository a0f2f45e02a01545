"""Hardening the HTTP endpoints: oversized, malformed, unsigned, stale and forged requests.

Each request gets the right status, and none of them changes the database or reaches the
bot. Most requests go through `httpx.ASGITransport`, which hands the app the body chunk by
chunk as the app asks for it, so a test can count how much of a body was read; the cases
that depend on a real socket (a body that never ends, headers without a body) run against
uvicorn on a local port.
"""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from telegram.ext import Application

from playground.stripe import FakeStripe, sign_payload
from playground.telegram import FakeBotAPI
from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.test_process import free_port
from tests.test_web import command_update
from tgbot.payments.money import Money
from tgbot.runtime.app import build_application
from tgbot.runtime.runner import open_services
from tgbot.runtime.web import (
    MAX_STRIPE_EVENT_BYTES,
    MAX_UPDATE_BYTES,
    SECRET_HEADER,
    create_web_app,
)
from tgbot.services import Services

SECRET = "hardening-secret_0123456789abcdefghij"
DONOR = 4242
CHUNK = 64 * 1024
LIMITS = {"/telegram/webhook": MAX_UPDATE_BYTES, "/stripe/webhook": MAX_STRIPE_EVENT_BYTES}


@dataclass
class Web:
    http: httpx.AsyncClient
    app: Starlette
    application: Application
    services: Services
    api: FakeBotAPI
    stripe: FakeStripe
    intents: list[str] = field(default_factory=list)

    @property
    def database(self) -> Path:
        return self.services.settings.database_path


@pytest.fixture
async def web(bot_api, stripe_fake, make_settings, stripe_settings) -> AsyncIterator[Web]:
    """The bot in webhook mode with donations on: both webhooks served by one app."""
    settings = make_settings(
        **stripe_settings,
        mode="webhook",
        webhook_url="https://bot.example/telegram/webhook",
        webhook_secret=SECRET,
    )
    bot_api.open_private_chat(bot_api.make_user(DONOR, language_code="en"))
    async with open_services(settings) as services:
        application = build_application(services, polling=False)
        app = create_web_app(application, services, telegram_secret=SECRET)
        # an exception escaping the app is answered 500, as uvicorn would, not raised here
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with application, httpx.AsyncClient(transport=transport, base_url="http://bot") as c:
            await application.start()
            try:
                yield Web(c, app, application, services, bot_api, stripe_fake)
            finally:
                await application.stop()


def table_counts(database: Path) -> dict[str, int]:
    """Rows per table, read from outside the bot: "nothing changed" without trusting it."""
    with closing(sqlite3.connect(database)) as db:
        names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        counts = {}
        for name in names:
            query = f'SELECT count(*) FROM "{name}"'  # noqa: S608 - a name from sqlite_master
            counts[name] = db.execute(query).fetchone()[0]
        return counts


async def paid_event(web: Web, minor: int = 2500) -> dict:
    """A `checkout.session.completed` for a gift this bot asked for (an intent of ours)."""
    intent = f"intent_hardening_{len(web.intents)}"
    web.intents.append(intent)
    await web.services.storage.donations.create_intent(intent, DONOR, "en", minor, "eur")
    price = {"currency": "eur", "unit_amount": minor, "product_data": {"name": "Gift"}}
    session = web.stripe.create_session(
        {
            "mode": "payment",
            "success_url": "https://t.me/AppealBot",
            "client_reference_id": intent,
            "line_items": [{"price_data": price, "quantity": 1}],
        }
    )
    return web.stripe.pay(session["id"])


async def raised(web: Web) -> Money:
    return (await web.services.payments.progress()).raised


def nothing_reached_the_bot(web: Web) -> None:
    assert web.application.update_queue.qsize() == 0
    assert web.api.sent_messages() == []


class Body:
    """A request body sent in `CHUNK`-byte chunks, counting how many the server asked for."""

    def __init__(self, size: int | None = None, byte: bytes = b" ") -> None:
        self.size = size  # None: a body that never ends
        self.byte = byte
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        left = self.size
        while left is None or left > 0:
            self.pulled += 1
            if self.pulled > 10_000:  # 640 MB: the server read far too much; fail, don't hang
                raise AssertionError("the server kept reading an endless body")
            chunk = CHUNK if left is None else min(CHUNK, left)
            left = None if left is None else left - chunk
            yield self.byte * chunk


def auth(path: str) -> dict[str, str]:
    """Headers that get a request past the checks made before the body is read."""
    return {SECRET_HEADER: SECRET} if path.startswith("/telegram") else {"Stripe-Signature": "x"}


# -- size limits -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LIMITS)
async def test_a_declared_oversize_body_is_refused_without_reading_it(web, path):
    before = table_counts(web.database)
    body = Body()
    headers = auth(path) | {"Content-Length": str(LIMITS[path] + 1)}
    response = await web.http.post(path, content=body, headers=headers)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert body.pulled == 0
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


@pytest.mark.parametrize("path", LIMITS)
@pytest.mark.parametrize("declared", ["100", None], ids=["false-small-length", "chunked"])
async def test_an_endless_body_is_cut_off_just_past_the_limit(web, path, declared):
    before = table_counts(web.database)
    body = Body()
    headers = auth(path) | ({"Content-Length": declared} if declared else {})
    response = await web.http.post(path, content=body, headers=headers)
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert body.pulled * CHUNK <= LIMITS[path] + 2 * CHUNK
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


@pytest.mark.parametrize("path", LIMITS)
@pytest.mark.parametrize(
    ("extra", "status"),
    [(0, HTTPStatus.BAD_REQUEST), (1, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)],
    ids=["at-limit", "one-byte-over"],
)
async def test_the_limit_is_exact(web, path, extra, status):
    """A body of exactly the limit is read (then refused for what it is: not JSON, unsigned);
    one byte more is too large, with or without a Content-Length."""
    for declared in (True, False):
        size = LIMITS[path] + extra
        headers = auth(path) | ({"Content-Length": str(size)} if declared else {})
        response = await web.http.post(path, content=Body(size), headers=headers)
        assert response.status_code == status, declared
    nothing_reached_the_bot(web)


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[int]:
    """`app` behind uvicorn on a free local port, as production serves it."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        yield port
    finally:
        server.should_exit = True
        await task


async def status_line(reader: asyncio.StreamReader) -> int:
    line = await asyncio.wait_for(reader.readline(), 5)
    return int(line.split()[1])


@pytest.mark.parametrize("path", LIMITS)
async def test_over_a_socket_an_endless_chunked_body_is_answered_and_dropped(web, path):
    before = table_counts(web.database)
    async with served(web.app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        headers = "".join(f"{name}: {value}\r\n" for name, value in auth(path).items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            f"{headers}Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        answer = asyncio.create_task(status_line(reader))
        sent = 0
        chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
        try:
            while not answer.done() and sent < 50 * LIMITS[path]:
                writer.write(chunk)
                await writer.drain()
                sent += CHUNK
        except ConnectionError:
            pass  # the server closed the connection on the rest of the body
        assert await answer == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        assert sent < 10 * LIMITS[path]  # answered long before the client gave up
        writer.close()
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


@pytest.mark.parametrize("path", LIMITS)
async def test_over_a_socket_a_huge_declared_length_is_refused_before_any_body(web, path):
    async with served(web.app) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        headers = "".join(f"{name}: {value}\r\n" for name, value in auth(path).items())
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: bot\r\n{headers}"
            f"Content-Length: {100 * LIMITS[path]}\r\n\r\n".encode()
        )
        await writer.drain()  # and not one byte of the body
        assert await status_line(reader) == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
        writer.close()
    nothing_reached_the_bot(web)


# -- the Telegram webhook ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [
        SECRET[:-1],
        SECRET * 2,
        f" {SECRET}",
        "x" * 100_000,
        SECRET.replace("_", "é"),
        "\t",
    ],
    ids=["prefix", "doubled", "padded", "overlong", "non-ascii", "whitespace"],
)
async def test_a_wrong_secret_is_refused_before_the_body_is_read(web, secret):
    before = table_counts(web.database)
    body = Body(CHUNK, byte=b"{")
    headers = {SECRET_HEADER: secret.encode("latin-1"), "Content-Type": "application/json"}
    response = await web.http.post("/telegram/webhook", content=body, headers=headers)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert body.pulled == 0
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


async def test_a_real_update_without_the_secret_header_is_not_handled(web):
    before = table_counts(web.database)
    update = command_update(1, DONOR, "/subscribe")
    response = await web.http.post("/telegram/webhook", json=update)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert await web.services.storage.users.get(DONOR) is None
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"1",
        b'"update"',
        b"{}",
        b'{"update_id": 1, "message": "not an object"}',
        b'{"update_id": 1, "message": {"chat": 5}}',
        b'{"update_id": 1, "callback_query": []}',
        b'{"update_id": 1, "message": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
    ids=[
        "null", "number", "string", "empty", "message-string", "message-no-date",
        "query-list", "deeply-nested",
    ],
)  # fmt: skip
async def test_malformed_updates_with_the_right_secret_are_refused(web, body):
    before = table_counts(web.database)
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    response = await web.http.post("/telegram/webhook", content=body, headers=headers)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"update_id=1&message=%7B%7D", "application/x-www-form-urlencoded"),
        (b'--b\r\nContent-Disposition: form-data; name="update_id"\r\n\r\n1\r\n--b--\r\n',
         "multipart/form-data; boundary=b"),
        (b"<update><id>1</id></update>", "application/xml"),
    ],
    ids=["form", "multipart", "xml"],
)  # fmt: skip
async def test_non_json_content_types_are_refused(web, content, content_type):
    headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
    response = await web.http.post("/telegram/webhook", content=content, headers=headers)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    nothing_reached_the_bot(web)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("path", LIMITS)
async def test_webhooks_answer_only_post(web, method, path):
    before = table_counts(web.database)
    response = await web.http.request(method, path, headers=auth(path))
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert table_counts(web.database) == before


# -- the Stripe webhook --------------------------------------------------------------------------


async def post_signed(web: Web, body: bytes, signature: str, **headers: str) -> httpx.Response:
    headers = {
        "Stripe-Signature": signature.encode("latin-1"),
        "Content-Type": "application/json",
    } | headers
    return await web.http.post("/stripe/webhook", content=body, headers=headers)


async def test_a_replay_after_the_tolerance_is_refused(web, monkeypatch):
    event = await paid_event(web)
    body, signature = web.stripe.signed(event)
    first = await post_signed(web, body, signature)
    assert (first.status_code, first.json()["duplicate"]) == (HTTPStatus.OK, False)
    await web.api.wait_for_message(DONOR)  # the thank-you, once
    before = table_counts(web.database)

    later = SimpleNamespace(time=lambda: time.time() + 400)  # the same request, 400 s later
    monkeypatch.setattr("stripe._webhook.time", later)
    replay = await post_signed(web, body, signature)
    assert replay.status_code == HTTPStatus.BAD_REQUEST
    assert table_counts(web.database) == before
    assert await raised(web) == Money(2500, "eur")
    assert len(web.api.sent_messages(DONOR)) == 1


async def test_a_signature_for_another_body_is_refused(web):
    signed_event, other_event = await paid_event(web), await paid_event(web, minor=9900)
    _, signature = web.stripe.signed(signed_event)
    other_body, _ = web.stripe.signed(other_event)
    before = table_counts(web.database)
    response = await post_signed(web, other_body, signature)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert table_counts(web.database) == before
    assert await web.services.storage.donations.export() == []
    response = await post_signed(web, *web.stripe.signed(other_event))  # Stripe's own delivery
    assert response.status_code == HTTPStatus.OK
    assert await raised(web) == Money(9900, "eur")


def malformed_signatures(body: bytes) -> list[str]:
    now = int(time.time())
    valid = sign_payload(body.decode(), STRIPE_WEBHOOK_SECRET, now)
    digest = valid.split("v1=", 1)[1]
    return [
        "",
        " ",
        "garbage",
        f"v1={digest}",  # no timestamp
        f"t={now}",  # no signature
        f"t={now},v0={digest}",  # another scheme
        f"t=soon,v1={digest}",
        f"t={'9' * 5000},v1={digest}",
        f"t={now},v1={digest.upper()}",
        f"t={now + 1},v1={digest}",  # another timestamp than the one signed
        f"t={now},v1={digest[:-1]}",
        f"t={now},v1={'0' * 64},v1=",
        "t=,v1=,,,,=,=,",
        "x" * 100_000,
        f"t={now},v1={digest}".replace("t=", "t\u00e9="),
    ]


async def test_malformed_signature_headers_are_refused(web):
    event = await paid_event(web)
    body, _ = web.stripe.signed(event)
    before = table_counts(web.database)
    for signature in malformed_signatures(body):
        response = await post_signed(web, body, signature)
        assert response.status_code == HTTPStatus.BAD_REQUEST, signature[:80]
    assert table_counts(web.database) == before
    nothing_reached_the_bot(web)


@pytest.mark.parametrize(
    "payload",
    [
        "[]",
        "{}",
        '{"id": "evt_hardening_2", "type": "checkout.session.completed", "created": "soon",'
        ' "data": {"object": {}}}',
        '{"id": "evt_hardening_3", "type": "charge.refunded", "created": 1,'
        ' "data": {"object": {"id": "ch_1", "payment_intent": "pi_1", "amount_refunded": "x"}}}',
        '{"id": "evt_hardening_4", "type": "charge.refunded", "created": 1, "data": null}',
        "[" * 50_000 + "]" * 50_000,
    ],
    ids=[
        "list", "empty", "bad-created", "bad-amount",
        "null-data", "deeply-nested",
    ],
)  # fmt: skip
async def test_signed_but_malformed_events_are_refused_not_retried(web, payload):
    """Stripe retries anything but 2xx for days: a malformed event must get a 4xx."""
    before = table_counts(web.database)
    signature = sign_payload(payload, STRIPE_WEBHOOK_SECRET)
    response = await post_signed(web, payload.encode(), signature)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert table_counts(web.database) == before


async def test_bodies_that_are_not_utf8_are_refused(web):
    body = b'{"id": "evt_\xff\xfe"}'
    response = await post_signed(web, body, f"t={int(time.time())},v1={'0' * 64}")
    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""]
)
async def test_the_signature_not_the_content_type_decides(web, content_type):
    """A forged body is refused whatever it claims to be; Stripe's signed body is applied."""
    event = await paid_event(web)
    body, signature = web.stripe.signed(event)
    headers = {"Content-Type": content_type}
    forged = await post_signed(web, body.replace(b"2500", b"9999"), signature, **headers)
    assert forged.status_code == HTTPStatus.BAD_REQUEST
    assert await web.services.storage.donations.export() == []
    applied = await post_signed(web, body, signature, **headers)
    assert applied.status_code == HTTPStatus.OK
    assert await raised(web) == Money(2500, "eur")
