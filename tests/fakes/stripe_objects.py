"""Stripe API objects for :mod:`tests.fakes.stripe_api`: builders, expansion and lists.

Builders return plain JSON-ready dicts with the fields the installed SDK's resource classes
declare for the pinned API version (a test checks that no field is invented). Ids are
references (``"pi_..."``) unless a client asks to expand them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .stripe_checkout import API_VERSION, decimals
from .stripe_params import FakeStripeError, JSONDict, invalid

__all__ = [
    "EXPANDABLE",
    "MAX_EXPAND_DEPTH",
    "balance_transaction",
    "card_payment_method",
    "charge",
    "convert",
    "customer",
    "dispute",
    "event",
    "expand",
    "list_object",
    "paginate",
    "payment_intent",
    "refund",
    "subscription",
]

MAX_EXPAND_DEPTH = 4
#: Fields each object type lets a client expand (a subset of Stripe's, but only real ones).
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
    "subscription": frozenset({"customer", "latest_invoice"}),
    "payment_method": frozenset({"customer"}),
    "customer": frozenset(),
    "event": frozenset(),
}  # fmt: skip


# =============================================================================================
# Money
# =============================================================================================


def convert(amount: int, currency: str, to_currency: str, rate: float) -> int:
    """``amount`` minor units of ``currency`` in ``to_currency`` at ``rate`` (per major unit)."""
    major = Decimal(amount).scaleb(-decimals(currency)) * Decimal(str(rate))
    minor = major.scaleb(decimals(to_currency))
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


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
    details[payment_method_type] = _card() if payment_method_type == "card" else {}
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


def dispute(dp_id: str, charged: Mapping[str, Any], amount: int, reason: str, now: int) -> JSONDict:
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
        "status": "needs_response",
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
    now: int,
) -> JSONDict:
    return {
        "id": sub_id,
        "object": "subscription",
        "billing_cycle_anchor": now,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": items[0]["currency"] if items else None,
        "customer": customer_id,
        "description": description,
        "ended_at": None,
        "items": list_object(
            [
                {
                    "id": f"si_{item['id'][3:]}",
                    "object": "subscription_item",
                    "created": now,
                    "metadata": {},
                    "price": copy.deepcopy(item["price"]),
                    "quantity": item["quantity"],
                    "subscription": sub_id,
                }
                for item in items
            ],
            f"/v1/subscription_items?subscription={sub_id}",
        ),
        "latest_invoice": None,
        "livemode": False,
        "metadata": dict(metadata),
        "start_date": now,
        "status": "active",
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


def _billing_details(email: str | None, name: str | None) -> JSONDict:
    return {
        "address": {
            "city": None,
            "country": "US",
            "line1": None,
            "line2": None,
            "postal_code": "10001",
            "state": None,
        },
        "email": email,
        "name": name,
        "phone": None,
        "tax_id": None,
    }


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

    ``resolve`` maps an id to its stored object (or ``None``); ``line_items`` is resolved by
    ``resolve("line_items:" + session_id)``. In list answers (``within_list``) every path
    starts with ``data.``.
    """
    result = copy.deepcopy(obj)
    for path in paths:
        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH + within_list:
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
    name, rest = parts[0], parts[1:]
    if name not in EXPANDABLE.get(obj.get("object", ""), frozenset()):
        raise _cannot_expand(path)
    value = obj.get(name)
    if name == "line_items" and obj.get("object") == "checkout.session":
        value = obj.get("line_items") or resolve(f"line_items:{obj['id']}")
    elif isinstance(value, str):
        value = copy.deepcopy(resolve(value)) if resolve(value) is not None else value
    obj[name] = value
    if rest and isinstance(value, dict):
        _expand_in(value, rest, path, resolve)


def _cannot_expand(path: str) -> FakeStripeError:
    return invalid(f"This property cannot be expanded ({path}).", "expand")
