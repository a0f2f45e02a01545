"""Payment ingestion: signed Stripe webhooks POSTed over HTTP to the running bot.

    .venv/bin/python -m bench.payments [--events 2000] [--duplicates 0.2] [--concurrency 50]

The bot runs as production runs it (`python -m tgbot`, polling, its uvicorn server on
127.0.0.1) with donations on, against the emulated Bot API and the simulated Stripe
(FakeStripe), both served from this process. Setting up, untimed: `events x (1 - duplicates)`
supporters each send `/donate <amount> EUR` (amounts from 1 to 500 EUR), so each Checkout
Session is created through the bot's real path (the stripe SDK against the simulator) and its
intent is in the bot's database; the bot is stopped and its database copied. Each session is
then paid in the simulator (`FakeStripe.pay`, settled in EUR) and its
`checkout.session.completed` event is delivered; the duplicates are redeliveries of random
events of the set, shuffled in among them, so some race their originals.

Measured, each on a fresh copy of the database with the same events, each signed as it is sent:
the events POSTed to `/stripe/webhook` `--concurrency` at a time, and, as the baseline, one at
a time. Events/s is events / (last answer - first request). Then, untimed for the rate, the
time until every donor got their thank-you (`after_payments` runs after each applied event) and
the Stripe API calls the bot made meanwhile; then the same events once more, all known by then
(the cost of verifying and de-duplicating alone). At the end the bot is stopped and the totals read
from its database must equal the sum of the distinct sessions' amounts exactly (OK/MISMATCH),
with each session counted once.
"""

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx

from bench.common import (
    TOKEN,
    CallWatcher,
    Child,
    bot_env,
    is_message,
    python_module,
    wait_until_answering,
)
from playground.stripe import FakeStripe
from playground.telegram import Call, FakeBotAPI
from tgbot.payments.money import Money
from tgbot.payments.progress import Converter, progress
from tgbot.storage import Storage

STRIPE_KEY = "sk_test_bench_key_4242"
WEBHOOK_SECRET = "whsec_bench_secret"  # noqa: S105 - the simulator's, not a secret
GOAL = "1000000"
READY_USER = 1
IDLE_TIMEOUT = 60.0
"""Seconds to wait, after the thank-yous, for the bot's follow-up work to end."""
FIRST_DONOR = 5_000_000
HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
}


def stripe_env(folder: Path, api: FakeBotAPI, stripe_fake: FakeStripe) -> dict[str, str]:
    return bot_env(
        folder,
        api,
        stripe_secret_key=STRIPE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=stripe_fake.base_url,
        goal_amount=GOAL,
        goal_currency="eur",
        reconcile_interval=0,  # webhooks are the only way in, as measured
    )


async def start_bot(folder: Path, env: dict[str, str], name: str) -> Child:
    return await Child.spawn(python_module("tgbot"), env=env, cwd=folder, folder=folder, name=name)


async def wait_for_health(child: Child, port: str) -> None:
    """Until the bot's HTTP server answers /healthz (it starts after polling does)."""
    async with httpx.AsyncClient() as http:
        for _ in range(600):
            if child.process.returncode is not None:
                raise child.failure(f"exited with {child.process.returncode}")
            try:
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise child.failure("its HTTP server did not come up")


async def create_sessions(
    api: FakeBotAPI, stripe_fake: FakeStripe, folder: Path, count: int, seed: int
) -> Path:
    """Each of `count` donors asks for a payment link; returns the database afterwards."""
    env = stripe_env(folder, api, stripe_fake)
    bot = await start_bot(folder, env, "setup")
    watcher = CallWatcher(api)
    rng = random.Random(seed)  # noqa: S311 - reproducible amounts, nothing secret
    try:
        await wait_until_answering(api, watcher, bot, READY_USER)
        donors = set(range(FIRST_DONOR, FIRST_DONOR + count))
        for donor in sorted(donors):
            minor = rng.randint(100, 50_000)
            user = api.make_user(donor, language_code="en")
            api.send_message(user, f"/donate {minor // 100}.{minor % 100:02d} EUR")
        linked: set[int] = set()

        def on_call(call: Call) -> bool:
            if is_message(call) and call.params.get("chat_id") in donors:
                linked.add(call.params["chat_id"])
            return len(linked) == count

        await watcher.until(on_call, timeout=60 + count / 10, what="the payment links")
    finally:
        code = await bot.stop()
    if code != 0:
        raise bot.failure(f"exited with {code}")
    if stripe_fake.sessions_created != count:
        raise RuntimeError(f"{stripe_fake.sessions_created} sessions for {count} donors")
    return Path(env["DATABASE_PATH"])


