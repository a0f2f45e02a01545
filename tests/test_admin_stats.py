"""/stats reports every total in GOAL_CURRENCY, as /progress counts it, with the currencies
the donations came in beside it; what no rate converts is named apart."""

from tests.conftest import ADMIN_ID
from tests.test_conversation import plain, say
from tests.test_donations import DONOR, deliver, donate, giving_bot, only_session
from tgbot.payments.money import Money
from tgbot.text.i18n import texts


async def test_stats_are_in_the_goal_currency_with_the_originals_beside(
    bot_api, stripe_fake, make_settings, stripe_settings
):
    settings = make_settings(
        **(stripe_settings | {"goal_currency": "usd", "exchange_rates": "EUR=1.08"})
    )
    async with giving_bot(bot_api, stripe_fake, settings) as giving:
        donor = giving.api.make_user(DONOR, language_code="en")
        await donate(giving, donor, "/donate 25 EUR")
        await deliver(giving, giving.stripe.pay(only_session(giving)["id"], settle_currency="eur"))
        await giving.api.wait_for_message(DONOR)  # thanked
        await donate(giving, donor, "/donate 10 GBP")
        (gbp,) = [s for s in giving.stripe.sessions.values() if s["currency"] == "gbp"]
        await deliver(giving, giving.stripe.pay(gbp["id"], settle_currency="gbp"))
        await giving.api.wait_for_message(DONOR)
        admin = giving.api.make_user(ADMIN_ID, language_code="en")
        stats = await say(giving, admin, "/stats")
    t = texts("en")
    in_goal = t.money(Money(2700, "usd"))  # €25 at EUR=1.08
    unconverted = plain("en", "admin.not_converted", amounts=t.money(Money(1000, "gbp")))
    amounts = f"{in_goal} (€25.00 + £10.00), {unconverted}"
    assert plain("en", "admin.period", period="All time", amounts=amounts, count=2) in stats.text
