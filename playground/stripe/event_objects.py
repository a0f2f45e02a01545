"""Stripe Event objects of the simulator: the snapshot events its account stores.

An event carries a deep copy of the object as it was when the event happened (and, for
``*.updated`` events, ``previous_attributes``); webhooks and ``GET /v1/events`` serve them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from playground.stripe.params import API_VERSION, JSONDict

__all__ = ["EVENT_RETENTION_SECONDS", "event"]

#: Stripe keeps events for 30 days; older ones are neither listed nor retrievable.
EVENT_RETENTION_SECONDS = 30 * 24 * 60 * 60


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
