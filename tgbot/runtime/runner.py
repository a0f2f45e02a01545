"""Running the bot: one event loop for python-telegram-bot, uvicorn, Stripe and the database.

Follows python-telegram-bot's custom-webhook example: `async with application`, start it, serve
HTTP until a signal arrives, then stop the update source first and the application after it,
so every update already fetched (and so acknowledged to Telegram) is handled before exit.
"""

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from starlette.routing import BaseRoute
from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application

from tgbot.payments.gateway import PaymentsUnavailable, StripeGateway
from tgbot.payments.service import DonationService, ReconcileReport
from tgbot.runtime.app import GET_UPDATES_TIMEOUT, build_application
from tgbot.runtime.supervision import supervise
from tgbot.runtime.web import create_web_app
from tgbot.services import RECONCILIATION, Services
from tgbot.settings import Settings
from tgbot.storage import Storage

log = logging.getLogger(__name__)

RouteFactory = Callable[[Services], Sequence[BaseRoute]]


class _Server(uvicorn.Server):
    """Uvicorn without its own signal handling: it would re-raise the signal after serving
    and kill the process before the bot has stopped. `run()` handles signals instead."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class PortInUse(Exception):
    """HOST:PORT is already taken by another process."""


STARTUP_RETRIES = (1, 2, 5, 10, 30, 60)
"""Seconds between attempts to reach Telegram at start-up; the last one repeats."""


def _bind(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything starts: a taken port fails fast, in one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(f"{host}:{port}") from None
        raise
    return sock


def _stop_on_signals(server: uvicorn.Server, stopping: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()

    def stop(signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        server.should_exit = True
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)


@asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Storage and, when Stripe is configured, the donation service; closed on exit."""
    storage = await Storage.open(settings.database_path)
    try:
        if settings.stripe_secret_key is None:
            yield Services(settings, storage)
            return
        webhook_secret = settings.stripe_webhook_secret
        gateway = StripeGateway(
            settings.stripe_secret_key.get_secret_value(),
            settings.stripe_api_base,
            webhook_secret.get_secret_value() if webhook_secret else None,
        )
        async with gateway:
            yield Services(settings, storage, payments=DonationService(settings, storage, gateway))
    finally:
        await storage.close()


def _polling_failed(error: TelegramError) -> None:
    """A getUpdates that failed: python-telegram-bot retries it; an outage is not an error."""
    log.warning("fetching updates from Telegram failed (%s); retrying", type(error).__name__)


async def reconcile_once(services: Services) -> ReconcileReport | None:
    """Apply what Stripe's event list has that webhooks did not bring; None if unreachable."""
    try:
        return await services.payments.reconcile()
    except PaymentsUnavailable as error:
        log.warning("reconciliation with Stripe failed: %s", error)
        return None


async def _keep_reconciling(services: Services) -> None:
    """Reconcile now and every RECONCILE_INTERVAL seconds (0: never), thanking new donors.

    The first round also sends thank-yous that were due when the process last stopped. Any
    failure but Stripe being out of reach ends the run, and `supervise` starts it again.
    """
    interval = services.settings.reconcile_interval
    health = services.health.task(RECONCILIATION)
    while True:
        report = await reconcile_once(services) if interval else None
        if report is not None and report.events_applied:
            log.info("reconciliation applied %d missed Stripe events", report.events_applied)
        if report is not None and report.unreadable:
            await services.notifier.events_unreadable(report.unreadable)
        await services.notifier.payments_applied()
        if report is not None:
            health.succeeded()
        if not interval:
            return
        await asyncio.sleep(interval)


async def run(settings: Settings, extra_routes: Sequence[RouteFactory] = ()) -> None:
    """Run until SIGINT or SIGTERM; `PortInUse` before anything starts if HOST:PORT is taken.

    `extra_routes` build more HTTP routes from the running bot (the playground's page).
    """
    with _bind(settings.host, settings.port) as sock:
        async with open_services(settings) as services:
            await _run_with(services, extra_routes, sock)


async def _reach_telegram(application: Application, stopping: asyncio.Event) -> bool:
    """Initialize the application (getMe), retrying while Telegram is out of reach; False
    when a signal asked to stop first. A refused token is not retried (InvalidToken)."""
    attempt = 0
    while True:
        try:
            await application.initialize()
            return True
        except NetworkError as error:  # TimedOut included
            delay = STARTUP_RETRIES[min(attempt, len(STARTUP_RETRIES) - 1)]
            attempt += 1
            name = type(error).__name__
            log.warning("cannot reach Telegram (%s); trying again in %d s", name, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), delay)
            if stopping.is_set():
                return False


async def _run_with(
    services: Services, extra_routes: Sequence[RouteFactory], sock: socket.socket
) -> None:
    settings = services.settings
    polling = settings.mode == "polling"
    application = build_application(services, polling=polling)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = create_web_app(
        application,
        services,
        telegram_secret=None if polling else secret,
        extra_routes=[route for make in extra_routes for route in make(services)],
    )
    server = _Server(
        uvicorn.Config(
            web_app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    stopping = asyncio.Event()
    _stop_on_signals(server, stopping)
    reached = False
    try:
        reached = await _reach_telegram(application, stopping)
    finally:
        if not reached:  # a failed start leaves open the connections initialize() opened
            await application.bot.shutdown()
    if not reached:
        return
    async with application:
        await application.start()
        await services.notifier.bot_started()
        if polling:
            await application.updater.start_polling(
                timeout=GET_UPDATES_TIMEOUT,
                allowed_updates=Update.ALL_TYPES,
                error_callback=_polling_failed,
            )
        else:
            await application.bot.set_webhook(
                url=settings.webhook_url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
        services.broadcaster.start(application.bot)
        reconciler = None
        if services.payments is not None:
            reconciler = asyncio.create_task(
                supervise(
                    services.health.task(RECONCILIATION),
                    lambda: _keep_reconciling(services),
                )
            )
        log.info("appeal-bot is running (%s mode) as @%s", settings.mode, application.bot.username)
        try:
            await server.serve(sockets=[sock])
        finally:  # every part stops, whatever state another is in
            if reconciler is not None:
                reconciler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reconciler
            await services.broadcaster.stop()
            if polling:
                await application.updater.stop()
            await application.stop()
    log.info("appeal-bot stopped")
