"""`python -m playground`: the real bot against the emulators, with its web page.

Everything listens on 127.0.0.1 only. The bot runs exactly as in production (polling the
Bot API emulator, Stripe calls to the simulator, its own HTTP app) with settings made here,
so nothing needs to be configured and no real service is ever called.

The bot's database and the page's people (`data/playground-people.json`) are kept from one
run to the next, so that both remember the same people; `reset` deletes both. The emulators
keep everything in memory: chat histories and unpaid checkout links end with the process.
"""

import socket
from pathlib import Path

import stripe as stripe_sdk
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from playground.stripe import FakeStripe
from playground.telegram import FakeBotAPI
from playground.web.page import playground_routes
from tgbot.payments.events import HANDLED_EVENTS
from tgbot.runtime import runner
from tgbot.settings import Settings

TOKEN = "4242424242:PLAYGROUND-not-a-real-token"
STRIPE_KEY = "sk_test_playground"
STRIPE_WEBHOOK_SECRET = "whsec_playground"
ADMIN_IDS = [90_001, 90_002, 90_003]
"""Simulated people marked as admins take these ids (ADMIN_IDS is fixed at start-up)."""
EMERGENCY = "(Playground) A real deployment puts its checked contacts here, e.g. +1 555 0100."
DATABASE = Path("data/playground.sqlite3")
"""Its own file: the playground never touches the production database."""
PEOPLE = DATABASE.with_name("playground-people.json")
"""The page's people, kept next to the database that knows them."""
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


class PlaygroundSettings(Settings):
    """Settings from the arguments only: a production environment or `.env` (a webhook URL,
    a real Stripe key, the production database) must never leak into the playground."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        **sources: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def playground_settings(telegram: FakeBotAPI, stripe: FakeStripe, port: int) -> Settings:
    page = f"http://127.0.0.1:{port}/playground"
    return PlaygroundSettings(
        bot_token=TOKEN,
        telegram_api_url=telegram.root_url,
        host="127.0.0.1",
        port=port,
        database_path=DATABASE,
        admin_ids=",".join(map(str, ADMIN_IDS)),
        emergency_contact_text=EMERGENCY,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        stripe_api_base=stripe.base_url,
        goal_amount="45550",
        goal_currency="usd",
        exchange_rates="EUR=1.08,GBP=1.27",
        donation_success_url=f"{page}/paid?session={{CHECKOUT_SESSION_ID}}",
        donation_cancel_url=f"{page}/cancelled",
        reconcile_interval=30,
    )


def reset() -> None:
    """Delete the playground's database and people: the next start is a fresh one."""
    for path in (DATABASE, *_companions(DATABASE), PEOPLE):
        path.unlink(missing_ok=True)


def _companions(database: Path) -> list[Path]:
    return [database.with_name(database.name + suffix) for suffix in SQLITE_COMPANIONS]


def _drop_orphaned_database() -> None:
    """A database without its people (from a playground that did not keep them) would give
    its people's ids, donations and subscriptions to new people: it goes."""
    if DATABASE.exists() and not PEOPLE.exists():
        print(f"{DATABASE} has no {PEOPLE.name} beside it: starting afresh.", flush=True)
        reset()


async def run_playground(port: int, *, fresh: bool = False) -> None:
    """Serve the playground on `port` (0: a free port, named in the first line of output).

    `fresh` first deletes the database and people of earlier runs (see :func:`reset`).
    The page's port is held from the start: the emulators take OS-chosen ports, and one of
    them must never land on the port a caller picked and freed just before starting us.
    """
    with _reserve(port) as held:
        if fresh:
            reset()
        _drop_orphaned_database()
        port = held.getsockname()[1]
        async with (
            FakeBotAPI(token=TOKEN, username="AppealPlaygroundBot") as telegram,
            FakeStripe(api_key=STRIPE_KEY, webhook_secret=STRIPE_WEBHOOK_SECRET) as stripe,
        ):
            held.close()
            for number, admin_id in enumerate(ADMIN_IDS, 1):  # so the admin menus can be set
                user = telegram.make_user(admin_id, first_name=f"Admin {number}")
                telegram.open_private_chat(user)
            settings = playground_settings(telegram, stripe, port)
            stripe.webhook_url = f"http://127.0.0.1:{port}/stripe/webhook"
            # as an operator sets it up in the Dashboard (README, step 4)
            stripe.add_webhook_endpoint(
                stripe.webhook_url, sorted(HANDLED_EVENTS), api_version=stripe_sdk.api_version
            )
            stripe.settlement_rates = {"eur": 1.08, "gbp": 1.27}  # as EXCHANGE_RATES says
            routes = playground_routes(telegram, stripe, ADMIN_IDS, PEOPLE)
            print(f"Playground: open http://127.0.0.1:{port}/playground", flush=True)
            print(
                f"Bot API emulator: {telegram.base_url}{TOKEN}/ · "
                f"Stripe simulator: {stripe.base_url}",
                flush=True,
            )
            settings_line = " ".join(f"{k}={v}" for k, v in check_env(telegram, stripe).items())
            print(f"To run `python -m tgbot check` against it: {settings_line}", flush=True)
            await runner.run(settings, [routes])


def check_env(telegram: FakeBotAPI, stripe: FakeStripe) -> dict[str, str]:
    """The settings that point `python -m tgbot check` at this playground's emulators."""
    return {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram.root_url,
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe.base_url,
        "ADMIN_IDS": ",".join(map(str, ADMIN_IDS)),
    }


def _reserve(port: int) -> socket.socket:
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", port))
    held.listen()  # a listening socket keeps the port out of every other bind
    return held
