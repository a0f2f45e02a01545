"""The pages a donor lands on after the checkout page: the playground's
`DONATION_SUCCESS_URL` and `DONATION_CANCEL_URL`.

A real deployment points these at pages of its own (or leaves them unset, and Stripe sends
the donor back to the bot). The playground's success page says that the payment went
through and that the tab can be closed, in the language of the checkout session, with the
amount; the thank-you itself comes from the bot, in the chat. Stripe names no session in
the cancel URL, so that page is in English.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from playground.stripe.checkout_text import display_amount, page_language

__all__ = ["cancelled_page", "paid_page"]

TEXTS = {
    "en": ("Payment received — you can close this tab", "The bot thanks you in the chat."),
    "ru": ("Платёж получен — эту вкладку можно закрыть", "Бот поблагодарит вас в чате."),
    "de": ("Zahlung erhalten — Sie können diesen Tab schließen", "Der Bot dankt Ihnen im Chat."),
    "fr": ("Paiement reçu — vous pouvez fermer cet onglet", "Le bot vous remercie dans le chat."),
    "es": ("Pago recibido: ya puedes cerrar esta pestaña", "El bot te da las gracias en el chat."),
}
_STYLE = (
    "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1a1f36;background:#f6f9fc}"
    "main{max-width:30rem;margin:3rem auto;padding:1.5rem;background:#fff;border-radius:8px}"
    "h1{font-size:1.375rem;margin:0 0 .5rem}.amount{font-size:1.25rem;font-weight:700}"
    ".note{color:#4f566b;font-size:.875rem;margin-top:1.5rem}"
)


def paid_page(session: Mapping[str, Any] | None) -> str:
    """The success page for a checkout ``session`` (``None``: unknown, so in English)."""
    language = page_language(session.get("locale") if session else None)
    heading, body = TEXTS[language]
    amount = ""
    if session and session.get("amount_total") is not None and session.get("currency"):
        written = display_amount(session["amount_total"], session["currency"], language)
        amount = f'<p class="amount" id="paid-amount">{html.escape(written)}</p>'
    return _page(language, f"✅ {heading}", amount + f"<p>{html.escape(body)}</p>", "SUCCESS")


def cancelled_page() -> str:
    """Where Cancel on the checkout page leads."""
    body = "<p>Nothing was charged. The payment link in the chat still works for a while.</p>"
    return _page("en", "Payment cancelled — you can close this tab", body, "CANCEL")


def _page(language: str, heading: str, body: str, setting: str) -> str:
    """`body` is HTML, already escaped."""
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="/playground/static/favicon.svg" type="image/svg+xml">'
        f"<title>{html.escape(heading)}</title><style>{_STYLE}</style></head><body><main>"
        f'<h1 id="paid-title">{html.escape(heading)}</h1>{body}'
        '<p class="note" lang="en">Playground: this page stands in for the one a real '
        f"deployment sets in DONATION_{setting}_URL.</p></main></body></html>"
    )
