"""The words and amounts of the hosted Checkout page, in the session's ``locale``.

Stripe draws its page in the language the session asks for (``locale``), and writes amounts
as people of that language read them: ``€10.00`` in English, ``10,00 €`` in German. This
module has the page's labels in the languages the bot speaks (en, ru, de, fr, es; any other
locale, ``auto`` included, gets English) and :func:`display_amount`.
"""

from __future__ import annotations

from decimal import Decimal

from playground.stripe.currencies import CURRENCY_SYMBOLS, decimals

__all__ = ["CHECKOUT_TEXTS", "display_amount", "page_language"]

NBSP = "\u00a0"
_EN = {
    "banner": "Simulated Stripe checkout — no real money",
    "tab": "Simulated Stripe checkout",
    "title": "Checkout",
    "summary": "Order summary",
    "total": "Total",
    "card": "Card number",
    "help": "Test cards: 4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined.",
    "pay": "Pay",
    "donate": "Donate",
    "subscribe": "Subscribe",
    "cancel": "Cancel",
    "day": "per day",
    "week": "per week",
    "month": "per month",
    "year": "per year",
    "session": "Session {id} · test mode",
    "invalid": "Your card number is invalid.",
    "declined": "Your card was declined.",
    "insufficient": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "not_test": (
        "Your card was declined. Your request was in test mode, but used a non test card. "
        "For a list of valid test cards, visit: https://stripe.com/docs/testing."
    ),
    "complete": "This checkout session is already complete.",
    "expired": "This checkout session has expired. Go back and start again.",
}
CHECKOUT_TEXTS: dict[str, dict[str, str]] = {
    "en": _EN,
    "ru": {
        "banner": "Симуляция Stripe Checkout — настоящие деньги не списываются",
        "tab": "Симуляция Stripe Checkout",
        "title": "Оплата",
        "summary": "Ваш заказ",
        "total": "Итого",
        "card": "Номер карты",
        "help": "Тестовые карты: 4242 4242 4242 4242 — оплата проходит, "
        "4000 0000 0000 0002 — отклоняется.",
        "pay": "Оплатить",
        "donate": "Пожертвовать",
        "subscribe": "Подписаться",
        "cancel": "Отмена",
        "day": "в день",
        "week": "в неделю",
        "month": "в месяц",
        "year": "в год",
        "session": "Сессия {id} · тестовый режим",
        "invalid": "Неверный номер карты.",
        "declined": "Карта отклонена.",
        "insufficient": "На карте недостаточно средств.",
        "expired_card": "Срок действия карты истёк.",
        "not_test": "Карта отклонена: в тестовом режиме принимаются только тестовые карты "
        "(https://stripe.com/docs/testing).",
        "complete": "Эта оплата уже завершена.",
        "expired": "Срок действия этой ссылки истёк. Вернитесь и начните заново.",
    },
    "de": {
        "banner": "Simulierter Stripe-Checkout — kein echtes Geld",
        "tab": "Simulierter Stripe-Checkout",
        "title": "Bezahlen",
        "summary": "Bestellübersicht",
        "total": "Gesamt",
        "card": "Kartennummer",
        "help": "Testkarten: 4242 4242 4242 4242 wird belastet, "
        "4000 0000 0000 0002 wird abgelehnt.",
        "pay": "Bezahlen",
        "donate": "Spenden",
        "subscribe": "Abonnieren",
        "cancel": "Abbrechen",
        "day": "pro Tag",
        "week": "pro Woche",
        "month": "pro Monat",
        "year": "pro Jahr",
        "session": "Sitzung {id} · Testmodus",
        "invalid": "Ihre Kartennummer ist ungültig.",
        "declined": "Ihre Karte wurde abgelehnt.",
        "insufficient": "Ihre Karte ist nicht ausreichend gedeckt.",
        "expired_card": "Ihre Karte ist abgelaufen.",
        "not_test": "Ihre Karte wurde abgelehnt: Im Testmodus gehen nur Testkarten "
        "(https://stripe.com/docs/testing).",
        "complete": "Diese Zahlung ist bereits abgeschlossen.",
        "expired": "Dieser Zahlungslink ist abgelaufen. Gehen Sie zurück und beginnen Sie neu.",
    },
    "fr": {
        "banner": "Paiement Stripe simulé — aucun argent réel",
        "tab": "Paiement Stripe simulé",
        "title": "Paiement",
        "summary": "Récapitulatif",
        "total": "Total",
        "card": "Numéro de carte",
        "help": "Cartes de test : 4242 4242 4242 4242 paie, 4000 0000 0000 0002 est refusée.",
        "pay": "Payer",
        "donate": "Faire un don",
        "subscribe": "S’abonner",
        "cancel": "Annuler",
        "day": "par jour",
        "week": "par semaine",
        "month": "par mois",
        "year": "par an",
        "session": "Session {id} · mode test",
        "invalid": "Le numéro de carte n’est pas valide.",
        "declined": "Votre carte a été refusée.",
        "insufficient": "Le solde de votre carte est insuffisant.",
        "expired_card": "Votre carte a expiré.",
        "not_test": "Votre carte a été refusée : en mode test, seules les cartes de test "
        "sont acceptées (https://stripe.com/docs/testing).",
        "complete": "Ce paiement est déjà terminé.",
        "expired": "Ce lien de paiement a expiré. Revenez en arrière et recommencez.",
    },
    "es": {
        "banner": "Pago de Stripe simulado: sin dinero real",
        "tab": "Pago de Stripe simulado",
        "title": "Pago",
        "summary": "Resumen del pedido",
        "total": "Total",
        "card": "Número de tarjeta",
        "help": "Tarjetas de prueba: 4242 4242 4242 4242 paga, 4000 0000 0000 0002 se rechaza.",
        "pay": "Pagar",
        "donate": "Donar",
        "subscribe": "Suscribirse",
        "cancel": "Cancelar",
        "day": "al día",
        "week": "a la semana",
        "month": "al mes",
        "year": "al año",
        "session": "Sesión {id} · modo de prueba",
        "invalid": "El número de tarjeta no es válido.",
        "declined": "Tu tarjeta ha sido rechazada.",
        "insufficient": "Tu tarjeta no tiene fondos suficientes.",
        "expired_card": "Tu tarjeta ha caducado.",
        "not_test": "Tu tarjeta ha sido rechazada: en modo de prueba solo se aceptan "
        "tarjetas de prueba (https://stripe.com/docs/testing).",
        "complete": "Este pago ya se ha completado.",
        "expired": "Este enlace de pago ha caducado. Vuelve atrás y empieza de nuevo.",
    },
}
_SEPARATORS = {  # language -> (thousands, decimal)
    "en": (",", "."),
    "ru": (NBSP, ","),
    "de": (".", ","),
    "fr": ("\u202f", ","),
    "es": (".", ","),
}


def page_language(locale: str | None) -> str:
    """The language the page is drawn in for a session's ``locale`` (``fr-CA`` -> ``fr``)."""
    language = (locale or "").split("-")[0].lower()
    return language if language in CHECKOUT_TEXTS else "en"


def display_amount(minor: int, currency: str, locale: str | None = "en") -> str:
    """``minor`` units of ``currency`` as a person of ``locale`` reads them.

    English puts the symbol first (``€10.00``, ``£1,250.00``); the others after the number,
    with their own separators (``10,00 €``, ``1.250,00 €``). A currency without a symbol
    here shows its code (``CHF 10.00``, ``10,00 CHF``).
    """
    language = page_language(locale)
    places = decimals(currency)
    written = f"{Decimal(minor).scaleb(-places):,.{places}f}"
    thousands, point = _SEPARATORS[language]
    written = written.replace(",", "\0").replace(".", point).replace("\0", thousands)
    symbol = CURRENCY_SYMBOLS.get(currency)
    if language == "en":
        return f"{symbol}{written}" if symbol else f"{currency.upper()}{NBSP}{written}"
    return f"{written}{NBSP}{symbol or currency.upper()}"
