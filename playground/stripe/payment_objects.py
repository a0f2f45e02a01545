"""Payment objects of the Stripe simulator: intents, charges, refunds, disputes and the like.

Builders of PaymentMethod, Customer, PaymentIntent, Charge, BalanceTransaction, Refund and
Dispute objects. They return plain JSON-ready dicts with the fields the installed SDK's
resource classes declare for the pinned API version (a test checks that no field is
invented). Ids are references (``"pi_..."``) unless a client asks to expand them (see
:mod:`.expansion`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from playground.stripe.params import JSONDict

__all__ = [
    "balance_transaction",
    "card_payment_method",
    "charge",
    "customer",
    "dispute",
    "donor_address",
    "payment_intent",
    "refund",
]


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