@dataclass
class RunResult:
    name: str
    events: int
    seconds: float
    statuses: Counter
    duplicates: int
    thanked_after: float | None
    settled_after: float | None
    stripe_calls: int
    total: Money
    donations: int
    settled: int
    bot_cpu: float
    client_cpu: float
    replay_seconds: float
    replay_duplicates: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def post_all(
    port: str, stripe_fake: FakeStripe, events: list[dict], concurrency: int
) -> tuple[float, Counter[int], int]:
    """POST each event, signed as it goes out (as Stripe does), `concurrency` at a time."""
    url = f"http://127.0.0.1:{port}/stripe/webhook"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()
    duplicates = 0

    async with httpx.AsyncClient(limits=limits, timeout=60) as http:

        async def post(event: dict) -> None:
            nonlocal duplicates
            async with gate:
                body, signature = stripe_fake.signed(event)
                response = await http.post(
                    url, content=body, headers=HEADERS | {"Stripe-Signature": signature}
                )
            statuses[response.status_code] += 1
            if response.status_code == 200 and response.json().get("duplicate"):
                duplicates += 1

        started = time.monotonic()
        await asyncio.gather(*(post(event) for event in events))
        elapsed = time.monotonic() - started
    return elapsed, statuses, duplicates


async def read_totals(database: Path) -> tuple[Money, int, int]:
    """The total raised, the donations counted and how many have Stripe's settled amount."""
    storage = await Storage.open(str(database))
    try:
        rows = await storage.donations.totals()
    finally:
        await storage.close()
    found = progress(rows, Converter("eur"), Money.from_major(Decimal(GOAL), "eur"))
    settled = sum(row.donations for row in rows if row.settled_currency is not None)
    return found.raised, found.donations, settled


def copy_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True)
    for suffix in ("", "-wal"):  # a cleanly closed database has no WAL left, but to be sure
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")


async def run(
    name: str,
    api: FakeBotAPI,
    stripe_fake: FakeStripe,
    folder: Path,
    seeded: Path,
    events: list[dict],
    concurrency: int,
) -> RunResult:
    env = stripe_env(folder, api, stripe_fake)
    database = Path(env["DATABASE_PATH"])
    copy_database(seeded, database)
    bot = await start_bot(folder, env, name.split()[0])
    watcher = CallWatcher(api)
    sessions = len({event["data"]["object"]["id"] for event in events})
    try:
        await wait_for_health(bot, env["PORT"])
        watcher.new_calls()
        stripe_before = len(stripe_fake.requests)
        started, cpu, own_cpu = time.monotonic(), bot.cpu_seconds(), time.process_time()
        elapsed, statuses, duplicates = await post_all(
            env["PORT"], stripe_fake, events, concurrency
        )
        cpu, own_cpu = bot.cpu_seconds() - cpu, time.process_time() - own_cpu
        thanked = 0

        def on_call(call: Call) -> bool:
            nonlocal thanked
            chat = call.params.get("chat_id")
            if is_message(call) and isinstance(chat, int) and chat >= FIRST_DONOR:
                thanked += 1
            return thanked >= sessions

        try:
            await watcher.until(on_call, timeout=60, what="the thank-yous")
            thanked_after: float | None = time.monotonic() - started
        except TimeoutError:
            thanked_after = None
        idle = await bot.idle(IDLE_TIMEOUT)
        settled_after = time.monotonic() - started if idle else None
        stripe_calls = len(stripe_fake.requests) - stripe_before
        # the same events once more, now all known: the cost of checking alone
        replay, _, replay_duplicates = await post_all(env["PORT"], stripe_fake, events, concurrency)
    finally:
        code = await bot.stop()
    if code != 0:  # killed after STOP_TIMEOUT: what it committed is in the database all the same
        print(f"{name}: the bot did not stop cleanly (exit code {code})")
    total, donations, settled = await read_totals(database)
    return RunResult(
        name, len(events), elapsed, statuses, duplicates, thanked_after, settled_after,
        stripe_calls, total,
        donations, settled, cpu, own_cpu, replay, replay_duplicates,
    )  # fmt: skip


