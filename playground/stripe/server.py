"""The Stripe simulator's server: :class:`FakeStripe`, a fake Stripe API for tests.

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

The fake checks parameters the way Stripe does (see :mod:`.checkout_sessions`) and
answers with Stripe's object and error shapes, so a request real Stripe would reject fails the
test: every such 4xx answer is recorded in :attr:`FakeStripe.violations`. Faults the *test* asks
for (:meth:`FakeStripe.fail_next`) are answered the same way but are not violations.

Endpoints: ``POST/GET /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``,
``POST /v1/checkout/sessions/{id}/expire``, ``GET /v1/checkout/sessions/{id}/line_items``,
``GET /v1/{events,subscriptions,invoices,invoice_payments,webhook_endpoints}`` (lists),
``DELETE /v1/subscriptions/{id}`` (cancel) and ``GET /v1/{payment_intents,charges,
balance_transactions,disputes,refunds,payment_methods,customers,subscriptions,invoices,
invoice_payments,events,webhook_endpoints}/{id}``, all with ``expand``. Anything else
answers Stripe's 404 "Unrecognized request URL". ``/pay/{id}`` is the hosted checkout page,
outside the API (see :mod:`.checkout_page`).

Test-side actions (:meth:`FakeStripe.pay`, :meth:`~FakeStripe.pay_async`,
:meth:`~FakeStripe.settle_async`, :meth:`~FakeStripe.expire`, :meth:`~FakeStripe.refund`,
:meth:`~FakeStripe.dispute`, :meth:`~FakeStripe.pay_subscription`, :meth:`~FakeStripe.renew`,
:meth:`~FakeStripe.cancel_subscription`, ...) change state as Stripe would and store the
resulting events, which ``GET /v1/events`` lists and :meth:`~FakeStripe.signed` /
:meth:`~FakeStripe.deliver` turn into signed webhooks. Timestamps come from
:attr:`FakeStripe.now` (real time unless set or :meth:`advanced <FakeStripe.advance>`); open
sessions expire on their own when it passes ``expires_at``.
:meth:`~FakeStripe.add_webhook_endpoint` adds an endpoint for ``GET /v1/webhook_endpoints``
to list, as the Dashboard would.

Automatic webhooks (for the playground): set :attr:`FakeStripe.webhook_url` and every event
produced by paying on the hosted page or by the UI controls
(:meth:`~FakeStripe.refund_last_payment`, :meth:`~FakeStripe.resend_last_webhook`) is POSTed
there, signed, from a background task; :attr:`~FakeStripe.webhook_log` records each attempt and
:meth:`~FakeStripe.drop_next_webhook` loses one on purpose. With no ``webhook_url`` nothing is
sent on its own.

The account state and test-side actions come from
:class:`~playground.stripe.account.StripeAccount` (no HTTP), signing and delivering webhooks
from :class:`~playground.stripe.webhooks.WebhookSender`, the endpoints from :mod:`.routes`;
:mod:`playground.stripe` lists every module. This module adds HTTP (uvicorn inside the
running loop, :mod:`playground.local_server`): auth, idempotency, faults, latency and
recording, and serves the hosted page.

Deliberate simplifications are noted where they happen (search for "Simplification").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import logging
import random
import re
import string
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from playground.local_server import LocalServer
from playground.stripe.checkout_page import serve_checkout_page
from playground.stripe.params import (
    API_VERSION,
    FakeStripeError,
    JSONDict,
    decode_form,
    invalid,
    listify,
)
from playground.stripe.routes import RouteContext, match_route
from playground.stripe.webhooks import WebhookSender

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_WEBHOOK_SECRET",
    "FakeStripe",
    "StripeRequest",
    "mask_api_key",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_KEY = "sk_test_fake"
DEFAULT_WEBHOOK_SECRET = "whsec_test_secret"
#: Stripe forgets idempotency keys after 24 hours.
IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60
MAX_IDEMPOTENCY_KEY_LENGTH = 255
_FORM_TYPE = "application/x-www-form-urlencoded"
_ID_ALPHABET = string.ascii_letters + string.digits


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


class FakeStripe(WebhookSender):
    """A local fake of Stripe's v1 API for Checkout; see the module docstring.

    Use as ``async with FakeStripe() as stripe_fake:``. Besides the account state and
    test-side actions of :class:`StripeAccount` (``sessions``, ``events``, :meth:`pay`, ...)
    and the webhook delivery of :class:`WebhookSender` (:meth:`signed`, :meth:`deliver`, ...):

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
        super().__init__(webhook_secret, seed=seed)
        self.api_key = api_key
        self.requests: list[StripeRequest] = []
        self.violations: list[StripeRequest] = []
        self.settlement_rates: dict[str, float] = {}
        """Payments on the hosted page settle in USD at these rates (USD per unit of
        the currency, e.g. ``{"gbp": 1.27}``); a currency without one settles unconverted."""
        """The hosted page in the session's ``locale``, with amounts as a donor reads them
        (the playground's); off, English with amounts as Stripe's errors write them."""
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
        await self._end_webhooks()

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

    # -- the controls a UI offers (besides those of WebhookSender) ---------------------------

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

    async def _checkout_page(self, request: Request) -> Response:
        """The hosted checkout page; the events of a payment there go to :attr:`webhook_url`."""
        return await serve_checkout_page(
            self,
            request,
            settlement_rates=self.settlement_rates,
            send_webhooks=self._send_webhooks,
        )
