"""The HTTP side: liveness and readiness, Telegram webhook and Stripe webhook, one app."""

import json
import logging
import secrets
from collections.abc import Sequence
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.ext import Application

import tgbot
from tgbot.payments.events import MalformedEvent
from tgbot.payments.gateway import BadSignature
from tgbot.runtime.readiness import Readiness
from tgbot.services import Services

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1_000_000
"""Telegram updates are a few kilobytes; anything this large is not from Telegram."""
MAX_STRIPE_EVENT_BYTES = 1_000_000
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


def health_routes(readiness: Readiness) -> list[Route]:
    async def healthz(_: Request) -> JSONResponse:
        """Liveness: the process and its event loop answer (what Docker or systemd watch)."""
        return JSONResponse({"status": "ok", "version": tgbot.__version__})

    async def readyz(_: Request) -> JSONResponse:
        """Readiness: 200 while the bot does its job, else 503 naming each problem."""
        if problems := await readiness.problems():
            body = {"status": "unavailable", "version": tgbot.__version__, "problems": problems}
            return JSONResponse(body, status_code=HTTPStatus.SERVICE_UNAVAILABLE)
        return JSONResponse({"status": "ok", "version": tgbot.__version__, "problems": []})

    return [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]


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
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return error(HTTPStatus.BAD_REQUEST, "not a Telegram update")
        if update is None:
            return error(HTTPStatus.BAD_REQUEST, "not a Telegram update")
        await application.update_queue.put(update)
        return Response(status_code=HTTPStatus.OK)

    return Route("/telegram/webhook", telegram_webhook, methods=["POST"])


def stripe_route(application: Application, services: Services) -> Route:
    async def stripe_webhook(request: Request) -> Response:
        """Apply a signed Stripe event; 2xx only once it is committed, so Stripe retries."""
        payments = services.payments
        if payments is None or not payments.gateway.accepts_webhooks:
            return error(HTTPStatus.SERVICE_UNAVAILABLE, "donations are not configured")
        try:
            body = await read_body(request, MAX_STRIPE_EVENT_BYTES)
            outcome = await payments.handle_webhook(body, request.headers.get("stripe-signature"))
        except BodyTooLarge:
            return error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "event too large")
        except ClientDisconnect:
            return Response(status_code=HTTPStatus.BAD_REQUEST)
        except BadSignature:
            return error(HTTPStatus.BAD_REQUEST, "invalid signature")
        except MalformedEvent as problem:
            log.warning("Stripe event refused: %s", problem)
            return error(HTTPStatus.BAD_REQUEST, "malformed event")
        except Exception as failure:  # not committed: Stripe must deliver it again
            log.exception("Stripe event not applied (%s)", type(failure).__name__)
            return error(HTTPStatus.INTERNAL_SERVER_ERROR, "event not applied, retry")
        if outcome is not None:
            application.create_task(services.notifier.payments_applied())
        return JSONResponse({"received": True, "duplicate": outcome is None})

    return Route("/stripe/webhook", stripe_webhook, methods=["POST"])


def create_web_app(
    application: Application,
    services: Services,
    *,
    telegram_secret: str | None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Routes for every mode; the Telegram webhook only when a secret token is configured.

    `extra_routes` lets the playground serve its page from the same app.
    """
    readiness = Readiness(services, application.bot, polling=telegram_secret is None)
    routes = [*health_routes(readiness), stripe_route(application, services)]
    if telegram_secret is not None:
        routes.append(telegram_route(application, telegram_secret))
    return Starlette(routes=[*routes, *extra_routes])
