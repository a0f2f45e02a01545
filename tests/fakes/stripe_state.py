"""The simulated Stripe account behind :mod:`tests.fakes.stripe_api`: objects, clock, events.

:class:`StripeAccount` holds every object the fake knows, creates Checkout Sessions from
validated parameters, and simulates what happens outside the API (a donor paying, a bank
settling a delayed payment, a refund from the Dashboard, a chargeback) the way Stripe records
it: objects change and events are stored. It does no HTTP; :class:`~tests.fakes.stripe_api.
FakeStripe` serves it over the API.

Simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import copy
import random
import string
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from stripe._encode import _api_encode

from . import stripe_objects as objects
from .stripe_checkout import build_line_items, build_session, parse_session_create
from .stripe_params import JSONDict, decode_form

__all__ = ["EVENT_RETENTION_SECONDS", "StripeAccount"]

#: Stripe keeps events for 30 days; older ones are neither listed nor retrievable.
EVENT_RETENTION_SECONDS = 30 * 24 * 60 * 60
_ID_ALPHABET = string.ascii_letters + string.digits


class StripeAccount:
    """A test-mode Stripe account's state and the test-side actions that change it.

    Public state (read it in tests): ``sessions``, ``payment_intents``, ``charges``,
    ``balance_transactions``, ``disputes``, ``refunds``, ``payment_methods``, ``customers``,
    ``subscriptions`` (objects by id); ``events`` (every event, oldest first);
    ``sessions_created`` (sessions created, idempotent replays not counted).

    Test-side actions raise ``KeyError`` for unknown ids and ``ValueError`` for actions the
    object's state does not allow (paying an expired session, over-refunding).
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.sessions: dict[str, JSONDict] = {}
        self.payment_intents: dict[str, JSONDict] = {}
        self.charges: dict[str, JSONDict] = {}
        self.balance_transactions: dict[str, JSONDict] = {}
        self.disputes: dict[str, JSONDict] = {}
        self.refunds: dict[str, JSONDict] = {}
        self.payment_methods: dict[str, JSONDict] = {}
        self.customers: dict[str, JSONDict] = {}
        self.subscriptions: dict[str, JSONDict] = {}
        self.events: list[JSONDict] = []
        self.sessions_created = 0
        self._random = random.Random(seed)
        self._line_items: dict[str, list[JSONDict]] = {}
        self._params_by_session: dict[str, JSONDict] = {}
        self._events_by_id: dict[str, JSONDict] = {}
        self._frozen_now: int | None = None

    @property
    def base_url(self) -> str:
        """Root of the account's public URLs (checkout pages, receipts)."""
        return "http://fake-stripe.invalid"

    # -- sessions ----------------------------------------------------------------------------

    def create_session(self, params: Mapping[str, Any]) -> JSONDict:
        """Create a Checkout Session from SDK-style ``params`` without going through HTTP.

        ``params`` are what you would pass to ``sessions.create_async``; they are encoded
        like the SDK does and checked like the API does (:class:`FakeStripeError` if invalid).
        """
        encoded = urlencode(list(_api_encode(dict(params))))
        return self.create_session_from_form(
            decode_form(parse_qsl(encoded, keep_blank_values=True))
        )

    def create_session_from_form(self, form: JSONDict) -> JSONDict:
        """Create a Checkout Session from decoded form parameters; returns the stored object."""
        now = self.now
        draft = parse_session_create(form, now)
        session_id = self.new_id("cs_test_", 58)
        session = build_session(draft, session_id, f"{self.base_url}/pay/{session_id}", now)
        self.sessions[session_id] = session
        self._line_items[session_id] = build_line_items(draft, self.new_id, now)
        self._params_by_session[session_id] = draft.params
        self.sessions_created += 1
        return session

    def session_line_items(self, session_id: str) -> list[JSONDict]:
        """The ``item`` objects of a session (stored objects, not copies)."""
        return self._line_items.get(session_id, [])

    # -- clock -------------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The fake's Unix time: real time unless set (then frozen until set to ``None``)."""
        return self._frozen_now if self._frozen_now is not None else int(time.time())

    @now.setter
    def now(self, value: float | None) -> None:
        self._frozen_now = None if value is None else int(value)
        self.expire_due_sessions()

    def advance(self, seconds: float) -> list[JSONDict]:
        """Move the (then frozen) clock forward; returns the events of sessions that expired."""
        self._frozen_now = self.now + int(seconds)
        return self.expire_due_sessions()

    # -- test side: payments -----------------------------------------------------------------

    def pay(
        self,
        session_id: str,
        *,
        settle_currency: str = "usd",
        exchange_rate: float = 1.0,
        fee_rate: float = 0.029,
        fee_fixed: int = 30,
        email: str = "donor@example.com",
        name: str = "Test Donor",
    ) -> JSONDict:
        """The customer pays an open session by card; returns ``checkout.session.completed``.

        Payment mode creates a succeeded PaymentIntent, a Charge and a BalanceTransaction of
        ``round(amount * exchange_rate)`` in ``settle_currency`` (``exchange_rate`` is per
        major unit; reported as ``null`` when no conversion happened) with a fee of
        ``round(settled * fee_rate) + fee_fixed``. Subscription mode creates a Customer and an
        active Subscription (Simplification: no invoice or charge objects).
        """
        session = self._open_session(session_id)
        if session["mode"] == "payment":
            intent = self._new_intent(session, "succeeded", "card", email, name)
            self._settle(intent, settle_currency, exchange_rate, fee_rate, fee_fixed, email, name)
        elif session["mode"] == "subscription":
            self._subscribe(session, email, name)
        else:
            raise ValueError("pay() does not simulate setup-mode sessions")
        self._complete(session, "paid", email, name)
        return self._emit("checkout.session.completed", session)

    def pay_async(
        self,
        session_id: str,
        *,
        payment_method_type: str = "sepa_debit",
        email: str = "donor@example.com",
        name: str = "Test Donor",
    ) -> JSONDict:
        """The customer submits a delayed payment (e.g. SEPA debit); returns the completed event.

        The session completes with ``payment_status`` ``unpaid`` and a ``processing``
        PaymentIntent; :meth:`settle_async` later decides the outcome.
        """
        session = self._open_session(session_id)
        if session["mode"] != "payment":
            raise ValueError("pay_async simulates payment-mode sessions only")
        self._new_intent(session, "processing", payment_method_type, email, name)
        self._complete(session, "unpaid", email, name)
        return self._emit("checkout.session.completed", session)

    def settle_async(
        self,
        session_id: str,
        succeeded: bool = True,
        *,
        settle_currency: str = "usd",
        exchange_rate: float = 1.0,
        fee_rate: float = 0.008,
        fee_fixed: int = 0,
    ) -> JSONDict:
        """The delayed payment of a :meth:`pay_async` session succeeds or fails.

        Returns ``checkout.session.async_payment_succeeded`` (payment_status ``paid``, charge
        and balance transaction created) or ``checkout.session.async_payment_failed``.
        """
        session = self._session(session_id)
        intent = self.payment_intents.get(session["payment_intent"] or "")
        if intent is None or intent["status"] != "processing":
            raise ValueError(f"session {session_id} has no processing payment (use pay_async)")
        if succeeded:
            details = self.payment_methods.get(intent["payment_method"] or "", {})
            billing = details.get("billing_details", {})
            self._settle(
                intent,
                settle_currency,
                exchange_rate,
                fee_rate,
                fee_fixed,
                billing.get("email"),
                billing.get("name"),
            )
            session["payment_status"] = "paid"
            return self._emit("checkout.session.async_payment_succeeded", session)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "code": "payment_method_not_available",
            "message": "The payment failed (simulated by FakeStripe).",
            "type": "invalid_request_error",
        }
        return self._emit("checkout.session.async_payment_failed", session)

    def expire(self, session_id: str) -> JSONDict:
        """Expire an open session now; returns ``checkout.session.expired``."""
        return self.expire_session(self._open_session(session_id))

    def refund(
        self, charge_id: str, amount: int | None = None, *, reason: str | None = None
    ) -> JSONDict:
        """Refund (the rest of) a charge; returns ``charge.refunded``.

        ``amount_refunded`` is cumulative and ``refunded`` turns true once the whole amount is
        refunded. Refunding more than remains, or a charge with an open dispute, raises
        ``ValueError``.
        """
        charged = self._charge(charge_id)
        remaining = charged["amount"] - charged["amount_refunded"]
        amount = remaining if amount is None else amount
        if not 0 < amount <= remaining:
            raise ValueError(
                f"cannot refund {amount} of charge {charge_id}: {remaining} remains refundable"
            )
        if charged["disputed"] and any(
            dispute["charge"] == charge_id and dispute["status"] not in ("won", "lost")
            for dispute in self.disputes.values()
        ):
            raise ValueError(f"charge {charge_id} has been charged back; cannot issue a refund")
        refunded = objects.refund(self.new_id("re_"), charged, amount, self.now, reason)
        self.refunds[refunded["id"]] = refunded
        previous = {"amount_refunded": charged["amount_refunded"], "refunded": False}
        charged["amount_refunded"] += amount
        charged["refunded"] = charged["amount_refunded"] == charged["amount"]
        if not charged["refunded"]:
            del previous["refunded"]
        return self._emit("charge.refunded", charged, previous_attributes=previous)

    def dispute(
        self, charge_id: str, amount: int | None = None, *, reason: str = "fraudulent"
    ) -> JSONDict:
        """The cardholder disputes a charge; returns ``charge.dispute.created``.

        Simplification: no balance transactions for the withdrawn funds and dispute fee.
        """
        charged = self._charge(charge_id)
        amount = charged["amount"] if amount is None else amount
        if not 0 < amount <= charged["amount"]:
            raise ValueError(f"dispute amount {amount} is not within the charge's amount")
        disputed = objects.dispute(self.new_id("dp_"), charged, amount, reason, self.now)
        self.disputes[disputed["id"]] = disputed
        charged["disputed"] = True
        return self._emit("charge.dispute.created", disputed)

    def update_dispute(self, dispute_id: str, status: str = "under_review") -> JSONDict:
        """Move a dispute to another open status; returns ``charge.dispute.updated``."""
        if status not in ("needs_response", "under_review", "warning_under_review"):
            raise ValueError(f"not an open dispute status: {status!r}")
        return self._change_dispute(dispute_id, status, "charge.dispute.updated")

    def close_dispute(self, dispute_id: str, status: str = "lost") -> JSONDict:
        """Decide a dispute (``lost`` or ``won``); returns ``charge.dispute.closed``."""
        if status not in ("lost", "won"):
            raise ValueError(f"a dispute closes as 'lost' or 'won', not {status!r}")
        return self._change_dispute(dispute_id, status, "charge.dispute.closed")

    def add_event(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
    ) -> JSONDict:
        """Store an arbitrary event (e.g. one the integration must ignore) and return it."""
        return self._emit(event_type, obj, previous_attributes=previous_attributes)

    # -- state changes -----------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 24) -> str:
        """A random Stripe-style id: ``new_id("pi_")`` -> ``pi_3Nf...``."""
        return prefix + "".join(self._random.choices(_ID_ALPHABET, k=length))

    def _session(self, session_id: str) -> JSONDict:
        self.expire_due_sessions()
        try:
            return self.sessions[session_id]
        except KeyError:
            raise KeyError(f"no checkout session {session_id!r}") from None

    def _open_session(self, session_id: str) -> JSONDict:
        session = self._session(session_id)
        if session["status"] != "open":
            raise ValueError(f"session {session_id} is {session['status']}, not open")
        return session

    def _charge(self, charge_id: str) -> JSONDict:
        try:
            return self.charges[charge_id]
        except KeyError:
            raise KeyError(f"no charge {charge_id!r}") from None

    def _new_intent(
        self, session: JSONDict, status: str, method_type: str, email: str | None, name: str | None
    ) -> JSONDict:
        method = objects.card_payment_method(self.new_id("pm_"), self.now, email, name)
        if method_type != "card":
            del method["card"]
            method["type"] = method_type
            method[method_type] = {}
        self.payment_methods[method["id"]] = method
        intent_data = self.session_params(session["id"]).get("payment_intent_data", {})
        customer_id = None
        if session["customer_creation"] == "always":
            created = objects.customer(self.new_id("cus_", 14), email, name, self.now)
            self.customers[created["id"]] = created
            customer_id = session["customer"] = created["id"]
        intent = objects.payment_intent(
            self.new_id("pi_"),
            amount=session["amount_total"],
            currency=session["currency"],
            now=self.now,
            status=status,
            payment_method=method["id"],
            payment_method_type=method_type,
            description=intent_data.get("description"),
            metadata=intent_data.get("metadata"),
            statement_descriptor_suffix=intent_data.get("statement_descriptor_suffix"),
            customer=customer_id,
        )
        self.payment_intents[intent["id"]] = intent
        session["payment_intent"] = intent["id"]
        return intent

    def _settle(
        self,
        intent: JSONDict,
        settle_currency: str,
        exchange_rate: float,
        fee_rate: float,
        fee_fixed: int,
        email: str | None,
        name: str | None,
    ) -> None:
        converted = settle_currency != intent["currency"]
        if not converted and exchange_rate != 1.0:
            raise ValueError("exchange_rate must be 1.0 when nothing is converted")
        settled = objects.convert(
            intent["amount"], intent["currency"], settle_currency, exchange_rate
        )
        fee = round(settled * fee_rate) + fee_fixed
        charge_id = self.new_id("ch_")
        transaction = objects.balance_transaction(
            self.new_id("txn_"),
            source=charge_id,
            amount=settled,
            currency=settle_currency,
            exchange_rate=exchange_rate if converted else None,
            fee=fee,
            now=self.now,
            description=intent["description"],
        )
        charged = objects.charge(
            charge_id,
            intent,
            balance_transaction=transaction["id"],
            now=self.now,
            receipt_url=f"{self.base_url}/receipts/{charge_id}",
            email=email,
            name=name,
            payment_method_type=intent["payment_method_types"][0],
        )
        self.balance_transactions[transaction["id"]] = transaction
        self.charges[charge_id] = charged
        intent.update(status="succeeded", latest_charge=charge_id, amount_received=intent["amount"])

    def _subscribe(self, session: JSONDict, email: str, name: str) -> None:
        created = objects.customer(self.new_id("cus_", 14), email, name, self.now)
        self.customers[created["id"]] = created
        data = self.session_params(session["id"]).get("subscription_data", {})
        subscribed = objects.subscription(
            self.new_id("sub_"),
            customer_id=created["id"],
            items=self._line_items[session["id"]],
            metadata=data.get("metadata", {}),
            description=data.get("description"),
            now=self.now,
        )
        self.subscriptions[subscribed["id"]] = subscribed
        session.update(customer=created["id"], subscription=subscribed["id"])

    def _complete(self, session: JSONDict, payment_status: str, email: str, name: str) -> None:
        session.update(
            status="complete",
            payment_status=payment_status,
            url=None,
            customer_details={
                "address": {
                    "city": None,
                    "country": "US",
                    "line1": None,
                    "line2": None,
                    "postal_code": "10001",
                    "state": None,
                },
                "email": session["customer_email"] or email,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )

    def expire_session(
        self,
        session: JSONDict,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JSONDict:
        """Expire ``session`` (open); returns ``checkout.session.expired``.

        ``request_id``/``idempotency_key`` name the API request that asked for it, if any.
        """
        session.update(status="expired", url=None)
        return self._emit(
            "checkout.session.expired",
            session,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )

    def expire_due_sessions(self) -> list[JSONDict]:
        """Expire open sessions whose ``expires_at`` has passed; returns their events."""
        now = self.now
        due = [
            s for s in self.sessions.values() if s["status"] == "open" and s["expires_at"] <= now
        ]
        return [self.expire_session(session) for session in due]

    def _change_dispute(self, dispute_id: str, status: str, event_type: str) -> JSONDict:
        try:
            disputed = self.disputes[dispute_id]
        except KeyError:
            raise KeyError(f"no dispute {dispute_id!r}") from None
        if disputed["status"] in ("won", "lost"):
            raise ValueError(f"dispute {dispute_id} is already closed ({disputed['status']})")
        previous = {"status": disputed["status"]}
        disputed["status"] = status
        return self._emit(event_type, disputed, previous_attributes=previous)

    def _emit(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JSONDict:
        created = objects.event(
            self.new_id("evt_"),
            event_type,
            obj,
            self.now,
            previous_attributes=previous_attributes,
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        self.events.append(created)
        self._events_by_id[created["id"]] = created
        return copy.deepcopy(created)

    def session_params(self, session_id: str) -> JSONDict:
        """The validated (typed) parameters a session was created with."""
        return self._params_by_session.get(session_id, {})

    def resolve(self, ref: str) -> JSONDict | None:
        """The stored object an id (or ``line_items:<session id>``) refers to."""
        if ref.startswith("line_items:"):
            session_id = ref.partition(":")[2]
            return objects.list_object(
                copy.deepcopy(self._line_items.get(session_id, [])),
                f"/v1/checkout/sessions/{session_id}/line_items",
            )
        for store in (
            self.sessions,
            self.payment_intents,
            self.charges,
            self.balance_transactions,
            self.disputes,
            self.refunds,
            self.payment_methods,
            self.customers,
            self.subscriptions,
            self._events_by_id,
        ):
            if ref in store:
                return store[ref]
        return None

    def visible_events(self) -> list[JSONDict]:
        """Events within the retention window, newest first."""
        oldest = self.now - EVENT_RETENTION_SECONDS
        visible = [event for event in reversed(self.events) if event["created"] >= oldest]
        return sorted(visible, key=lambda event: -event["created"])
