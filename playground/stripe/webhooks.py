"""Webhooks of the Stripe simulator: signing, and delivery by hand or automatically.

:func:`sign_payload` makes the ``Stripe-Signature`` header. :class:`WebhookSender`, the base
of :class:`~playground.stripe.server.FakeStripe`, adds delivery to a :class:`StripeAccount`:
:meth:`~WebhookSender.signed` / :meth:`~WebhookSender.deliver` turn a stored event into the
signed POST Stripe would make, and are what tests call.

Automatic webhooks (for the playground): set :attr:`~WebhookSender.webhook_url` and every
event produced by paying on the hosted page or by the UI controls
(:meth:`~playground.stripe.server.FakeStripe.refund_last_payment`,
:meth:`~WebhookSender.resend_last_webhook`) is POSTed there, signed, from a background task;
:attr:`~WebhookSender.webhook_log` records each attempt and
:meth:`~WebhookSender.drop_next_webhook` loses one on purpose. With no ``webhook_url``
nothing is sent on its own.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import stripe

from playground.stripe.account import StripeAccount
from playground.stripe.params import JSONDict

__all__ = [
    "WEBHOOK_STOP_GRACE_SECONDS",
    "WEBHOOK_TIMEOUT_SECONDS",
    "Delivery",
    "WebhookAttempt",
    "WebhookSender",
    "sign_payload",
]

_LOGGER = logging.getLogger(__name__)

_WEBHOOK_USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
#: How long an automatic webhook POST may take (Stripe waits a few seconds, then retries).
WEBHOOK_TIMEOUT_SECONDS = 10.0
#: How long :meth:`FakeStripe.stop` lets pending automatic webhooks finish before cancelling.
WEBHOOK_STOP_GRACE_SECONDS = 1.0


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


def sign_payload(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header for ``payload`` (``t=<unix>,v1=<hex hmac>``)."""
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret, timestamp=int(time.time()) if timestamp is None else timestamp
    )


class WebhookSender(StripeAccount):
    """A :class:`StripeAccount` that signs its events and POSTs them as Stripe does.

    The base of :class:`~playground.stripe.server.FakeStripe`; see the module docstring.
    ``deliveries`` lists the webhooks :meth:`deliver` made (automatic ones included);
    ``webhook_log`` has a :class:`WebhookAttempt` per automatic delivery.
    """

    def __init__(self, webhook_secret: str, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.webhook_secret = webhook_secret
        self.deliveries: list[Delivery] = []
        #: Endpoint for automatic webhooks; may be set or changed at any time.
        self.webhook_url: str | None = None
        self.webhook_log: list[WebhookAttempt] = []
        #: Seconds :meth:`~playground.stripe.server.FakeStripe.stop` lets automatic deliveries
        #: in flight finish before cancelling.
        self.webhook_stop_grace = WEBHOOK_STOP_GRACE_SECONDS
        self._drops_armed = 0
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self._webhook_lock = asyncio.Lock()
        self._webhook_client: httpx.AsyncClient | None = None

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

    # -- automatic webhooks and the controls a UI offers for them --------------------------

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

    async def flush_webhooks(self) -> list[WebhookAttempt]:
        """Wait until every automatic delivery scheduled so far has ended; returns the log."""
        while pending := [task for task in self._webhook_tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        return self.webhook_log

    def _require_webhook_url(self, action: str) -> str:
        if not self.webhook_url:
            raise ValueError(f"cannot {action}: no webhook endpoint is set (webhook_url)")
        return self.webhook_url

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

    async def _end_webhooks(self) -> None:
        """Give deliveries in flight :attr:`webhook_stop_grace` seconds, then cancel them."""
        pending = [task for task in self._webhook_tasks if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.webhook_stop_grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self._webhook_client is not None:
            client, self._webhook_client = self._webhook_client, None
            await client.aclose()
