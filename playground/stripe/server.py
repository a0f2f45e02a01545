"""A fake Stripe API server for tests.

:class:`FakeStripe` serves the parts of Stripe's v1 API that a Checkout integration uses, over
real HTTP on ``127.0.0.1`` (a Starlette app under uvicorn, inside the test's own event loop), so
the real stripe SDK talks to it unchanged::

    async with FakeStripe(api_key="sk_test_fake", webhook_secret="whsec_test") as stripe_fake:
        http = stripe.HTTPXClient()
        client = stripe.StripeClient(
            "sk_test_fake", base_addresses={"api": stripe_fake.base_url}, http_client=http
        )
        session = await client.v1.checkout.sessions.create_async({...})
        event = stripe_fake.pay(session["id"])              # the donor pays
        body, signature = stripe_fake.signed(event)          # what Stripe would POST
        await http.close_async()

The fake checks parameters the way Stripe does (see :mod:`playground.stripe.checkout`) and
answers with Stripe's object and error shapes, so a request real Stripe would reject fails the
test: every such 4xx answer is recorded in :attr:`FakeStripe.violations`. Faults the *test* asks
for (:meth:`FakeStripe.fail_next`) are answered the same way but are not violations.

Endpoints: ``POST/GET /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``,
``POST /v1/checkout/sessions/{id}/expire``, ``GET /v1/checkout/sessions/{id}/line_items``,
``GET /v1/{events,subscriptions,invoices,invoice_payments}`` (lists),
``DELETE /v1/subscriptions/{id}`` (cancel) and ``GET /v1/{payment_intents,charges,
balance_transactions,disputes,refunds,payment_methods,customers,subscriptions,invoices,
invoice_payments,events}/{id}``, all with ``expand``. Anything else answers Stripe's 404
"Unrecognized request URL". ``/pay/{id}`` is the hosted checkout page, outside the API: it
shows the amount and line items and takes Stripe's test cards (``4242 4242 4242 4242`` pays,
``4000 0000 0000 0002`` is declined), then redirects to ``success_url`` / ``cancel_url``.

Test-side actions (:meth:`FakeStripe.pay`, :meth:`~FakeStripe.pay_async`,
:meth:`~FakeStripe.settle_async`, :meth:`~FakeStripe.expire`, :meth:`~FakeStripe.refund`,
:meth:`~FakeStripe.dispute`, :meth:`~FakeStripe.pay_subscription`, :meth:`~FakeStripe.renew`,
:meth:`~FakeStripe.cancel_subscription`, ...) change state as Stripe would and store the
resulting events, which ``GET /v1/events`` lists and :meth:`~FakeStripe.signed` /
:meth:`~FakeStripe.deliver` turn into signed webhooks. Timestamps come from
:attr:`FakeStripe.now` (real time unless set or :meth:`advanced <FakeStripe.advance>`); open
sessions expire on their own when it passes ``expires_at``.

Automatic webhooks (for the playground): set :attr:`FakeStripe.webhook_url` and every event
produced by paying on the hosted page or by the UI controls
(:meth:`~FakeStripe.refund_last_payment`, :meth:`~FakeStripe.resend_last_webhook`) is POSTed
there, signed, from a background task; :attr:`~FakeStripe.webhook_log` records each attempt and
:meth:`~FakeStripe.drop_next_webhook` loses one on purpose. With no ``webhook_url`` nothing is
sent on its own.

The pieces: :mod:`.stripe_params` (form decoding, parameter specs, error shapes),
:mod:`.stripe_checkout` (Checkout Session rules and objects), :mod:`.stripe_objects` (other
objects, expansion, pagination), :mod:`.stripe_state` (:class:`StripeAccount`: state, clock and
test-side actions, no HTTP), :mod:`.stripe_routes` (the endpoints) and :mod:`.local_server`
(uvicorn inside the running loop). This module adds HTTP: auth, idempotency, faults, latency,
recording and webhooks.

Deliberate simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import html
import json
import logging
import random
import re
import string
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from playground.local_server import LocalServer
from playground.stripe.checkout import API_VERSION, format_amount
from playground.stripe.params import FakeStripeError, JSONDict, decode_form, invalid, listify
from playground.stripe.routes import RouteContext, match_route
from playground.stripe.state import StripeAccount

__all__ = [
    "API_VERSION",
    "DEFAULT_API_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "Delivery",
    "FakeStripe",
    "FakeStripeError",
    "StripeAccount",
    "StripeRequest",
    "WebhookAttempt",
    "mask_api_key",
    "sign_payload",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_KEY = "sk_test_fake"
DEFAULT_WEBHOOK_SECRET = "whsec_test_secret"
#: Stripe forgets idempotency keys after 24 hours.
IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_FORM_TYPE = "application/x-www-form-urlencoded"
_ID_ALPHABET = string.ascii_letters + string.digits
_WEBHOOK_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
#: The ``{CHECKOUT_SESSION_ID}`` template Stripe fills in ``success_url``.
_SESSION_ID_TEMPLATE = "{CHECKOUT_SESSION_ID}"
#: How long an automatic webhook POST may take (Stripe waits a few seconds, then retries).
WEBHOOK_TIMEOUT_SECONDS = 10.0
#: How long :meth:`FakeStripe.stop` lets pending automatic webhooks finish before cancelling.
WEBHOOK_STOP_GRACE_SECONDS = 1.0


# =============================================================================================
# Public value types
# =============================================================================================


@dataclass(frozen=True)
class StripeRequest:
    """One API request to the fake, as decoded and answered.

    ``params`` holds the decoded query/body parameters in display form (nested dicts, arrays as
    lists, all values strings as sent). ``headers`` has lower-case names; ``body`` is the raw
    body text. ``replayed`` is true for answers replayed from an earlier idempotent request.
    """

    method: str
    path: str
    query: str
    params: JSONDict
    headers: Mapping[str, str]
    body: str
    status: int
    response: JSONDict
    request_id: str
    replayed: bool = False
    at: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def error(self) -> JSONDict | None:
        """The ``error`` object of an error answer."""
        error = self.response.get("error")
        return error if isinstance(error, dict) else None

    def __repr__(self) -> str:
        return f"StripeRequest({self.describe()})"

    def describe(self) -> str:
        """``POST /v1/checkout/sessions -> 400 parameter_unknown foo: Received ...``."""
        error = self.error or {}
        detail = (
            f" {error.get('code')} {error.get('param')}: {error.get('message')}" if error else ""
        )
        return f"{self.method} {self.path} -> {self.status}{detail}"


@dataclass(frozen=True)
class Delivery:
    """A webhook POST made by :meth:`FakeStripe.deliver`."""

    event_id: str
    event_type: str
    url: str
    status: int
    at: float


@dataclass
class WebhookAttempt:
    """One automatic webhook of :class:`FakeStripe` (see :attr:`FakeStripe.webhook_log`).

    Recorded when the delivery is scheduled and updated when it ends: ``status`` is the HTTP
    status the endpoint answered, ``error`` what went wrong if no answer came (connection
    refused, timeout, ``FakeStripe`` stopped). ``dropped`` attempts were never sent (see
    :meth:`FakeStripe.drop_next_webhook`); ``resend`` marks
    :meth:`FakeStripe.resend_last_webhook`. ``at`` is real Unix time, for display.
    """

    event_id: str
    event_type: str
    url: str
    at: float
    resend: bool = False
    dropped: bool = False
    status: int | None = None
    error: str | None = None
    finished: bool = False

    @property
    def ok(self) -> bool:
        """The endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """``pending``, ``dropped``, ``delivered`` (2xx) or ``failed``."""
        if self.dropped:
            return "dropped"
        if not self.finished:
            return "pending"
        return "delivered" if self.ok else "failed"

    def describe(self) -> str:
        """``evt_... checkout.session.completed: delivered (HTTP 200)``, for a UI or a log."""
        detail = f"HTTP {self.status}" if self.status is not None else self.error
        resent = " (resent)" if self.resend else ""
        suffix = f" ({detail})" if detail else ""
        return f"{self.event_id} {self.event_type}{resent}: {self.outcome}{suffix}"


