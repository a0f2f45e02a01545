"""The HTTP side: health check, Telegram webhook and Stripe webhook, one Starlette app."""

import json
import logging
import secrets
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

import tgbot
from tgbot.storage import Storage

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1_000_000
"""Telegram updates are a few kilobytes; anything this large is not from Telegram."""
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def error(status: HTTPStatus, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def health_route(storage: Storage) -> Route:
    async def healthz(_: Request) -> JSONResponse:
        """200 when the database answers, 503 when it does not."""
        try:
            await storage.database.ping()
        except Exception as exc:  # any failure means "unhealthy", whatever its type
            log.warning("health check: database unusable (%s)", type(exc).__name__)
            return JSONResponse(
                {"status": "unavailable", "version": tgbot.__version__, "database": "error"},
                status_code=HTTPStatus.SERVICE_UNAVAILABLE,
            )
        return JSONResponse({"status": "ok", "version": tgbot.__version__, "database": "ok"})

    return Route("/healthz", healthz, methods=["GET"])


def telegram_route(application: Application, secret_token: str) -> Route:
    async def telegram_webhook(request: Request) -> Response:
        """Queue an update from Telegram; anything without the right secret is refused unread."""
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), secret_token.encode()):
            return error(HTTPStatus.FORBIDDEN, "wrong or missing secret token")
        try:
            payload = json.loads(await read_body(request, MAX_UPDATE_BYTES))
            update = Update.de_json(payload, application.bot)
        except BodyTooLarge:
            return error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "update too large")
        except ClientDisconnect:
            return Response(status_code=HTTPStatus.BAD_REQUEST)
        except (ValueError, TypeError, KeyError, AttributeError):
            return error(HTTPStatus.BAD_REQUEST, "not a Telegram update")
        if update is None:
            return error(HTTPStatus.BAD_REQUEST, "not a Telegram update")
        await application.update_queue.put(update)
        return Response(status_code=HTTPStatus.OK)

    return Route("/telegram/webhook", telegram_webhook, methods=["POST"])


def stripe_route() -> Route:
    async def stripe_webhook(_: Request) -> Response:
        """Donations are not configured: 503 makes Stripe keep the event and retry later."""
        return error(HTTPStatus.SERVICE_UNAVAILABLE, "donations are not configured")

    return Route("/stripe/webhook", stripe_webhook, methods=["POST"])


def create_web_app(
    application: Application, storage: Storage, *, telegram_secret: str | None
) -> Starlette:
    """Routes for every mode; the Telegram webhook only when a secret token is configured."""
    routes = [health_route(storage), stripe_route()]
    if telegram_secret is not None:
        routes.append(telegram_route(application, telegram_secret))
    return Starlette(routes=routes)
