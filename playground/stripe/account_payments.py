"""One-time payments of the simulated Stripe account: paying, settling, refunds, disputes.

:class:`PaymentActions` adds to :class:`~playground.stripe.account_state.AccountState` what
happens to a payment outside the API, the way Stripe records it: the donor paying a
Checkout Session by card (:meth:`~PaymentActions.pay`) or by a delayed method
(:meth:`~PaymentActions.pay_async`, then :meth:`~PaymentActions.settle_async`), a refund from
the Dashboard and its failure, a chargeback and its outcome. Each creates or changes the
PaymentIntent, Charge, BalanceTransaction, Refund or Dispute and stores the events.

Simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

from dataclasses import dataclass

from playground.stripe import currencies, payment_objects
from playground.stripe.account_state import AccountState
from playground.stripe.params import JSONDict

__all__ = ["PaymentActions", "Settlement"]


@dataclass(frozen=True)
class Settlement:
    """How a card payment settles in the account's balance (see :meth:`PaymentActions.pay`)."""

    currency: str
    exchange_rate: float
    fee_rate: float
    fee_fixed: int

    def check(self, currency: str) -> None:
        if self.currency == currency and self.exchange_rate != 1.0:
            raise ValueError("exchange_rate must be 1.0 when nothing is converted")