@dataclass
class _Fault:
    method: str
    path_prefix: str
    error: FakeStripeError
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path_prefix)


@dataclass(frozen=True)
class _StoredResult:
    """An idempotent request's answer, replayed for the same key and parameters."""

    method: str
    path: str
    params: JSONDict
    status: int
    body: JSONDict
    request_id: str
    created: int


# =============================================================================================
# Helpers
# =============================================================================================


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload`` (``t=<unix>,v1=<hex hmac>``)."""
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=int(time.time()) if timestamp is None else timestamp
    )


def mask_api_key(key: str) -> str:
    """``sk_test_****...abcd`` as in Stripe's "Invalid API Key provided" message."""
    match = re.match(r"(?:sk|rk|pk)_(?:test|live)_", key)
    prefix = match.group(0) if match else ""
    rest = key[len(prefix) :]
    if len(rest) <= 8:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def _default_fault(status: int) -> tuple[str, str | None, str]:
    """Stripe's error type, code and wording for an injected ``status``."""
    if status == 402:
        return "card_error", "card_declined", "Your card was declined."
    if status == 404:
        return "invalid_request_error", "resource_missing", "No such object (injected fault)."
    if status == 409:
        return (
            "invalid_request_error",
            "lock_timeout",
            "This object cannot be accessed right now because another API request or Stripe "
            "process is currently accessing it. Please retry.",
        )
    if status == 429:
        return (
            "invalid_request_error",
            "rate_limit",
            "Request rate limit exceeded. Learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
        )
    if status >= 500:
        return "api_error", None, "An unknown error occurred (injected by FakeStripe)."
    return "invalid_request_error", None, f"Injected error {status} (FakeStripe)."


