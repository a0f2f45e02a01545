"""Stripe API objects for :mod:`playground.stripe.api`: builders, expansion and lists.

Builders return plain JSON-ready dicts with the fields the installed SDK's resource classes
declare for the pinned API version (a test checks that no field is invented). Ids are
references (``"pi_..."``) unless a client asks to expand them.

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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from playground.stripe.checkout import API_VERSION, CURRENCY_SYMBOLS, decimals
from playground.stripe.params import FakeStripeError, JSONDict, invalid

__all__ = [
    "EXPANDABLE",
    "INCLUDABLE",
    "MAX_EXPAND_DEPTH",
    "add_interval",
    "balance_transaction",
    "card_payment_method",
    "charge",
    "convert",
    "customer",
    "dispute",
    "event",
    "expand",
    "invoice",
    "invoice_line",
    "invoice_payment",
    "list_object",
    "paginate",
    "payment_intent",
    "refund",
    "subscription",
]

MAX_EXPAND_DEPTH = 4
#: Fields each object type lets a client expand (a subset of Stripe's, but only real ones).
#: A dotted name is a reference inside a nested hash (``parent.subscription_details...``).
EXPANDABLE: Mapping[str, frozenset[str]] = {
    "checkout.session": frozenset(
        {"customer", "invoice", "line_items", "payment_intent", "payment_link", "setup_intent",
         "subscription"}
    ),
    "payment_intent": frozenset(
        {"application", "customer", "latest_charge", "on_behalf_of", "payment_method", "review"}
    ),
    "charge": frozenset(
        {"application", "application_fee", "balance_transaction", "customer",
         "failure_balance_transaction", "on_behalf_of", "payment_intent", "review",
         "source_transfer", "transfer"}
    ),
    "balance_transaction": frozenset({"source"}),
    "dispute": frozenset({"charge", "payment_intent"}),
    "refund": frozenset({"balance_transaction", "charge", "payment_intent"}),
    "subscription": frozenset({"customer", "default_payment_method", "latest_invoice"}),
    "invoice": frozenset(
        {"customer", "default_payment_method", "parent.subscription_details.subscription",
         "payments"}
    ),
    "invoice_payment": frozenset({"invoice", "payment.charge", "payment.payment_intent"}),
    "payment_method": frozenset({"customer"}),
    "customer": frozenset(),
    "event": frozenset(),
}  # fmt: skip
#: Lists left out of an object unless expanded; ``resolve("<field>:<object id>")`` builds them.
INCLUDABLE: Mapping[str, frozenset[str]] = {
    "checkout.session": frozenset({"line_items"}),
    "invoice": frozenset({"payments"}),
}


# =============================================================================================
# Money
# =============================================================================================


def convert(amount: int, currency: str, to_currency: str, rate: float) -> int:
    """``amount`` minor units of ``currency`` in ``to_currency`` at ``rate`` (per major unit)."""
    major = Decimal(amount).scaleb(-decimals(currency)) * Decimal(str(rate))
    minor = major.scaleb(decimals(to_currency))
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


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


# =============================================================================================
# Builders
# =============================================================================================


def card_payment_method(pm_id: str, now: int, email: str | None, name: str | None) -> JSONDict:
    return {
        "id": pm_id,
        "object": "payment_method",
        "billing_details": _billing_details(email, name),
        "card": _card(),
        "created": now,
        "customer": None,
        "livemode": False,
        "metadata": {},
        "type": "card",
    }


def payment_intent(
    pi_id: str,
    *,
    amount: int,
    currency: str,
    now: int,
    status: str,
    payment_method: str | None,
    payment_method_type: str,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    statement_descriptor_suffix: str | None = None,
    customer: str | None = None,
) -> JSONDict:
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount if status == "succeeded" else 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_fake",
        "confirmation_method": "automatic",
        "created": now,
        "currency": currency,
        "customer": customer,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": dict(metadata or {}),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": [payment_method_type],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": statement_descriptor_suffix,
        "status": status,
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(
    ch_id: str,
    intent: Mapping[str, Any],
    *,
    balance_transaction: str,
    now: int,
    receipt_url: str,
    email: str | None,
    name: str | None,
    payment_method_type: str,
) -> JSONDict:
    details: JSONDict = {"type": payment_method_type}
    details[payment_method_type] = _charged_card() if payment_method_type == "card" else {}
    return {
        "id": ch_id,
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction,
        "billing_details": _billing_details(email, name),
        "calculated_statement_descriptor": "FAKESTRIPE",
        "captured": True,
        "created": now,
        "currency": intent["currency"],
        "customer": intent["customer"],
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 20,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "payment_method_details": details,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": receipt_url,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": intent["statement_descriptor_suffix"],
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def balance_transaction(
    txn_id: str,
    *,
    source: str,
    amount: int,
    currency: str,
    exchange_rate: float | None,
    fee: int,
    now: int,
    kind: str = "charge",
    description: str | None = None,
) -> JSONDict:
    fee_details = (
        [
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        if fee
        else []
    )
    return {
        "id": txn_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now + 2 * 24 * 60 * 60,
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": exchange_rate,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": kind,
        "source": source,
        "status": "pending",
        "type": kind,
    }


def refund(
    re_id: str, charged: Mapping[str, Any], amount: int, now: int, reason: str | None
) -> JSONDict:
    return {
        "id": re_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": None,
        "charge": charged["id"],
        "created": now,
        "currency": charged["currency"],
        "description": None,
        "destination_details": None,
        "failure_balance_transaction": None,
        "failure_reason": None,
        "metadata": {},
        "payment_intent": charged["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(
    dp_id: str,
    charged: Mapping[str, Any],
    amount: int,
    reason: str,
    now: int,
    status: str = "needs_response",
) -> JSONDict:
    return {
        "id": dp_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charged["id"],
        "created": now,
        "currency": charged["currency"],
        "evidence": {},
        "evidence_details": {
            "due_by": now + 7 * 24 * 60 * 60,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": None,
        "payment_intent": charged["payment_intent"],
        "payment_method_details": None,
        "reason": reason,
        "status": status,
    }


def customer(cus_id: str, email: str | None, name: str | None, now: int) -> JSONDict:
    return {
        "id": cus_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "created": now,
        "currency": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "email": email,
        "invoice_prefix": cus_id[4:12].upper(),
        "livemode": False,
        "metadata": {},
        "name": name,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
    }


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


def event(
    evt_id: str,
    kind: str,
    obj: Mapping[str, Any],
    now: int,
    *,
    previous_attributes: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    idempotency_key: str | None = None,
) -> JSONDict:
    """A v1 snapshot event carrying a deep copy of ``obj`` as it is now."""
    data: JSONDict = {"object": copy.deepcopy(dict(obj))}
    if previous_attributes is not None:
        data["previous_attributes"] = copy.deepcopy(dict(previous_attributes))
    return {
        "id": evt_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": kind,
    }


def donor_address() -> JSONDict:
    """The address a simulated donor gives at checkout (country and postal code only)."""
    return {
        "city": None,
        "country": "US",
        "line1": None,
        "line2": None,
        "postal_code": "10001",
        "state": None,
    }


def _billing_details(email: str | None, name: str | None) -> JSONDict:
    return {
        "address": donor_address(),
        "email": email,
        "name": name,
        "phone": None,
        "tax_id": None,
    }


def _price_label(minor: int, currency: str) -> str:
    """``€10.00`` (or ``10.00 SEK``) as in invoice line descriptions."""
    places = decimals(currency)
    major = f"{Decimal(minor).scaleb(-places):,.{places}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{major}" if symbol else f"{major} {currency.upper()}"


def _charged_card() -> JSONDict:
    """A charge's ``payment_method_details.card``: ``network`` where a method has ``networks``."""
    card = _card()
    del card["networks"]
    card.update(amount_authorized=None, network="visa", network_transaction_id=None)
    return card


