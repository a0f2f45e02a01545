"""Typed amounts: every accepted form, every refusal, and conversions for the totals."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tgbot.payments.money import AmountError, AmountProblem, Money, check_limits, parse_amount
from tgbot.payments.progress import Converter, progress, share_of_evacuation
from tgbot.storage.donations import TotalsRow

MAX = Decimal(10000)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("25", Money(2500, "usd")),
        ("25.5", Money(2550, "usd")),
        ("25,50", Money(2550, "usd")),
        ("€25", Money(2500, "eur")),
        ("25€", Money(2500, "eur")),
        ("25 €", Money(2500, "eur")),
        ("£10", Money(1000, "gbp")),
        ("$10", Money(1000, "usd")),
        ("US$ 5", Money(500, "usd")),
        ("25 eur", Money(2500, "eur")),
        ("EUR 25", Money(2500, "eur")),
        ("25EUR", Money(2500, "eur")),
        ("25,50 EUR", Money(2550, "eur")),
        ("  0.30 GBP ", Money(30, "gbp")),
        ("１２", Money(1200, "usd")),  # full-width digits
        ("10000", Money(1_000_000, "usd")),
    ],
)
def test_accepted_forms(typed, expected):
    assert parse_amount(typed, "usd", MAX) == expected


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("0", AmountProblem.NOT_POSITIVE),
        ("0,00 €", AmountProblem.NOT_POSITIVE),
        ("-5", AmountProblem.NOT_POSITIVE),
        ("−5 EUR", AmountProblem.NOT_POSITIVE),
        ("NaN", AmountProblem.NOT_A_NUMBER),
        ("inf", AmountProblem.NOT_A_NUMBER),
        ("1e3", AmountProblem.NOT_A_NUMBER),
        ("", AmountProblem.NOT_A_NUMBER),
        ("twenty", AmountProblem.NOT_A_NUMBER),
        ("25.555", AmountProblem.TOO_MANY_DECIMALS),
        ("1,000", AmountProblem.TOO_MANY_DECIMALS),
        ("25 rub", AmountProblem.UNKNOWN_CURRENCY),
        ("25 евро", AmountProblem.UNKNOWN_CURRENCY),
        ("10 dollars", AmountProblem.UNKNOWN_CURRENCY),
        ("$25 eur", AmountProblem.TWO_CURRENCIES),
        ("0.49", AmountProblem.BELOW_MINIMUM),
        ("£0.29", AmountProblem.BELOW_MINIMUM),
        ("10000.01", AmountProblem.ABOVE_MAXIMUM),
        ("9" * 40, AmountProblem.ABOVE_MAXIMUM),
    ],
)
def test_refused_forms(typed, problem):
    with pytest.raises(AmountError) as refused:
        parse_amount(typed, "usd", MAX)
    assert refused.value.problem is problem


def test_limits_apply_to_buttons_too():
    assert check_limits(Money(50, "eur"), MAX) == Money(50, "eur")
    with pytest.raises(AmountError):
        check_limits(Money(10, "eur"), MAX)
    with pytest.raises(AmountError):
        check_limits(Money(2500, "rub"), MAX)


def outcome(text: str) -> Money | AmountProblem:
    try:
        return parse_amount(text, "eur", MAX)
    except AmountError as refused:
        return refused.problem


@given(st.text(max_size=80))
def test_any_text_is_an_amount_or_a_clean_refusal(text):
    result = outcome(text)
    assert isinstance(result, AmountProblem) or 30 <= result.minor <= 1_000_000


def row(currency, gross, returned=0, settled=None, settled_kept=0, count=1) -> TotalsRow:
    return TotalsRow(currency, settled, count, gross, returned, settled_kept, 0)


def test_totals_use_settlement_then_rates_and_list_the_rest_apart():
    converter = Converter("usd", {"gbp": Decimal("1.25")})
    rows = [
        row("usd", 10_000, returned=1_000),
        row("eur", 5_000, settled="usd", settled_kept=5_400),
        row("gbp", 4_000),
        row("eur", 2_000, settled=None),
    ]
    result = progress(rows, converter, goal=Money(1_000_000, "usd"))
    assert result.raised == Money(9_000 + 5_400 + 5_000, "usd")
    assert result.unconverted == [Money(2_000, "eur")]
    assert (result.donations, result.uses_rates, result.uses_settlement) == (4, True, True)
    assert result.share_of_goal == Decimal("0.0194")
    assert result.evacuations == 0


def test_evacuations_funded_and_a_gifts_share():
    converter = Converter("usd")
    result = progress([row("usd", 911_000, count=3)], converter, goal=None)
    assert (result.evacuations, result.share_of_goal) == (2, None)
    assert share_of_evacuation(Money(45_550, "usd"), converter) == Decimal("0.1")
    assert share_of_evacuation(Money(2_500, "eur"), converter) is None
    settled = Money(2_700, "usd")
    assert share_of_evacuation(Money(2_500, "eur"), converter, settled) == Decimal(2700) / 455500
    in_euros = Converter("eur", {"usd": Decimal("0.9")})
    assert in_euros.evacuation_cost() == Money(409_950, "eur")
