"""The hosted Checkout page of the Stripe simulator (``/pay/{session_id}``), outside the API.

It shows a session's amount and line items and takes Stripe's test cards (``4242 4242 4242
4242`` pays, ``4000 0000 0000 0002`` is declined), then redirects to ``success_url`` /
``cancel_url``. :class:`~playground.stripe.server.FakeStripe` serves it with
:func:`serve_checkout_page`; every value shown is HTML-escaped.

It is drawn as Stripe draws it for a donor: in the session's ``locale`` (see
:mod:`.checkout_text`; English for others), with the amount once, written for that language
(``€10.00``, ``10,00 €``), and a Donate or Subscribe button as ``submit_type`` and ``mode``
ask.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from playground.stripe.account import StripeAccount
from playground.stripe.checkout_text import CHECKOUT_TEXTS, display_amount, page_language
from playground.stripe.params import JSONDict

__all__ = ["serve_checkout_page"]

#: The ``{CHECKOUT_SESSION_ID}`` template Stripe fills in ``success_url``.
_SESSION_ID_TEMPLATE = "{CHECKOUT_SESSION_ID}"
_PREFILLED_CARD = "4242 4242 4242 4242"
#: Stripe's test card numbers the page knows: ``None`` pays, otherwise the decline shown
#: (its key in :data:`~playground.stripe.checkout_text.CHECKOUT_TEXTS`).
_TEST_CARDS: Mapping[str, str | None] = {
    "4242424242424242": None,  # Visa
    "4000056655665556": None,  # Visa (debit)
    "5555555555554444": None,  # Mastercard
    "4000000000000002": "declined",  # generic_decline
    "4000000000009995": "insufficient",
    "4000000000000069": "expired_card",
}
_CARD_PROBLEMS = frozenset({"invalid", "declined", "insufficient", "expired_card", "not_test"})
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
}
_PAGE_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1f36;background:#f6f9fc}
main{max-width:30rem;margin:0 auto;padding:1rem}
.banner{margin:0 0 1rem;padding:.75rem 1rem;border:2px solid #8a6d00;border-radius:8px;
background:#fff4c2;color:#3d3000;font-weight:700}
h1{font-size:1.375rem;margin:0 0 .75rem}
.items{list-style:none;margin:0;padding:0}
.items li{padding:.5rem 0;border-bottom:1px solid #e3e8ee}
.line{display:flex;justify-content:space-between;gap:1rem}
.desc,.help,.meta{color:#4f566b;font-size:.9375rem;margin:.25rem 0 0}
.total{display:flex;justify-content:space-between;gap:1rem;font-size:1.25rem;font-weight:700;
margin:1rem 0}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{width:100%;font:inherit;font-size:1.125rem;padding:.625rem .75rem;color:inherit;
background:#fff;border:1px solid #6b7385;border-radius:6px}
input[aria-invalid=true]{border:2px solid #b3261e}
.help{margin-bottom:1rem}
.error{margin:0 0 1rem;padding:.75rem 1rem;border:1px solid #b3261e;border-radius:6px;
background:#fdecea;color:#8c1d18;font-weight:600}
[hidden]{display:none!important}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
button{flex:1 1 8rem;min-height:2.75rem;font:inherit;font-weight:700;padding:.625rem 1rem;
border:2px solid #4338ca;border-radius:6px;background:#4338ca;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#3730a3}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.meta{margin-top:1.5rem;font-size:.8125rem;overflow-wrap:anywhere}
"""
_NOT_FOUND_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"<title>Checkout session not found</title><style>{_PAGE_CSS}</style></head><body><main>"
    '<p class="banner">Simulated Stripe checkout — no real money</p>'
    "<h1>Checkout session not found</h1>"
    "<p>This payment link is not valid. Go back and start again.</p></main></body></html>"
)