def report(result: RunResult, expected: Money, unique: int) -> None:
    exact = result.total == expected and result.donations == unique
    thanked = (
        f"{result.thanked_after:.1f} s" if result.thanked_after is not None else "not within 60 s"
    )
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(result.statuses.items()))
    print(
        f"{result.name}: {result.events} events in {result.seconds:.2f} s ="
        f" {result.rate:.0f} events/s; CPU per event: bot"
        f" {result.bot_cpu / result.events * 1000:.1f} ms, this process (client, emulators)"
        f" {result.client_cpu / result.events * 1000:.1f} ms; answers {statuses};"
        f" {result.duplicates} reported as duplicates"
    )
    idle = (
        f"{result.settled_after:.1f} s"
        if result.settled_after is not None
        else f"still busy {IDLE_TIMEOUT:.0f} s later"
    )
    print(
        f"{result.name}: after the first POST, every donor thanked {thanked}, the bot idle"
        f" (< 5% CPU) {idle}; Stripe API calls by the bot meanwhile {result.stripe_calls}"
        f" ({result.stripe_calls / unique:.1f} per payment); the same events again, all known:"
        f" {result.events / result.replay_seconds:.0f} events/s ({result.replay_duplicates}"
        f" reported as duplicates{'' if result.settled_after is not None else ', bot busy'})"
    )
    print(
        f"{result.name}: total {euros(result.total)} from {result.donations} donations,"
        f" expected {euros(expected)} from {unique}: {'OK' if exact else 'MISMATCH'};"
        f" {result.settled} with Stripe's settled amount recorded"
    )


def euros(money: Money) -> str:
    return f"{money.major:,.2f} {money.currency.upper()}"


async def main(args: argparse.Namespace) -> None:
    unique = round(args.events * (1 - args.duplicates))
    print(
        f"payments: {args.events} checkout.session.completed events, {args.events - unique}"
        f" of them redeliveries, to `python -m tgbot`'s /stripe/webhook over HTTP"
    )
    rng = random.Random(args.seed)  # noqa: S311 - a reproducible order, nothing secret
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        async with (
            FakeBotAPI(token=TOKEN) as api,
            FakeStripe(api_key=STRIPE_KEY, webhook_secret=WEBHOOK_SECRET, seed=args.seed) as fake,
        ):
            started = time.monotonic()
            seeded = await create_sessions(api, fake, folder / "setup", unique, args.seed)
            paid = [fake.pay(session_id, settle_currency="eur") for session_id in fake.sessions]
            expected = Money(sum(e["data"]["object"]["amount_total"] for e in paid), "eur")
            events = paid + [rng.choice(paid) for _ in range(args.events - unique)]
            rng.shuffle(events)
            setup = time.monotonic() - started
            print(f"setup: {unique} sessions created through the bot in {setup:.1f} s")
            results = []
            for name, concurrency in (
                (f"concurrent ({args.concurrency} at a time)", args.concurrency),
                ("baseline (one at a time)", 1),
            ):
                result = await run(
                    name, api, fake, folder / name.split()[0], seeded, events, concurrency
                )
                report(result, expected, unique)
                results.append(result)
            if fake.violations:
                print(f"requests Stripe would refuse: {len(fake.violations)}")
    concurrent, baseline = results
    print(f"concurrent vs one at a time: x{concurrent.rate / baseline.rate:.2f} events/s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="events delivered (2000)")
    parser.add_argument("--duplicates", type=float, default=0.2, help="share redelivered (0.2)")
    parser.add_argument("--concurrency", type=int, default=50, help="POSTs in flight (50)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
