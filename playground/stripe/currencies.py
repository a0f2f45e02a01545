"""Currencies of the Stripe simulator: minor units, Stripe's charge limits, conversion.

Amounts are integers in the currency's minor unit (cents; yen for JPY, fils for KWD), as in
the API. :func:`decimals` gives the number of minor-unit digits, :func:`format_amount` writes
an amount as Stripe's errors do and :func:`convert` settles it in another currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "CURRENCY_SYMBOLS",
    "MAXIMUM_CHARGE",
    "MINIMUM_CHARGE",
    "SUPPORTED_CURRENCIES",
    "THREE_DECIMAL_CURRENCIES",
    "ZERO_DECIMAL_CURRENCIES",
    "convert",
    "decimals",
    "format_amount",
]


def _names(words: str) -> tuple[str, ...]:
    return tuple(words.split())


# -- currencies (https://docs.stripe.com/currencies) -----------------------------------------
#: Presentment currencies the fake accepts: a conservative subset of Stripe's 135+.
SUPPORTED_CURRENCIES = frozenset(
    _names(
        "usd aed all amd ang aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp bzd"
        " cad chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd gbp gel gip gmd gnf"
        " gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt"
        " lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio"
        " nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rwf sar sbd scr sek sgd sle"
        " sos srd szl thb tjs top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf"
        " yer zar zmw"
    )
)
ZERO_DECIMAL_CURRENCIES = frozenset(
    _names("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf")
)
THREE_DECIMAL_CURRENCIES = frozenset(_names("bhd jod kwd omr tnd"))
#: Stripe's published minimum charge amounts, in minor units. Other currencies need >= 1.
MINIMUM_CHARGE: Mapping[str, int] = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50,
    "czk": 1500, "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50,
    "jpy": 50, "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200,
    "sek": 300, "sgd": 50, "thb": 1000,
}  # fmt: skip
#: Largest amount in minor units Stripe accepts for a charge (8 digits).
MAXIMUM_CHARGE = 99_999_999
CURRENCY_SYMBOLS: Mapping[str, str] = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def decimals(currency: str) -> int:
    """Minor-unit digits of ``currency`` (0 for JPY, 3 for KWD, else 2)."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def format_amount(minor: int, currency: str) -> str:
    """``$0.50 usd`` as in Stripe's amount errors."""
    places = decimals(currency)
    major = Decimal(minor).scaleb(-places)
    return f"{CURRENCY_SYMBOLS.get(currency, '')}{major:,.{places}f} {currency}"


def convert(amount: int, currency: str, to_currency: str, rate: float) -> int:
    """``amount`` minor units of ``currency`` in ``to_currency`` at ``rate`` (per major unit)."""
    major = Decimal(amount).scaleb(-decimals(currency)) * Decimal(str(rate))
    minor = major.scaleb(decimals(to_currency))
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))