# =============================================================================================
# The fake server
# =============================================================================================


class FakeStripe(StripeAccount):
    """A local fake of Stripe's v1 API for Checkout; see the module docstring.

    Use as ``async with FakeStripe() as stripe_fake:``. Besides the account state and
    test-side actions of :class:`StripeAccount` (``sessions``, ``events``, :meth:`pay`, ...):

    * ``requests`` / ``violations`` - every :class:`StripeRequest`, and those answered with an
      error because the request was invalid (not injected faults or state races), plus any
      request that hit a bug in the fake.
    * ``deliveries`` - the webhooks :meth:`deliver` made (automatic ones included).
    * ``webhook_url`` - where events from the hosted page and the UI controls go on their own
      (``None``: nowhere); ``webhook_log`` - a :class:`WebhookAttempt` per automatic delivery.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.requests: list[StripeRequest] = []
        self.violations: list[StripeRequest] = []
        self.deliveries: list[Delivery] = []
        #: Endpoint for automatic webhooks; may be set or changed at any time.
        self.webhook_url: str | None = None
        self.settlement_rates: dict[str, float] = {}
        """Payments on the hosted page settle in USD at these rates (USD per unit of
        the currency, e.g. ``{"gbp": 1.27}``); a currency without one settles unconverted."""
        self.webhook_log: list[WebhookAttempt] = []
        #: Seconds :meth:`stop` lets automatic deliveries in flight finish before cancelling.
        self.webhook_stop_grace = WEBHOOK_STOP_GRACE_SECONDS
        self._drops_armed = 0
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self._webhook_lock = asyncio.Lock()
        self._webhook_client: httpx.AsyncClient | None = None
        self._idempotent: dict[str, _StoredResult] = {}
        self._faults: deque[_Fault] = deque()
        self._latency = 0.0
        # Request ids come from their own generator so that object ids depend on ``seed``
        # only, not on how many requests (retries, polls) the client happened to make.
        self._request_ids = random.Random()
        self._closing = asyncio.Event()
        self._server = LocalServer(self._build_app(), "FakeStripe")

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeStripe:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Serve on 127.0.0.1 at an OS-chosen port, in the running event loop."""
        self._closing = asyncio.Event()
        self._webhook_lock = asyncio.Lock()
        await self._server.start()

    async def stop(self) -> None:
        """Cut short pending latency sleeps, shut the server down, then end webhook deliveries.

        Automatic webhooks still in flight get :attr:`webhook_stop_grace` seconds to finish;
        the rest are cancelled and recorded as such in :attr:`webhook_log`.
        """
        self._closing.set()
        await self._server.stop()
        pending = [task for task in self._webhook_tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.webhook_stop_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._webhook_client is not None:
            client, self._webhook_client = self._webhook_client, None
            await client.aclose()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """For ``StripeClient(base_addresses={"api": ...})``: the SDK appends ``/v1/...``."""
        return f"http://127.0.0.1:{self.port}"

    # -- faults and inspection ---------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int = 500,
        error_type: str | None = None,
        message: str | None = None,
        *,
        code: str | None = None,
        count: int = 1,
        should_retry: bool | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with an error instead of running them.

        ``method`` is ``GET``/``POST`` or ``*``; ``path_prefix`` matches the start of the path
        (``/v1/checkout/sessions``). Type, code and message default to Stripe's for
        ``status`` (500 -> ``api_error``, 429 -> ``rate_limit``, 402 -> ``card_declined``).
        ``should_retry`` sets the ``Stripe-Should-Retry`` header the SDK obeys. Injected
        errors are not violations and are not stored for idempotent replay.
        """
        default_type, default_code, default_message = _default_fault(status)
        headers = {} if should_retry is None else {"Stripe-Should-Retry": str(should_retry).lower()}
        error_code = code if code is not None else default_code
        error = FakeStripeError(
            status,
            message or default_message,
            type=error_type or default_type,
            code=error_code,
            violation=False,
            extra={"decline_code": "generic_decline"} if error_code == "card_declined" else None,
            headers=headers,
        )
        self._faults.append(_Fault(method.upper(), path_prefix, error, count))

    def set_latency(self, seconds: float) -> None:
        """Delay every API answer by ``seconds``."""
        self._latency = max(0.0, seconds)

    def requests_to(self, method: str, path_prefix: str = "/v1/") -> list[StripeRequest]:
        """Recorded requests with ``method`` whose path starts with ``path_prefix``."""
        return [
            request
            for request in self.requests
            if request.method == method.upper() and request.path.startswith(path_prefix)
        ]

    def describe_violations(self) -> str:
        """One line per violation, for assertion messages."""
        return "\n".join(request.describe() for request in self.violations)

    # -- test side: webhooks -----------------------------------------------------------------

    def signed(
        self,
        event: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[bytes, str]:
        """The raw JSON body Stripe would POST for ``event`` and its ``Stripe-Signature``.

        Like Stripe's, the body is pretty-printed UTF-8 JSON, so a handler that verifies a
        re-serialised body fails. ``timestamp`` defaults to real time (what
        ``construct_event`` checks), not :attr:`now`.
        """
        payload = json.dumps(event, indent=2, ensure_ascii=False)
        header = sign_payload(payload, secret or self.webhook_secret, timestamp)
        return payload.encode(), header

    async def deliver(
        self,
        event: Mapping[str, Any],
        url: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST ``event`` to a webhook ``url`` as Stripe does; returns the response.

        Pass ``client`` to deliver through it (e.g. an ``httpx.AsyncClient`` with an
        ``ASGITransport`` around the app under test).
        """
        body, signature = self.signed(event, timestamp=timestamp, secret=secret)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": _WEBHOOK_USER_AGENT,
        }
        if client is None:
            async with httpx.AsyncClient() as own_client:
                response = await own_client.post(url, content=body, headers=headers)
        else:
            response = await client.post(url, content=body, headers=headers)
        self.deliveries.append(
            Delivery(event["id"], event["type"], url, response.status_code, time.monotonic())
        )
        return response

    # -- automatic webhooks and the controls a UI offers --------------------------------------

    @property
    def webhooks_to_drop(self) -> int:
        """How many upcoming automatic deliveries :meth:`drop_next_webhook` has asked to drop."""
        return self._drops_armed

    def drop_next_webhook(self) -> int:
        """Lose the next automatic delivery: it is recorded as dropped and never sent.

        The event stays listed by ``GET /v1/events``, so reconciliation can still find it.
        Calls add up; returns how many deliveries will now be dropped. Raises ``ValueError``
        if :attr:`webhook_url` is not set (nothing would be delivered to drop).
        """
        self._require_webhook_url("drop a webhook")
        self._drops_armed += 1
        return self._drops_armed

    def resend_last_webhook(self) -> JSONDict:
        """POST the event of the last automatic delivery again (dropped or not); returns it.

        The delivery runs in the background and is logged with ``resend=True``; it is never
        dropped. Raises ``ValueError`` without :attr:`webhook_url` or before any delivery.
        """
        self._require_webhook_url("resend a webhook")
        if not self.webhook_log:
            raise ValueError("no webhook has been sent yet, so there is nothing to resend")
        event = self.resolve(self.webhook_log[-1].event_id)
        if event is None:  # pragma: no cover - events are never forgotten
            raise ValueError(f"event {self.webhook_log[-1].event_id} no longer exists")
        self._send_webhooks([event], resend=True)
        return copy.deepcopy(event)

    def refund_last_payment(self) -> JSONDict:
        """Refund the most recently paid Checkout Session's payment in full; returns the event.

        Uses :meth:`refund` (so the charge, a Refund and ``charge.refunded`` are as there) and
        delivers the event if :attr:`webhook_url` is set. A partly refunded payment is refunded
        for the rest. Raises ``ValueError`` if no session has been paid, or if the most recent
        payment is already fully refunded or under an open dispute.
        """
        charge_id = self._last_paid_charge()
        charged = self.charges[charge_id]
        if charged["amount_refunded"] >= charged["amount"]:
            raise ValueError(f"the last payment ({charge_id}) is already fully refunded")
        before = len(self.events)
        event = self.refund(charge_id)
        self._send_webhooks(self.events[before:])
        return event

    async def flush_webhooks(self) -> list[WebhookAttempt]:
        """Wait until every automatic delivery scheduled so far has ended; returns the log."""
        while pending := [task for task in self._webhook_tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        return self.webhook_log

    def _require_webhook_url(self, action: str) -> str:
        if not self.webhook_url:
            raise ValueError(f"cannot {action}: no webhook endpoint is set (webhook_url)")
        return self.webhook_url

    def _last_paid_charge(self) -> str:
        """The Charge of the Checkout Session whose payment succeeded last."""
        paid_types = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
        for event in reversed(self.events):
            snapshot = event["data"]["object"]
            if event["type"] not in paid_types or snapshot.get("payment_status") != "paid":
                continue
            session = self.sessions[snapshot["id"]]
            intent_id = session["payment_intent"]
            if intent_id is None and session["invoice"]:
                payments = self.payments_of(session["invoice"])
                intent_id = payments[0]["payment"]["payment_intent"] if payments else None
            intent = self.payment_intents.get(intent_id or "")
            if intent is not None and intent["latest_charge"]:
                return intent["latest_charge"]
        raise ValueError("no checkout session has been paid yet, so there is nothing to refund")

    def _send_webhooks(self, events: Iterable[Mapping[str, Any]], *, resend: bool = False) -> None:
        """Deliver ``events`` to :attr:`webhook_url` in the background, in order (if set)."""
        url = self.webhook_url
        if not url:
            return
        loop = asyncio.get_running_loop()
        for event in events:
            attempt = WebhookAttempt(event["id"], event["type"], url, time.time(), resend=resend)
            self.webhook_log.append(attempt)
            if self._drops_armed and not resend:
                self._drops_armed -= 1
                attempt.dropped = attempt.finished = True
                _LOGGER.info(
                    "FakeStripe dropped webhook %s (%s) as asked", event["id"], event["type"]
                )
                continue
            task = loop.create_task(self._post_webhook(attempt, copy.deepcopy(dict(event))))
            self._webhook_tasks.add(task)
            task.add_done_callback(self._webhook_tasks.discard)

    async def _post_webhook(self, attempt: WebhookAttempt, event: JSONDict) -> None:
        """One automatic delivery; failures are the endpoint's business, logged at WARNING."""
        try:
            async with self._webhook_lock:  # FIFO: deliveries go out in the order scheduled
                if self._webhook_client is None:
                    self._webhook_client = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS)
                response = await self.deliver(event, attempt.url, client=self._webhook_client)
        except asyncio.CancelledError:
            attempt.error = "cancelled: FakeStripe stopped"
            raise
        except httpx.HTTPError as error:
            attempt.error = f"{type(error).__name__}: {error}".rstrip(": ")
            _LOGGER.warning(
                "FakeStripe could not deliver webhook %s (%s) to %s: %s",
                attempt.event_id,
                attempt.event_type,
                attempt.url,
                attempt.error,
            )
        except Exception as error:  # a bug here must not look like the app's ERROR
            attempt.error = f"{type(error).__name__}: {error}".rstrip(": ")
            _LOGGER.warning(
                "FakeStripe failed delivering webhook %s", attempt.event_id, exc_info=True
            )
        else:
            attempt.status = response.status_code
            if not attempt.ok:
                _LOGGER.warning(
                    "Webhook endpoint %s answered %s to %s (%s)",
                    attempt.url,
                    response.status_code,
                    attempt.event_id,
                    attempt.event_type,
                )
        finally:
            attempt.finished = True

    # -- HTTP layer --------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        methods = ["GET", "POST", "DELETE", "PUT", "PATCH"]
        return Starlette(
            routes=[
                Route("/pay/{session_id}", self._checkout_page, methods=["GET", "POST"]),
                Route("/{path:path}", self._api_endpoint, methods=methods),
            ]
        )

    async def _api_endpoint(self, request: Request) -> Response:
        request_id = "req_" + "".join(self._request_ids.choices(_ID_ALPHABET, k=14))
        raw_body = await request.body()
        body_text = raw_body.decode("utf-8", "replace")
        method, path = request.method, request.url.path
        headers = {name.lower(): value for name, value in request.headers.items()}
        key = headers.get("idempotency-key") if method == "POST" else None
        decoded: JSONDict = {}
        replayed = False
        violation = False
        response_headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        if key:
            response_headers["Idempotency-Key"] = key
        try:
            decoded = self._decode(request, headers, body_text)
            self._authenticate(headers.get("authorization"))
            handler, ids = match_route(method, path)
            await self._sleep(self._latency)
            self._raise_injected_fault(method, path)
            self.expire_due_sessions()
            stored = self._idempotent_result(key, method, path, decoded)
            if stored is not None:
                status, body, replayed = stored.status, copy.deepcopy(stored.body), True
                response_headers["Idempotent-Replayed"] = "true"
                response_headers["Original-Request"] = stored.request_id
            else:
                context = RouteContext(method, path, decoded, ids, request_id, key)
                status, body = 200, handler(self, context)
                if key:
                    self._idempotent[key] = _StoredResult(
                        method, path, decoded, status, copy.deepcopy(body), request_id, self.now
                    )
        except FakeStripeError as error:
            status, body, violation = error.status, error.body(), error.violation
            response_headers.update(error.headers)
        except Exception as error:  # a bug in the fake must fail the test, not hang it
            _LOGGER.exception("FakeStripe failed to handle %s %s", method, path)
            status, violation = 500, True
            body = FakeStripeError(500, f"FakeStripe bug: {error!r}", type="api_error").body()
        recorded = StripeRequest(
            method=method,
            path=path,
            query=request.url.query,
            params=listify(decoded),
            headers=headers,
            body=body_text,
            status=status,
            response=body,
            request_id=request_id,
            replayed=replayed,
            at=time.monotonic(),
        )
        self.requests.append(recorded)
        if violation:
            self.violations.append(recorded)
        return JSONResponse(body, status_code=status, headers=response_headers)

    def _decode(self, request: Request, headers: Mapping[str, str], body: str) -> JSONDict:
        pairs = parse_qsl(request.url.query, keep_blank_values=True)
        mime = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if body:
            if mime != _FORM_TYPE:
                raise invalid(
                    f"Invalid request: unsupported Content-Type {mime or 'none'}. If error "
                    "persists and you need assistance, please contact support@stripe.com."
                )
            pairs += parse_qsl(body, keep_blank_values=True)
        return decode_form(pairs)

    def _authenticate(self, authorization: str | None) -> None:
        if not authorization:
            raise FakeStripeError(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
            )
        scheme, _, credential = authorization.partition(" ")
        key = credential.strip()
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                key = base64.b64decode(key).decode().partition(":")[0]
        elif scheme.lower() != "bearer":
            key = authorization
        if key != self.api_key:
            raise FakeStripeError(401, f"Invalid API Key provided: {mask_api_key(key)}")

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _raise_injected_fault(self, method: str, path: str) -> None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                raise fault.error

    def _idempotent_result(
        self, key: str | None, method: str, path: str, params: JSONDict
    ) -> _StoredResult | None:
        if not key:
            return None
        if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
            raise invalid(
                f"Idempotency-Key: keys can be no longer than {MAX_IDEMPOTENCY_KEY_LENGTH} "
                "characters."
            )
        stored = self._idempotent.get(key)
        if stored is None or stored.created < self.now - IDEMPOTENCY_RETENTION_SECONDS:
            return None
        if (stored.method, stored.path) != (method, path):
            raise FakeStripeError(
                400,
                "Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{stored.method} {stored.path}' vs '{method} {path}'). Try "
                f"using a key other than '{key}' if you meant to execute a different request.",
                type="idempotency_error",
            )
        if stored.params != params:
            raise FakeStripeError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            )
        return stored

    def _settlement(self, currency: str) -> dict[str, Any]:
        rate = self.settlement_rates.get(currency)
        if currency == "usd" or rate is None:
            return {"settle_currency": currency}
        return {"settle_currency": "usd", "exchange_rate": rate}

    async def _checkout_page(self, request: Request) -> Response:
        """The hosted checkout page: ``GET`` shows it, ``POST action=pay|cancel`` acts.

        ``card_number`` is checked as Stripe's test mode does (see :func:`_card_problem`); a
        ``POST`` without it pays with the prefilled test card. Paying redirects to
        ``success_url`` (``{CHECKOUT_SESSION_ID}`` filled in) and delivers the events it
        produced to :attr:`webhook_url`; cancelling redirects to ``cancel_url``. Declines and
        invalid numbers show the page again with the message and leave the session open.
        Simplification: a decline creates no PaymentIntent and no ``payment_intent.*`` event.
        """
        self.expire_due_sessions()
        session = self.sessions.get(request.path_params["session_id"])
        if session is None:
            return HTMLResponse(_NOT_FOUND_PAGE, status_code=404, headers=_PAGE_HEADERS)
        card = _PREFILLED_CARD
        problem: str | None = None
        if request.method == "POST":
            body = (await request.body()).decode("utf-8", "replace")
            form = dict(parse_qsl(body, keep_blank_values=True))
            action = form.get("action")
            if action == "cancel" and session["cancel_url"]:
                return RedirectResponse(session["cancel_url"], status_code=303)
            if action == "pay" and session["status"] == "open":
                card = form.get("card_number", _PREFILLED_CARD)
                problem = _card_problem(card)
                if problem is None:
                    before = len(self.events)
                    try:
                        self.pay(session["id"], **self._settlement(session["currency"]))
                    except ValueError as error:  # e.g. a setup-mode session
                        problem = str(error)
                    else:
                        self._send_webhooks(self.events[before:])
                        success = session["success_url"] or session["return_url"] or "/"
                        return RedirectResponse(
                            success.replace(_SESSION_ID_TEMPLATE, session["id"]), status_code=303
                        )
        page = _checkout_html(
            session,
            self.session_line_items(session["id"]),
            self.session_params(session["id"]),
            card=card,
            problem=problem,
        )
        return HTMLResponse(page, headers=_PAGE_HEADERS)