def _card() -> JSONDict:
    return {
        "brand": "visa",
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": "pass",
            "cvc_check": "pass",
        },
        "country": "US",
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": "FakeStripeCard01",
        "funding": "credit",
        "last4": "4242",
        "networks": {"available": ["visa"], "preferred": None},
        "wallet": None,
    }


# =============================================================================================
# Lists and expansion
# =============================================================================================


def list_object(data: list[JSONDict], url: str, has_more: bool = False) -> JSONDict:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def paginate(
    items: Sequence[JSONDict],
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    object_name: str,
) -> tuple[list[JSONDict], bool]:
    """One page of ``items`` (already newest first) and whether more lie in that direction."""
    ids = [item["id"] for item in items]
    if starting_after is not None and ending_before is not None:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            "ending_before",
            "parameters_exclusive",
        )
    if starting_after is not None:
        if starting_after not in ids:
            raise _missing_cursor(object_name, starting_after, "starting_after")
        rest = items[ids.index(starting_after) + 1 :]
        return list(rest[:limit]), len(rest) > limit
    if ending_before is not None:
        if ending_before not in ids:
            raise _missing_cursor(object_name, ending_before, "ending_before")
        before = items[: ids.index(ending_before)]
        return list(before[-limit:]), len(before) > limit
    return list(items[:limit]), len(items) > limit


