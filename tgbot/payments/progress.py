"""Totals in the goal's currency, and what a gift means in evacuations.

Stripe settles every payment in the account's currency and reports the settled amount on the
payment's balance transaction. Where that currency is the goal's, the settled amount is used;
otherwise a configured exchange rate; a currency with neither is reported separately rather
than guessed.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from tgbot.payments.money import Money
from tgbot.storage.donations import TotalsRow

EVACUATION_COST = Money(455_500, "usd")
"""Getting one person asylum in a new country costs at least $4,555 (the appeal article)."""


@dataclass(frozen=True, slots=True)
class Converter:
    """Converts into `goal_currency` with configured rates (units of the goal per unit)."""

    goal_currency: str
    rates: Mapping[str, Decimal] = field(default_factory=dict)

    def rate(self, currency: str) -> Decimal | None:
        return Decimal(1) if currency == self.goal_currency else self.rates.get(currency)

    def to_goal(self, money: Money) -> Money | None:
        rate = self.rate(money.currency)
        if rate is None:
            return None
        minor = (money.minor * rate).to_integral_value(ROUND_HALF_EVEN)
        return Money(int(minor), self.goal_currency)

    def evacuation_cost(self) -> Money | None:
        return self.to_goal(EVACUATION_COST)


@dataclass(frozen=True, slots=True)
class Progress:
    raised: Money
    unconverted: list[Money]
    donations: int
    goal: Money | None
    evacuations: int | None
    uses_rates: bool
    """Some amounts were converted with configured rates, not Stripe's settlement."""
    uses_settlement: bool
    """Some amounts were counted as Stripe settled them in the goal's currency."""

    @property
    def share_of_goal(self) -> Decimal | None:
        if self.goal is None:
            return None
        return Decimal(self.raised.minor) / Decimal(self.goal.minor)


def progress(rows: list[TotalsRow], converter: Converter, goal: Money | None) -> Progress:
    raised, uses_rates, uses_settlement, donations = 0, False, False, 0
    unconverted: dict[str, int] = {}
    for row in rows:
        donations += row.donations
        kept = Money(row.gross - row.returned, row.currency)
        if row.currency == converter.goal_currency:
            raised += kept.minor
        elif row.settled_currency == converter.goal_currency:
            raised += row.settled_kept
            uses_settlement = True
        elif (converted := converter.to_goal(kept)) is not None:
            raised += converted.minor
            uses_rates = True
        else:
            unconverted[row.currency] = unconverted.get(row.currency, 0) + kept.minor
    cost = converter.evacuation_cost()
    return Progress(
        raised=Money(raised, converter.goal_currency),
        unconverted=[Money(minor, cur) for cur, minor in sorted(unconverted.items()) if minor],
        donations=donations,
        goal=goal,
        evacuations=raised // cost.minor if cost else None,
        uses_rates=uses_rates,
        uses_settlement=uses_settlement,
    )


def share_of_evacuation(
    gift: Money, converter: Converter, settled: Money | None = None
) -> Decimal | None:
    """The part of one evacuation a gift pays for (0.25 for a quarter), if it can be told.

    Dollars compare directly; other currencies go through the settled amount or the rates.
    """
    known = [money for money in (gift, settled) if money is not None]
    for money in known:
        if money.currency == EVACUATION_COST.currency:
            return Decimal(money.minor) / Decimal(EVACUATION_COST.minor)
    cost = converter.evacuation_cost()
    converted = (converter.to_goal(money) for money in known)
    in_goal = next((money for money in converted if money is not None), None)
    if cost is None or in_goal is None:
        return None
    return Decimal(in_goal.minor) / Decimal(cost.minor)