async def serve_checkout_page(
    account: StripeAccount,
    request: Request,
    *,
    settlement_rates: Mapping[str, float],
    send_webhooks: Callable[[Iterable[Mapping[str, Any]]], None],
) -> Response:
    """The hosted checkout page: ``GET`` shows it, ``POST action=pay|cancel`` acts.

    ``card_number`` is checked as Stripe's test mode does (see :func:`_card_problem`); a
    ``POST`` without it pays with the prefilled test card. Paying settles at
    ``settlement_rates`` (see :func:`_settlement`), redirects to ``success_url``
    (``{CHECKOUT_SESSION_ID}`` filled in) and hands the events it produced to
    ``send_webhooks``; cancelling redirects to ``cancel_url``. Declines and invalid numbers
    show the page again with the message and leave the session open.
    Simplification: a decline creates no PaymentIntent and no ``payment_intent.*`` event.
    """
    account.expire_due_sessions()
    session = account.sessions.get(request.path_params["session_id"])
    if session is None:
        return HTMLResponse(_NOT_FOUND_PAGE, status_code=404, headers=_PAGE_HEADERS)
    card = _PREFILLED_CARD
    problem: str | None = None
    if request.method == "POST":
        body = (await request.body()).decode("utf-8", "replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        action = form.get("action")
        if action == "cancel" and session["cancel_url"]:
            return RedirectResponse(session["cancel_url"], status_code=303)
        if action == "pay" and session["status"] == "open":
            card = form.get("card_number", _PREFILLED_CARD)
            problem = _card_problem(card)
            if problem is None:
                before = len(account.events)
                try:
                    account.pay(session["id"], **_settlement(settlement_rates, session["currency"]))
                except ValueError as error:  # e.g. a setup-mode session
                    problem = str(error)
                else:
                    send_webhooks(account.events[before:])
                    success = session["success_url"] or session["return_url"] or "/"
                    return RedirectResponse(
                        success.replace(_SESSION_ID_TEMPLATE, session["id"]), status_code=303
                    )
    page = _checkout_html(
        session,
        account.session_line_items(session["id"]),
        account.session_params(session["id"]),
        card=card,
        problem=problem,
    )
    return HTMLResponse(page, headers=_PAGE_HEADERS)


def _settlement(rates: Mapping[str, float], currency: str) -> dict[str, Any]:
    """:meth:`StripeAccount.pay` arguments: settle in USD at ``rates``, else unconverted."""
    rate = rates.get(currency)
    if currency == "usd" or rate is None:
        return {"settle_currency": currency}
    return {"settle_currency": "usd", "exchange_rate": rate}


def _card_problem(number: str) -> str | None:
    """What the page says about a card number (a key of its texts), or ``None`` if it pays.

    Not 16 digits (spaces ignored) or failing the Luhn check: "Your card number is invalid.".
    Known test cards behave as in Stripe's test mode; any other number is declined, as test
    mode declines real cards.
    """
    digits = "".join(number.split())
    if not re.fullmatch(r"[0-9]{16}", digits) or not _luhn_valid(digits):
        return "invalid"
    return _TEST_CARDS.get(digits, "not_test")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _per_period(price: Mapping[str, Any], words: Mapping[str, str] = CHECKOUT_TEXTS["en"]) -> str:
    """`` per month`` / `` every 3 months`` for a recurring price, else nothing.

    Simplification: "every 3 months" is English in every locale (the bot bills monthly).
    """
    recurring = price.get("recurring")
    if not recurring:
        return ""
    interval, count = recurring["interval"], recurring["interval_count"]
    if count == 1:
        return f" {words.get(interval, f'per {interval}')}"
    return f" every {count} {interval}s"


def _checkout_html(
    session: Mapping[str, Any],
    items: list[JSONDict],
    params: Mapping[str, Any],
    *,
    card: str,
    problem: str | None,
) -> str:
    """The page for ``session``; every value from the session is HTML-escaped."""
    esc = html.escape
    language = page_language(session.get("locale"))
    words = CHECKOUT_TEXTS[language]

    def amount(minor: int, currency: str) -> str:
        return display_amount(minor, currency, language)

    currency = session["currency"]
    total = (
        amount(session["amount_total"], currency)
        if session["amount_total"] is not None and currency
        else "-"
    )
    described = params.get("line_items", [])
    # the amount once: a single item's is the total, as on Stripe's page
    itemized = len(items) != 1 or items[0]["quantity"] != 1
    rows = []
    for index, item in enumerate(items):
        given = described[index] if index < len(described) else {}
        product = given.get("price_data", {}).get("product_data", {})
        quantity = f" × {item['quantity']}" if item["quantity"] != 1 else ""
        price = amount(item["amount_total"], item["currency"]) + _per_period(item["price"], words)
        description = product.get("description")
        rows.append(
            '<li><div class="line">'
            f'<span class="name">{esc(item["description"])}{esc(quantity)}</span>'
            + (f"<span>{esc(price)}</span>" if itemized else "")
            + "</div>"
            + (f'<p class="desc">{esc(description)}</p>' if description else "")
            + "</li>"
        )
    recurring = next(
        (_per_period(item["price"], words) for item in items if item["price"]["recurring"]), ""
    )
    title = items[0]["description"] if items else words["title"]
    if session["status"] == "complete":
        problem = "complete"
    elif session["status"] == "expired":
        problem = "expired"
    invalid_card = problem in _CARD_PROBLEMS
    shown_problem = words.get(problem, problem) if problem else ""
    submit = words["pay"]
    if session.get("mode") == "subscription":
        submit = words["subscribe"]
    elif session.get("submit_type") == "donate":
        submit = words["donate"]
    form = ""
    if session["status"] == "open":
        cancel = (
            '<button type="submit" id="cancel" name="action" value="cancel" class="secondary">'
            f"{esc(words['cancel'])}</button>"
            if session["cancel_url"]
            else ""
        )
        form = (
            '<form method="post" novalidate>'
            f'<label for="card-number">{esc(words["card"])}</label>'
            '<input id="card-number" name="card_number" type="text" inputmode="numeric" '
            f'autocomplete="cc-number" value="{esc(card)}" placeholder="{_PREFILLED_CARD}" '
            'aria-describedby="card-help checkout-error"'
            + (' aria-invalid="true"' if invalid_card else "")
            + ">"
            f'<p id="card-help" class="help">{esc(words["help"])}</p>'
            '<div class="actions"><button type="submit" id="pay" name="action" value="pay">'
            f"{esc(submit)}</button>{cancel}</div></form>"
        )
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — {esc(words['tab'])}</title>"
        f"<style>{_PAGE_CSS}</style></head><body><main>"
        f'<p class="banner" id="simulated-banner">{esc(words["banner"])}</p>'
        f"<h1>{esc(words['title'])}</h1>"
        f'<section aria-label="{esc(words["summary"])}"><ul class="items">{"".join(rows)}</ul>'
        f'<p class="total"><span>{esc(words["total"])}</span>'
        f'<span><span id="checkout-amount">{esc(total)}</span>'
        f"{esc(recurring)}</span></p></section>"
        f'<p id="checkout-error" class="error" role="alert"{"" if problem else " hidden"}>'
        f"{esc(shown_problem)}</p>"
        f"{form}"
        f'<p class="meta">{esc(words["session"].format(id=session["id"]))}</p>'
        "</main></body></html>"
    )