def _missing_cursor(object_name: str, object_id: str, param: str) -> FakeStripeError:
    return FakeStripeError(
        404, f"No such {object_name}: '{object_id}'", param=param, code="resource_missing"
    )


Resolver = Callable[[str], JSONDict | None]


def expand(
    obj: JSONDict, paths: Sequence[str], resolve: Resolver, *, within_list: bool = False
) -> JSONDict:
    """A deep copy of ``obj`` with the dotted ``paths`` replaced by the objects they name.

    ``resolve`` maps an id to its stored object (or ``None``); an :data:`INCLUDABLE` field is
    resolved by ``resolve("<field>:<object id>")``. In list answers (``within_list``) every
    path starts with ``data.``, and a path continues into an expanded list through ``data``
    (``payments.data.payment.payment_intent``). ``data`` does not count as a level.
    """
    result = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        if sum(part != "data" for part in parts) > MAX_EXPAND_DEPTH:
            raise invalid(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property. "
                f"Property: {path}",
                "expand",
            )
        if within_list:
            if parts[0] != "data" or len(parts) < 2:
                raise _cannot_expand(path)
            for item in result["data"]:
                _expand_in(item, parts[1:], path, resolve)
        else:
            _expand_in(result, parts, path, resolve)
    return result


def _expand_in(obj: JSONDict, parts: list[str], path: str, resolve: Resolver) -> None:
    kind = obj.get("object", "")
    allowed = EXPANDABLE.get(kind, frozenset())
    size = next((n for n in range(1, len(parts) + 1) if ".".join(parts[:n]) in allowed), None)
    if size is None:
        raise _cannot_expand(path)
    holder: Any = obj
    for key in parts[: size - 1]:  # into nested hashes (``parent.subscription_details``)
        holder = holder.get(key)
        if holder is None:
            return  # nothing there to expand, as with a null reference
    name, rest = parts[size - 1], parts[size:]
    value = holder.get(name)
    if size == 1 and name in INCLUDABLE.get(kind, frozenset()):
        value = value if isinstance(value, dict) else resolve(f"{name}:{obj['id']}")
    elif name not in holder:
        return  # a reference this object's type leaves out (``payment.charge`` of an intent)
    elif isinstance(value, str):
        found = resolve(value)
        value = copy.deepcopy(found) if found is not None else value
    holder[name] = value
    if not rest or not isinstance(value, dict):
        return
    if value.get("object") == "list":
        if rest[0] != "data" or len(rest) < 2:
            raise _cannot_expand(path)
        for item in value["data"]:
            _expand_in(item, rest[1:], path, resolve)
    else:
        _expand_in(value, rest, path, resolve)


def _cannot_expand(path: str) -> FakeStripeError:
    return invalid(f"This property cannot be expanded ({path}).", "expand")
