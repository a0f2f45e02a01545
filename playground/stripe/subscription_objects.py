"""Subscription objects of the Stripe simulator: subscriptions, invoices and their payments.

Builders of Subscription, Invoice (with its ``line_item`` lines) and InvoicePayment objects,
and :func:`add_interval` for billing periods. Builders return plain JSON-ready dicts with the
fields the installed SDK's resource classes declare for the pinned API version (a test checks
that no field is invented). Ids are references (``"pi_..."``) unless a client asks to expand
them (see :mod:`.expansion`).

Invoices follow the API since 2025-03-31.basil: no ``subscription``, ``payment_intent``,
``charge`` or ``paid`` fields; the subscription is in ``parent.subscription_details`` and the
payments are InvoicePayment objects in ``payments``, an *includable* list that, like a
Checkout Session's ``line_items``, is only present when a client expands it (so never in
webhook events).
"""

from __future__ import annotations

import calendar
import copy
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from playground.stripe.currencies import CURRENCY_SYMBOLS, decimals
from playground.stripe.pagination import list_object
from playground.stripe.params import JSONDict

__all__ = [
    "add_interval",
    "invoice",
    "invoice_line",
    "invoice_payment",
    "subscription",
]


def add_interval(timestamp: int, interval: str, count: int) -> int:
    """``timestamp`` plus ``count`` billing intervals, in UTC calendar terms like Stripe.

    Months keep the anchor's day, clamped to the month's length (Jan 31 + 1 month = Feb 28).
    """
    moment = datetime.fromtimestamp(timestamp, UTC)
    if interval == "day":
        moment += timedelta(days=count)
    elif interval == "week":
        moment += timedelta(weeks=count)
    else:
        months = moment.month - 1 + count * (12 if interval == "year" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        moment = moment.replace(year=year, month=month, day=day)
    return int(moment.timestamp())


def subscription(
    sub_id: str,
    *,
    customer_id: str,
    items: Sequence[Mapping[str, Any]],
    metadata: Mapping[str, str],
    description: str | None,
    default_payment_method: str | None,
    now: int,
    period_end: int,
    make_id: Callable[[str], str],
) -> JSONDict:
    """An active subscription to the recurring checkout ``items`` (``item`` objects).

    Since API 2025-03-31.basil the billing period is on each subscription item
    (``current_period_start``/``current_period_end``), not on the subscription.
    """
    return {
        "id": sub_id,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": None,
        "billing_mode": {
            "flexible": {"proration_discounts": "included"},
            "type": "flexible",
            "updated_at": now,
        },
        "billing_thresholds": None,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": items[0]["currency"] if items else None,
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": description,
        "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object(
            [
                {
                    "id": make_id("si_"),
                    "object": "subscription_item",
                    "billing_thresholds": None,
                    "created": now,
                    "current_period_end": period_end,
                    "current_period_start": now,
                    "discounts": [],
                    "metadata": {},
                    "price": copy.deepcopy(item["price"]),
                    "quantity": item["quantity"],
                    "subscription": sub_id,
                    "tax_rates": [],
                }
                for item in items
            ],
            f"/v1/subscription_items?subscription={sub_id}",
        ),
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "next_pending_invoice_item_invoice": None,
        "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": None,
        "pending_setup_intent": None,
        "pending_update": None,
        "schedule": None,
        "start_date": now,
        "status": "active",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }


def invoice_line(
    il_id: str,
    *,
    invoice_id: str,
    price: Mapping[str, Any],
    quantity: int,
    amount: int,
    product_name: str,
    period: tuple[int, int],
    subscription_id: str,
    subscription_item: str | None = None,
    invoice_item: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> JSONDict:
    """A ``line_item`` of an invoice: a subscription item's period, or a one-time item."""
    recurring = price.get("recurring")
    if subscription_item is not None and recurring:
        count, interval = recurring["interval_count"], recurring["interval"]
        every = interval if count == 1 else f"every {count} {interval}s"
        unit = _price_label(int(Decimal(price["unit_amount_decimal"])), price["currency"])
        description = f"{quantity} × {product_name} (at {unit} / {every})"
        parent: JSONDict = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
                "subscription_item": subscription_item,
            },
            "type": "subscription_item_details",
        }
    else:
        description = product_name
        parent = {
            "invoice_item_details": {
                "invoice_item": invoice_item,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription_id,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    return {
        "id": il_id,
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "parent": parent,
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"],
        },
        "quantity": quantity,
        "subscription": subscription_id,
        "subtotal": amount,
        "taxes": [],
    }


def invoice(
    in_id: str,
    *,
    number: str,
    subscribed: Mapping[str, Any],
    billed: Mapping[str, Any],
    billing_reason: str,
    lines: list[JSONDict],
    period: tuple[int, int],
    now: int,
    hosted_url: str,
) -> JSONDict:
    """A paid subscription invoice of ``subscribed`` for customer ``billed``.

    ``parent.subscription_details.metadata`` is the snapshot of the subscription's metadata
    that Stripe takes at finalization. ``period`` is the invoice's (pending items) period,
    not the service period, which is on each line.
    """
    total = sum(line["amount"] for line in lines)
    return {
        "id": in_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "FakeStripe",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": total,
        "amount_paid_off_stripe": 0,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": now,
        "currency": subscribed["currency"],
        "custom_fields": None,
        "customer": billed["id"],
        "customer_account": None,
        "customer_address": billed["address"],
        "customer_email": billed["email"],
        "customer_name": billed["name"],
        "customer_phone": billed["phone"],
        "customer_shipping": billed["shipping"],
        "customer_tax_exempt": billed["tax_exempt"],
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": now,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": hosted_url,
        "invoice_pdf": f"{hosted_url}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_object(lines, f"/v1/invoices/{in_id}/lines"),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": number,
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": copy.deepcopy(subscribed["metadata"]),
                "subscription": subscribed["id"],
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": period[1],
        "period_start": period[0],
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {
            "finalized_at": now,
            "marked_uncollectible_at": None,
            "paid_at": now,
            "voided_at": None,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": None,
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": now,
    }


def invoice_payment(
    inpay_id: str, paid_invoice: Mapping[str, Any], payment_intent_id: str, now: int
) -> JSONDict:
    """The (default) InvoicePayment linking a paid invoice to its PaymentIntent."""
    return {
        "id": inpay_id,
        "object": "invoice_payment",
        "amount_paid": paid_invoice["amount_paid"],
        "amount_requested": paid_invoice["amount_due"],
        "created": now,
        "currency": paid_invoice["currency"],
        "invoice": paid_invoice["id"],
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": payment_intent_id, "type": "payment_intent"},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": now},
    }


def _price_label(minor: int, currency: str) -> str:
    """``€10.00`` (or ``10.00 SEK``) as in invoice line descriptions."""
    places = decimals(currency)
    major = f"{Decimal(minor).scaleb(-places):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"
