"""The state of the simulated Stripe account: its objects, clock, ids, sessions and events.

:class:`AccountState` is the base of :class:`~playground.stripe.account.StripeAccount`: it holds
every object the fake knows by id, keeps the clock (:attr:`~AccountState.now`), makes
Stripe-style ids, creates Checkout Sessions from validated parameters and expires them when
due, stores events, and resolves ids for expansion. It does no HTTP. The test-side actions
that pay, refund, dispute and bill are in :mod:`.account_payments` and
:mod:`.account_subscriptions`.
"""

from __future__ import annotations

import copy
import random
import string
import time
import typing
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from stripe._encode import _api_encode
from stripe.params import WebhookEndpointCreateParams

from playground.stripe import event_objects, pagination, payment_objects
from playground.stripe.checkout_sessions import (
    build_line_items,
    build_session,
    parse_session_create,
)
from playground.stripe.event_objects import EVENT_RETENTION_SECONDS
from playground.stripe.params import JSONDict, decode_form

__all__ = ["AccountState"]

_ID_ALPHABET = string.ascii_letters + string.digits


def _literals(annotation: Any) -> frozenset[str]:
    """Every string of the ``Literal``s inside a params annotation (through List, NotRequired)."""
    found: set[str] = set()
    for argument in typing.get_args(annotation):
        if isinstance(argument, str):
            found.add(argument)
        else:
            found |= _literals(argument)
    return frozenset(found)


#: What ``POST /v1/webhook_endpoints`` accepts, from the SDK's params for ``API_VERSION``.
WEBHOOK_EVENT_TYPES = _literals(WebhookEndpointCreateParams.__annotations__["enabled_events"])
API_VERSIONS = _literals(WebhookEndpointCreateParams.__annotations__["api_version"])
WEBHOOK_ENDPOINT_STATUSES = ("enabled", "disabled")


class AccountState:
    """A test-mode Stripe account's objects, clock, sessions and events; see the module docstring.

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
        self.invoices: dict[str, JSONDict] = {}
        self.invoice_payments: dict[str, JSONDict] = {}
        self.webhook_endpoints: dict[str, JSONDict] = {}
        self.events: list[JSONDict] = []
        self.sessions_created = 0
        self._random = random.Random(seed)
        self._line_items: dict[str, list[JSONDict]] = {}
        self._params_by_session: dict[str, JSONDict] = {}
        self._events_by_id: dict[str, JSONDict] = {}
        self._frozen_now: int | None = None
        self._product_names: dict[str, str] = {}  # price id -> product name
        self._invoices_per_customer: dict[str, int] = {}
        self._periods_billed: dict[str, int] = {}  # subscription id -> periods invoiced

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

    def session_params(self, session_id: str) -> JSONDict:
        """The validated (typed) parameters a session was created with."""
        return self._params_by_session.get(session_id, {})

    def expire(self, session_id: str) -> JSONDict:
        """Expire an open session now; returns ``checkout.session.expired``."""
        return self.expire_session(self._open_session(session_id))

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

    def _complete(self, session: JSONDict, payment_status: str, email: str, name: str) -> None:
        session.update(
            status="complete",
            payment_status=payment_status,
            url=None,
            customer_details={
                "address": payment_objects.donor_address(),
                "email": session["customer_email"] or email,
                "name": name,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        )

    # -- webhook endpoints -------------------------------------------------------------------

    def add_webhook_endpoint(
        self,
        url: str,
        enabled_events: Iterable[str],
        *,
        api_version: str | None = None,
        status: str = "enabled",
        description: str | None = None,
    ) -> JSONDict:
        """Add a webhook endpoint as the Dashboard or ``POST /v1/webhook_endpoints`` would.

        ``api_version`` None is Stripe's default: events are rendered in the account's default
        version. ``status`` ``disabled`` is an endpoint someone (or Stripe, after failing
        deliveries for days) turned off. Returns a copy of the stored object; as on Stripe,
        ``GET /v1/webhook_endpoints`` never shows the signing secret. Simplification: the
        endpoint is listed only; ``FakeStripe.webhook_url`` decides where events are sent.
        """
        events = list(enabled_events)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Invalid URL: {url!r} must be an http(s) URL")
        unknown = sorted(set(events) - WEBHOOK_EVENT_TYPES)
        if not events or unknown:
            raise ValueError(f"Invalid enabled_events: {unknown or 'none given'}")
        if api_version is not None and api_version not in API_VERSIONS:
            raise ValueError(f"Invalid api_version: {api_version!r}")
        if status not in WEBHOOK_ENDPOINT_STATUSES:
            raise ValueError(f"Invalid status: {status!r}")
        endpoint: JSONDict = {
            "id": self.new_id("we_"),
            "object": "webhook_endpoint",
            "api_version": api_version,
            "application": None,
            "created": self.now,
            "description": description,
            "enabled_events": events,
            "livemode": False,
            "metadata": {},
            "status": status,
            "url": url,
        }
        self.webhook_endpoints[endpoint["id"]] = endpoint
        return copy.deepcopy(endpoint)

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

    # -- events ------------------------------------------------------------------------------

    def add_event(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
    ) -> JSONDict:
        """Store an arbitrary event (e.g. one the integration must ignore) and return it."""
        return self._emit(event_type, obj, previous_attributes=previous_attributes)

    def _emit(
        self,
        event_type: str,
        obj: Mapping[str, Any],
        *,
        previous_attributes: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> JSONDict:
        created = event_objects.event(
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

    def visible_events(self) -> list[JSONDict]:
        """Events within the retention window, newest first."""
        oldest = self.now - EVENT_RETENTION_SECONDS
        visible = [event for event in reversed(self.events) if event["created"] >= oldest]
        return sorted(visible, key=lambda event: -event["created"])

    # -- ids and lookups ---------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 24) -> str:
        """A random Stripe-style id: ``new_id("pi_")`` -> ``pi_3Nf...``."""
        return prefix + "".join(self._random.choices(_ID_ALPHABET, k=length))

    def resolve(self, ref: str) -> JSONDict | None:
        """The stored object an id refers to, or an includable list (``<field>:<owner id>``)."""
        if ref.startswith("line_items:"):
            session_id = ref.partition(":")[2]
            return pagination.list_object(
                copy.deepcopy(self._line_items.get(session_id, [])),
                f"/v1/checkout/sessions/{session_id}/line_items",
            )
        if ref.startswith("payments:"):
            return pagination.list_object(
                copy.deepcopy(self.payments_of(ref.partition(":")[2])),
                f"/v1/invoice_payments?invoice={ref.partition(':')[2]}",
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
            self.invoices,
            self.invoice_payments,
            self.webhook_endpoints,
            self._events_by_id,
        ):
            if ref in store:
                return store[ref]
        return None

    def payments_of(self, invoice_id: str) -> list[JSONDict]:
        """An invoice's InvoicePayments, newest first (stored objects, not copies)."""
        found = [p for p in self.invoice_payments.values() if p["invoice"] == invoice_id]
        return sorted(reversed(found), key=lambda payment: -payment["created"])
