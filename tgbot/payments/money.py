"""Amounts of money: integer minor units per currency, and strict parsing of what people type.

People write amounts in many ways (`25`, `25,50`, `€25`, `£10`, `25 eur`); all of those are
accepted. Anything that could be misread is refused with a reason the bot can explain:
`1,000` might mean one thousand or one, so more than two decimals is an error, not a guess.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tgbot.settings import CURRENCIES

MINOR_PER_MAJOR = 100  # USD, EUR and GBP all have two decimals
STRIPE_MINIMUM = {"usd": 50, "eur": 50, "gbp": 30}
"""Smallest charge Stripe accepts, in minor units."""
SYMBOLS = {"$": "usd", "€": "eur", "£": "gbp"}

_CURRENCY = r"[$€£]|usd|eur|gbp|us\$"
_AMOUNT = re.compile(
    rf"(?P<before>{_CURRENCY})?\s*(?P<sign>[-+−])?\s*(?P<number>\d+(?:[.,]\d+)?)\s*(?P<after>{_CURRENCY})?"
)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in minor units (cents, pence) of a lowercase ISO currency code."""

    minor: int
    currency: str

    @classmethod
    def from_major(cls, amount: Decimal, currency: str) -> "Money":
        return cls(int(amount * MINOR_PER_MAJOR), currency)

    @property
    def major(self) -> Decimal:
        return Decimal(self.minor) / MINOR_PER_MAJOR


class AmountProblem(StrEnum):
    """Why a typed amount was refused; each has a localized explanation."""

    NOT_A_NUMBER = "not_a_number"
    NOT_POSITIVE = "not_positive"
    TOO_MANY_DECIMALS = "too_many_decimals"
    UNKNOWN_CURRENCY = "unknown_currency"
    TWO_CURRENCIES = "two_currencies"
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"


class AmountError(ValueError):
    def __init__(self, problem: AmountProblem, currency: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.currency = currency


MAX_AMOUNT_TEXT = 64
"""Longer text is not an amount (and is not worth matching)."""


def _currency_code(written: str | None) -> str | None:
    if written is None:
        return None
    return SYMBOLS.get(written) or ("usd" if written == "us$" else written)


def parse_amount(text: str, default_currency: str, maximum: Decimal) -> Money:
    """Read an amount such as `25`, `25,50 EUR` or `£10`; raise `AmountError` when it is refused.

    `maximum` is in major units of whatever currency the amount is in.
    """
    cleaned = " ".join(unicodedata.normalize("NFKC", text).lower().split())
    match = _AMOUNT.fullmatch(cleaned) if len(cleaned) <= MAX_AMOUNT_TEXT else None
    if match is None:
        if re.search(r"\d", cleaned) and re.search(r"[^\W\d_]{2,}", cleaned):  # "25 евро"
            raise AmountError(AmountProblem.UNKNOWN_CURRENCY)
        raise AmountError(AmountProblem.NOT_A_NUMBER)
    before, after = _currency_code(match["before"]), _currency_code(match["after"])
    if before and after and before != after:
        raise AmountError(AmountProblem.TWO_CURRENCIES)
    currency = before or after or default_currency
    if currency not in CURRENCIES:
        raise AmountError(AmountProblem.UNKNOWN_CURRENCY)
    whole, _, decimals = match["number"].replace(",", ".").partition(".")
    if len(decimals) > 2:
        raise AmountError(AmountProblem.TOO_MANY_DECIMALS, currency)
    amount = Decimal(f"{whole}.{decimals or '0'}")
    if match["sign"] in ("-", "−") or amount == 0:
        raise AmountError(AmountProblem.NOT_POSITIVE, currency)
    return check_limits(Money.from_major(amount, currency), maximum)


def check_limits(money: Money, maximum: Decimal) -> Money:
    """`money` if Stripe accepts it and it is at most `maximum` major units, else AmountError."""
    if money.currency not in CURRENCIES:
        raise AmountError(AmountProblem.UNKNOWN_CURRENCY)
    if money.major > maximum:
        raise AmountError(AmountProblem.ABOVE_MAXIMUM, money.currency)
    if money.minor < STRIPE_MINIMUM[money.currency]:
        raise AmountError(AmountProblem.BELOW_MINIMUM, money.currency)
    return money