class PaymentActions(AccountState):
    """The account's test-side payment actions; see the module docstring.

    :meth:`pay` hands ``subscription``-mode sessions to :meth:`_pay_subscription`, which
    :class:`~playground.stripe.account_subscriptions.SubscriptionActions` implements.
    """

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
        ``round(settled * fee_rate) + fee_fixed``. Subscription mode does what
        :meth:`pay_subscription` does and returns its ``checkout.session.completed`` event.
        """
        session = self._open_session(session_id)
        settlement = Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
        if session["mode"] == "subscription":
            events = self._pay_subscription(session, settlement, email, name)
            return events["checkout.session.completed"]
        if session["mode"] != "payment":
            raise ValueError("pay() does not simulate setup-mode sessions")
        settlement.check(session["currency"])
        intent = self._new_intent(session, "succeeded", "card", email, name)
        self._settle(intent, settlement, email, name)
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
            settlement = Settlement(settle_currency, exchange_rate, fee_rate, fee_fixed)
            self._settle(intent, settlement, billing.get("email"), billing.get("name"))
            session["payment_status"] = "paid"
            return self._emit("checkout.session.async_payment_succeeded", session)
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "code": "payment_method_not_available",
            "message": "The payment failed (simulated by FakeStripe).",
            "type": "invalid_request_error",
        }
        return self._emit("checkout.session.async_payment_failed", session)

    # -- test side: refunds and disputes -----------------------------------------------------

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
        refunded = payment_objects.refund(self.new_id("re_"), charged, amount, self.now, reason)
        self.refunds[refunded["id"]] = refunded
        previous = {"amount_refunded": charged["amount_refunded"], "refunded": False}
        charged["amount_refunded"] += amount
        charged["refunded"] = charged["amount_refunded"] == charged["amount"]
        if not charged["refunded"]:
            del previous["refunded"]
        return self._emit("charge.refunded", charged, previous_attributes=previous)

    def fail_refund(self, refund_id: str, reason: str = "expired_or_canceled_card") -> JSONDict:
        """A refund fails (the card was closed): its amount goes back to the balance and off
        the charge's ``amount_refunded``; returns ``charge.refund.updated``."""
        refunded = self.refunds[refund_id]
        if refunded["status"] != "succeeded":
            raise ValueError(f"refund {refund_id} is {refunded['status']}, not succeeded")
        charged = self._charge(refunded["charge"])
        refunded["status"], refunded["failure_reason"] = "failed", reason
        charged["amount_refunded"] -= refunded["amount"]
        charged["refunded"] = False
        previous = {"status": "succeeded", "failure_reason": None}
        return self._emit("charge.refund.updated", refunded, previous_attributes=previous)

    def dispute(
        self,
        charge_id: str,
        amount: int | None = None,
        *,
        reason: str = "fraudulent",
        inquiry: bool = False,
    ) -> JSONDict:
        """The cardholder disputes a charge; returns ``charge.dispute.created``.

        An `inquiry` (``warning_needs_response``) only asks questions: no funds are taken
        unless it is escalated to a dispute (``update_dispute(..., "needs_response")``).
        Simplification: no balance transactions for the withdrawn funds and dispute fee.
        """
        charged = self._charge(charge_id)
        amount = charged["amount"] if amount is None else amount
        if not 0 < amount <= charged["amount"]:
            raise ValueError(f"dispute amount {amount} is not within the charge's amount")
        status = "warning_needs_response" if inquiry else "needs_response"
        disputed = payment_objects.dispute(
            self.new_id("dp_"), charged, amount, reason, self.now, status
        )
        self.disputes[disputed["id"]] = disputed
        charged["disputed"] = True
        return self._emit("charge.dispute.created", disputed)

    def update_dispute(self, dispute_id: str, status: str = "under_review") -> JSONDict:
        """Move a dispute to another open status; returns ``charge.dispute.updated``."""
        if status not in ("needs_response", "under_review", "warning_under_review"):
            raise ValueError(f"not an open dispute status: {status!r}")
        return self._change_dispute(dispute_id, status, "charge.dispute.updated")

    def close_dispute(self, dispute_id: str, status: str = "lost") -> JSONDict:
        """Decide a dispute (``lost`` or ``won``) or close an inquiry (``warning_closed``);
        returns ``charge.dispute.closed``."""
        if status not in ("lost", "won", "warning_closed"):
            raise ValueError(
                f"a dispute closes as 'lost', 'won' or 'warning_closed', not {status!r}"
            )
        return self._change_dispute(dispute_id, status, "charge.dispute.closed")

    # -- state changes -----------------------------------------------------------------------

    def _charge(self, charge_id: str) -> JSONDict:
        try:
            return self.charges[charge_id]
        except KeyError:
            raise KeyError(f"no charge {charge_id!r}") from None

    def _new_payment_method(
        self, method_type: str, email: str | None, name: str | None
    ) -> JSONDict:
        method = payment_objects.card_payment_method(self.new_id("pm_"), self.now, email, name)
        if method_type != "card":
            del method["card"]
            method["type"] = method_type
            method[method_type] = {}
        self.payment_methods[method["id"]] = method
        return method

    def _new_intent(
        self, session: JSONDict, status: str, method_type: str, email: str | None, name: str | None
    ) -> JSONDict:
        method = self._new_payment_method(method_type, email, name)
        intent_data = self.session_params(session["id"]).get("payment_intent_data", {})
        customer_id = None
        if session["customer_creation"] == "always":
            created = payment_objects.customer(self.new_id("cus_", 14), email, name, self.now)
            self.customers[created["id"]] = created
            customer_id = session["customer"] = created["id"]
        intent = payment_objects.payment_intent(
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
        self, intent: JSONDict, settlement: Settlement, email: str | None, name: str | None
    ) -> None:
        settlement.check(intent["currency"])
        converted = settlement.currency != intent["currency"]
        settled = currencies.convert(
            intent["amount"], intent["currency"], settlement.currency, settlement.exchange_rate
        )
        fee = round(settled * settlement.fee_rate) + settlement.fee_fixed
        charge_id = self.new_id("ch_")
        transaction = payment_objects.balance_transaction(
            self.new_id("txn_"),
            source=charge_id,
            amount=settled,
            currency=settlement.currency,
            exchange_rate=settlement.exchange_rate if converted else None,
            fee=fee,
            now=self.now,
            description=intent["description"],
        )
        charged = payment_objects.charge(
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

    def _pay_subscription(
        self, session: JSONDict, settlement: Settlement, email: str, name: str
    ) -> dict[str, JSONDict]:
        """Pay a ``subscription``-mode session: implemented by ``SubscriptionActions``."""
        raise NotImplementedError