# =============================================================================================
# The hosted checkout page
# =============================================================================================

_PREFILLED_CARD = "4242 4242 4242 4242"
_CARD_INVALID = "Your card number is invalid."
_CARD_DECLINED = "Your card was declined."
#: Stripe's test card numbers the page knows: ``None`` pays, otherwise the decline shown.
_TEST_CARDS: Mapping[str, str | None] = {
    "4242424242424242": None,  # Visa
    "4000056655665556": None,  # Visa (debit)
    "5555555555554444": None,  # Mastercard
    "4000000000000002": _CARD_DECLINED,  # generic_decline
    "4000000000009995": "Your card has insufficient funds.",
    "4000000000000069": "Your card has expired.",
}
_NON_TEST_CARD = (
    f"{_CARD_DECLINED} Your request was in test mode, but used a non test card. For a list of "
    "valid test cards, visit: https://stripe.com/docs/testing."
)
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
}
_PAGE_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1f36;background:#f6f9fc}
main{max-width:30rem;margin:0 auto;padding:1rem}
.banner{margin:0 0 1rem;padding:.75rem 1rem;border:2px solid #8a6d00;border-radius:8px;
background:#fff4c2;color:#3d3000;font-weight:700}
h1{font-size:1.375rem;margin:0 0 .75rem}
.items{list-style:none;margin:0;padding:0}
.items li{padding:.5rem 0;border-bottom:1px solid #e3e8ee}
.line{display:flex;justify-content:space-between;gap:1rem}
.desc,.help,.meta{color:#4f566b;font-size:.9375rem;margin:.25rem 0 0}
.total{display:flex;justify-content:space-between;gap:1rem;font-size:1.25rem;font-weight:700;
margin:1rem 0}
label{display:block;font-weight:600;margin-bottom:.25rem}
input{width:100%;font:inherit;font-size:1.125rem;padding:.625rem .75rem;color:inherit;
background:#fff;border:1px solid #6b7385;border-radius:6px}
input[aria-invalid=true]{border:2px solid #b3261e}
.help{margin-bottom:1rem}
.error{margin:0 0 1rem;padding:.75rem 1rem;border:1px solid #b3261e;border-radius:6px;
background:#fdecea;color:#8c1d18;font-weight:600}
[hidden]{display:none!important}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
button{flex:1 1 8rem;min-height:2.75rem;font:inherit;font-weight:700;padding:.625rem 1rem;
border:2px solid #4338ca;border-radius:6px;background:#4338ca;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#3730a3}
:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.meta{margin-top:1.5rem;font-size:.8125rem;overflow-wrap:anywhere}
"""
_NOT_FOUND_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"<title>Checkout session not found</title><style>{_PAGE_CSS}</style></head><body><main>"
    '<p class="banner">Simulated Stripe checkout — no real money</p>'
    "<h1>Checkout session not found</h1>"
    "<p>This payment link is not valid. Go back and start again.</p></main></body></html>"
)


def _card_problem(number: str) -> str | None:
    """What the page says about a card number, or ``None`` if it pays.

    Not 16 digits (spaces ignored) or failing the Luhn check: "Your card number is invalid.".
    Known test cards behave as in Stripe's test mode; any other number is declined, as test
    mode declines real cards.
    """
    digits = "".join(number.split())
    if not re.fullmatch(r"[0-9]{16}", digits) or not _luhn_valid(digits):
        return _CARD_INVALID
    return _TEST_CARDS.get(digits, _NON_TEST_CARD)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _per_period(price: Mapping[str, Any]) -> str:
    """`` per month`` / `` every 3 months`` for a recurring price, else nothing."""
    recurring = price.get("recurring")
    if not recurring:
        return ""
    interval, count = recurring["interval"], recurring["interval_count"]
    return f" per {interval}" if count == 1 else f" every {count} {interval}s"


def _checkout_html(
    session: Mapping[str, Any],
    items: list[JSONDict],
    params: Mapping[str, Any],
    *,
    card: str,
    problem: str | None,
) -> str:
    """The page for ``session``; every value from the session is HTML-escaped."""
    esc = html.escape
    currency = session["currency"]
    total = (
        format_amount(session["amount_total"], currency)
        if session["amount_total"] is not None and currency
        else "-"
    )
    described = params.get("line_items", [])
    rows = []
    for index, item in enumerate(items):
        given = described[index] if index < len(described) else {}
        product = given.get("price_data", {}).get("product_data", {})
        quantity = f" × {item['quantity']}" if item["quantity"] != 1 else ""
        amount = format_amount(item["amount_total"], item["currency"]) + _per_period(item["price"])
        description = product.get("description")
        rows.append(
            '<li><div class="line">'
            f'<span class="name">{esc(item["description"])}{esc(quantity)}</span>'
            f"<span>{esc(amount)}</span></div>"
            + (f'<p class="desc">{esc(description)}</p>' if description else "")
            + "</li>"
        )
    recurring = next(
        (_per_period(item["price"]) for item in items if item["price"]["recurring"]), ""
    )
    title = items[0]["description"] if items else "Checkout"
    if session["status"] == "complete":
        problem = "This checkout session is already complete."
    elif session["status"] == "expired":
        problem = "This checkout session has expired. Go back and start again."
    invalid_card = (problem or "").startswith("Your card")
    form = ""
    if session["status"] == "open":
        cancel = (
            '<button type="submit" id="cancel" name="action" value="cancel" class="secondary">'
            "Cancel</button>"
            if session["cancel_url"]
            else ""
        )
        form = (
            '<form method="post" novalidate>'
            '<label for="card-number">Card number</label>'
            '<input id="card-number" name="card_number" type="text" inputmode="numeric" '
            f'autocomplete="cc-number" value="{esc(card)}" placeholder="{_PREFILLED_CARD}" '
            'aria-describedby="card-help checkout-error"'
            + (' aria-invalid="true"' if invalid_card else "")
            + ">"
            '<p id="card-help" class="help">Test cards: 4242 4242 4242 4242 pays; '
            "4000 0000 0000 0002 is declined.</p>"
            '<div class="actions"><button type="submit" id="pay" name="action" value="pay">'
            f"Pay</button>{cancel}</div></form>"
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} — Simulated Stripe checkout</title>"
        f"<style>{_PAGE_CSS}</style></head><body><main>"
        '<p class="banner" id="simulated-banner">Simulated Stripe checkout — no real money</p>'
        "<h1>Checkout</h1>"
        f'<section aria-label="Order summary"><ul class="items">{"".join(rows)}</ul>'
        f'<p class="total"><span>Total</span><span><span id="checkout-amount">{esc(total)}</span>'
        f"{esc(recurring)}</span></p></section>"
        f'<p id="checkout-error" class="error" role="alert"{"" if problem else " hidden"}>'
        f"{esc(problem or '')}</p>"
        f"{form}"
        f'<p class="meta">Session {esc(session["id"])} · test mode</p>'
        "</main></body></html>"
    )
