"""The only code that talks to Stripe, through the official SDK's async client.

The client is bound to the event loop it first runs in, so a gateway is opened inside the
running loop (`async with StripeGateway(...)`) and its HTTP client closed when it ends. Stripe
objects from SDK 16 are not dicts; everything leaving this module is plain data.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import stripe

from tgbot.payments.events import MalformedEvent

log = logging.getLogger(__name__)

MAX_NETWORK_RETRIES = 2
REQUEST_TIMEOUT = 15.0
"""Seconds per attempt; a donor is waiting for the link."""
EVENTS_PAGE = 100
SETTLEMENT_EXPAND = ["latest_charge.balance_transaction"]


class PaymentsUnavailable(Exception):
    """Stripe could not be reached or refused the request; the message is safe to log."""


class BadSignature(Exception):
    """A webhook body whose Stripe-Signature does not verify."""


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    session_id: str
    url: str
    expires_at: int


@dataclass(frozen=True, slots=True)
class Settlement:
    """What Stripe credited for a payment: gross amount and fee, in the account's currency."""

    amount: int
    currency: str
    fee: int


def _describe(error: stripe.StripeError) -> str:
    """Error class, HTTP status and Stripe's code: enough to act on, no request data."""
    return f"{type(error).__name__} (status {error.http_status}, code {error.code})"


class StripeGateway:
    def __init__(
        self,
        api_key: str,
        api_base: str,
        webhook_secret: str | None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._api_key = api_key
        self._timeout = timeout
        self._api_base = api_base
        self._webhook_secret = webhook_secret
        self._http: stripe.HTTPXClient | None = None
        self._client: stripe.StripeClient | None = None

    async def __aenter__(self) -> Self:
        self._http = stripe.HTTPXClient(timeout=self._timeout)
        self._client = stripe.StripeClient(
            self._api_key,
            base_addresses={"api": self._api_base},
            http_client=self._http,
            max_network_retries=MAX_NETWORK_RETRIES,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._http is not None:
            await self._http.close_async()
        self._http = self._client = None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            raise RuntimeError("StripeGateway is used outside `async with`")
        return self._client

    @property
    def accepts_webhooks(self) -> bool:
        return self._webhook_secret is not None

    async def create_checkout(self, params: dict[str, Any], idempotency_key: str) -> CheckoutLink:
        """Create a Checkout Session; the same key returns the same session on a retry."""
        try:
            session = await self.client.v1.checkout.sessions.create_async(
                params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            log.warning("Stripe refused a Checkout Session: %s", _describe(error))
            raise PaymentsUnavailable(_describe(error)) from None
        return CheckoutLink(session["id"], session["url"], session["expires_at"])

    async def amount_refunded(self, charge_id: str) -> int:
        """What is refunded of a charge now: events arrive out of order, and a refund that
        fails later is taken off again."""
        try:
            charge = await self.client.v1.charges.retrieve_async(charge_id)
        except stripe.StripeError as error:
            raise PaymentsUnavailable(_describe(error)) from None
        return int(charge["amount_refunded"])

    async def settlement(self, payment_intent_id: str) -> Settlement | None:
        """The balance transaction of a payment, or None while Stripe has none yet."""
        try:
            payment = await self.client.v1.payment_intents.retrieve_async(
                payment_intent_id, {"expand": SETTLEMENT_EXPAND}
            )
        except stripe.StripeError as error:
            raise PaymentsUnavailable(_describe(error)) from None
        charge = payment.to_dict().get("latest_charge")
        transaction = charge.get("balance_transaction") if isinstance(charge, dict) else None
        if not isinstance(transaction, dict):
            return None
        return Settlement(transaction["amount"], transaction["currency"], transaction["fee"])

    async def invoice_payment_intent(self, invoice_id: str) -> str | None:
        """The payment intent that paid an invoice (webhooks leave `payments` out)."""
        try:
            invoice = await self.client.v1.invoices.retrieve_async(
                invoice_id, {"expand": ["payments"]}
            )
        except stripe.StripeError as error:
            raise PaymentsUnavailable(_describe(error)) from None
        for payment in (invoice.to_dict().get("payments") or {}).get("data") or []:
            intent = (payment.get("payment") or {}).get("payment_intent")
            if payment.get("status") == "paid" and isinstance(intent, str):
                return intent
        return None

    async def cancel_subscription(self, subscription_id: str) -> None:
        """End a monthly gift now; Stripe then sends `customer.subscription.deleted`."""
        try:
            await self.client.v1.subscriptions.cancel_async(subscription_id)
        except stripe.StripeError as error:
            log.warning("Stripe did not cancel a monthly gift: %s", _describe(error))
            raise PaymentsUnavailable(_describe(error)) from None

    async def events_since(self, created_from: int, types: Iterable[str]) -> list[dict]:
        """Every event of `types` created at or after `created_from`, oldest first."""
        params: dict[str, Any] = {
            "created": {"gte": created_from},
            "types": list(types),
            "limit": EVENTS_PAGE,
        }
        events: list[dict] = []
        try:
            while True:
                page = await self.client.v1.events.list_async(params)
                events.extend(event.to_dict() for event in page.data)
                if not page.has_more:
                    break
                params["starting_after"] = page.data[-1].id
        except stripe.StripeError as error:
            raise PaymentsUnavailable(_describe(error)) from None
        return events[::-1]

    async def event(self, event_id: str) -> dict | None:
        """One event by id; None when Stripe no longer has it (events are kept 30 days)."""
        try:
            return (await self.client.v1.events.retrieve_async(event_id)).to_dict()
        except stripe.InvalidRequestError:
            return None
        except stripe.StripeError as error:
            raise PaymentsUnavailable(_describe(error)) from None

    def verify(self, body: bytes, signature: str | None) -> dict:
        """The event in a webhook body, if its signature is Stripe's and fresh (5 minutes)."""
        if self._webhook_secret is None:
            raise BadSignature("no STRIPE_WEBHOOK_SECRET configured")
        try:
            stripe.WebhookSignature.verify_header(
                body, signature, self._webhook_secret, stripe.Webhook.DEFAULT_TOLERANCE
            )
        except (stripe.SignatureVerificationError, ValueError) as error:
            raise BadSignature(type(error).__name__) from None
        try:  # signed by Stripe, yet it must still be an event
            return stripe.Webhook.construct_event_without_verification(body).to_dict()
        except (ValueError, TypeError, AttributeError, RecursionError) as error:
            raise MalformedEvent(f"{type(error).__name__} in a signed webhook body") from None
